// OpenAI's original GPT-2 tokenizer files: encoder.json (token -> id) and vocab.bpe (merges).
#include <nlohmann/json.hpp>
#include <sstream>

#include "still/formats/tokenizer/loaders.h"
#include "still/formats/tokenizer/regex_splitter.h"
#include "still/io/atomic_file.h"
#include "still/util/error.h"

namespace still {

BpeSpec bpe_spec_from_gpt2_files(const std::string& encoder_json, const std::string& vocab_bpe) {
  // encoder.json has tokenizer.json's vocab shape: reuse that reader for the checks.
  nlohmann::json doc = {
      {"model", {{"type", "BPE"}, {"vocab", nullptr}, {"merges", nlohmann::json::array()}}}};
  try {
    doc["model"]["vocab"] = nlohmann::json::parse(read_file(encoder_json));
  } catch (const nlohmann::json::exception& e) {
    throw Error(encoder_json + ": not valid JSON (" + std::string(e.what()) + ")");
  }
  std::istringstream lines(read_file(vocab_bpe));
  std::string line;
  size_t lineno = 0;
  while (std::getline(lines, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.starts_with("#version")) continue;
    doc["model"]["merges"].push_back(line);
  }
  doc["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  doc["decoder"] = {{"type", "ByteLevel"}};
  BpeSpec spec = bpe_spec_from_tokenizer_json(doc.dump(), encoder_json);
  for (size_t id = 0; id < spec.vocab.size(); ++id)
    if (spec.vocab[id] == "<|endoftext|>") {
      spec.added.push_back(AddedToken{"<|endoftext|>", int32_t(id), true, false, false, false});
      spec.bos_id = spec.eos_id = int(id);
    }
  return spec;
}

}  // namespace still
