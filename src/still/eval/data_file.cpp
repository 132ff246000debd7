#include "still/eval/data_file.h"

#include <bzlib.h>

#include "still/io/atomic_file.h"
#include "still/util/error.h"
#include "still/util/sha256.h"

namespace still::eval {

std::string bunzip2(const std::string& compressed, const std::string& what) {
  std::string out;
  size_t in_pos = 0;
  // One bz_stream per concatenated stream (pbzip2 and friends write several).
  while (in_pos < compressed.size()) {
    bz_stream s{};
    require(BZ2_bzDecompressInit(&s, 0, 0) == BZ_OK, what + ": cannot start bzip2 decoder");
    s.next_in = const_cast<char*>(compressed.data() + in_pos);
    s.avail_in = unsigned(std::min<size_t>(compressed.size() - in_pos, 1u << 30));
    int rc = BZ_OK;
    char buf[1 << 16];
    while (rc == BZ_OK) {
      s.next_out = buf;
      s.avail_out = sizeof buf;
      rc = BZ2_bzDecompress(&s);
      out.append(buf, sizeof buf - s.avail_out);
      if (rc == BZ_OK && s.avail_in == 0 && s.avail_out != 0) rc = BZ_UNEXPECTED_EOF;
    }
    size_t consumed = size_t(s.next_in - compressed.data()) - in_pos;
    BZ2_bzDecompressEnd(&s);
    require(rc == BZ_STREAM_END, what + ": bzip2 data is truncated or corrupt (code " +
                                     std::to_string(rc) + "); fetch the file again");
    in_pos += consumed;
  }
  return out;
}

DataFile read_data_file(const std::string& path) {
  require(file_exists(path), path + ": data file not found");
  DataFile f;
  f.path = path;
  std::string raw = read_file(path);
  f.file_sha256 = sha256_hex(raw);
  f.compressed = raw.size() >= 4 && raw.compare(0, 3, "BZh") == 0 && raw[3] >= '1' && raw[3] <= '9';
  if (f.compressed) {
    f.content = bunzip2(raw, path);
    f.content_sha256 = sha256_hex(f.content);
  } else {
    f.content = std::move(raw);
    f.content_sha256 = f.file_sha256;
  }
  return f;
}

}  // namespace still::eval
