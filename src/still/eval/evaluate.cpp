#include "still/eval/evaluate.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "still/data/manifest.h"
#include "still/eval/hellaswag.h"
#include "still/eval/llama_scorer.h"
#include "still/io/atomic_file.h"
#include "still/modelio/load.h"
#include "still/modelio/open_model.h"
#include "still/util/error.h"
#include "still/util/log.h"
#include "still/util/sha256.h"

namespace still::eval {
namespace {

namespace fs = std::filesystem;

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// A short name for a model: its run's folder (plus the step when a checkpoint was named).
std::string model_label(const std::string& path, const std::string& resolved) {
  fs::path p = fs::path(path).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  fs::path r = fs::path(resolved).lexically_normal();
  if (r.filename().empty()) r = r.parent_path();
  if (r.parent_path().filename() == "checkpoints") {
    std::string run = r.parent_path().parent_path().filename().string();
    if (p.filename() == r.filename()) return run + "@" + r.filename().string();
    return p.filename().string();
  }
  return p.filename().string();
}

std::string run_dir_of(const std::string& resolved) {
  fs::path r = fs::path(resolved).lexically_normal();
  if (r.filename().empty()) r = r.parent_path();
  if (r.parent_path().filename() == "checkpoints") return r.parent_path().parent_path().string();
  return "";
}

int64_t weights_bytes(const std::string& dir) {
  int64_t total = 0;
  if (file_exists(dir) && !dir_exists(dir)) return int64_t(fs::file_size(dir));  // GGUF
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    bool weights =
        (name.size() > 12 && name.ends_with(".safetensors") && !name.starts_with("optimizer")) ||
        name.ends_with(".gguf");
    if (weights && e.is_regular_file()) total += int64_t(e.file_size());
  }
  return total;
}

// A still run or checkpoint through open_model (verified against its manifest); a Hugging
// Face folder or a GGUF file through load_model, with the tokenizer it carries.
OpenedModel open_eval_model(const std::string& path) {
  bool still_dir = dir_exists(path) && (file_exists(path_join(path, "trainer_state.json")) ||
                                        file_exists(path_join(path, "latest")) ||
                                        dir_exists(path_join(path, "checkpoints")));
  if (still_dir) return open_model(path);
  ModelLocation loc = locate_model(path);
  OpenedModel m;
  m.path = path;
  m.resolved = loc.path;
  m.model = load_model(path);
  m.tokenizer = load_tokenizer(loc.path);
  // Identity: the manifest when there is one, else the weights themselves.
  std::string manifest = path_join(loc.path, Manifest::kFileName);
  if (loc.format == ModelFormat::kGguf) {
    m.sha256 = sha256_file(loc.path);
  } else if (file_exists(manifest)) {
    m.sha256 = sha256_file(manifest);
  } else {
    std::vector<std::string> files;
    std::error_code ec;
    for (auto& e : fs::directory_iterator(loc.path, ec)) {
      std::string n = e.path().filename().string();
      if (n == "config.json" || n.ends_with(".safetensors") || n.ends_with(".index.json"))
        files.push_back(n);
    }
    std::sort(files.begin(), files.end());
    std::string all;
    for (auto& f : files) all += f + " " + sha256_file(path_join(loc.path, f)) + "\n";
    m.sha256 = sha256_hex(all);
  }
  return m;
}

struct Scored {
  nlohmann::json tasks = nlohmann::json::object();
  Calibration calib;
  Agreement agree;
  double seconds = 0;
  int64_t tokens = 0;
};

Scored score_all(const Suite& suite, LmScorer& model, const Tokenizer& tok, const TaskOptions& opt,
                 LmScorer* teacher) {
  Scored s;
  for (auto& t : suite.tasks) {
    if (t.kind == TaskKind::kPerplexity) {
      auto p = score_perplexity(model, tok, t, opt, teacher, s.calib, s.agree);
      s.seconds += p.seconds;
      s.tokens += p.tokens;
      s.tasks[t.name] = {{"kind", "perplexity"},
                         {"docs", p.docs},
                         {"tokens", p.tokens},
                         {"bytes", p.bytes},
                         {"nats_per_token", p.nats_per_token()},
                         {"ppl", p.ppl()},
                         {"nats_per_byte", p.nats_per_byte()}};
    } else {
      auto items = parse_hellaswag(t.content, t.resolved_path);
      auto m = score_multiple_choice(model, tok, items, opt);
      s.seconds += m.seconds;
      s.tokens += m.tokens;
      s.tasks[t.name] = {
          {"kind", "multiple_choice"}, {"items", m.items},     {"acc", m.acc()},
          {"acc_norm", m.acc_norm()},  {"correct", m.correct}, {"correct_norm", m.correct_norm}};
    }
  }
  return s;
}

nlohmann::json model_entry(const OpenedModel& m, const std::string& role, const Scored& s,
                           bool with_agreement) {
  const LlamaConfig& c = m.model->config();
  nlohmann::json manifest = nullptr;
  std::string mpath = path_join(m.resolved, Manifest::kFileName);
  if (file_exists(mpath)) manifest = nlohmann::json::parse(read_file(mpath), nullptr, false);
  if (manifest.is_discarded()) manifest = nullptr;
  nlohmann::json agreement = nullptr;
  if (with_agreement && s.agree.positions > 0)  // only perplexity tasks measure agreement
    agreement = {{"positions", s.agree.positions},
                 {"top1_match", s.agree.top1_match_rate()},
                 {"mean_kl", s.agree.mean_kl()}};
  return {
      {"label", model_label(m.path, m.resolved)},
      {"role", role},
      {"path", m.path},
      {"resolved", m.resolved},
      {"identity", m.sha256},
      {"run_dir", run_dir_of(m.resolved)},
      {"params", c.num_params()},
      {"size_bytes", weights_bytes(m.resolved)},
      {"tokenizer", {{"kind", m.tokenizer->kind()}, {"fingerprint", m.tokenizer->fingerprint()}}},
      {"config",
       {{"dim", c.dim},
        {"n_layers", c.n_layers},
        {"n_heads", c.n_heads},
        {"n_kv_heads", c.n_kv_heads},
        {"ffn_dim", c.ffn_dim},
        {"vocab_size", c.vocab_size},
        {"max_seq", c.max_seq}}},
      {"tasks", s.tasks},
      {"ece", s.calib.total() ? nlohmann::json(s.calib.ece()) : nlohmann::json(nullptr)},
      {"calibration_positions", s.calib.total()},
      {"agreement", agreement},
      {"tokens_per_second", s.seconds > 0 ? double(s.tokens) / s.seconds : 0.0},
      {"seconds", s.seconds},
      {"peak_rss_bytes", peak_rss_bytes()},
      {"manifest", manifest}};
}

}  // namespace

