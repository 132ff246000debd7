#include "still/formats/tokenizer/tokenizer_json_writer.h"

namespace still::hf_json {

Json added_token(size_t id, const std::string& content, bool special, bool normalized) {
  return {{"id", id},          {"content", content},       {"single_word", false},
          {"lstrip", false},   {"rstrip", false},          {"normalized", normalized},
          {"special", special}};
}

Json byte_level(bool add_prefix_space, bool trim_offsets, bool use_regex) {
  return {{"type", "ByteLevel"},
          {"add_prefix_space", add_prefix_space},
          {"trim_offsets", trim_offsets},
          {"use_regex", use_regex}};
}

Json split_sequence(const std::vector<std::string>& regexes, Json last) {
  Json steps = Json::array();
  for (const auto& regex : regexes)
    steps.push_back({{"type", "Split"},
                     {"pattern", {{"Regex", regex}}},
                     {"behavior", "Isolated"},
                     {"invert", false}});
  steps.push_back(std::move(last));
  return {{"type", "Sequence"}, {"pretokenizers", std::move(steps)}};
}

Json bpe_tokenizer(Json added_tokens, Json pre_tokenizer, Json post_processor, Json decoder,
                   BpeModel model) {
  Json m = {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", nullptr},
            {"continuing_subword_prefix", nullptr},
            {"end_of_word_suffix", nullptr},
            {"fuse_unk", false},
            {"byte_fallback", false},
            {"ignore_merges", model.ignore_merges}};
  m["vocab"] = std::move(model.vocab);
  m["merges"] = std::move(model.merges);
  Json j = {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}};
  j["added_tokens"] = std::move(added_tokens);
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = std::move(pre_tokenizer);
  j["post_processor"] = std::move(post_processor);
  j["decoder"] = std::move(decoder);
  j["model"] = std::move(m);
  return j;
}

}  // namespace still::hf_json
