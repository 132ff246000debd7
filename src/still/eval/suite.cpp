#include "still/eval/suite.h"

#include <filesystem>
#include <set>

#include "still/eval/data_file.h"
#include "still/io/atomic_file.h"
#include "still/util/error.h"
#include "still/util/sha256.h"

namespace still::eval {
namespace {

namespace fs = std::filesystem;

bool is_hex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string get_string(const nlohmann::json& j, const char* key, const std::string& where,
                       bool required) {
  if (!j.contains(key)) {
    require(!required, where + ": missing \"" + key + "\"");
    return "";
  }
  require(j[key].is_string(), where + ": \"" + key + "\" must be a string");
  return j[key].get<std::string>();
}

// The manifest's relative path, looked up against the suite's folder and its parents.
std::string resolve_data_path(const std::string& suite_path, const std::string& rel) {
  if (fs::path(rel).is_absolute()) return rel;
  fs::path dir = fs::absolute(fs::path(suite_path)).parent_path();
  for (fs::path d = dir;; d = d.parent_path()) {
    fs::path candidate = (d / rel).lexically_normal();
    if (fs::exists(candidate)) return candidate.string();
    if (d == d.parent_path()) break;
  }
  return (dir / rel).lexically_normal().string();
}

std::string short_hash(const std::string& h) { return h.substr(0, 12); }

}  // namespace

const char* task_kind_name(TaskKind k) {
  return k == TaskKind::kPerplexity ? "perplexity" : "multiple_choice";
}

nlohmann::json Suite::canonical() const {
  nlohmann::json tasks_j = nlohmann::json::array();
  for (auto& t : tasks) {
    tasks_j.push_back({{"name", t.name},
                       {"kind", task_kind_name(t.kind)},
                       {"format", t.format},
                       {"window", t.window},
                       {"content_sha256", t.content_sha256}});
  }
  return {{"still_suite", 1}, {"name", name}, {"tasks", tasks_j}};
}

nlohmann::json Suite::summary() const {
  nlohmann::json j = canonical();
  j["hash"] = hash;
  j["path"] = path;
  for (size_t i = 0; i < tasks.size(); ++i) j["tasks"][i]["data"] = tasks[i].resolved_path;
  return j;
}

Suite parse_suite(const std::string& text, const std::string& what) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  require(!j.is_discarded() && j.is_object(),
          what + ": not a JSON object; a suite is {\"name\": ..., \"tasks\": [...]}");
  Suite s;
  s.path = what;
  s.name = get_string(j, "name", what, true);
  require(!s.name.empty(), what + ": \"name\" is empty");
  s.description = get_string(j, "description", what, false);
  require(j.contains("tasks") && j["tasks"].is_array() && !j["tasks"].empty(),
          what + ": \"tasks\" must be a non-empty array");
  std::set<std::string> names;
  for (size_t i = 0; i < j["tasks"].size(); ++i) {
    const auto& tj = j["tasks"][i];
    std::string where = what + ": task " + std::to_string(i + 1);
    require(tj.is_object(), where + " is not an object");
    SuiteTask t;
    t.name = get_string(tj, "name", where, true);
    require(!t.name.empty() && names.insert(t.name).second,
            where + ": task names must be unique and non-empty (\"" + t.name + "\")");
    where = what + ": task \"" + t.name + "\"";
    std::string kind = get_string(tj, "kind", where, true);
    if (kind == "perplexity") {
      t.kind = TaskKind::kPerplexity;
      t.format = get_string(tj, "format", where, false);
      if (t.format.empty()) t.format = "text";
      require(
          t.format == "text" || t.format == "jsonl",
          where + ": perplexity format must be \"text\" or \"jsonl\", not \"" + t.format + "\"");
    } else if (kind == "multiple_choice") {
      t.kind = TaskKind::kMultipleChoice;
      t.format = get_string(tj, "format", where, false);
      if (t.format.empty()) t.format = "hellaswag";
      require(t.format == "hellaswag",
              where + ": multiple_choice format must be \"hellaswag\", not \"" + t.format + "\"");
    } else {
      throw Error(where + ": unknown kind \"" + kind + "\" (use perplexity or multiple_choice)");
    }
    t.path = get_string(tj, "path", where, true);
    t.sha256 = get_string(tj, "sha256", where, false);
    t.content_sha256 = get_string(tj, "content_sha256", where, false);
    require(!t.sha256.empty() || !t.content_sha256.empty(),
            where + ": give the data file's \"sha256\" (a suite never scores unhashed data)");
    require(t.sha256.empty() || is_hex64(t.sha256),
            where + ": \"sha256\" must be 64 lowercase hex digits");
    require(t.content_sha256.empty() || is_hex64(t.content_sha256),
            where + ": \"content_sha256\" must be 64 lowercase hex digits");
    if (tj.contains("window")) {
      require(tj["window"].is_number_integer() && tj["window"].get<int64_t>() >= 0 &&
                  tj["window"].get<int64_t>() <= (1 << 20),
              where + ": \"window\" must be a token count (0 = the model's length)");
      t.window = tj["window"].get<int>();
    }
    s.tasks.push_back(std::move(t));
  }
  return s;
}

