// Reads Hugging Face tokenizer.json files (BPE models) into a BpeSpec, rejecting whatever
// we would not tokenize exactly like the reference with an error naming the construct.
#include <cctype>
#include <nlohmann/json.hpp>

#include "still/formats/tokenizer/loaders.h"
#include "still/formats/tokenizer/regex_splitter.h"
#include "still/util/error.h"
#include "still/util/json_number.h"

namespace still {
namespace {

using nlohmann::json;

constexpr int64_t kMaxTokenId = int64_t(1) << 24;

struct Reader {
  const std::string& source;

  [[noreturn]] void fail(const std::string& what) const { throw Error(source + ": " + what); }

  std::string type_of(const json& j, const std::string& where) const {
    if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
      fail(where + " has no \"type\"");
    return j["type"].get<std::string>();
  }
  bool get_bool(const json& j, const char* key, bool dflt) const {
    if (!j.contains(key) || j[key].is_null()) return dflt;
    if (!j[key].is_boolean()) fail(std::string("\"") + key + "\" must be true or false");
    return j[key].get<bool>();
  }
  std::string get_string(const json& j, const char* key, const std::string& dflt) const {
    if (!j.contains(key) || j[key].is_null()) return dflt;
    if (!j[key].is_string()) fail(std::string("\"") + key + "\" must be a string");
    return j[key].get<std::string>();
  }

  // A {"Regex": ...} or {"String": ...} pattern as a PCRE2 pattern.
  std::string pattern(const json& p) const {
    if (p.is_object() && p.contains("Regex") && p["Regex"].is_string())
      return p["Regex"].get<std::string>();
    if (p.is_object() && p.contains("String") && p["String"].is_string()) {
      std::string out;
      for (char c : p["String"].get<std::string>()) {
        if (!std::isalnum(uint8_t(c)) && uint8_t(c) < 0x80) out += '\\';
        out += c;
      }
      return out;
    }
    fail("pattern must be {\"Regex\": ...} or {\"String\": ...}");
  }

  void normalizer(const json& j, BpeSpec& spec) const {
    if (j.is_null()) return;
    std::string t = type_of(j, "normalizer");
    if (t == "Sequence") {
      if (!j.contains("normalizers") || !j["normalizers"].is_array())
        fail("Sequence normalizer without a \"normalizers\" list");
      for (const auto& n : j["normalizers"]) normalizer(n, spec);
    } else if (t == "NFC") {
      spec.normalizer.push_back({BpeSpec::NormStep::kNfc, "", ""});
    } else if (t == "Prepend") {
      spec.normalizer.push_back({BpeSpec::NormStep::kPrepend, get_string(j, "prepend", ""), ""});
    } else if (t == "Replace") {
      if (!j.contains("pattern") || !j["pattern"].contains("String") ||
          !j["pattern"]["String"].is_string())
        fail("Replace normalizer with a regex pattern is not supported (only String patterns)");
      spec.normalizer.push_back({BpeSpec::NormStep::kReplace,
                                 j["pattern"]["String"].get<std::string>(),
                                 get_string(j, "content", "")});
    } else {
      fail("normalizer \"" + t +
           "\" is not supported (supported: NFC, Prepend, Replace, Sequence)");
    }
  }

  void pre_tokenizer(const json& j, BpeSpec& spec) const {
    if (j.is_null()) return;
    std::string t = type_of(j, "pre_tokenizer");
    if (t == "Sequence") {
      if (!j.contains("pretokenizers") || !j["pretokenizers"].is_array())
        fail("Sequence pre_tokenizer without a \"pretokenizers\" list");
      for (const auto& p : j["pretokenizers"]) pre_tokenizer(p, spec);
    } else if (t == "Split") {
      std::string behavior = get_string(j, "behavior", "Isolated");
      if (behavior != "Isolated")
        fail("Split pre_tokenizer behavior \"" + behavior + "\" is not supported (only Isolated)");
      if (get_bool(j, "invert", false))
        fail("Split pre_tokenizer with invert=true is not supported");
      if (!j.contains("pattern")) fail("Split pre_tokenizer without a pattern");
      spec.split_regexes.push_back(pattern(j["pattern"]));
    } else if (t == "ByteLevel") {
      spec.alphabet = BpeSpec::Alphabet::kByteLevel;
      spec.add_prefix_space = get_bool(j, "add_prefix_space", false);
      if (get_bool(j, "use_regex", true)) spec.split_regexes.push_back(kGpt2SplitRegex);
    } else if (t == "Digits") {
      spec.split_regexes.push_back(get_bool(j, "individual_digits", false) ? "\\p{N}" : "\\p{N}+");
    } else if (t == "Metaspace") {
      std::string rep = get_string(j, "replacement", "\u2581");
      std::string scheme = get_string(j, "prepend_scheme",
                                      get_bool(j, "add_prefix_space", true) ? "always" : "never");
      spec.normalizer.push_back({BpeSpec::NormStep::kReplace, " ", rep});
      if (scheme != "never") {
        BpeSpec::NormStep step{BpeSpec::NormStep::kPrepend, rep, ""};
        step.first_segment_only = scheme == "first";
        step.unless_present = true;
        spec.normalizer.push_back(step);
      }
      if (get_bool(j, "split", true)) {
        // Pieces start at each replacement character (HF: MergedWithNext).
        std::string r = pattern(json{{"String", rep}});
        spec.split_regexes.push_back("(?:" + r + ")?(?:(?!" + r + ").)+|" + r);
      }
    } else {
      fail("pre_tokenizer \"" + t +
           "\" is not supported (supported: ByteLevel, Split, Digits, Metaspace, Sequence)");
    }
  }

