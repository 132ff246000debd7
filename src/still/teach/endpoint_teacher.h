// A teacher behind an OpenAI-compatible HTTP endpoint (the completions API: POST
// BASE/completions with model, prompt, max_tokens, temperature, top_p, seed, stop), for
// `still teach --generate --endpoint URL --endpoint-model NAME`. Connection failures, time-outs,
// HTTP 429 and 5xx are retried with exponential backoff; other HTTP errors fail at once. Every
// failure is one still::Error line naming the endpoint.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "still/generate/sampler.h"

namespace still {

struct EndpointOptions {
  std::string url;               // BASE (e.g. http://host:8080/v1) or the full .../completions URL
  std::string model;             // "model" of every request
  std::string api_key;           // sent as "Authorization: Bearer KEY" when not empty
  int retries = 5;               // tries after the first, on retryable failures
  double backoff_seconds = 1.0;  // wait before the first retry; doubles, at most 30 s
  double timeout_seconds = 300;  // per request
};

struct EndpointCompletion {
  std::string text;
  std::string finish_reason;  // still's names: "stop" (EOS or a stop string), "max_tokens"
  int64_t prompt_tokens = 0, completion_tokens = 0;  // from "usage" (0 when absent)
};

class EndpointTeacher {
 public:
  explicit EndpointTeacher(EndpointOptions opt);
  const std::string& completions_url() const { return url_; }
  const EndpointOptions& options() const { return opt_; }
  EndpointCompletion complete(const std::string& prompt, int max_tokens,
                              const SamplerOptions& sampler, const std::vector<std::string>& stop,
                              uint64_t seed) const;

 private:
  EndpointOptions opt_;
  std::string url_;
  std::string v1_hint_;  // advice appended to errors when the URL has no /v1 (else "")
};

}  // namespace still
