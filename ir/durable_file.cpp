#include "ir/durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "ir/error.h"

namespace rnnc {

uint32_t crc32(const char* data, size_t size) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) c = table[(c ^ static_cast<uint8_t>(data[i])) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

namespace {

namespace fs = std::filesystem;

std::string errno_text() { return std::strerror(errno); }

// strerror's words as the rest of a sentence: "no such file or directory".
std::string reason_text(int error) {
  std::string why = std::strerror(error);
  if (!why.empty()) why[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(why[0])));
  return why;
}

// Closes a descriptor however the reader leaves.
struct FileDescriptor {
  int fd;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

fs::path directory_of(const std::string& path) {
  fs::path dir = fs::path(path).parent_path();
  return dir.empty() ? fs::path(".") : dir;
}

// Beside `path`, named for this process.
std::string temporary_for(const std::string& path) {
  return (directory_of(path) / ("." + fs::path(path).filename().string() + ".tmp." + std::to_string(::getpid())))
      .string();
}

}  // namespace

std::string read_file_or_say_why(const std::string& path, const std::string& what, const std::string& hint) {
  const std::string named = "cannot read " + (what.empty() ? std::string() : what + " ") + "'" + path + "': ";
  FileDescriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  RNNC_USER_CHECK(file.fd >= 0) << named << reason_text(errno)
                                << (errno == ENOENT && !hint.empty() ? " (" + hint + ")" : std::string());
  struct stat st {};
  RNNC_USER_CHECK(::fstat(file.fd, &st) == 0) << named << reason_text(errno);
  // open() succeeds on a directory; read() then fails with EISDIR, said here in the user's words.
  RNNC_USER_CHECK(!S_ISDIR(st.st_mode)) << named << "it is a directory";
  std::string bytes;
  if (S_ISREG(st.st_mode)) bytes.reserve(static_cast<size_t>(st.st_size));
  char buffer[1 << 16];
  for (;;) {
    ssize_t n = ::read(file.fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    RNNC_USER_CHECK(n >= 0) << named << reason_text(errno);
    if (n == 0) return bytes;
    bytes.append(buffer, static_cast<size_t>(n));
  }
}

void check_writable(const std::string& path, const std::string& what) {
  RNNC_USER_CHECK(!path.empty() && !fs::path(path).filename().empty()) << "cannot write " << what << " '" << path
                                                                       << "': not a file name";
  std::error_code ec;
  RNNC_USER_CHECK(!fs::is_directory(path, ec)) << "cannot write " << what << " " << path << ": it is a directory";
  const std::string tmp = temporary_for(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  RNNC_USER_CHECK(fd >= 0 || errno == EEXIST) << "cannot write " << what << " " << path << ": " << errno_text();
  if (fd >= 0) {
    ::close(fd);
    ::unlink(tmp.c_str());
  }
}

void write_file_atomically(const std::string& path, const std::string& contents) {
  const fs::path dir = directory_of(path);
  const std::string tmp = temporary_for(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  RNNC_USER_CHECK(fd >= 0) << "cannot write " << tmp << ": " << errno_text();
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string why = errno_text();
      ::close(fd);
      ::unlink(tmp.c_str());
      throw_user_error("cannot write " + tmp + ": " + why);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw_user_error("cannot flush " + tmp + ": " + why);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw_user_error("cannot rename " + tmp + " to " + path + ": " + why);
  }
  // The rename itself is durable only once the directory is flushed.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace rnnc