Suite load_suite(const std::string& path, const std::map<std::string, std::string>& overrides) {
  require(file_exists(path), "suite " + path + " not found (see suites/ for the shipped ones)");
  Suite s = parse_suite(read_file(path), path);
  for (auto& [task, file] : overrides) {
    bool known = false;
    for (auto& t : s.tasks) known |= t.name == task;
    require(known,
            "--data " + task + "=" + file + ": suite " + path + " has no task \"" + task + "\"");
  }
  for (auto& t : s.tasks) {
    auto o = overrides.find(t.name);
    t.resolved_path = o != overrides.end() ? o->second : resolve_data_path(path, t.path);
    require(file_exists(t.resolved_path), t.resolved_path + ": data file of task \"" + t.name +
                                              "\" in suite " + path + " not found; pass --data " +
                                              t.name + "=YOUR_COPY");
    DataFile f = read_data_file(t.resolved_path);
    bool ok = (!t.sha256.empty() && f.file_sha256 == t.sha256) ||
              (!t.content_sha256.empty() && f.content_sha256 == t.content_sha256);
    if (!ok) {
      std::string expected = !t.content_sha256.empty() ? t.content_sha256 : t.sha256;
      throw Error(t.resolved_path + ": SHA-256 " + short_hash(f.content_sha256) +
                  "… does not match suite " + path + " (task \"" + t.name + "\" expects " +
                  short_hash(expected) + "…); refusing to score data that differs from the suite");
    }
    // When the manifest only gave the file hash, the verified file fixes the content hash.
    if (t.content_sha256.empty()) t.content_sha256 = f.content_sha256;
    t.content = std::move(f.content);
  }
  s.hash = sha256_hex(s.canonical().dump());
  return s;
}

Suite make_text_suite(const std::string& suite_path, const std::string& name,
                      const std::vector<std::string>& text_files, int window) {
  require(!text_files.empty(), "make_text_suite: no text files given");
  fs::path dir = fs::absolute(fs::path(suite_path)).parent_path();
  nlohmann::json tasks = nlohmann::json::array();
  for (auto& file : text_files) {
    DataFile f = read_data_file(file);
    std::string rel =
        fs::absolute(fs::path(file)).lexically_normal().lexically_relative(dir).string();
    bool jsonl = fs::path(file).extension() == ".jsonl";
    tasks.push_back({{"name", fs::path(file).stem().string()},
                     {"kind", "perplexity"},
                     {"format", jsonl ? "jsonl" : "text"},
                     {"path", rel.empty() ? file : rel},
                     {"sha256", f.file_sha256},
                     {"content_sha256", f.content_sha256},
                     {"window", window}});
  }
  nlohmann::json j = {{"still_suite", 1}, {"name", name}, {"tasks", tasks}};
  make_dirs(dir.string());
  write_file_atomic(suite_path, j.dump(2) + "\n");
  return load_suite(suite_path);
}

Suite make_text_suite_from_docs(const std::string& suite_path, const std::string& name,
                                const std::vector<std::string>& docs, int window) {
  require(!docs.empty(), "make_text_suite: no documents given");
  // JSON lines keep every document exactly, blank lines inside it included.
  std::string body;
  for (auto& d : docs) {
    try {
      body += nlohmann::json({{"text", d}}).dump() + "\n";
    } catch (const nlohmann::json::exception&) {
      throw Error("make_text_suite " + suite_path + ": a document is not valid UTF-8");
    }
  }
  fs::path data = fs::absolute(fs::path(suite_path)).parent_path() / (name + ".jsonl");
  make_dirs(data.parent_path().string());
  write_file_atomic(data.string(), body);
  return make_text_suite(suite_path, name, {data.string()}, window);
}

}  // namespace still::eval
