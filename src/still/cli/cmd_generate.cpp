#include <omp.h>

#include <cstdio>

#include "still/cli/commands.h"
#include "still/generate/generate.h"
#include "still/modelio/open_model.h"
#include "still/util/log.h"

namespace still::cli {

void register_generate(CLI::App& app) {
  auto* cmd = app.add_subcommand("generate", "Sample text from a trained model (KV cache)");
  struct Args {
    std::string model, prompt;
    GenerateOptions gen;
    int threads = 0;
    bool json = false;
  };
  // A flag given twice: the last one wins (so scripts can append overrides).
  cmd->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  auto a = std::make_shared<Args>();
  a->gen.sampler = {0.8f, 40, 0.95f};
  a->gen.max_tokens = 200;
  cmd->add_option("--model", a->model,
                  "Run directory (its latest checkpoint), checkpoint dir, HF folder or GGUF file")
      ->required();
  cmd->add_option("--prompt", a->prompt, "Text to continue")->required();
  cmd->add_option("--temperature", a->gen.sampler.temperature, "0 = greedy")->capture_default_str();
  cmd->add_option("--top-k", a->gen.sampler.top_k, "Keep the k most likely tokens (0: all)")
      ->capture_default_str();
  cmd->add_option("--top-p", a->gen.sampler.top_p, "Nucleus: keep tokens up to this mass")
      ->capture_default_str();
  cmd->add_option("--seed", a->gen.seed, "Sampling seed")->capture_default_str();
  cmd->add_option("--max-tokens", a->gen.max_tokens, "Tokens to generate at most")
      ->capture_default_str();
  cmd->add_option("--threads", a->threads, "Threads (default: every core)");
  cmd->add_flag("--json", a->json, "Print the text and statistics as JSON instead of streaming");
  cmd->callback([a] {
    if (a->threads > 0) omp_set_num_threads(a->threads);
    validate(a->gen.sampler);
    // Run and checkpoint directories, Hugging Face folders and GGUF files alike.
    OpenedModel opened = open_model(a->model);
    const std::string& dir = opened.resolved;
    LlamaModel& model = *opened.model;
    auto& tok = opened.tokenizer;
    log_debug("generate: " + dir);
    auto r = generate(model, *tok, a->prompt, a->gen, [&](const std::string& piece) {
      if (a->json) return;
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    });
    double tps = r.decode_seconds > 0 ? r.generated_tokens / r.decode_seconds : 0;
    if (a->json) {
      nlohmann::json j = {{"checkpoint", dir},
                          {"prompt", a->prompt},
                          {"text", r.text},
                          {"prompt_tokens", r.prompt_tokens},
                          {"generated_tokens", r.generated_tokens},
                          {"stop_reason", r.stop_reason},
                          {"decode_tokens_per_second", tps}};
      std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      std::printf("\n");
      std::fflush(stdout);
      log_info("generate: " + std::to_string(r.generated_tokens) + " tokens (" + r.stop_reason +
               "), prefill " + std::to_string(r.prompt_tokens) + " tokens in " +
               format_duration(r.prefill_seconds) + ", " + format_count(tps) + " tokens/s");
    }
  });
}

}  // namespace still::cli
