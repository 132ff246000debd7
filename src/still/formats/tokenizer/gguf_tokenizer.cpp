// The tokenizer stored in a GGUF file (tokenizer.ggml.*), as llama.cpp writes it: "gpt2"
// (byte-level BPE with merges and a named pre-tokenizer) or "llama" (SentencePiece vocabulary
// with scores and <0xNN> byte tokens).
#include "still/formats/gguf.h"
#include "still/formats/tokenizer/loaders.h"
#include "still/formats/tokenizer/regex_splitter.h"
#include "still/util/error.h"

namespace still {
namespace {

// llama.cpp token types.
enum : int64_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6
};

}  // namespace

std::unique_ptr<Tokenizer> load_gguf_tokenizer(const std::string& path) {
  GgufFile m(path);
  const std::string model = m.get_string("tokenizer.ggml.model");
  BpeSpec spec;
  spec.source = path;
  spec.vocab = m.get_strings("tokenizer.ggml.tokens");
  const size_t n = spec.vocab.size();
  std::vector<int64_t> types(n, kNormal);
  if (m.has("tokenizer.ggml.token_type")) {
    types = m.get_ints("tokenizer.ggml.token_type");
    require(types.size() == n, path + ": tokenizer.ggml.token_type has " +
                                   std::to_string(types.size()) + " entries for " +
                                   std::to_string(n) + " tokens");
  }
  for (size_t id = 0; id < n; ++id) {
    require(!spec.vocab[id].empty(), path + ": token " + std::to_string(id) + " is empty");
    if (types[id] == kControl || types[id] == kUnknown || types[id] == kUserDefined) {
      AddedToken a;
      a.id = int32_t(id);
      a.content = spec.vocab[id];
      a.special = types[id] != kUserDefined;
      spec.added.push_back(a);
    }
  }
  auto opt_id = [&](const char* key) { return m.has(key) ? int(m.get_int(key)) : -1; };
  spec.bos_id = opt_id("tokenizer.ggml.bos_token_id");
  spec.eos_id = opt_id("tokenizer.ggml.eos_token_id");
  if (m.has("tokenizer.chat_template"))
    spec.chat_template = m.get_string("tokenizer.chat_template");

  if (model == "gpt2") {
    spec.alphabet = BpeSpec::Alphabet::kByteLevel;
    std::string pre = m.has("tokenizer.ggml.pre") ? m.get_string("tokenizer.ggml.pre") : "default";
    spec.split_regexes = split_regexes_for_pre(pre);
    require(!spec.split_regexes.empty(), path + ": tokenizer.ggml.pre '" + pre +
                                             "' is not supported (known: default, gpt-2, "
                                             "llama-bpe, qwen2, deepseek-r1-qwen)");
    if (pre == "qwen2" || pre == "deepseek-r1-qwen")
      spec.normalizer.push_back({BpeSpec::NormStep::kNfc, "", ""});
    if (pre == "llama-bpe" || pre == "llama3") spec.ignore_merges = true;
    for (const auto& s : m.get_strings("tokenizer.ggml.merges")) {
      size_t sp = s.find(' ');
      require(sp != std::string::npos && sp > 0 && sp + 1 < s.size() &&
                  s.find(' ', sp + 1) == std::string::npos,
              path + ": merge '" + s + "' is not two tokens separated by one space");
      spec.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    }
  } else if (model == "llama") {
    spec.alphabet = BpeSpec::Alphabet::kChars;
    const auto scores = m.get_floats("tokenizer.ggml.scores");
    spec.scores.assign(scores.begin(), scores.end());
    spec.byte_fallback = true;
    for (size_t id = 0; id < n; ++id)
      if (types[id] == kUnknown) spec.unk_token = spec.vocab[id];
    bool space_prefix = m.has("tokenizer.ggml.add_space_prefix")
                            ? m.get_bool("tokenizer.ggml.add_space_prefix")
                            : true;
    spec.normalizer.push_back({BpeSpec::NormStep::kReplace, " ", "\u2581"});
    if (space_prefix) spec.normalizer.push_back({BpeSpec::NormStep::kPrepend, "\u2581", ""});
    spec.strip_leading_space = space_prefix;
  } else {
    throw Error(path + ": tokenizer.ggml.model '" + model +
                "' is not supported (supported: gpt2, llama)");
  }
  return std::make_unique<BpeTokenizer>(std::move(spec));
}

}  // namespace still
