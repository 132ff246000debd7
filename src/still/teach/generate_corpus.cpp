#include "still/teach/generate_corpus.h"

#include <fcntl.h>
#include <omp.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>

#include "still/data/corpus.h"
#include "still/data/generated_corpus.h"
#include "still/data/manifest.h"
#include "still/formats/tokenizer/utf8.h"
#include "still/generate/generate.h"
#include "still/io/atomic_file.h"
#include "still/util/error.h"
#include "still/util/log.h"
#include "still/util/parallel_errors.h"
#include "still/util/rng.h"
#include "still/util/sha256.h"
#include "still/util/text.h"

namespace still {
namespace {

constexpr uint64_t kSampleSalt = 0x67656e6572617465ULL;  // "generate"
constexpr const char* kShardDir = "shards";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// JSON needs valid UTF-8; a sampled byte sequence need not be. Invalid bytes become U+FFFD.
std::string valid_utf8(const std::string& s) {
  if (utf8::is_valid(s)) return s;
  std::string out;
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8::valid_len(s, i);
    if (n) {
      out.append(s, i, n);
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

std::string shard_name(int64_t k) {
  char b[40];
  std::snprintf(b, sizeof b, "shard-%05lld.jsonl", (long long)k);
  return std::string(kShardDir) + "/" + b;
}

// A shard: a header line (this shard's compute) and its samples' lines, in order.
struct Shard {
  nlohmann::json header;
  std::vector<std::string> samples;
};

// The shard at `path` if it is complete and holds exactly prompts [first, first + n) with S
// samples each; nullopt (and a warning when it exists) otherwise.
std::optional<Shard> read_shard(const std::string& path, int64_t first, int64_t n, int S) {
  if (!file_exists(path)) return std::nullopt;
  try {
    const std::string content = read_file(path);
    auto lines = split_lines(content);
    require(!lines.empty(), "empty");
    Shard sh;
    sh.header = nlohmann::json::parse(lines[0]);
    require(sh.header.value("first_prompt", int64_t(-1)) == first &&
                sh.header.value("prompts", int64_t(-1)) == n,
            "it covers other prompts");
    require(int64_t(lines.size()) == 1 + n * S, "it holds " + std::to_string(lines.size() - 1) +
                                                    " samples, not " + std::to_string(n * S));
    for (int64_t k = 0; k < n * S; ++k) {
      auto j = nlohmann::json::parse(lines[size_t(k) + 1]);
      require(j.at("prompt_index").get<int64_t>() == first + k / S &&
                  j.at("sample").get<int64_t>() == k % S,
              "sample " + std::to_string(k) + " is out of place");
      sh.samples.emplace_back(lines[size_t(k) + 1]);
    }
    return sh;
  } catch (const std::exception& e) {
    log_warn(path + " is damaged (" + e.what() + ") — recreating it");
    return std::nullopt;
  }
}

// Refuses an --out that holds something else than these generations.
void check_out_dir(const std::string& out, const std::string& settings_text) {
  if (!dir_exists(out)) return;
  require(!file_exists(path_join(out, "signal.json")),
          out + " holds a teacher signal (signal.json), not generations: choose another --out");
  const std::string sp = path_join(out, train::kGenerationSettingsFile);
  if (file_exists(sp)) {
    auto saved = nlohmann::json::parse(read_file(sp), nullptr, false);
    auto now = nlohmann::json::parse(settings_text);
    if (saved.is_discarded() || saved == now) return;
    for (auto& [key, value] : now.items()) {
      if (saved.contains(key) && saved[key] == value) continue;
      throw Error(out + " holds generations made with other settings (" + key + " " +
                  (saved.contains(key) ? saved[key].dump() : std::string("unset")) + " there, " +
                  value.dump() +
                  " now): rerun the original command to resume, or choose another --out");
    }
    return;
  }
  for (auto& e : std::filesystem::directory_iterator(out)) {
    std::string n = e.path().filename().string();
    if (n.find(".tmp-") != std::string::npos) continue;  // a killed run's first write
    require(!n.empty() && n[0] == '.',
            out + " is not empty and holds no generations (" + n + "): choose another --out");
  }
}

// One writer per --out: an exclusive lock on OUT/.lock for the life of the run (the kernel
// drops it however the process dies). Then the temp files of killed writers are removed.
class OutLock {
 public:
  explicit OutLock(const std::string& out) {
    std::string p = path_join(out, ".lock");
    fd_ = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    require(fd_ >= 0, "cannot create " + p + ": " + std::strerror(errno));
    require(::flock(fd_, LOCK_EX | LOCK_NB) == 0, "another `still teach --generate` is writing " +
                                                      out + "; wait for it or use another --out");
    for (const std::string& dir : {out, path_join(out, kShardDir)})
      if (dir_exists(dir)) remove_stale_temp_files(dir);
  }
  ~OutLock() { ::close(fd_); }

 private:
  int fd_ = -1;
};

}  // namespace

std::vector<PromptItem> read_prompts(const std::string& path) {
  require(file_exists(path), "prompts file " + path +
                                 " does not exist (give a .jsonl with a "
                                 "\"prompt\" field per line, or a text file)");
  const std::string content = read_file(path);
  std::vector<PromptItem> items;
  if (ends_with(path, ".jsonl")) {
    auto lines = split_lines(content);
    for (size_t i = 0; i < lines.size(); ++i) {
      std::string_view l = lines[i];
      if (l.find_first_not_of(" \t\r") == std::string::npos) continue;
      std::string where = path + " line " + std::to_string(i + 1);
      auto j = nlohmann::json::parse(l, nullptr, false);
      require(!j.is_discarded() && j.is_object(),
              where + " is not a JSON object (expected {\"prompt\": \"...\"})");
      require(j.contains("prompt") && j["prompt"].is_string(),
              where + " has no string field \"prompt\"");
      PromptItem p;
      p.prompt = j["prompt"].get<std::string>();
      if (j.contains("id")) {
        require(j["id"].is_string() || j["id"].is_number_integer(),
                where + ": \"id\" must be a string or an integer");
        p.id = j["id"];
      } else {
        p.id = int64_t(items.size());
      }
      if (j.contains("reference")) {
        require(j["reference"].is_string(), where + ": \"reference\" must be a string");
        p.reference = j["reference"].get<std::string>();
      }
      items.push_back(std::move(p));
    }
  } else {
    for (auto& d : train::split_documents(content, false, path)) {
      PromptItem p;
      p.prompt = d.substr(0, d.size() - 1);  // documents end with '\n'; prompts don't
      p.id = int64_t(items.size());
      items.push_back(std::move(p));
    }
  }
  require(!items.empty(), "prompts file " + path + " holds no prompts");
  return items;
}

namespace {

uint64_t sample_seed(const GenerateCorpusOptions& opt, int64_t index, int s) {
  return mix_seed(mix_seed(opt.seed, kSampleSalt), uint64_t(index), uint64_t(s));
}

nlohmann::ordered_json sample_line(const PromptItem& p, int64_t index, int s,
                                   const std::string& text, int64_t prompt_tokens,
                                   int64_t completion_tokens, const std::string& finish) {
  std::string completion = valid_utf8(text);
  nlohmann::ordered_json j;
  j["id"] = p.id;
  j["prompt_index"] = index;
  j["sample"] = s;
  j["prompt"] = p.prompt;
  j["completion"] = completion;
  j["text"] = p.prompt + completion;
  j["prompt_tokens"] = prompt_tokens;
  j["completion_tokens"] = completion_tokens;
  j["finish_reason"] = finish;
  if (p.reference) j["reference"] = *p.reference;
  return j;
}

}  // namespace

nlohmann::ordered_json generate_sample(const LlamaModel& model, const Tokenizer& tok,
                                       const PromptItem& p, int64_t index, int s,
                                       const GenerateCorpusOptions& opt) {
  GenerateOptions g;
  g.sampler = opt.sampler;
  g.max_tokens = opt.max_new_tokens;
  g.stop = opt.stop;
  // Its own stream: a pure function of (seed, prompt, sample).
  g.seed = sample_seed(opt, index, s);
  GenerateResult r = generate(model, tok, p.prompt, g, [](const std::string&) {});
  return sample_line(p, index, s, r.text, r.prompt_tokens, r.generated_tokens, r.stop_reason);
}

nlohmann::ordered_json generate_endpoint_sample(const EndpointTeacher& teacher, const PromptItem& p,
                                                int64_t index, int s,
                                                const GenerateCorpusOptions& opt) {
  EndpointCompletion c = teacher.complete(p.prompt, opt.max_new_tokens, opt.sampler, opt.stop,
                                          sample_seed(opt, index, s));
  return sample_line(p, index, s, c.text, c.prompt_tokens, c.completion_tokens, c.finish_reason);
}

namespace {

void check_options(const GenerateCorpusOptions& opt) {
  validate(opt.sampler);
  require(opt.max_new_tokens > 0, "--max-new-tokens must be positive");
  require(opt.samples_per_prompt > 0, "--samples-per-prompt must be positive");
  require(opt.prompts_per_shard > 0, "--shard-prompts must be positive");
  require(opt.parallel > 0, "--parallel must be positive");
  require(opt.max_prompts >= 0, "--max-prompts must be >= 0");
  require(!opt.out.empty(), "--out is required");
  for (auto& s : opt.stop) require(!s.empty(), "--stop strings must not be empty");
}

std::vector<PromptItem> load_prompts(const GenerateCorpusOptions& opt) {
  std::vector<PromptItem> prompts = read_prompts(opt.prompts);
  if (opt.max_prompts > 0 && int64_t(prompts.size()) > opt.max_prompts)
    prompts.resize(size_t(opt.max_prompts));
  return prompts;
}

// What samples: a local model or an endpoint. `identity` goes into generation.json.
struct SampleTeacher {
  nlohmann::ordered_json identity;
  std::string lineage;  // the input recorded as "teacher" in the manifest
  nlohmann::json extra;
  double flops_per_token = 0;
  std::function<nlohmann::ordered_json(const PromptItem&, int64_t, int)> sample;
};

GenerateCorpusResult run_shards(const GenerateCorpusOptions& opt,
                                const std::vector<PromptItem>& prompts, const SampleTeacher& t);

}  // namespace

GenerateCorpusResult run_generate_corpus(const GenerateCorpusOptions& opt,
                                         const TeacherHandle& teacher) {
  const LlamaModel& model = *teacher.model;
  const Tokenizer& tok = *teacher.tokenizer;
  const LlamaConfig& cfg = model.config();
  check_options(opt);
  require(tok.vocab_size() <= cfg.vocab_size,
          "the teacher's tokenizer has more tokens than its embedding rows");
  std::vector<PromptItem> prompts = load_prompts(opt);
  // Every prompt must fit the teacher's context with room for one new token; checked up
  // front so a long run does not fail at prompt 9,000.
  const bool bos = tok.bos_id() >= 0 || cfg.bos_token_id >= 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    int64_t n = int64_t(tok.encode(prompts[i].prompt).size()) + (bos ? 1 : 0);
    require(n > 0, "prompt " + std::to_string(i) + " of " + opt.prompts +
                       " is empty and the teacher's tokenizer has no BOS token to start from");
    require(n < cfg.max_seq, "prompt " + std::to_string(i) + " (id " + prompts[i].id.dump() +
                                 ") of " + opt.prompts + " has " + std::to_string(n) +
                                 " tokens, more than the teacher's context (" +
                                 std::to_string(cfg.max_seq) + ") leaves room for: shorten it");
  }
  SampleTeacher t;
  t.identity["teacher"] = teacher.path;
  t.identity["teacher_sha256"] = teacher.sha256;
  t.identity["tokenizer_kind"] = tok.kind();
  t.identity["tokenizer_fingerprint"] = tok.fingerprint();
  t.lineage = teacher.resolved.empty() ? teacher.path : teacher.resolved;
  t.extra = {{"teacher_sha256", teacher.sha256}, {"tokenizer_fingerprint", tok.fingerprint()}};
  // Forward only: 2 FLOPs per matmul parameter per token decoded (prompts and samples).
  t.flops_per_token = 2.0 * double(cfg.num_matmul_params());
  t.sample = [&](const PromptItem& p, int64_t i, int s) {
    return generate_sample(model, tok, p, i, s, opt);
  };
  return run_shards(opt, prompts, t);
}

GenerateCorpusResult run_generate_corpus(const GenerateCorpusOptions& opt,
                                         const EndpointTeacher& teacher) {
  check_options(opt);
  std::vector<PromptItem> prompts = load_prompts(opt);
  SampleTeacher t;
  t.identity["teacher"] = teacher.completions_url();
  t.identity["endpoint_model"] = teacher.options().model;
  t.identity["tokenizer_kind"] = "";
  t.identity["tokenizer_fingerprint"] = "";
  t.lineage = teacher.completions_url();
  t.extra = {{"endpoint", teacher.completions_url()}, {"endpoint_model", teacher.options().model}};
  t.sample = [&](const PromptItem& p, int64_t i, int s) {
    return generate_endpoint_sample(teacher, p, i, s, opt);
  };
  return run_shards(opt, prompts, t);
}

namespace {

GenerateCorpusResult run_shards(const GenerateCorpusOptions& opt,
                                const std::vector<PromptItem>& prompts, const SampleTeacher& t) {
  const double t0 = wall_seconds_now();
  const int64_t N = int64_t(prompts.size());
  const int S = opt.samples_per_prompt;
  nlohmann::ordered_json settings;
  settings["format"] = "still-generations/1";
  for (auto& [k, v] : t.identity.items()) settings[k] = v;
  settings["prompts"] = opt.prompts;
  settings["prompts_sha256"] = sha256_file(opt.prompts);
  settings["num_prompts"] = N;
  settings["samples_per_prompt"] = S;
  settings["max_new_tokens"] = opt.max_new_tokens;
  settings["temperature"] = opt.sampler.temperature;
  settings["top_k"] = opt.sampler.top_k;
  settings["top_p"] = opt.sampler.top_p;
  settings["stop"] = opt.stop;
  settings["seed"] = opt.seed;
  settings["prompts_per_shard"] = opt.prompts_per_shard;
  const std::string settings_text = settings.dump(2) + "\n";

  check_out_dir(opt.out, settings_text);
  make_dirs(opt.out);
  OutLock lock(opt.out);
  write_file_atomic(path_join(opt.out, train::kGenerationSettingsFile), settings_text);

  GenerateCorpusResult res;
  res.prompts = N;
  res.samples = N * S;
  const std::string final_path = path_join(opt.out, train::kGenerationsFile);
  const std::string shard_dir = path_join(opt.out, kShardDir);
  const int64_t n_shards = (N + opt.prompts_per_shard - 1) / opt.prompts_per_shard;

  // Finished earlier: the manifest vouches for generations.jsonl.
  if (file_exists(path_join(opt.out, Manifest::kFileName)) && file_exists(final_path)) {
    try {
      Manifest::load(opt.out).verify(opt.out);
      res.already_complete = true;
    } catch (const Error& e) {
      log_warn(std::string(e.what()) + " — generating again");
    }
  }
  if (res.already_complete) {
    if (dir_exists(shard_dir)) remove_tree(shard_dir);
    const std::string content = read_file(final_path);
    for (std::string_view line : split_lines(content)) {
      auto j = nlohmann::json::parse(line);
      res.prompt_tokens += j["prompt_tokens"].get<int64_t>();
      res.completion_tokens += j["completion_tokens"].get<int64_t>();
      auto& c = res.finish_reasons[j["finish_reason"].get<std::string>()];
      c = c.is_null() ? 1 : c.get<int64_t>() + 1;
    }
    res.shards_kept = n_shards;
    res.seconds = wall_seconds_now() - t0;
    log_info(opt.out + " is already complete");
    return res;
  }
  make_dirs(shard_dir);

  Progress bar("generate", res.samples, "samples");
  ComputeSpent spent;  // over every session, from the shards' headers
  std::string all;     // the final file
  int64_t done = 0, session_tokens = 0;
  const double t_loop = wall_seconds_now();
  for (int64_t k = 0; k < n_shards; ++k) {
    const int64_t first = k * opt.prompts_per_shard;
    const int64_t n = std::min<int64_t>(opt.prompts_per_shard, N - first);
    const std::string path = path_join(opt.out, shard_name(k));
    std::optional<Shard> sh = read_shard(path, first, n, S);
    if (sh) {
      ++res.shards_kept;
      done += n * S;
      bar.restart_clock(done);
    } else {
      const double w0 = wall_seconds_now(), c0 = process_cpu_seconds();
      Shard fresh;
      int64_t tokens = 0;
      const int64_t jobs = n * S;
      fresh.samples.assign(size_t(jobs), std::string());
      ParallelErrors errors;  // the first failure; no exception leaves a thread
      // --parallel P: P samples at once, one thread each (the kernels' own parallel regions
      // nest to one thread); each lands in its slot, so the shard does not depend on P.
#pragma omp parallel for schedule(dynamic, 1) num_threads(opt.parallel) if (opt.parallel > 1)
      for (int64_t q = 0; q < jobs; ++q) {
        const int64_t i = first + q / S;
        const int s = int(q % S);
        errors.run([&] {
          auto j = t.sample(prompts[size_t(i)], i, s);
          int64_t tk = j["prompt_tokens"].get<int64_t>() + j["completion_tokens"].get<int64_t>();
          fresh.samples[size_t(q)] = j.dump();
#pragma omp critical(generate_progress)
          {
            tokens += tk;
            session_tokens += tk;
            ++done;
            double el = std::max(1e-9, wall_seconds_now() - t_loop);
            char status[80];
            std::snprintf(status, sizeof status, "%s tok/s",
                          format_count(double(session_tokens) / el).c_str());
            bar.update(done, status);
          }
        });
      }
      errors.rethrow();
      fresh.header = {{"shard", k},
                      {"first_prompt", first},
                      {"prompts", n},
                      {"tokens", tokens},
                      {"wall_seconds", wall_seconds_now() - w0},
                      {"cpu_seconds", process_cpu_seconds() - c0}};
      std::string text = fresh.header.dump() + "\n";
      for (auto& l : fresh.samples) text += l + "\n";
      write_file_atomic(path, text);
      ++res.shards_written;
      sh = std::move(fresh);
    }
    spent.wall_seconds += sh->header.value("wall_seconds", 0.0);
    spent.cpu_seconds += sh->header.value("cpu_seconds", 0.0);
    spent.tokens += sh->header.value("tokens", int64_t(0));
    for (auto& l : sh->samples) {
      auto j = nlohmann::json::parse(l);
      res.prompt_tokens += j["prompt_tokens"].get<int64_t>();
      res.completion_tokens += j["completion_tokens"].get<int64_t>();
      auto& c = res.finish_reasons[j["finish_reason"].get<std::string>()];
      c = c.is_null() ? 1 : c.get<int64_t>() + 1;
      all += l;
      all += '\n';
    }
  }
  bar.finish();
  write_file_atomic(final_path, all);

  Manifest m;
  m.kind = "generations";
  m.command = command_line();
  m.add_input("teacher", t.lineage);
  m.add_input("prompts", opt.prompts);
  m.add_file(opt.out, train::kGenerationSettingsFile);
  m.add_file(opt.out, train::kGenerationsFile);
  m.compute = spent;
  m.compute.threads = omp_get_max_threads();
  m.compute.flops = t.flops_per_token * double(spent.tokens);
  m.extra = t.extra;
  m.extra.update(nlohmann::json{{"prompts", N},
                                {"samples", res.samples},
                                {"prompt_tokens", res.prompt_tokens},
                                {"completion_tokens", res.completion_tokens},
                                {"finish_reasons", res.finish_reasons},
                                {"sampling", nlohmann::json::parse(settings_text)}});
  m.write(opt.out);
  remove_tree(shard_dir);
  res.seconds = wall_seconds_now() - t0;
  return res;
}

}  // namespace
}  // namespace still
