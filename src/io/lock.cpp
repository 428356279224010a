// The lock that keeps a second writer out of a directory, and the checks that make a path a
// directory fit to write into.
#include "actlab/io/lock.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

namespace actlab {
namespace {

namespace fs = std::filesystem;

// "pid 1234" from the lock file a holder wrote. The holder writes its pid just after taking
// the lock, so an empty file is read again for a little while before giving up.
std::string holder_of(int fd) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    char text[32] = {};
    const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
    if (n > 0 && text[n - 1] == '\n') return fmt::format("pid {}", std::string(text, n - 1));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return "pid unknown";
}

// What a path that is not a directory is, as an error says it.
const char* file_kind(mode_t mode) {
  if (S_ISREG(mode)) return "a file";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "a special file";
}

}  // namespace

DirLock::DirLock(const std::string& dir) {
  fd_ = ::open((fs::path(dir) / kLockFile).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw RunDirError(fmt::format("{}: cannot create its lock file {}: {}", dir, kLockFile,
                                  std::strerror(errno)));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int reason = errno;
    const std::string holder = reason == EWOULDBLOCK ? holder_of(fd_) : "";
    ::close(fd_);
    fd_ = -1;
    if (reason == EWOULDBLOCK)
      throw RunDirError(fmt::format("{}: in use by another actlab process ({}); wait for it to "
                                    "end, or write elsewhere",
                                    dir, holder));
    throw RunDirError(fmt::format("{}: cannot lock {}: {}", dir, kLockFile, std::strerror(reason)));
  }
  // The pid is for the message above only: the lock holds whether or not it could be written.
  const std::string pid = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] const ssize_t written = ::pwrite(fd_, pid.data(), pid.size(), 0);
  }
}

DirLock::DirLock(DirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

DirLock& DirLock::operator=(DirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

DirLock lock_output_dir(const std::string& dir) {
  if (dir.empty()) throw RunDirError("expected a directory, found an empty path");
  std::error_code ec;
  const fs::path resolved = fs::weakly_canonical(dir, ec);
  if (!ec && resolved == resolved.root_path())
    throw RunDirError(fmt::format("{}: refusing to write into the root directory", dir));
  bool created = false;
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode))
      throw RunDirError(fmt::format("{}: not a directory (it is {})", dir, file_kind(st.st_mode)));
  } else if (errno == ENOENT) {
    fs::create_directories(dir, ec);
    if (ec) throw RunDirError(fmt::format("{}: cannot create it: {}", dir, ec.message()));
    created = true;
  } else {
    throw RunDirError(fmt::format("{}: {}", dir, std::strerror(errno)));
  }
  try {
    return DirLock(dir);
  } catch (const RunDirError&) {
    if (created) fs::remove(dir, ec);
    throw;
  }
}

}  // namespace actlab
