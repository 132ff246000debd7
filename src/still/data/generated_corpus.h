// Training text from teacher generations (sequence-level KD): the directory `still teach
// --generate` writes. DIR/generations.jsonl holds one sample per line: "prompt",
// "completion", "text" (= prompt + completion), "prompt_index", "finish_reason" and, when the
// prompts file gave one, "reference" (a human-written completion of the same prompt).
//
// Each sample becomes one document, tokenized so that the prompt/continuation boundary is
// exact: BOS + encode(prompt + continuation) when it starts with BOS + encode(prompt) (the
// usual case: the boundary falls between pre-tokens), else BOS + encode(prompt) followed by
// encode(continuation) (a merge crossed the boundary). Either way the first prompt_len tokens
// are exactly BOS + encode(prompt), the ids the teacher was conditioned on, and with
// mask_prompt their targets are not scored. EOS follows a continuation that ended (teacher
// EOS or a stop string, and every reference), not one cut off at the token limit.
//
// Held-out split by prompt: all samples of a prompt land on the same side (a fixed hash of
// prompt_index, as corpus.h does for documents), so evaluation never sees a trained prompt.
#pragma once
#include <string>
#include <vector>

#include "still/data/corpus.h"
#include "still/formats/tokenizer/tokenizer.h"

namespace still::train {

inline constexpr const char* kGenerationsFile = "generations.jsonl";
inline constexpr const char* kGenerationSettingsFile = "generation.json";

// True when `dir` is a directory holding generation.json (written first by teach --generate).
bool is_generations_dir(const std::string& dir);

struct PromptedDoc {
  std::vector<int32_t> ids;
  int64_t prompt_len = 0;       // leading ids that are BOS + encode(prompt)
  bool split_boundary = false;  // the prompt and the continuation were tokenized apart
};

PromptedDoc tokenize_prompted(const Tokenizer& tok, const std::string& prompt,
                              const std::string& continuation, bool ended);

struct GeneratedCorpusOptions {
  double heldout_fraction = 0.03;
  bool mask_prompt = true;     // prompt tokens' targets are not scored
  bool use_reference = false;  // prompt + "reference" instead of prompt + "completion"
};

struct GeneratedCorpus {
  Corpus corpus;        // train / held-out documents, prompt lengths when masked
  int64_t samples = 0;  // documents
  int64_t prompts = 0;  // distinct prompt indices
  int64_t split_boundaries = 0;
  int64_t scored_tokens = 0;    // targets scored over all documents
  bool has_references = false;  // every sample carries a "reference"
};

// Reads DIR/generations.jsonl (DIR must be complete: manifest.json present). Throws
// still::Error naming the file and line for anything malformed, and when use_reference is
// set but a sample has no "reference".
GeneratedCorpus load_generated_corpus(const std::string& dir, const Tokenizer& tok,
                                      const GeneratedCorpusOptions& opt);

}  // namespace still::train