  void decoder(const json& j, BpeSpec& spec) const {
    if (j.is_null()) return;
    std::string t = type_of(j, "decoder");
    if (t == "Sequence") {
      if (!j.contains("decoders") || !j["decoders"].is_array())
        fail("Sequence decoder without a \"decoders\" list");
      for (const auto& d : j["decoders"]) decoder(d, spec);
    } else if (t == "ByteLevel") {
      spec.alphabet = BpeSpec::Alphabet::kByteLevel;
    } else if (t == "Strip") {
      auto start = json_member_as<int64_t>(j, "start", 0);
      if (!start) fail("Strip decoder's \"start\" is not an integer");
      if (get_string(j, "content", " ") == " " && *start >= 1) spec.strip_leading_space = true;
    } else if (t == "Metaspace") {
      std::string scheme = get_string(j, "prepend_scheme",
                                      get_bool(j, "add_prefix_space", true) ? "always" : "never");
      if (scheme != "never") spec.strip_leading_space = true;
    } else if (t != "Replace" && t != "ByteFallback" && t != "Fuse") {
      fail("decoder \"" + t + "\" is not supported");
    }
  }

  int64_t token_id(const json& v, const std::string& what) const {
    if (!v.is_number_integer()) fail(what + " has an id that is not an integer");
    int64_t id = v.get<int64_t>();
    if (id < 0 || id >= kMaxTokenId)
      fail(what + " has id " + std::to_string(id) + ", outside 0.." +
           std::to_string(kMaxTokenId - 1) + "; the file claims an impossible vocabulary");
    return id;
  }
};

}  // namespace

namespace {

BpeSpec parse_tokenizer_json(std::string_view json_text, const std::string& source) {
  Reader r{source};
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {
    std::string msg = e.what();
    r.fail("not valid JSON (" + msg.substr(msg.find(' ') + 1) + ")");
  }
  if (!root.is_object() || !root.contains("model") || !root["model"].is_object())
    r.fail("not a tokenizer.json: no \"model\" object");
  const json& model = root["model"];
  std::string mtype = model.contains("type") ? r.get_string(model, "type", "") : "BPE";
  if (mtype != "BPE") r.fail("model type \"" + mtype + "\" is not supported (only BPE)");
  if (!r.get_string(model, "continuing_subword_prefix", "").empty() ||
      !r.get_string(model, "end_of_word_suffix", "").empty())
    r.fail("BPE continuing_subword_prefix/end_of_word_suffix are not supported");
  if (model.contains("dropout") && !model["dropout"].is_null() && model["dropout"] != 0)
    r.fail("BPE dropout is not supported (tokenization would not be deterministic)");

  BpeSpec spec;
  spec.source = source;
  spec.alphabet = BpeSpec::Alphabet::kChars;
  spec.ignore_merges = r.get_bool(model, "ignore_merges", false);
  spec.byte_fallback = r.get_bool(model, "byte_fallback", false);
  spec.unk_token = r.get_string(model, "unk_token", "");

  if (!model.contains("vocab") || !model["vocab"].is_object())
    r.fail("model has no \"vocab\" object");
  const json& vocab = model["vocab"];
  int64_t max_id = -1;
  for (auto it = vocab.begin(); it != vocab.end(); ++it)
    max_id = std::max(max_id, r.token_id(it.value(), "token '" + it.key() + "'"));
  const json empty_array = json::array();
  const json& added = root.contains("added_tokens") && !root["added_tokens"].is_null()
                          ? root["added_tokens"]
                          : empty_array;
  if (!added.is_array()) r.fail("\"added_tokens\" must be a list");
  for (const auto& a : added) {
    if (!a.is_object() || !a.contains("id") || !a.contains("content") || !a["content"].is_string())
      r.fail("an added token lacks \"id\" or \"content\"");
    max_id = std::max(max_id,
                      r.token_id(a["id"], "added token '" + a["content"].get<std::string>() + "'"));
  }
  int64_t entries = int64_t(vocab.size() + added.size());
  if (max_id >= 2 * entries + 65536)
    r.fail("token id " + std::to_string(max_id) + " is far beyond the " + std::to_string(entries) +
           " tokens listed; the file claims a vocabulary it does not contain");
  spec.vocab.assign(size_t(max_id + 1), std::string());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    size_t id = size_t(it.value().get<int64_t>());
    if (!spec.vocab[id].empty())
      r.fail("id " + std::to_string(id) + " is used by both '" + spec.vocab[id] + "' and '" +
             it.key() + "'; each id must name one token");
    if (it.key().empty())
      r.fail("the vocabulary holds an empty token (id " + std::to_string(id) + ")");
    spec.vocab[id] = it.key();
  }
  for (const auto& a : added) {
    AddedToken t;
    t.id = int32_t(a["id"].get<int64_t>());
    t.content = a["content"].get<std::string>();
    t.special = r.get_bool(a, "special", false);
    t.lstrip = r.get_bool(a, "lstrip", false);
    t.rstrip = r.get_bool(a, "rstrip", false);
    t.single_word = r.get_bool(a, "single_word", false);
    if (t.content.empty()) r.fail("added token with id " + std::to_string(t.id) + " is empty");
    std::string& slot = spec.vocab[size_t(t.id)];
    if (slot.empty())
      slot = t.content;
    else if (slot != t.content)
      r.fail("id " + std::to_string(t.id) + " is used by both '" + slot + "' and added token '" +
             t.content + "'; each id must name one token");
    for (const auto& prev : spec.added)
      if (prev.id == t.id) r.fail("added token id " + std::to_string(t.id) + " is listed twice");
    spec.added.push_back(std::move(t));
  }

