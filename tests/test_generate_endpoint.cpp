// `still teach --generate --endpoint`: an OpenAI-compatible completions server as the teacher,
// faked in-process with cpp-httplib. Requests carry the model, sampling settings and each
// sample's own seed; a failing server is retried with backoff; a dead one ends the run with
// one error line that keeps the finished shards, and the rerun completes them to the same
// bytes as an uninterrupted run.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "still/io/atomic_file.h"
#include "still/teach/endpoint_teacher.h"
#include "still/teach/generate_corpus.h"
#include "still/util/error.h"
#include "test_train_helpers.h"

namespace still {
namespace {

// Answers like a deterministic completions server: the text is a function of the prompt
// and the seed. `fail_from` > 0: from that request on, every answer is a 503 (dead);
// `flaky`: every third request fails once with a 503 first.
class FakeEndpoint {
 public:
  std::atomic<int> requests{0}, fail_from{0};
  std::atomic<bool> flaky{false};
  std::string last_auth;
  nlohmann::json last_request;

  FakeEndpoint() {
    server_.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
      int n = ++requests;
      if ((fail_from > 0 && n >= fail_from) || (flaky && n % 3 == 0)) {
        res.status = 503;
        res.set_content(R"({"error": {"message": "overloaded"}})", "application/json");
        return;
      }
      auto j = nlohmann::json::parse(req.body);
      {
        std::lock_guard<std::mutex> l(mu_);
        last_request = j;
        last_auth = req.get_header_value("Authorization");
      }
      if (j["model"] != "teacher-1") {
        res.status = 404;
        res.set_content(R"({"error": {"message": "model not found"}})", "application/json");
        return;
      }
      std::string text = " continues " + j["prompt"].get<std::string>() + " with seed " +
                         std::to_string(j["seed"].get<int64_t>() % 1000);
      bool cut = j["max_tokens"].get<int>() < 8;
      nlohmann::json out = {
          {"object", "text_completion"},
          {"choices", {{{"index", 0}, {"text", text}, {"finish_reason", cut ? "length" : "stop"}}}},
          {"usage", {{"prompt_tokens", 3}, {"completion_tokens", 5}, {"total_tokens", 8}}}};
      res.set_content(out.dump(), "application/json");
    });
    // llama-server's native route: another request and reply format than OpenAI's.
    server_.Post("/completions", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"content": " native", "stop": true, "tokens_predicted": 1})",
                      "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeEndpoint() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return host() + "/v1"; }
  std::string host() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  std::thread thread_;
  std::mutex mu_;
  int port_ = 0;
};

std::string write_prompts(const std::string& dir) {
  std::string text;
  for (int i = 0; i < 12; ++i) text += std::string(i % 2 ? "a dog" : "the cat") + "\n\n";
  write_file_atomic(dir + "/prompts.txt", text);
  return dir + "/prompts.txt";
}

}  // namespace

TEST(GenerateEndpoint, RequestsRetriesAndSamples) {
  FakeEndpoint fake;
  EndpointOptions eo;
  eo.url = fake.url();
  eo.model = "teacher-1";
  eo.api_key = "secret";
  eo.backoff_seconds = 0.01;
  EndpointTeacher t(eo);
  EXPECT_EQ(t.completions_url(), fake.url() + "/completions");
  GenerateCorpusOptions opt;
  opt.sampler = {0.7f, 20, 0.9f};
  opt.max_new_tokens = 16;
  opt.stop = {"\n"};
  opt.seed = 4;
  PromptItem p{"x", "the cat", std::nullopt};
  auto a = generate_endpoint_sample(t, p, 3, 1, opt);
  EXPECT_EQ(a["finish_reason"], "stop");
  EXPECT_EQ(a["completion_tokens"], 5);
  EXPECT_EQ(a["text"].get<std::string>(), "the cat" + a["completion"].get<std::string>());
  EXPECT_EQ(fake.last_auth, "Bearer secret");
  EXPECT_EQ(fake.last_request["max_tokens"], 16);
  EXPECT_EQ(fake.last_request["top_k"], 20);
  EXPECT_NEAR(fake.last_request["temperature"].get<double>(), 0.7, 1e-6);
  EXPECT_EQ(fake.last_request["stop"], nlohmann::json::array({"\n"}));
  // Each sample its own seed; the same sample the same seed.
  auto b = generate_endpoint_sample(t, p, 3, 0, opt);
  EXPECT_NE(a["completion"], b["completion"]);
  EXPECT_EQ(generate_endpoint_sample(t, p, 3, 1, opt), a);
  opt.max_new_tokens = 4;
  EXPECT_EQ(generate_endpoint_sample(t, p, 3, 1, opt)["finish_reason"], "max_tokens");

  // Flaky: retried until it answers. Wrong model: refused at once, one line.
  fake.flaky = true;
  for (int i = 0; i < 4; ++i) generate_endpoint_sample(t, p, i, 0, opt);
  fake.flaky = false;
  eo.model = "nope";
  try {
    generate_endpoint_sample(EndpointTeacher(eo), p, 0, 0, opt);
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("HTTP 404: model not found"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos);
  }
}