void reset_peak_rss() {
  // Linux: writing 5 to clear_refs resets the peak RSS the kernel reports (VmHWM, and
  // getrusage's ru_maxrss for this process). Where that is not allowed, peaks stay cumulative.
  if (FILE* f = std::fopen("/proc/self/clear_refs", "w")) {
    std::fputs("5", f);
    std::fclose(f);
  }
}

int64_t peak_rss_bytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return int64_t(ru.ru_maxrss) * 1024;  // Linux reports KiB
}

nlohmann::json run_eval(const Suite& suite, const EvalRequest& req) {
  require(!req.models.empty() || !req.teacher.empty(), "give at least one --model");
  nlohmann::json models = nlohmann::json::array();
  OpenedModel teacher;
  std::unique_ptr<LlamaScorer> teacher_scorer;
  if (!req.teacher.empty()) {
    reset_peak_rss();
    teacher = open_eval_model(req.teacher);
    teacher_scorer = std::make_unique<LlamaScorer>(*teacher.model);
    log_info("eval: teacher " + req.teacher);
    Scored s = score_all(suite, *teacher_scorer, *teacher.tokenizer, req.task, nullptr);
    models.push_back(model_entry(teacher, "teacher", s, false));
  }
  for (auto& path : req.models) {
    reset_peak_rss();  // each model's own peak (the teacher, when given, stays loaded)
    OpenedModel m = open_eval_model(path);
    LlamaScorer scorer(*m.model);
    LmScorer* ref = teacher_scorer.get();
    if (ref && (teacher.tokenizer->fingerprint() != m.tokenizer->fingerprint() ||
                teacher.model->config().vocab_size != m.model->config().vocab_size)) {
      log_warn("eval: " + path + " has another tokenizer than the teacher; agreement is not " +
               "measured for it");
      ref = nullptr;
    }
    log_info("eval: model " + path);
    Scored s = score_all(suite, scorer, *m.tokenizer, req.task, ref);
    models.push_back(model_entry(m, "model", s, ref != nullptr));
  }
  // Two runs in different folders may share a name: number the repeats so rows stay distinct.
  std::map<std::string, int> seen;
  for (auto& m : models) {
    int n = ++seen[m["label"].get<std::string>()];
    if (n > 1) m["label"] = m["label"].get<std::string>() + "#" + std::to_string(n);
  }
  return {{"still_eval", 1},
          {"still_version", STILL_VERSION},
          {"suite", suite.summary()},
          {"limit", req.task.limit},
          {"teacher", req.teacher.empty() ? nlohmann::json(nullptr) : models[0]["label"]},
          {"models", models}};
}

void save_results(const std::string& path, const nlohmann::json& results) {
  std::string dir = parent_dir(path);
  if (!dir.empty()) make_dirs(dir);
  write_file_atomic(path, results.dump(2) + "\n");
}

