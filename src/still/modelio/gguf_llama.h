// How a Llama-family model maps onto llama.cpp's GGUF conventions: architecture names
// ("llama", "qwen2", "qwen3"), the {arch}.* hyperparameter keys, tensor names
// (model.layers.3.self_attn.q_proj.weight <-> blk.3.attn_q.weight), and the row permutation
// llama.cpp's `llama` architecture applies to Q and K so its interleaved RoPE matches HF's
// rotate-half RoPE. Qwen2/Qwen3 use NEOX RoPE (rotate-half) and are stored unpermuted.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "still/formats/gguf.h"
#include "still/formats/gguf_writer.h"
#include "still/model/config.h"

namespace still {

// "llama" for Llama/Mistral, "qwen2", "qwen3"; throws for a config llama.cpp can't express.
std::string gguf_arch_for(const LlamaConfig& c);
// True for architectures whose Q/K rows are permuted in GGUF (llama.cpp's "llama").
bool gguf_arch_permutes_qk(const std::string& arch);

// Hyperparameters from a GGUF's metadata and tensor shapes (vocab = embedding rows; tied when
// output.weight is absent; Llama 3.1 rope_freqs turned back into HF rope_scaling).
LlamaConfig config_from_gguf(const GgufFile& f);
// Writes general.architecture and the {arch}.* keys. rope_freqs (Llama 3.1 scaling) is a
// tensor: see gguf_rope_freqs().
void write_gguf_hparams(const LlamaConfig& c, GgufWriter& w);
// The per-dimension frequency divisors llama.cpp stores as rope_freqs.weight for
// rope_scaling type "llama3"; empty for other scalings.
std::vector<float> gguf_rope_freqs(const LlamaConfig& c);

// HF tensor name -> GGUF tensor name ("" when it has no GGUF equivalent).
std::string gguf_tensor_name(const std::string& hf_name);

// Q/K rows: HF order (per head: first halves, then second halves) <-> llama.cpp order (pairs
// interleaved). `rows` = n_head * head_dim; each row has `cols` elements (1 for a bias).
void permute_qk_hf_to_gguf(const float* src, float* dst, int64_t rows, int64_t cols, int n_head);
void permute_qk_gguf_to_hf(const float* src, float* dst, int64_t rows, int64_t cols, int n_head);

}  // namespace still