// http://host:port without /v1 reaches llama-server's native /completions (or a 404
// elsewhere): the one-line error says to add /v1.
TEST(GenerateEndpoint, AUrlWithoutV1SaysToAddIt) {
  FakeEndpoint fake;
  GenerateCorpusOptions opt;
  opt.max_new_tokens = 4;
  PromptItem p{"x", "the cat", std::nullopt};
  for (const std::string& base : {fake.host(), fake.host() + "/api"}) {
    EndpointOptions eo;
    eo.url = base;
    eo.model = "teacher-1";
    eo.retries = 0;
    std::string m = error_of([&] { generate_endpoint_sample(EndpointTeacher(eo), p, 0, 0, opt); });
    EXPECT_NE(m.find("pass --endpoint " + base + "/v1"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
  // With /v1 no such advice, even when the request is refused.
  EndpointOptions eo;
  eo.url = fake.url();
  eo.model = "nope";
  std::string m = error_of([&] { generate_endpoint_sample(EndpointTeacher(eo), p, 0, 0, opt); });
  EXPECT_NE(m.find("model not found"), std::string::npos) << m;
  EXPECT_EQ(m.find("no /v1"), std::string::npos) << m;
}

TEST(GenerateEndpoint, DeadEndpointKeepsShardsAndRerunCompletes) {
  TempDir d;
  FakeEndpoint fake;
  const std::string prompts = write_prompts(d.path);
  const std::string cmd = still_cmd() + " teach --generate --endpoint " + fake.url() +
                          " --endpoint-model teacher-1 --prompts " + prompts +
                          " --samples-per-prompt 2 --shard-prompts 2 --max-new-tokens 16 "
                          "--endpoint-retries 1 --seed 9 --json --out ";
  std::string out;
  ASSERT_EQ(run_command(cmd + d.path + "/a", &out), 0) << out;
  const std::string ref = read_file(d.path + "/a/generations.jsonl");

  // Dies after 9 answers: 2 shards (8 samples) are finished, then one error line.
  fake.requests = 0;
  fake.fail_from = 10;
  EXPECT_NE(run_command(cmd + d.path + "/b", &out), 0);
  auto errors = error_lines(out);
  ASSERT_EQ(errors.size(), 1u) << out;
  EXPECT_NE(errors[0].find("is not answering (HTTP 503: overloaded) after 2 tries"),
            std::string::npos)
      << errors[0];
  EXPECT_TRUE(file_exists(d.path + "/b/shards/shard-00001.jsonl"));
  // Alive again: the rerun keeps both shards and ends with the same bytes.
  fake.fail_from = 0;
  fake.requests = 0;
  ASSERT_EQ(run_command(cmd + d.path + "/b", &out), 0) << out;
  auto r = nlohmann::json::parse(out.substr(out.find('{')));
  EXPECT_EQ(r["shards_kept"], 2);
  EXPECT_EQ(fake.requests.load(), 24 - 8);
  EXPECT_EQ(read_file(d.path + "/b/generations.jsonl"), ref);
  // Nobody listening: one line too.
  EXPECT_NE(run_command(still_cmd() +
                            " teach --generate --endpoint http://127.0.0.1:1/v1 "
                            "--endpoint-model m --endpoint-retries 0 --prompts " +
                            prompts + " --out " + d.path + "/c",
                        &out),
            0);
  EXPECT_EQ(error_lines(out).size(), 1u) << out;
}

}  // namespace still
