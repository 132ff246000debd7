#include "still/model/open_model.h"

#include "still/io/atomic_file.h"
#include "still/ledger/manifest.h"
#include "still/train/checkpoint.h"
#include "still/util/error.h"
#include "still/util/sha256.h"

namespace still {

OpenedModel open_model(const std::string& path, const std::string& tokenizer_override) {
  require(file_exists(path) || dir_exists(path), "model " + path + " does not exist");
  OpenedModel m;
  m.path = path;
  require(dir_exists(path), "model " + path +
                                ": expected a still run or checkpoint directory (GGUF and "
                                "Hugging Face folders load through the formats module)");
  std::string ck_dir = train::resolve_checkpoint(path);
  auto ck = train::open_checkpoint(ck_dir, /*verify=*/true);
  m.resolved = ck_dir;
  m.model = std::make_unique<LlamaModel>(ck.config);
  train::load_checkpoint_weights(ck, m.model->layout(), m.model->params());
  m.tokenizer = tokenizer_override.empty() ? train::load_checkpoint_tokenizer(ck)
                                           : load_tokenizer(tokenizer_override);
  m.sha256 = sha256_file(path_join(ck_dir, Manifest::kFileName));
  require(m.tokenizer->vocab_size() <= ck.config.vocab_size,
          path + ": the tokenizer has " + std::to_string(m.tokenizer->vocab_size()) +
              " tokens but the model only " + std::to_string(ck.config.vocab_size));
  return m;
}

}  // namespace still
