// A GGUF model loaded with its Q8_0 weights kept quantized (model/q8_weights.h) computes the
// same logits as the same file dequantized at load — in every model flavour, with the
// dequantization scratch split into panels, with the inference-only activation plan, in
// decode — holds ~1.06 bytes per quantized
// parameter without ever touching the f32 slots of those weights, refuses training, and
// gives `still teach` the same signal bytes.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "formats_fixtures.h"
#include "still/formats/tokenizer/tokenizer.h"
#include "still/io/atomic_file.h"
#include "still/model/llama.h"
#include "still/modelio/export.h"
#include "still/modelio/load.h"
#include "still/teach/generate_corpus.h"
#include "still/teach/teach.h"
#include "still/util/error.h"
#include "test_helpers.h"

namespace still {
namespace {

std::vector<float> logits_of(LlamaModel& m) {
  Batch b;
  b.resize(2, 12);
  for (int i = 0; i < 24; ++i) {
    b.tokens[size_t(i)] = (i * 37 + 11) % m.config().vocab_size;
    b.positions[size_t(i)] = i % 12;
  }
  std::vector<float> out(size_t(24) * m.config().vocab_size);
  m.forward_logits(b, out.data());
  return out;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, double(std::fabs(a[i] - b[i])));
  return d;
}

std::string export_q8(const LlamaConfig& c, uint64_t seed, const std::string& path) {
  LlamaModel m(c);
  auto p = fixtures::random_params(c, seed);
  std::copy(p.begin(), p.end(), m.params());
  ExportOptions o;
  o.dtype = "q8_0";
  o.tokenizer_source = "bytes";
  export_gguf(c, m.params(), path, o);
  return path;
}

#ifndef __SANITIZE_ADDRESS__
// Resident pages of [p, p + bytes) (whole pages inside the range only).
size_t resident_pages(const void* p, size_t bytes) {
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  uintptr_t a = (uintptr_t(p) + page - 1) / page * page, e = (uintptr_t(p) + bytes) / page * page;
  if (e <= a) return 0;
  std::vector<unsigned char> v((e - a) / page);
  if (mincore(reinterpret_cast<void*>(a), e - a, v.data()) != 0) return SIZE_MAX;
  size_t n = 0;
  for (auto c : v) n += c & 1;
  return n;
}
#endif

}  // namespace

TEST(Q8Teacher, LogitsEqualTheDequantizedModelInEveryFlavour) {
  auto flavours = fixtures::flavours();
  LlamaConfig odd = fixtures::base_config();
  odd.ffn_dim = 100;  // down_proj rows of 100: stored f16 by export, so the model is mixed
  flavours.push_back({"llama_mixed_q8_f16", odd});
  for (auto& [name, c] : flavours) {
    SCOPED_TRACE(name);
    TempDir d;
    std::string path = export_q8(c, 7, d.path + "/m.gguf");
    auto ref = load_model(path);
    auto q8 = load_model(path, LoadOptions{.keep_q8 = true});
    ASSERT_TRUE(q8->has_quantized_weights());
    EXPECT_FALSE(ref->has_quantized_weights());
    const auto want = logits_of(*ref);
    // Same values from the same f32 matmul: equal to float rounding (the sgemm may block
    // differently for the panel it sees).
    EXPECT_LE(max_abs_diff(logits_of(*q8), want), 1e-5);
    // A scratch far smaller than any matrix: many panels per matmul, same logits.
    q8->set_dequant_scratch_limit(200);
    EXPECT_LE(max_abs_diff(logits_of(*q8), want), 1e-5);
    // Activations planned for the forward pass only (one block's buffers for all blocks):
    // same logits, a smaller buffer.
    const size_t full_plan = q8->activation_bytes();
    q8->set_inference_only();
    EXPECT_LE(max_abs_diff(logits_of(*q8), want), 1e-5);
    EXPECT_LT(q8->activation_bytes(), full_plan * 3 / 4);
  }
}

