#include "still/teach/endpoint_teacher.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "still/util/error.h"
#include "still/util/log.h"

namespace still {
namespace {

size_t append_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct Reply {
  CURLcode curl = CURLE_OK;
  long status = 0;
  std::string body;
};

Reply post(const std::string& url, const std::string& body, const std::string& api_key,
           double timeout) {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  Reply r;
  CURL* c = curl_easy_init();
  require(c != nullptr, "libcurl: cannot create a request handle");
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  std::string auth = "Authorization: Bearer " + api_key;
  if (!api_key.empty()) headers = curl_slist_append(headers, auth.c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, long(body.size()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, long(timeout * 1000));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, long(std::min(timeout, 30.0) * 1000));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  r.curl = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  return r;
}

// The server's own words for an error, shortened to fit one line.
std::string error_text(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  std::string m = body;
  if (j.is_object() && j.contains("error")) {
    const auto& e = j["error"];
    m = e.is_object() && e.contains("message") && e["message"].is_string()
            ? e["message"].get<std::string>()
            : e.dump();
  }
  std::replace(m.begin(), m.end(), '\n', ' ');
  return m.size() > 200 ? m.substr(0, 200) + "..." : m;
}

}  // namespace

EndpointTeacher::EndpointTeacher(EndpointOptions opt) : opt_(std::move(opt)) {
  require(opt_.url.rfind("http://", 0) == 0 || opt_.url.rfind("https://", 0) == 0,
          "--endpoint " + opt_.url + " is not an http:// or https:// URL");
  require(!opt_.model.empty(), "--endpoint needs --endpoint-model (the model name it serves)");
  require(opt_.retries >= 0 && opt_.timeout_seconds > 0,
          "--endpoint-retries must be >= 0 and --endpoint-timeout positive");
  url_ = opt_.url;
  while (!url_.empty() && url_.back() == '/') url_.pop_back();
  const std::string suffix = "/completions";
  if (url_.size() < suffix.size() ||
      url_.compare(url_.size() - suffix.size(), suffix.size(), suffix) != 0)
    url_ += suffix;
  // http://host:port without /v1 reaches llama-server's native /completions (another
  // request and reply format) or a 404: say what to pass instead when that fails.
  if (url_.find("/v1/") == std::string::npos) {
    const std::string base = url_.substr(0, url_.size() - suffix.size());
    v1_hint_ = "; the URL has no /v1: OpenAI-compatible servers (llama-server, vLLM) answer at " +
               base + "/v1/completions, so pass --endpoint " + base + "/v1";
  }
}

EndpointCompletion EndpointTeacher::complete(const std::string& prompt, int max_tokens,
                                             const SamplerOptions& sampler,
                                             const std::vector<std::string>& stop,
                                             uint64_t seed) const {
  nlohmann::json req = {{"model", opt_.model},
                        {"prompt", prompt},
                        {"max_tokens", max_tokens},
                        {"temperature", sampler.temperature},
                        {"top_p", sampler.top_p},
                        {"n", 1},
                        {"stream", false},
                        // Servers take a signed integer seed; 31 bits of the sample's own.
                        {"seed", int64_t(seed & 0x7fffffff)}};
  if (sampler.top_k > 0) req["top_k"] = sampler.top_k;  // llama.cpp / vLLM extension
  if (!stop.empty()) req["stop"] = stop;
  const std::string body = req.dump();
  double wait = opt_.backoff_seconds;
  std::string last;
  for (int attempt = 0;; ++attempt) {
    Reply r = post(url_, body, opt_.api_key, opt_.timeout_seconds);
    if (r.curl == CURLE_OK && r.status == 200) {
      auto j = nlohmann::json::parse(r.body, nullptr, false);
      require(j.is_object() && j.contains("choices") && j["choices"].is_array() &&
                  !j["choices"].empty() && j["choices"][0].is_object() &&
                  j["choices"][0].contains("text") && j["choices"][0]["text"].is_string(),
              "endpoint " + url_ +
                  " answered without choices[0].text (is it a completions "
                  "API?): " +
                  error_text(r.body) + v1_hint_);
      const auto& ch = j["choices"][0];
      EndpointCompletion c;
      c.text = ch["text"].get<std::string>();
      std::string why = ch.contains("finish_reason") && ch["finish_reason"].is_string()
                            ? ch["finish_reason"].get<std::string>()
                            : "stop";
      c.finish_reason = why == "length" ? "max_tokens" : why;
      if (j.contains("usage") && j["usage"].is_object()) {
        c.prompt_tokens = j["usage"].value("prompt_tokens", int64_t(0));
        c.completion_tokens = j["usage"].value("completion_tokens", int64_t(0));
      }
      return c;
    }
    const bool retryable =
        r.curl != CURLE_OK || r.status == 408 || r.status == 429 || r.status >= 500;
    last = r.curl != CURLE_OK ? std::string(curl_easy_strerror(r.curl))
                              : "HTTP " + std::to_string(r.status) + ": " + error_text(r.body);
    if (!retryable)
      throw Error("endpoint " + url_ + " refused the request (" + last + ")" +
                  (v1_hint_.empty() ? "; check --endpoint-model and the API key" : v1_hint_));
    if (attempt >= opt_.retries)
      throw Error("endpoint " + url_ + " is not answering (" + last + ") after " +
                  std::to_string(attempt + 1) +
                  " tries; finished shards are kept: rerun the same command to resume");
    log_warn("endpoint " + url_ + ": " + last + "; retrying in " +
             std::to_string(wait).substr(0, 4) + " s");
    std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    wait = std::min(wait * 2, 30.0);
  }
}

}  // namespace still
