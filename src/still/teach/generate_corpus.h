// `still teach --generate`: sequence-level KD data. The teacher samples continuations of
// prompts, and the samples become a corpus (data/generated_corpus.h) that `still distil
// --generated` trains a student on with cross-entropy, prompt tokens masked.
//
// Determinism: sample s of prompt i is a pure function of (seed, i, s, settings, teacher):
// it draws from its own RNG stream, seeded from (seed, i, s), through the KV-cache decoder
// (generate/generate.h). Shard size, run order and interruptions never change a sample.
//
// Resume: prompts are processed in shards of --shard-prompts; each finished shard is written
// atomically to OUT/shards/. A killed run rerun with the same command keeps every finished
// shard, and the final OUT/generations.jsonl (the shards' samples, in prompt order, written
// atomically) is byte-identical to an uninterrupted run's. Then manifest.json is written and
// the shards are removed. OUT/generation.json, written first, records the settings; a rerun
// with other settings into the same OUT is refused.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "still/generate/sampler.h"
#include "still/teach/endpoint_teacher.h"
#include "still/teach/teach.h"

namespace still {

struct GenerateCorpusOptions {
  std::string prompts;  // .jsonl ("prompt", optional "id" and "reference") or text
  std::string out;
  int max_new_tokens = 128;
  SamplerOptions sampler{1.0f, 0, 1.0f};  // sequence KD samples the teacher's distribution
  int samples_per_prompt = 1;
  uint64_t seed = 0;
  std::vector<std::string> stop;
  int prompts_per_shard = 16;
  int parallel = 1;  // samples decoded at once, one thread each (1: one at a time, all threads)
  int64_t max_prompts = 0;  // 0 = all
};

struct PromptItem {
  nlohmann::json id;  // from the file, else the prompt's index
  std::string prompt;
  std::optional<std::string> reference;
};

// Prompts from a .jsonl file (one object per line with a string "prompt"; optional "id",
// a string or integer, and "reference", a string) or a text file (documents separated by
// blank lines, as for corpora (data/corpus.h), each without its final newline). Throws
// still::Error naming the file and line.
std::vector<PromptItem> read_prompts(const std::string& path);

// One sample: the JSON line of generations.jsonl for prompt `index`, sample `s`.
nlohmann::ordered_json generate_sample(const LlamaModel& model, const Tokenizer& tok,
                                       const PromptItem& p, int64_t index, int s,
                                       const GenerateCorpusOptions& opt);

struct GenerateCorpusResult {
  int64_t prompts = 0, samples = 0, prompt_tokens = 0, completion_tokens = 0;
  int64_t shards_written = 0, shards_kept = 0;
  bool already_complete = false;
  double seconds = 0;                                        // this session
  nlohmann::json finish_reasons = nlohmann::json::object();  // reason -> count
};

GenerateCorpusResult run_generate_corpus(const GenerateCorpusOptions& opt,
                                         const TeacherHandle& teacher);

// The same with an OpenAI-compatible endpoint as the teacher: each sample is one request
// carrying the sample's own seed, so the output is as reproducible as the server's sampling
// (an endpoint that honours "seed" gives the same bytes again). Its token counts are the
// server's "usage". A dead endpoint is one error line; the finished shards stay for a rerun.
nlohmann::ordered_json generate_endpoint_sample(const EndpointTeacher& teacher, const PromptItem& p,
                                                int64_t index, int s,
                                                const GenerateCorpusOptions& opt);
GenerateCorpusResult run_generate_corpus(const GenerateCorpusOptions& opt,
                                         const EndpointTeacher& teacher);

}  // namespace still
