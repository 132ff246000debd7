#include "still/data/manifest.h"

#include <sys/stat.h>

#include <filesystem>

#include "still/io/atomic_file.h"
#include "still/util/error.h"
#include "still/util/json_number.h"
#include "still/util/sha256.h"

namespace still {
namespace {
std::vector<std::string>& command_line_storage() {
  static std::vector<std::string> v;
  return v;
}
}  // namespace

void set_command_line(int argc, char** argv) {
  auto& v = command_line_storage();
  v.assign(argv, argv + argc);
}
const std::vector<std::string>& command_line() { return command_line_storage(); }

void Manifest::add_file(const std::string& dir, const std::string& name) {
  std::string p = path_join(dir, name);
  FileEntry e;
  e.name = name;
  e.sha256 = sha256_file(p);
  e.bytes = std::filesystem::file_size(p);
  for (auto& f : files_)
    if (f.name == name) {
      f = e;
      return;
    }
  files_.push_back(e);
}

void Manifest::add_input(const std::string& role, const std::string& path) {
  ManifestInput in;
  in.role = role;
  in.path = path;
  std::string mpath = path_join(path, kFileName);
  if (dir_exists(path) && file_exists(mpath)) {
    in.sha256 = sha256_file(mpath);
    in.manifest = nlohmann::json::parse(read_file(mpath), nullptr, false);
    if (in.manifest.is_discarded()) in.manifest = nullptr;
  } else if (file_exists(path)) {
    in.sha256 = sha256_file(path);
  }
  inputs.push_back(std::move(in));
}

nlohmann::json Manifest::to_json() const {
  nlohmann::json j;
  j["format"] = "still-manifest/1";
  j["kind"] = kind;
  j["still_version"] = STILL_VERSION;
  j["command"] = command;
  auto& fs = j["files"] = nlohmann::json::array();
  for (auto& f : files_) fs.push_back({{"name", f.name}, {"sha256", f.sha256}, {"bytes", f.bytes}});
  auto& ins = j["inputs"] = nlohmann::json::array();
  for (auto& in : inputs) {
    nlohmann::json e = {{"role", in.role}, {"path", in.path}, {"sha256", in.sha256}};
    if (!in.manifest.is_null()) e["manifest"] = in.manifest;
    ins.push_back(e);
  }
  j["compute"] = {{"wall_seconds", compute.wall_seconds},
                  {"cpu_seconds", compute.cpu_seconds},
                  {"flops", compute.flops},
                  {"tokens", compute.tokens},
                  {"threads", compute.threads}};
  j["extra"] = extra;
  return j;
}

Manifest Manifest::from_json(const nlohmann::json& j) {
  Manifest m;
  try {
    m.kind = j.at("kind").get<std::string>();
    m.command = j.value("command", std::vector<std::string>{});
    for (auto& f : j.at("files")) {
      auto bytes = json_number_as<uint64_t>(f.at("bytes"));
      require(bytes.has_value(), "malformed manifest: a file's bytes is not a byte count");
      m.files_.push_back(
          {f.at("name").get<std::string>(), f.at("sha256").get<std::string>(), *bytes});
    }
    for (auto& in : j.value("inputs", nlohmann::json::array()))
      m.inputs.push_back({in.value("role", ""), in.value("path", ""), in.value("sha256", ""),
                          in.value("manifest", nlohmann::json())});
    auto c = j.value("compute", nlohmann::json::object());
    m.compute.wall_seconds = c.value("wall_seconds", 0.0);
    m.compute.cpu_seconds = c.value("cpu_seconds", 0.0);
    m.compute.flops = c.value("flops", 0.0);
    auto tokens = json_member_as<int64_t>(c, "tokens", 0);
    auto threads = json_member_as<int>(c, "threads", 0);
    require(tokens && threads, "malformed manifest: compute tokens/threads out of range");
    m.compute.tokens = *tokens;
    m.compute.threads = *threads;
    m.extra = j.value("extra", nlohmann::json::object());
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("malformed manifest: ") + e.what());
  }
  return m;
}

void Manifest::write(const std::string& dir) const {
  write_file_atomic(path_join(dir, kFileName), to_json().dump(2) + "\n");
}

Manifest Manifest::load(const std::string& dir) {
  std::string p = path_join(dir, kFileName);
  auto j = nlohmann::json::parse(read_file(p), nullptr, false);
  require(!j.is_discarded(), p + " is not valid JSON: the artifact is damaged; recreate it");
  try {
    return from_json(j);
  } catch (const Error& e) {
    throw Error(p + ": " + e.what());
  }
}

void Manifest::verify(const std::string& dir) const {
  for (auto& f : files_) {
    std::string p = path_join(dir, f.name);
    require(file_exists(p), p + " is missing (listed in " + path_join(dir, kFileName) + ")");
    require(std::filesystem::file_size(p) == f.bytes && sha256_file(p) == f.sha256,
            p + " is damaged: its SHA-256 does not match the manifest; recreate it");
  }
}

}  // namespace still
