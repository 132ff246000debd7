#include "still/generate/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "still/util/error.h"

namespace still {

void validate(const SamplerOptions& opt) {
  require(opt.temperature >= 0 && std::isfinite(opt.temperature),
          "--temperature must be >= 0 (0 = greedy)");
  require(opt.top_p > 0 && opt.top_p <= 1, "--top-p must be in (0, 1]");
  require(opt.top_k >= 0, "--top-k must be >= 0 (0 = no limit)");
}

int32_t argmax(const float* logits, int n) {
  int32_t best = 0;
  for (int i = 1; i < n; ++i)
    if (logits[i] > logits[best]) best = i;
  return best;
}

int32_t sample_token(const float* logits, int n, const SamplerOptions& opt, Rng& rng) {
  if (opt.temperature <= 0 || opt.top_k == 1) return argmax(logits, n);
  // Candidates sorted by probability (ties: lower id first, so the order is deterministic).
  std::vector<int32_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  auto by_logit = [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  size_t keep = size_t(n);
  if (opt.top_k > 0 && opt.top_k < n) {
    keep = size_t(opt.top_k);
    std::partial_sort(idx.begin(), idx.begin() + keep, idx.end(), by_logit);
  } else {
    std::sort(idx.begin(), idx.end(), by_logit);
  }
  const double inv_t = 1.0 / double(opt.temperature);
  const double top = double(logits[idx[0]]);
  std::vector<double> p(keep);
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) sum += p[i] = std::exp((double(logits[idx[i]]) - top) * inv_t);
  // Nucleus: the shortest prefix whose probability reaches top_p.
  if (opt.top_p < 1) {
    double cum = 0;
    size_t cut = keep;
    for (size_t i = 0; i < keep; ++i) {
      cum += p[i] / sum;
      if (cum >= double(opt.top_p)) {
        cut = i + 1;
        break;
      }
    }
    keep = cut;
    sum = 0;
    for (size_t i = 0; i < keep; ++i) sum += p[i];
  }
  double u = rng.uniform() * sum;
  for (size_t i = 0; i < keep; ++i) {
    u -= p[i];
    if (u < 0) return idx[i];
  }
  return idx[keep - 1];
}

std::string Utf8Stream::push(const std::string& bytes) {
  pending_ += bytes;
  // Find where the last (possibly incomplete) character starts.
  size_t n = pending_.size();
  size_t start = n;
  for (size_t back = 1; back <= 4 && back <= n; ++back) {
    unsigned char c = static_cast<unsigned char>(pending_[n - back]);
    if ((c & 0xC0) != 0x80) {  // not a continuation byte: a character starts here
      start = n - back;
      break;
    }
  }
  size_t cut = n;
  if (start < n) {
    unsigned char c = static_cast<unsigned char>(pending_[start]);
    size_t need = c < 0x80           ? 1
                  : (c >> 5) == 0x6  ? 2
                  : (c >> 4) == 0xE  ? 3
                  : (c >> 3) == 0x1E ? 4
                                     : 1;
    if (n - start < need) cut = start;  // incomplete: hold it back
  }
  std::string out = pending_.substr(0, cut);
  pending_.erase(0, cut);
  return out;
}

std::string Utf8Stream::finish() {
  std::string out;
  out.swap(pending_);
  return out;
}

}  // namespace still
