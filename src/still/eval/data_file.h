// Reading a benchmark's data file: plain text, or bzip2-compressed (detected by its magic
// bytes, not its name), so a suite accepts the file as published or a decompressed copy.
#pragma once
#include <string>

namespace still::eval {

struct DataFile {
  std::string path;            // as opened
  std::string file_sha256;     // of the bytes on disk
  std::string content;         // decompressed when the file is bzip2
  std::string content_sha256;  // of `content`
  bool compressed = false;
};

// Throws still::Error naming the file when it is missing, unreadable or corrupt.
DataFile read_data_file(const std::string& path);

// Decompresses a whole bzip2 stream (concatenated streams too); `what` names it in errors.
std::string bunzip2(const std::string& compressed, const std::string& what);

}  // namespace still::eval
