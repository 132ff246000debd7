#include "still/generate/generate.h"

#include <vector>

#include "still/util/clock.h"
#include "still/util/error.h"

namespace still {

GenerateResult generate(const LlamaModel& model, const Tokenizer& tok, const std::string& prompt,
                        const GenerateOptions& opt,
                        const std::function<void(const std::string&)>& on_text) {
  validate(opt.sampler);
  require(opt.max_tokens >= 0, "--max-tokens must be >= 0");
  const LlamaConfig& c = model.config();
  std::vector<int32_t> ids;
  int bos = tok.bos_id() >= 0 ? tok.bos_id() : c.bos_token_id;
  if (bos >= 0) ids.push_back(bos);  // training put BOS before every document
  auto body = tok.encode(prompt);
  ids.insert(ids.end(), body.begin(), body.end());
  require(!ids.empty(), "the prompt is empty and the tokenizer has no BOS token; give --prompt");
  require(int(ids.size()) < c.max_seq, "the prompt has " + std::to_string(ids.size()) +
                                           " tokens, more than the model's context (" +
                                           std::to_string(c.max_seq) + ") allows; shorten it");
  for (int32_t id : ids)
    require(id >= 0 && id < c.vocab_size,
            "the prompt has token id " + std::to_string(id) + " outside the model's vocabulary");
  const int eos = tok.eos_id() >= 0 ? tok.eos_id() : c.eos_token_id;

  GenerateResult r;
  r.prompt_tokens = int(ids.size());
  KVCache cache(c, c.max_seq);
  std::vector<float> logits(size_t(c.vocab_size));
  double t0 = wall_seconds_now();
  decode(model, cache, ids.data(), int(ids.size()), logits.data());
  double t1 = wall_seconds_now();
  r.prefill_seconds = t1 - t0;

  Rng rng(opt.seed);
  Utf8Stream stream;
  std::vector<int32_t> out;
  std::string emitted;  // decode(out) so far: tokenizers may merge bytes across tokens
  r.stop_reason = "max_tokens";
  while (r.generated_tokens < opt.max_tokens) {
    int32_t next = sample_token(logits.data(), c.vocab_size, opt.sampler, rng);
    if (next == eos) {
      r.stop_reason = "eos";
      break;
    }
    out.push_back(next);
    ++r.generated_tokens;
    std::string all = tok.decode(out);
    // A stop string ends the text where it starts (searched only where new bytes reach).
    size_t stop_at = std::string::npos;
    for (const std::string& s : opt.stop) {
      if (s.empty()) continue;
      size_t from = emitted.size() >= s.size() ? emitted.size() - s.size() + 1 : 0;
      size_t hit = all.find(s, from);
      if (hit < stop_at) stop_at = hit;
    }
    if (stop_at != std::string::npos) all.resize(stop_at);
    std::string fresh = all.size() > emitted.size() ? all.substr(emitted.size()) : std::string();
    emitted = all;
    std::string piece = stream.push(fresh);
    if (!piece.empty()) on_text(piece);
    if (stop_at != std::string::npos) {
      r.stop_reason = "stop";
      break;
    }
    if (r.generated_tokens == opt.max_tokens) break;
    if (cache.length() >= cache.capacity()) {
      r.stop_reason = "context";
      break;
    }
    decode(model, cache, &next, 1, logits.data());
  }
  std::string rest = stream.finish();
  if (!rest.empty()) on_text(rest);
  r.decode_seconds = wall_seconds_now() - t1;
  r.text = emitted;
  return r;
}

}  // namespace still
