#include "still/cli/teach_generate.h"

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "still/util/error.h"
#include "still/util/log.h"

namespace still::cli {

void add_teach_generate_flags(CLI::App* cmd, TeachGenerateArgs& a) {
  auto* g = "Sequence-level KD (--generate)";
  cmd->add_flag("--generate", a.generate,
                "Sample teacher continuations of --prompts into a corpus for `still distil "
                "--generated` (sequence-level KD) instead of storing a top-k signal")
      ->group(g);
  cmd->add_option("--prompts", a.opt.prompts,
                  ".jsonl with a \"prompt\" field per line (optional \"id\", \"reference\"), or "
                  "a text file of blank-line separated prompts")
      ->group(g);
  cmd->add_option("--max-new-tokens", a.opt.max_new_tokens,
                  "Tokens sampled per continuation at most")
      ->capture_default_str()
      ->group(g);
  cmd->add_option("--temperature", a.opt.sampler.temperature,
                  "Sampling temperature (0 = greedy; 1 = the teacher's distribution)")
      ->capture_default_str()
      ->group(g);
  cmd->add_option("--top-p", a.opt.sampler.top_p, "Nucleus: keep tokens up to this mass")
      ->capture_default_str()
      ->group(g);
  cmd->add_option("--samples-per-prompt", a.opt.samples_per_prompt, "Continuations per prompt")
      ->capture_default_str()
      ->group(g);
  cmd->add_option("--seed", a.opt.seed,
                  "Seed: sample s of prompt i draws from its own stream seeded by (seed, i, s)")
      ->capture_default_str()
      ->group(g);
  cmd->add_option("--stop", a.opt.stop, "Stop a continuation at this string (repeatable)")
      ->group(g);
  cmd->add_option("--shard-prompts", a.opt.prompts_per_shard,
                  "Prompts per shard (the unit a killed run keeps)")
      ->capture_default_str()
      ->group(g);
  cmd->add_option("--max-prompts", a.opt.max_prompts, "Use only the first N prompts (0 = all)")
      ->capture_default_str()
      ->group(g);
  cmd->add_option("--parallel", a.opt.parallel,
                  "Samples decoded at once, one thread each (for small teachers and endpoints; "
                  "1 = one at a time with every thread); the output does not depend on it")
      ->capture_default_str()
      ->group(g);
  cmd->add_option("--endpoint", a.endpoint.url,
                  "Teacher behind an OpenAI-compatible completions API, instead of --teacher "
                  "(e.g. http://host:8080/v1)")
      ->group(g);
  cmd->add_option("--endpoint-model", a.endpoint.model, "Model name the endpoint serves")->group(g);
  cmd->add_option("--api-key-env", a.api_key_env,
                  "Environment variable holding the endpoint's API key (sent as a Bearer token "
                  "when set)")
      ->capture_default_str()
      ->group(g);
  cmd->add_option("--endpoint-retries", a.endpoint.retries,
                  "Retries of a failed request (connection, time-out, 429, 5xx), backing off "
                  "1 s, 2 s, 4 s... up to 30 s")
      ->capture_default_str()
      ->group(g);
  cmd->add_option("--endpoint-timeout", a.endpoint.timeout_seconds, "Seconds per request")
      ->capture_default_str()
      ->group(g);
}

void check_teach_mode(const CLI::App* cmd, const TeachGenerateArgs& a) {
  const bool endpoint = cmd->count("--endpoint") > 0;
  require(endpoint != (cmd->count("--teacher") > 0),
          endpoint ? "give --teacher or --endpoint, not both"
                   : "give --teacher (a model), or --generate --endpoint URL");
  if (a.generate) {
    require(cmd->count("--prompts") > 0, "--generate needs --prompts (a .jsonl or text file)");
    if (endpoint)
      require(cmd->count("--tokenizer") == 0,
              "--tokenizer does not apply to --endpoint (the server tokenizes)");
    for (const char* f :
         {"--data", "--window", "--batch", "--shard-windows", "--quant-step", "--max-windows"})
      require(cmd->count(f) == 0, std::string(f) +
                                      " does not apply to --generate (it belongs to "
                                      "the top-k signal); drop it");
  } else {
    require(cmd->count("--data") > 0,
            "give --data (a corpus for the top-k signal), or "
            "--generate --prompts FILE for sequence-level KD");
    for (const char* f :
         {"--prompts", "--max-new-tokens", "--temperature", "--top-p", "--samples-per-prompt",
          "--seed", "--stop", "--shard-prompts", "--max-prompts", "--parallel", "--endpoint",
          "--endpoint-model", "--api-key-env", "--endpoint-retries", "--endpoint-timeout"})
      require(cmd->count(f) == 0, std::string(f) + " needs --generate");
  }
}

void run_teach_generate(const CLI::App* cmd, TeachGenerateArgs& a, const TeacherHandle* teacher,
                        int top_k, bool json) {
  a.opt.sampler.top_k = cmd->count("--top-k") > 0 ? top_k : 0;
  GenerateCorpusResult r;
  if (teacher) {
    r = run_generate_corpus(a.opt, *teacher);
  } else {
    if (const char* key = std::getenv(a.api_key_env.c_str())) a.endpoint.api_key = key;
    r = run_generate_corpus(a.opt, EndpointTeacher(a.endpoint));
  }
  double tps = r.seconds > 0 && !r.already_complete
                   ? double(r.prompt_tokens + r.completion_tokens) / r.seconds
                   : 0;
  nlohmann::json j = {{"generations", a.opt.out},
                      {"prompts", r.prompts},
                      {"samples", r.samples},
                      {"prompt_tokens", r.prompt_tokens},
                      {"completion_tokens", r.completion_tokens},
                      {"finish_reasons", r.finish_reasons},
                      {"shards_written", r.shards_written},
                      {"shards_kept", r.shards_kept},
                      {"already_complete", r.already_complete},
                      {"seconds", r.seconds}};
  if (json) {
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf(
        "generations %s: %lld prompts x %d samples, %lld completion tokens (%s), "
        "finish reasons %s\n",
        a.opt.out.c_str(), (long long)r.prompts, a.opt.samples_per_prompt,
        (long long)r.completion_tokens,
        r.already_complete ? "already complete" : (format_count(tps) + " tokens/s").c_str(),
        r.finish_reasons.dump().c_str());
  }
}

}  // namespace still::cli