TEST(Q8Teacher, DecodeMatchesTheDequantizedModel) {
  LlamaConfig c = fixtures::flavours()[1].config;  // GQA, tied: the LM head is the embedding
  TempDir d;
  std::string path = export_q8(c, 9, d.path + "/m.gguf");
  auto ref = load_model(path);
  auto q8 = load_model(path, LoadOptions{.keep_q8 = true});
  KVCache ca(c, 16), cb(c, 16);
  std::vector<int32_t> prompt = {5, 77, 200, 3, 64};
  std::vector<float> la(size_t(c.vocab_size)), lb(la.size());
  decode(*ref, ca, prompt.data(), int(prompt.size()), la.data());  // prompt: sgemm path
  decode(*q8, cb, prompt.data(), int(prompt.size()), lb.data());
  EXPECT_LE(max_abs_diff(la, lb), 1e-5);
  for (int32_t t : {17, 250, 1}) {  // one token at a time: direct dot products
    decode(*ref, ca, &t, 1, la.data());
    decode(*q8, cb, &t, 1, lb.data());
    EXPECT_LE(max_abs_diff(la, lb), 1e-4);
  }
}

// Several sequences in one step: few rows take the direct dot products, many the dequantized
// panels; both equal the dequantized model decoding each sequence alone.
TEST(Q8Teacher, BatchedDecodeMatchesTheDequantizedModel) {
  LlamaConfig c = fixtures::flavours()[1].config;
  TempDir d;
  std::string path = export_q8(c, 13, d.path + "/m.gguf");
  auto ref = load_model(path);
  auto q8 = load_model(path, LoadOptions{.keep_q8 = true});
  const std::vector<std::vector<int32_t>> prompts = {{5, 77, 200}, {1}, {9, 8, 7, 6}};
  std::vector<KVCache> caches, refs;
  std::vector<std::vector<float>> got(3, std::vector<float>(size_t(c.vocab_size)));
  std::vector<float> want(size_t(c.vocab_size));
  for (int s = 0; s < 3; ++s) {
    caches.emplace_back(c, 16);
    refs.emplace_back(c, 16);
  }
  auto step = [&](const std::vector<std::vector<int32_t>>& toks) {
    std::vector<DecodeSeq> seqs;
    for (int s = 0; s < 3; ++s)
      seqs.push_back({&caches[size_t(s)], toks[size_t(s)].data(), int(toks[size_t(s)].size()),
                      got[size_t(s)].data()});
    decode_batch(*q8, seqs.data(), 3);
    for (int s = 0; s < 3; ++s) {
      decode(*ref, refs[size_t(s)], toks[size_t(s)].data(), int(toks[size_t(s)].size()),
             want.data());
      EXPECT_LE(max_abs_diff(got[size_t(s)], want), 1e-4) << "sequence " << s;
    }
  };
  step(prompts);             // 8 rows: dequantized panels
  step({{17}, {250}, {3}});  // 3 rows: direct dot products
  step({{2}, {4}, {6}});
}

TEST(Q8Teacher, HoldsQuantizedBytesLeavesF32SlotsUntouchedAndRefusesTraining) {
  LlamaConfig c = fixtures::base_config();
  c.dim = 256;
  c.head_dim = 64;
  c.ffn_dim = 512;
  c.vocab_size = 2048;  // untied: embedding and LM head each 2048 × 256
  TempDir d;
  std::string path = export_q8(c, 3, d.path + "/m.gguf");
  auto ref = load_model(path);
  auto q8 = load_model(path, LoadOptions{.keep_q8 = true});
  size_t matrix = 0, vectors = 0;
  for (auto& t : ref->layout().tensors()) (t.shape.size() == 2 ? matrix : vectors) += t.numel;
  EXPECT_EQ(ref->weight_bytes(), (matrix + vectors) * 4);
  // Every matrix in Q8_0: 34 bytes per 32 weights; norms stay f32.
  EXPECT_EQ(q8->weight_bytes(), matrix / 32 * 34 + vectors * 4);
  EXPECT_LT(double(q8->weight_bytes()), 0.27 * double(ref->weight_bytes()));
  logits_of(*q8);
  // The f32 slots of the held matrices were never written or read: no page is resident.
  // (Under AddressSanitizer the buffer is a heap block whose pages the allocator may touch.)
#ifndef __SANITIZE_ADDRESS__
  const LlamaModel& held = *q8;  // the const params(): the writable one marks them changed
  for (auto& t : held.layout().tensors()) {
    if (t.shape.size() != 2) continue;
    EXPECT_EQ(resident_pages(held.params() + t.offset, t.numel * 4), 0u) << t.name;
  }
#endif
  try {
    q8->forward_backward(Batch{}, 1.0f);
    ADD_FAILURE() << "a Q8_0-resident model trained";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("quantized (Q8_0) for inference only"), std::string::npos)
        << e.what();
  }
}

