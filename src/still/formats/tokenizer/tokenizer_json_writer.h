// Pieces of a Hugging Face tokenizer.json for BPE vocabularies, shared by every writer (the
// BPE trainer, export's byte / GGUF vocabularies), so the files they write agree in layout.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace still::hf_json {

using Json = nlohmann::ordered_json;

// One "added_tokens" entry.
Json added_token(size_t id, const std::string& content, bool special, bool normalized);
// A ByteLevel pre-tokenizer / post-processor / decoder object.
Json byte_level(bool add_prefix_space, bool trim_offsets, bool use_regex);
// A Sequence of Isolated regex Splits followed by `last` (e.g. a ByteLevel without regex).
Json split_sequence(const std::vector<std::string>& regexes, Json last);

struct BpeModel {
  Json vocab = Json::object();   // token -> id
  Json merges = Json::array();   // ["a", "b"] pairs or "a b" strings
  bool ignore_merges = false;    // whole pieces found in the vocabulary skip merging
};

// The whole tokenizer.json object, keys in the order Hugging Face writes them.
Json bpe_tokenizer(Json added_tokens, Json pre_tokenizer, Json post_processor, Json decoder,
                   BpeModel model);

}  // namespace still::hf_json
