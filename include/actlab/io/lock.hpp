// One writer per directory: an exclusive advisory lock (flock) on DIR/.actlab.lock, which holds
// the pid of the process that has it. The kernel releases a flock when its process dies, so a
// killed run leaves no lock that blocks the next one.
#pragma once

#include <string>

#include "actlab/core/tensor.hpp"

namespace actlab {

// A directory that cannot be used as asked: not a directory, not writable, locked by another
// process, or holding what the command would overwrite. What() reads "DIR: why".
class RunDirError : public InputError {
 public:
  using InputError::InputError;
};

// The name of the lock file inside a locked directory.
inline constexpr const char* kLockFile = ".actlab.lock";

class DirLock {
 public:
  // Locks the existing directory `dir`, or throws RunDirError: "DIR: in use by another actlab
  // process (pid 1234)", or why its lock file cannot be made ("DIR: cannot create .actlab.lock:
  // Read-only file system").
  explicit DirLock(const std::string& dir);
  DirLock(DirLock&& other) noexcept;
  DirLock& operator=(DirLock&& other) noexcept;
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  ~DirLock();  // unlocks; the lock file stays (removing it would race with the next locker)

 private:
  int fd_ = -1;
};

// Makes `dir` a directory to write into and locks it. Throws RunDirError for "/" (or a path
// that resolves to it), a path that exists but is not a directory, one that cannot be created
// (with the system's reason: "Read-only file system", "Too many levels of symbolic links"), and
// as DirLock does. A directory it created is removed again when locking it fails.
DirLock lock_output_dir(const std::string& dir);

}  // namespace actlab
