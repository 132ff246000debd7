// When a kernel's loop is worth splitting across threads. Below this much work (roughly
// floats touched) a parallel region costs more than it saves, and on a loaded machine the
// fork/join of many tiny regions dominates. Every split in the engine is by rows, columns
// or heads with a fixed order inside each, so running a loop on one thread gives the same
// bits as running it on many.
#pragma once
#include <cstdint>

namespace still::kernels {

constexpr int64_t kParallelMinWork = 1 << 15;

}  // namespace still::kernels