  if (model.contains("merges") && !model["merges"].is_null()) {
    const json& merges = model["merges"];
    if (!merges.is_array()) r.fail("\"merges\" must be a list");
    spec.merges.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
      const json& m = merges[i];
      if (m.is_string()) {
        const std::string& s = m.get_ref<const std::string&>();
        size_t sp = s.find(' ');
        if (sp == std::string::npos || sp == 0 || sp + 1 >= s.size() ||
            s.find(' ', sp + 1) != std::string::npos)
          r.fail("merge #" + std::to_string(i) + " '" + s +
                 "' is not two tokens separated by one space");
        spec.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        spec.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      } else {
        r.fail("merge #" + std::to_string(i) + " is neither \"a b\" nor [\"a\", \"b\"]");
      }
    }
  }

  if (root.contains("normalizer")) r.normalizer(root["normalizer"], spec);
  if (root.contains("pre_tokenizer")) r.pre_tokenizer(root["pre_tokenizer"], spec);
  if (root.contains("decoder")) r.decoder(root["decoder"], spec);
  // BOS from a TemplateProcessing post-processor ("<s> $A"); tokenizer_config.json may override.
  if (root.contains("post_processor") && root["post_processor"].is_object()) {
    const json& pp = root["post_processor"];
    if (pp.value("type", "") == "TemplateProcessing" && pp.contains("single") &&
        pp["single"].is_array() && !pp["single"].empty() &&
        pp["single"][0].contains("SpecialToken")) {
      std::string name = pp["single"][0]["SpecialToken"].value("id", "");
      for (const auto& a : spec.added)
        if (a.content == name) spec.bos_id = a.id;
    }
  }
  return spec;
}

}  // namespace

BpeSpec bpe_spec_from_tokenizer_json(std::string_view json_text, const std::string& source) {
  try {
    return parse_tokenizer_json(json_text, source);
  } catch (const nlohmann::json::exception& e) {
    std::string msg = e.what();
    throw Error(source + ": malformed tokenizer.json (" + msg.substr(msg.find(' ') + 1) + ")");
  }
}

}  // namespace still
