#include "still/formats/tokenizer/nfc.h"

#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <vector>

#include "still/formats/tokenizer/utf8.h"
#include "still/util/error.h"

namespace still {
namespace {

const UNormalizer2* nfc_instance() {
  static const UNormalizer2* n = [] {
    UErrorCode st = U_ZERO_ERROR;
    const UNormalizer2* p = unorm2_getNFCInstance(&st);
    if (U_FAILURE(st))
      throw Error(std::string("ICU NFC normaliser unavailable: ") + u_errorName(st));
    return p;
  }();
  return n;
}

void normalize_valid_run(std::string_view run, std::string& out) {
  UErrorCode st = U_ZERO_ERROR;
  int32_t len16 = 0;
  u_strFromUTF8(nullptr, 0, &len16, run.data(), int32_t(run.size()), &st);
  st = U_ZERO_ERROR;
  std::vector<UChar> src(size_t(len16) + 1);
  u_strFromUTF8(src.data(), len16 + 1, nullptr, run.data(), int32_t(run.size()), &st);
  const UNormalizer2* nfc = nfc_instance();
  if (U_SUCCESS(st) && unorm2_isNormalized(nfc, src.data(), len16, &st) && U_SUCCESS(st)) {
    out.append(run);
    return;
  }
  st = U_ZERO_ERROR;
  int32_t cap = len16 * 3 + 16;
  std::vector<UChar> dst(size_t(cap) + 1);
  int32_t n = unorm2_normalize(nfc, src.data(), len16, dst.data(), cap, &st);
  if (U_FAILURE(st)) throw Error(std::string("NFC normalisation failed: ") + u_errorName(st));
  int32_t len8 = 0;
  st = U_ZERO_ERROR;
  u_strToUTF8(nullptr, 0, &len8, dst.data(), n, &st);
  st = U_ZERO_ERROR;
  std::string buf(size_t(len8) + 1, '\0');
  u_strToUTF8(buf.data(), len8 + 1, nullptr, dst.data(), n, &st);
  buf.resize(size_t(len8));
  out += buf;
}

}  // namespace

std::string nfc_normalize(std::string_view text) {
  // Code points below U+0300 are all NFC-stable and never combine with what precedes them.
  bool may_change = false;
  for (char c : text)
    if (uint8_t(c) >= 0xCC) {
      may_change = true;
      break;
    }
  if (!may_change) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t run_start = 0, i = 0;
  while (i < text.size()) {
    size_t n = utf8::valid_len(text, i);
    if (n) {
      i += n;
      continue;
    }
    if (i > run_start) normalize_valid_run(text.substr(run_start, i - run_start), out);
    out += text[i];
    run_start = ++i;
  }
  if (i > run_start) normalize_valid_run(text.substr(run_start, i - run_start), out);
  return out;
}

}  // namespace still
