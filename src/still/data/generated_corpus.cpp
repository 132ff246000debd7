#include "still/data/generated_corpus.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "still/data/manifest.h"
#include "still/io/atomic_file.h"
#include "still/util/error.h"
#include "still/util/sha256.h"

namespace still::train {

bool is_generations_dir(const std::string& dir) {
  return dir_exists(dir) && file_exists(path_join(dir, kGenerationSettingsFile));
}

PromptedDoc tokenize_prompted(const Tokenizer& tok, const std::string& prompt,
                              const std::string& continuation, bool ended) {
  PromptedDoc d;
  if (tok.bos_id() >= 0) d.ids.push_back(tok.bos_id());
  std::vector<int32_t> p = tok.encode(prompt);
  std::vector<int32_t> whole = tok.encode(prompt + continuation);
  d.prompt_len = int64_t(d.ids.size() + p.size());
  if (whole.size() >= p.size() && std::equal(p.begin(), p.end(), whole.begin())) {
    d.ids.insert(d.ids.end(), whole.begin(), whole.end());
  } else {
    d.split_boundary = true;
    std::vector<int32_t> c = tok.encode(continuation);
    d.ids.insert(d.ids.end(), p.begin(), p.end());
    d.ids.insert(d.ids.end(), c.begin(), c.end());
  }
  if (ended && tok.eos_id() >= 0) d.ids.push_back(tok.eos_id());
  return d;
}

GeneratedCorpus load_generated_corpus(const std::string& dir, const Tokenizer& tok,
                                      const GeneratedCorpusOptions& opt) {
  require(opt.heldout_fraction > 0 && opt.heldout_fraction < 0.5,
          "--heldout-fraction must be in (0, 0.5)");
  require(!file_exists(path_join(dir, "signal.json")),
          dir + " is a teacher signal (top-k), not generations: pass it with --signal");
  require(is_generations_dir(dir),
          dir + " holds no generations (no " + std::string(kGenerationSettingsFile) +
              "): make them with `still teach --generate --out " + dir + "`");
  require(file_exists(path_join(dir, Manifest::kFileName)),
          dir + " is unfinished (no manifest.json): rerun its `still teach --generate` command");
  const std::string path = path_join(dir, kGenerationsFile);
  const std::string content = read_file(path);
  Manifest::load(dir).verify(dir);  // names a damaged or truncated generations.jsonl

  struct Doc {
    int64_t group;
    PromptedDoc d;
  };
  std::vector<Doc> docs;
  GeneratedCorpus g;
  int64_t max_group = -1;
  g.has_references = true;
  size_t pos = 0;
  for (int64_t line = 1; pos < content.size(); ++line) {
    size_t nl = content.find('\n', pos);
    if (nl == std::string::npos) nl = content.size();
    std::string_view text(content.data() + pos, nl - pos);
    pos = nl + 1;
    if (text.empty()) continue;
    std::string where = path + " line " + std::to_string(line);
    auto j = nlohmann::json::parse(text, nullptr, false);
    require(!j.is_discarded() && j.is_object(), where + " is not a JSON object");
    auto str = [&](const char* key) -> std::string {
      require(j.contains(key) && j[key].is_string(),
              where + " has no string field \"" + key + "\" (was it written by teach --generate?)");
      return j[key].get<std::string>();
    };
    require(j.contains("prompt_index") && j["prompt_index"].is_number_integer(),
            where + " has no integer field \"prompt_index\"");
    int64_t group = j["prompt_index"].get<int64_t>();
    require(group >= 0, where + " has a negative \"prompt_index\"");
    std::string prompt = str("prompt");
    g.has_references = g.has_references && j.contains("reference") && j["reference"].is_string();
    std::string cont;
    bool ended = true;
    if (opt.use_reference) {
      require(j.contains("reference") && j["reference"].is_string(),
              where +
                  " has no \"reference\": the baseline trains on prompt + reference, so "
                  "give every prompt a \"reference\" field in the prompts .jsonl");
      cont = j["reference"].get<std::string>();
    } else {
      cont = str("completion");
      std::string why = str("finish_reason");
      ended = why == "eos" || why == "stop";
    }
    PromptedDoc d = tokenize_prompted(tok, prompt, cont, ended);
    if (!opt.mask_prompt) d.prompt_len = 0;
    g.split_boundaries += d.split_boundary;
    max_group = std::max(max_group, group);
    docs.push_back({group, std::move(d)});
  }
  require(!docs.empty(), path + " holds no samples");
  g.samples = int64_t(docs.size());
  // Held out by prompt; with a single prompt, by sample.
  std::vector<char> held;
  const bool by_prompt = max_group >= 1;
  if (by_prompt) {
    held = choose_heldout(max_group + 1, opt.heldout_fraction);
  } else {
    require(docs.size() >= 2, path +
                                  " holds a single sample: too few to hold any out for "
                                  "evaluation (generate more samples or prompts)");
    held = choose_heldout(int64_t(docs.size()), opt.heldout_fraction);
  }
  std::vector<char> seen(size_t(max_group) + 1, 0);
  for (size_t i = 0; i < docs.size(); ++i) {
    const PromptedDoc& d = docs[i].d;
    seen[size_t(docs[i].group)] = 1;
    bool h = held[by_prompt ? size_t(docs[i].group) : i];
    (h ? g.corpus.heldout : g.corpus.train).add(d.ids, d.prompt_len);
    g.scored_tokens +=
        std::max<int64_t>(0, int64_t(d.ids.size()) - std::max<int64_t>(1, d.prompt_len));
  }
  g.prompts = std::count(seen.begin(), seen.end(), 1);
  require(g.corpus.train.num_docs() > 0, path +
                                             " leaves no training samples after the held-out "
                                             "split: generate for more prompts");
  require(g.corpus.heldout.num_docs() > 0,
          path + " leaves no held-out samples: generate for more prompts");
  g.corpus.num_documents = g.samples;
  g.corpus.sha256 = sha256_hex(content);
  return g;
}

}  // namespace still::train