// Decoding keeps no state in the model, so samples decoded on several threads at once from a
// Q8_0 teacher kept quantized are the bytes of one at a time.
TEST(Q8Teacher, ParallelGenerationKeepsQuantizedWeights) {
  LlamaConfig c = fixtures::flavours()[0].config;
  c.vocab_size = 256;
  TempDir d;
  std::string path = export_q8(c, 17, d.path + "/m.gguf");
  auto m = load_model(path, LoadOptions{.keep_q8 = true});
  ASSERT_TRUE(m->has_quantized_weights());
  ByteTokenizer tok;
  TeacherHandle th{m.get(), &tok, path, path, std::string(64, '0')};
  std::string prompts;
  for (int i = 0; i < 5; ++i) prompts += "{\"prompt\": \"say " + std::to_string(i) + ": \"}\n";
  write_file_atomic(d.path + "/prompts.jsonl", prompts);
  std::string out[2];
  for (int p = 0; p < 2; ++p) {
    GenerateCorpusOptions o;
    o.prompts = d.path + "/prompts.jsonl";
    o.out = d.path + (p ? "/par" : "/one");
    o.max_new_tokens = 10;
    o.samples_per_prompt = 2;
    o.seed = 3;
    o.parallel = p ? 3 : 1;
    run_generate_corpus(o, th);
    out[p] = read_file(o.out + "/generations.jsonl");
  }
  EXPECT_FALSE(out[0].empty());
  EXPECT_EQ(out[0], out[1]);
}

TEST(Q8Teacher, TeachWritesTheSameSignalAsTheDequantizedTeacher) {
  LlamaConfig c = fixtures::flavours()[0].config;  // Llama: permuted Q/K rows in the file
  c.vocab_size = 256;
  TempDir d;
  std::string path = export_q8(c, 11, d.path + "/m.gguf");
  std::string text;
  for (int i = 0; i < 40; ++i) text += "doc " + std::to_string(i * 13) + " says hello\n\n";
  write_file_atomic(d.path + "/corpus.txt", text);
  ByteTokenizer tok;
  std::map<std::string, std::string> shards[2];
  for (int q = 0; q < 2; ++q) {
    auto m = load_model(path, LoadOptions{.keep_q8 = q == 1});
    if (q == 1) m->set_inference_only();  // as `still teach` does: same signal, less memory
    TeacherHandle th{m.get(), &tok, path, path, std::string(64, '0')};
    TeachOptions opt;
    opt.data = d.path + "/corpus.txt";
    opt.out = d.path + (q ? "/sig-q8" : "/sig-f32");
    opt.k = 8;
    opt.window = 32;
    opt.windows_per_shard = 4;
    TeachResult r = run_teach(opt, th);
    ASSERT_GE(r.shards_written, 2);
    for (auto& e : std::filesystem::directory_iterator(opt.out))
      if (e.path().extension() == ".sig" || e.path().filename() == "windows.safetensors")
        shards[q][e.path().filename().string()] = read_file(e.path().string());
  }
  ASSERT_EQ(shards[0].size(), shards[1].size());
  for (auto& [name, bytes] : shards[0]) EXPECT_TRUE(bytes == shards[1][name]) << name;
}

}  // namespace still
