#include "still/modelio/open_model.h"

#include "still/data/manifest.h"
#include "still/io/atomic_file.h"
#include "still/modelio/checkpoint.h"
#include "still/modelio/load.h"
#include "still/util/error.h"
#include "still/util/sha256.h"

namespace still {

std::string model_tokenizer_spec(const std::string& model_path) {
  ModelLocation loc = locate_model(model_path);
  if (loc.format == ModelFormat::kGguf) return loc.path;
  if (file_exists(path_join(loc.path, "trainer_state.json"))) {
    auto ck = train::open_checkpoint(loc.path, false);
    std::string file = ck.tokenizer_info.value("file", "");
    return file.empty() ? ck.tokenizer_info.value("kind", "bytes") : path_join(loc.path, file);
  }
  for (const char* name : {"tokenizer.json", "tokenizer.model"})
    if (file_exists(path_join(loc.path, name))) return path_join(loc.path, name);
  return loc.path;  // load_tokenizer explains what it expected
}

OpenedModel open_model(const std::string& path, const std::string& tokenizer_override,
                       const LoadOptions& load) {
  require(file_exists(path) || dir_exists(path), "model " + path + " does not exist");
  OpenedModel m;
  m.path = path;
  ModelLocation loc = locate_model(path);
  m.resolved = loc.path;
  m.model = load_model(path, load);
  const bool is_checkpoint = loc.format == ModelFormat::kHfFolder &&
                             file_exists(path_join(loc.path, "trainer_state.json"));
  if (!tokenizer_override.empty()) {
    m.tokenizer = load_tokenizer(tokenizer_override);
  } else if (is_checkpoint) {
    m.tokenizer = train::load_checkpoint_tokenizer(train::open_checkpoint(loc.path, false));
  } else {
    m.tokenizer = load_tokenizer(loc.path);
  }
  // Identity: the artifact's manifest when it has one, else the weights' own bytes.
  std::string manifest = loc.format == ModelFormat::kHfFolder
                             ? path_join(loc.path, Manifest::kFileName)
                             : std::string();
  if (!manifest.empty() && file_exists(manifest)) {
    if (is_checkpoint) Manifest::load(loc.path).verify(loc.path);
    m.sha256 = sha256_file(manifest);
  } else if (loc.format == ModelFormat::kGguf) {
    m.sha256 = sha256_file(loc.path);
  } else {
    m.sha256 = sha256_file(path_join(loc.path, "config.json"));
  }
  const int V = m.model->config().vocab_size;
  require(m.tokenizer->vocab_size() <= V,
          path + ": the tokenizer has " + std::to_string(m.tokenizer->vocab_size()) +
              " tokens but the model only " + std::to_string(V) + " embedding rows");
  return m;
}

}  // namespace still
