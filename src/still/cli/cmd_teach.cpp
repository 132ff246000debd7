// `still teach`: run a teacher over a corpus and store its top-k signal.
#include <omp.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "still/cli/commands.h"
#include "still/cli/teach_generate.h"
#include "still/modelio/open_model.h"
#include "still/teach/teach.h"
#include "still/util/log.h"

namespace still::cli {

void register_teach(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "teach",
      "Run a teacher over a corpus and store its top-k next-token signal for distil, or "
      "(--generate) sample its continuations of prompts for sequence-level KD");
  struct Args {
    TeachOptions opt;
    std::string teacher, tokenizer;
    int threads = 0;
    bool json = false, dequantize = false;
    TeachGenerateArgs gen;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--teacher", a->teacher,
                  "Teacher model: a still run or checkpoint directory, an HF folder or a GGUF file "
                  "(Q8_0 weights stay quantized in memory)");
  cmd->add_option("--data", a->opt.data, "Corpus (.txt, blank-line separated documents; .jsonl)");
  cmd->add_option("--out", a->opt.out,
                  "Signal (or generations) directory to write (resumes if it exists)")
      ->required();
  cmd->add_option("--top-k", a->opt.k,
                  "Token ids stored per position (with --generate: sample from the k most "
                  "likely only; no limit unless given)")
      ->capture_default_str();
  cmd->add_option("--window", a->opt.window, "Tokens per window (0 = teacher's context)")
      ->capture_default_str();
  cmd->add_option("--batch", a->opt.batch, "Windows per forward pass")->capture_default_str();
  cmd->add_option("--shard-windows", a->opt.windows_per_shard, "Windows per shard file")
      ->capture_default_str();
  cmd->add_option("--quant-step", a->opt.logp_step,
                  "Log-probability step just below the top-1, in nats (companded; default 1/256)")
      ->capture_default_str();
  cmd->add_option("--max-windows", a->opt.max_windows, "Stop after this many windows (0 = all)")
      ->capture_default_str();
  cmd->add_option("--tokenizer", a->tokenizer, "Override the teacher's tokenizer");
  cmd->add_option("--threads", a->threads, "Threads (0 = every core)")->capture_default_str();
  cmd->add_flag("--dequantize", a->dequantize,
                "Decode a GGUF teacher's Q8_0 weights to f32 at load (4 bytes per parameter) "
                "instead of keeping them quantized in memory (~1.06 bytes per parameter)");
  cmd->add_flag("--json", a->json, "Print the summary as JSON");
  add_teach_generate_flags(cmd, a->gen);
  cmd->callback([a, cmd] {
    check_teach_mode(cmd, a->gen);
    if (a->threads > 0) omp_set_num_threads(a->threads);
    if (a->gen.generate && !a->gen.endpoint.url.empty()) {
      a->gen.opt.out = a->opt.out;
      return run_teach_generate(cmd, a->gen, nullptr, a->opt.k, a->json);
    }
    LoadOptions load;
    load.keep_q8 = !a->dequantize;
    OpenedModel t = open_model(a->teacher, a->tokenizer, load);
    t.model->set_inference_only();  // a teacher never trains: activations for one block only
    const bool q8 = t.model->has_quantized_weights();
    log_info("teacher weights: " + format_bytes(double(t.model->weight_bytes())) +
             (q8 ? " in memory (Q8_0 kept quantized)" : " in memory (f32)"));
    TeacherHandle th{t.model.get(), t.tokenizer.get(), a->teacher, t.resolved, t.sha256};
    a->opt.tokenizer = a->tokenizer;
    if (a->gen.generate) {
      a->gen.opt.out = a->opt.out;
      return run_teach_generate(cmd, a->gen, &th, a->opt.k, a->json);
    }
    TeachResult r = run_teach(a->opt, th);
    nlohmann::json j = {{"signal", a->opt.out},
                        {"windows", r.windows},
                        {"tokens", r.tokens},
                        {"shards_written", r.shards_written},
                        {"shards_kept", r.shards_kept},
                        {"seconds", r.seconds},
                        {"tokens_per_second", r.seconds > 0 ? double(r.tokens) / r.seconds : 0},
                        {"teacher_nats_per_token", r.teacher_nats_per_token},
                        {"signal_bytes", r.signal_bytes},
                        {"teacher_weight_bytes", t.model->weight_bytes()},
                        {"teacher_weights", q8 ? "q8_0" : "f32"},
                        {"bytes_per_entry", r.bytes_per_entry}};
    if (a->json) {
      std::printf("%s\n", j.dump(2).c_str());
    } else {
      std::printf(
          "signal %s: %lld windows, %lld tokens, k=%d, %s (%.2f B/entry), teacher %.3f "
          "nats/token\n",
          a->opt.out.c_str(), (long long)r.windows, (long long)r.tokens, a->opt.k,
          format_bytes(double(r.signal_bytes)).c_str(), r.bytes_per_entry,
          r.teacher_nats_per_token);
    }
  });
}

}  // namespace still::cli
