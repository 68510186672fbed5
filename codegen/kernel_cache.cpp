#include "codegen/kernel_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "codegen/exclusive_lock.h"
#include "ir/durable_file.h"
#include "ir/error.h"

namespace rnnc::codegen {

namespace fs = std::filesystem;

namespace {

const char* const kKeyFile = "key.txt";
const char* const kFilesFile = "files.txt";

std::string hex(size_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016zx", v);
  return buf;
}

void write_key(const fs::path& entry, const std::string& key) {
  std::ofstream out(entry / kKeyFile, std::ios::binary);
  out << key;
  RNNC_USER_CHECK(out.good()) << "codegen: cannot write " << entry / kKeyFile;
}

// The whole file; false when it cannot be read.
bool read_file(const fs::path& path, std::string& bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream text;
  text << in.rdbuf();
  bytes = text.str();
  return !in.bad();
}

// The key an entry was built for; empty when it has none (an entry of an older layout, a damaged one).
std::string recorded_key(const fs::path& entry) {
  std::string key;
  return read_file(entry / kKeyFile, key) ? key : "";
}

// As files.txt lists it: 8 hex digits.
std::string crc_text(const std::string& bytes) {
  char text[16];
  std::snprintf(text, sizeof text, "%08x", crc32(bytes.data(), bytes.size()));
  return text;
}

// Lists every file `build` wrote with its size and CRC-32, so that a hit can tell a damaged entry (a file
// truncated or overwritten by a full disk, a crash, another program) from a whole one: a damaged shared
// object, loaded, kills the process (SIGBUS, SIGSEGV) instead of failing with a message.
void write_file_list(const fs::path& entry) {
  std::string list;
  size_t files = 0;
  for (const fs::directory_entry& f : fs::directory_iterator(entry)) {
    if (!f.is_regular_file()) continue;
    ++files;
    std::string bytes;
    RNNC_USER_CHECK(read_file(f.path(), bytes)) << "codegen: cannot read back " << f.path();
    list += crc_text(bytes) + " " + std::to_string(bytes.size()) + " " + f.path().filename().string() + "\n";
  }
  // The count last: a list cut short (a torn write) is told from a whole one.
  std::ofstream out(entry / kFilesFile, std::ios::binary);
  out << list << "files " << files << "\n";
  RNNC_USER_CHECK(out.good()) << "codegen: cannot write " << entry / kFilesFile;
}

// Empty when every listed file is there with its size and CRC-32; else what is wrong with the entry.
std::string damage(const fs::path& entry) {
  std::ifstream list(entry / kFilesFile, std::ios::binary);
  if (!list) return "it has no list of its files";
  std::string crc, name;
  size_t size = 0, files = 0;
  while (list >> crc && crc != "files" && list >> size >> name) {
    ++files;
    std::string bytes;
    if (!read_file(entry / name, bytes)) return name + " is missing";
    if (bytes.size() != size) return name + " has " + std::to_string(bytes.size()) + " bytes, not " + std::to_string(size);
    const std::string got = crc_text(bytes);
    if (crc != got) return name + " has changed (its CRC-32 is " + got + ", not " + crc + ")";
  }
  size_t count = 0;
  if (crc != "files" || !(list >> count) || count != files) return "its list of files is damaged";
  return "";
}

// An exclusive flock on `path` for as long as it lives, so that processes missing the same entry
// build it once: the others wait, then find it. Where the lock file cannot be made (a read-only
// cache) it holds nothing and each process builds on its own, as before.
class BuildLock {
 public:
  explicit BuildLock(fs::path path)
      : path_(std::move(path)), fd_(lock_exclusively(::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644))) {}
  BuildLock(const BuildLock&) = delete;
  BuildLock& operator=(const BuildLock&) = delete;
  bool held() const { return fd_ >= 0; }
  // The file goes before the lock is let go: a waiter then holds a lock on a file no longer named, and
  // rechecks the entry, which is published by then (or was never built: it builds it itself).
  ~BuildLock() {
    if (fd_ < 0) return;
    std::error_code ec;
    fs::remove(path_, ec);
    ::close(fd_);
  }

 private:
  fs::path path_;
  int fd_;
};

}  // namespace

fs::path kernel_cache_dir() {
  if (const char* dir = std::getenv("RNNC_CACHE_DIR"); dir && *dir) return dir;
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "rnnc";
  return fs::temp_directory_path() / "rnnc-cache";
}

bool relower_on_cache_hit() {
  const char* v = std::getenv("RNNC_KERNEL_CACHE_RELOWER");
  return v && std::string(v) == "1";
}

CacheEntry cached_build(const std::string& stem, const std::string& key,
                        const std::function<void(const fs::path& dir)>& build) {
  fs::path root = kernel_cache_dir();
  std::error_code ec;
  fs::create_directories(root, ec);
  RNNC_USER_CHECK(!ec) << "codegen: cannot create the kernel cache " << root << ": " << ec.message();
  fs::path entry = root / (stem + "_" + hex(std::hash<std::string>{}(key)));
  // A damaged entry is said once and built again, as if absent. Whether the last look found it damaged is
  // kept, so that the replacement below does not hash its files a third time.
  bool reported = false, found_damaged = false;
  auto published = [&] {
    found_damaged = false;
    if (!fs::is_directory(entry, ec) || recorded_key(entry) != key) return false;
    const std::string why = damage(entry);
    if (why.empty()) return true;
    found_damaged = true;
    if (!reported) {
      std::fprintf(stderr, "rnnc: warning: the kernel cache entry %s is damaged (%s); building it again\n",
                   entry.c_str(), why.c_str());
      reported = true;
    }
    return false;
  };
  if (published()) return {entry, true};
  // Concurrent test shards and build steps often miss the same entry: one compiles, the rest wait.
  BuildLock lock(root / (entry.filename().string() + ".lock"));
  if (published()) return {entry, true};

  // Named for this process and call: builds of the same entry on two threads must not share a folder.
  static std::atomic<int> builds{0};
  fs::path tmp = root / (entry.filename().string() + ".tmp" + std::to_string(getpid()) + "-" + std::to_string(builds++));
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  RNNC_USER_CHECK(!ec) << "codegen: cannot create " << tmp << ": " << ec.message();
  try {
    build(tmp);
    write_file_list(tmp);
    write_key(tmp, key);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  // A folder left under the name is another key's or a damaged one: ours replaces it. Under the lock the
  // last look is still true; without it (a read-only lock file) another process may have published a
  // whole entry since, which a fresh look keeps.
  const bool damaged = lock.held() ? found_damaged : found_damaged && !damage(entry).empty();
  if (fs::exists(entry, ec) && (damaged || recorded_key(entry) != key)) fs::remove_all(entry, ec);
  std::error_code renamed;
  fs::rename(tmp, entry, renamed);
  if (renamed) {
    // Another process published the same key first: use its entry.
    fs::remove_all(tmp, ec);
    RNNC_USER_CHECK(recorded_key(entry) == key)
        << "codegen: cannot store the kernel cache entry " << entry << ": " << renamed.message();
  }
  return {entry, false};
}

}  // namespace rnnc::codegen
