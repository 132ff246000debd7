#include "still/data/signal_codec.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "still/util/log_softmax.h"
#include "still/util/error.h"

namespace still {
namespace {

constexpr double kFineStep = 1.0 / 1024;  // nats per level for the top-1 and the tail
constexpr uint16_t kNoTail = 0xffff;
// Companding knee (nats): a level spans logp_step·(1 + δ/knee) nats at δ below the top-1,
// fine where the probability mass is and coarse far below it, so 255 levels reach ~13 nats below
// the top-1 (an entry further down is stored at that floor; its mass is below 3e-6 of the top-1's).
constexpr double kKnee = 0.25;

double level_scale(const SignalQuant& q) { return std::log1p(double(q.logp_step) / kKnee); }

uint16_t quant_fine(double neg_log) {
  double v = std::round(neg_log / kFineStep);
  return uint16_t(std::clamp(v, 0.0, 65534.0));
}

void put_u16(std::string& s, uint16_t v) {
  s += char(v & 0xff);
  s += char(v >> 8);
}

void put_varint(std::string& s, uint32_t v) {
  while (v >= 0x80) {
    s += char((v & 0x7f) | 0x80);
    v >>= 7;
  }
  s += char(v);
}

}  // namespace

void encode_signal_block(int k, int n, const int32_t* ids, const float* logp, const float* log_tail,
                         const SignalQuant& q, std::string& out) {
  std::string tops, tails, levels, gaps;
  const double scale = level_scale(q);
  std::vector<int> order(static_cast<size_t>(k));
  for (int p = 0; p < n; ++p) {
    const int32_t* pid = ids + int64_t(p) * k;
    const float* plp = logp + int64_t(p) * k;
    double top = plp[0];
    for (int i = 1; i < k; ++i) top = std::max(top, double(plp[i]));
    uint16_t qt = quant_fine(-top);
    put_u16(tops, qt);
    put_u16(tails, std::isfinite(log_tail[p]) ? quant_fine(-double(log_tail[p])) : kNoTail);
    double top_q = -double(qt) * kFineStep;
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return pid[a] < pid[b]; });
    int32_t prev = -1;
    for (int i : order) {
      double delta = std::max(0.0, top_q - double(plp[i]));
      double lv = std::round(std::log1p(delta / kKnee) / scale);
      levels += char(uint8_t(std::clamp(lv, 0.0, 255.0)));
      put_varint(gaps, uint32_t(pid[i] - prev - 1));
      prev = pid[i];
    }
  }
  out = tops + tails + levels + gaps;
}

void decode_signal_block(int k, int n, int vocab, std::string_view in, const SignalQuant& q,
                         int32_t* ids, float* logp, float* log_tail, const std::string& what) {
  auto fail = [&](const std::string& m) {
    throw Error(what + ": " + m + " (the signal is damaged; rerun `still teach` to recreate it)");
  };
  size_t need = size_t(n) * (4 + size_t(k));
  if (in.size() < need) fail("block is shorter than its header claims");
  const uint8_t* tops = reinterpret_cast<const uint8_t*>(in.data());
  const uint8_t* tails = tops + 2 * size_t(n);
  const uint8_t* levels = tails + 2 * size_t(n);
  const uint8_t* g = levels + size_t(n) * k;
  const double scale = level_scale(q);
  double delta_of[256];
  for (int l = 0; l < 256; ++l) delta_of[l] = kKnee * std::expm1(double(l) * scale);
  const uint8_t* gend = reinterpret_cast<const uint8_t*>(in.data()) + in.size();
  std::vector<int> order(static_cast<size_t>(k));
  std::vector<int32_t> tmp_ids(static_cast<size_t>(k));
  std::vector<double> tmp_lp(static_cast<size_t>(k));
  for (int p = 0; p < n; ++p) {
    uint16_t qt = uint16_t(tops[2 * p] | (tops[2 * p + 1] << 8));
    uint16_t ql = uint16_t(tails[2 * p] | (tails[2 * p + 1] << 8));
    double top = -double(qt) * kFineStep;
    double lt = ql == kNoTail ? -std::numeric_limits<double>::infinity() : -double(ql) * kFineStep;
    int64_t prev = -1;
    for (int i = 0; i < k; ++i) {
      uint32_t v = 0;
      int shift = 0;
      while (true) {
        if (g >= gend) fail("id stream ends early");
        uint8_t b = *g++;
        if (shift > 28) fail("malformed id varint");
        v |= uint32_t(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) break;
      }
      int64_t id = prev + 1 + int64_t(v);
      if (id >= vocab) fail("token id " + std::to_string(id) + " is outside the vocabulary");
      tmp_ids[size_t(i)] = int32_t(id);
      tmp_lp[size_t(i)] = top - delta_of[levels[size_t(p) * k + i]];
      prev = id;
    }
    // Renormalise: top-k plus tail sum to one.
    const double tail = std::isfinite(lt) ? lt : -INFINITY;
    const double log_z = log_sum_exp_from(
        top, int64_t(k) + 1, [&](int64_t i) { return i == 0 ? tail : tmp_lp[size_t(i - 1)]; });
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) {
      return tmp_lp[size_t(a)] > tmp_lp[size_t(b)] ||
             (tmp_lp[size_t(a)] == tmp_lp[size_t(b)] && tmp_ids[size_t(a)] < tmp_ids[size_t(b)]);
    });
    for (int i = 0; i < k; ++i) {
      ids[int64_t(p) * k + i] = tmp_ids[size_t(order[size_t(i)])];
      logp[int64_t(p) * k + i] = float(tmp_lp[size_t(order[size_t(i)])] - log_z);
    }
    log_tail[p] = float(lt - log_z);
  }
  if (g != gend) fail("block has trailing bytes");
}

}  // namespace still
