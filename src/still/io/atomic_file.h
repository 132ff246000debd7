// Atomic file output: every artifact still writes goes to a temp file in the target's
// directory, is fsync'ed, then renamed over the target (and the directory fsync'ed).
// A crash, a kill or a full disk leaves either the old file or the new one, never a mix.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace still {

class AtomicWriter {
 public:
  explicit AtomicWriter(std::string path);
  ~AtomicWriter();  // abandons (unlinks the temp file) unless commit() ran
  AtomicWriter(const AtomicWriter&) = delete;
  AtomicWriter& operator=(const AtomicWriter&) = delete;

  void write(const void* data, size_t n);
  void write(std::string_view s) { write(s.data(), s.size()); }
  uint64_t bytes_written() const { return written_; }
  void commit();  // fsync, rename over the target, fsync the directory

  const std::string& path() const { return path_; }

 private:
  std::string path_, tmp_path_;
  int fd_ = -1;
  uint64_t written_ = 0;
  bool committed_ = false;
};

void write_file_atomic(const std::string& path, std::string_view content);
// Deletes the temp files AtomicWriters left in `dir` (not below it) when their process was
// killed mid-write ("<name>.tmp-" + 16 hex digits); returns how many. Only for a directory no
// other process is writing into (a resuming command's own output directory).
int remove_stale_temp_files(const std::string& dir);
std::string read_file(const std::string& path);  // throws still::Error naming the file
bool file_exists(const std::string& path);
bool dir_exists(const std::string& path);
void make_dirs(const std::string& path);  // mkdir -p
void fsync_dir(const std::string& dir);
// Renames a finished temp directory into place, atomically replacing nothing: the
// target must not exist. Used for checkpoint directories.
void rename_dir_into_place(const std::string& tmp_dir, const std::string& final_dir);
void remove_tree(const std::string& path);
std::string parent_dir(const std::string& path);
std::string path_join(const std::string& a, const std::string& b);

}  // namespace still
