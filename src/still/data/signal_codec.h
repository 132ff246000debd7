// The compact encoding of a teacher signal (top-k ids, log-probabilities, tail mass) for a
// block of positions. Per position the top-1 log-probability and the tail's log-mass are
// kept to 1/1024 nat; the other entries as their distance δ below the top-1 in one byte on a
// companded scale (level = log1p(δ/κ) / log1p(logp_step/κ), κ = 1/4 nat): steps of
// logp_step nats near the top, growing with δ, reaching ~13 nats; ids sorted ascending as varint
// gaps. Streams of one kind are grouped so zstd sees homogeneous bytes. Decoding renormalises, so
// that the top-k and the tail sum to exactly one again after quantisation.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace still {

struct SignalQuant {
  float logp_step = 1.0f / 256;  // nats per level just below the top-1 (companded, 255 levels)
};

void encode_signal_block(int k, int n, const int32_t* ids, const float* logp, const float* log_tail,
                         const SignalQuant& q, std::string& out);

// Inverse of encode_signal_block; output entries sorted by log-probability descending (ties
// by id). Throws still::Error (naming `what`) on malformed bytes or ids ≥ vocab.
void decode_signal_block(int k, int n, int vocab, std::string_view in, const SignalQuant& q,
                         int32_t* ids, float* logp, float* log_tail, const std::string& what);

}  // namespace still
