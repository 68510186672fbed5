// An exclusive flock on an open descriptor, shared by the kernel cache's build locks and rnnc compile's
// publication: both wait for the lock, and both go on without one where none can be had.
#pragma once

#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

namespace rnnc::codegen {

// `fd`, locked exclusively (flock, waiting through signals); -1 where `fd` is -1 or cannot be locked (a
// file system without flock on it), and `fd` is then closed.
inline int lock_exclusively(int fd) {
  if (fd < 0) return -1;
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      ::close(fd);
      return -1;
    }
  }
  return fd;
}

}  // namespace rnnc::codegen
