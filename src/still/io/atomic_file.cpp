#include "still/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "still/util/error.h"
#include "still/util/rng.h"

namespace still {
namespace {

std::string describe_write_error(int err, const std::string& path) {
  if (err == ENOSPC || err == EFBIG || err == EDQUOT)
    return "disk full while writing " + path + " (" + std::strerror(err) +
           "): free space and rerun the same command; finished work was kept";
  return "cannot write " + path + ": " + std::strerror(err);
}

void ignore_sigxfsz_once() {
  // With a file-size limit (ulimit -f) the kernel sends SIGXFSZ; we want EFBIG instead
  // so the writer can report a clean error and keep the old file.
  static bool done = [] {
    std::signal(SIGXFSZ, SIG_IGN);
    return true;
  }();
  (void)done;
}

}  // namespace

std::string parent_dir(const std::string& path) {
  auto p = std::filesystem::path(path).parent_path().string();
  return p.empty() ? "." : p;
}

std::string path_join(const std::string& a, const std::string& b) {
  return (std::filesystem::path(a) / b).string();
}

AtomicWriter::AtomicWriter(std::string path) : path_(std::move(path)) {
  ignore_sigxfsz_once();
  uint64_t seed = uint64_t(getpid()) * 0x9e3779b97f4a7c15ULL ^ uint64_t(uintptr_t(this));
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, ".tmp-%016llx", (unsigned long long)splitmix64(seed));
  tmp_path_ = path_ + suffix;
  fd_ = ::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  require(fd_ >= 0, "cannot create " + tmp_path_ + ": " + std::strerror(errno) +
                        " (check that the directory exists and is writable)");
}

AtomicWriter::~AtomicWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(tmp_path_.c_str());
}

void AtomicWriter::write(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw Error(describe_write_error(errno, path_));
    }
    p += w;
    n -= size_t(w);
    written_ += uint64_t(w);
  }
}

void AtomicWriter::commit() {
  require(!committed_, "internal: AtomicWriter committed twice for " + path_);
  if (::fsync(fd_) != 0) throw Error(describe_write_error(errno, path_));
  if (::close(fd_) != 0) {
    fd_ = -1;
    throw Error(describe_write_error(errno, path_));
  }
  fd_ = -1;
  if (::rename(tmp_path_.c_str(), path_.c_str()) != 0)
    throw Error("cannot rename " + tmp_path_ + " to " + path_ + ": " + std::strerror(errno));
  committed_ = true;
  fsync_dir(parent_dir(path_));
}

void write_file_atomic(const std::string& path, std::string_view content) {
  AtomicWriter w(path);
  w.write(content);
  w.commit();
}

int remove_stale_temp_files(const std::string& dir) {
  int removed = 0;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    const size_t at = n.rfind(".tmp-");
    if (at == std::string::npos || at == 0 || n.size() != at + 5 + 16) continue;
    if (n.find_first_not_of("0123456789abcdef", at + 5) != std::string::npos) continue;
    if (e.is_regular_file(ec) && std::filesystem::remove(e.path(), ec)) ++removed;
  }
  return removed;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  require(f.good(), "cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << f.rdbuf();
  require(!f.bad(), "error reading " + path);
  return ss.str();
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool dir_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void make_dirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  require(!ec, "cannot create directory " + path + ": " + ec.message());
}

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: some filesystems refuse directory opens
  ::fsync(fd);
  ::close(fd);
}

void rename_dir_into_place(const std::string& tmp_dir, const std::string& final_dir) {
  require(!std::filesystem::exists(final_dir),
          "internal: refusing to replace existing directory " + final_dir);
  if (::rename(tmp_dir.c_str(), final_dir.c_str()) != 0)
    throw Error("cannot rename " + tmp_dir + " to " + final_dir + ": " + std::strerror(errno));
  fsync_dir(parent_dir(final_dir));
}

void remove_tree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

}  // namespace still