nlohmann::json load_results(const std::string& path) {
  require(file_exists(path), "eval results " + path + " not found");
  auto j = nlohmann::json::parse(read_file(path), nullptr, false);
  require(!j.is_discarded() && j.is_object() && j.contains("still_eval") && j.contains("suite") &&
              j["suite"].contains("hash") && j.contains("models") && j["models"].is_array(),
          path + ": not a still eval results file (write one with still eval --out)");
  return j;
}

void require_same_suite(const nlohmann::json& a, const std::string& what_a, const nlohmann::json& b,
                        const std::string& what_b) {
  std::string ha = a["suite"].value("hash", ""), hb = b["suite"].value("hash", "");
  require(ha == hb && a.value("limit", int64_t(0)) == b.value("limit", int64_t(0)),
          what_a + " and " + what_b + " scored different suites (" + a["suite"].value("name", "?") +
              " " + ha.substr(0, 12) + " limit " + std::to_string(a.value("limit", int64_t(0))) +
              " vs " + b["suite"].value("name", "?") + " " + hb.substr(0, 12) + " limit " +
              std::to_string(b.value("limit", int64_t(0))) + "); their numbers are not comparable");
}

std::vector<std::vector<std::string>> results_table(const nlohmann::json& results) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head = {"model", "params", "size"};
  const auto& tasks = results["suite"]["tasks"];
  for (auto& t : tasks) {
    std::string n = t.value("name", "?");
    if (t.value("kind", "") == "perplexity") {
      head.push_back(n + " nats/tok");
      head.push_back(n + " ppl");
    } else {
      head.push_back(n + " acc");
      head.push_back(n + " acc_norm");
    }
  }
  for (const char* h : {"top-1 match", "KL(T||S) nats", "ECE", "tokens/s", "peak RSS"})
    head.push_back(h);
  rows.push_back(head);
  auto num = [](const nlohmann::json& v, const char* key) {
    return v.contains(key) && v[key].is_number() ? v[key].get<double>() : std::nan("");
  };
  for (auto& m : results["models"]) {
    std::string label = m.value("label", "?");
    if (m.value("role", "") == "teacher" && label.find("teacher") == std::string::npos)
      label += " (teacher)";
    std::vector<std::string> r = {label, format_count(num(m, "params")),
                                  format_bytes(num(m, "size_bytes"))};
    for (auto& t : tasks) {
      const auto& s = m["tasks"].value(t.value("name", "?"), nlohmann::json::object());
      if (t.value("kind", "") == "perplexity") {
        r.push_back(s.contains("nats_per_token") ? fixed(num(s, "nats_per_token"), 4) : "-");
        r.push_back(s.contains("ppl") ? fixed(num(s, "ppl"), 3) : "-");
      } else {
        r.push_back(s.contains("acc") ? fixed(100 * num(s, "acc"), 2) + "%" : "-");
        r.push_back(s.contains("acc_norm") ? fixed(100 * num(s, "acc_norm"), 2) + "%" : "-");
      }
    }
    const auto& a = m.value("agreement", nlohmann::json(nullptr));
    r.push_back(a.is_object() ? fixed(100 * num(a, "top1_match"), 2) + "%" : "-");
    r.push_back(a.is_object() ? fixed(num(a, "mean_kl"), 4) : "-");
    r.push_back(m["ece"].is_number() ? fixed(num(m, "ece"), 4) : "-");
    r.push_back(format_count(num(m, "tokens_per_second")));
    r.push_back(format_bytes(num(m, "peak_rss_bytes")));
    rows.push_back(r);
  }
  return rows;
}

std::string format_text_table(const std::vector<std::vector<std::string>>& cells) {
  std::vector<size_t> width;
  auto display_len = [](const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;  // count UTF-8 code points
    return n;
  };
  for (auto& r : cells)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], display_len(r[i]));
    }
  std::string out;
  for (size_t k = 0; k < cells.size(); ++k) {
    for (size_t i = 0; i < cells[k].size(); ++i) {
      const std::string& c = cells[k][i];
      std::string pad(width[i] - display_len(c), ' ');
      // Names left-aligned, numbers right-aligned.
      out += i == 0 ? c + pad : pad + c;
      out += i + 1 < cells[k].size() ? "  " : "";
    }
    out += "\n";
    if (k == 0) {
      for (size_t i = 0; i < width.size(); ++i)
        out += std::string(width[i], '-') + (i + 1 < width.size() ? "  " : "");
      out += "\n";
    }
  }
  return out;
}

std::string format_markdown_table(const std::vector<std::vector<std::string>>& cells) {
  std::string out;
  for (size_t k = 0; k < cells.size(); ++k) {
    out += "|";
    for (auto& c : cells[k]) {
      std::string esc;
      for (char ch : c) esc += ch == '|' ? std::string("\\|") : std::string(1, ch);
      out += " " + esc + " |";
    }
    out += "\n";
    if (k == 0) {
      out += "|";
      for (size_t i = 0; i < cells[0].size(); ++i) out += i == 0 ? " --- |" : " ---: |";
      out += "\n";
    }
  }
  return out;
}

}  // namespace still::eval
