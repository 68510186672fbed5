#include "codegen/kernel_cache.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "ir/error.h"

namespace rnnc::codegen {

namespace fs = std::filesystem;

namespace {

const char* const kKeyFile = "key.txt";

std::string hex(size_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016zx", v);
  return buf;
}

// The key an entry was built for; empty when it has none (an entry of an older layout, a damaged one).
std::string recorded_key(const fs::path& entry) {
  std::ifstream in(entry / kKeyFile, std::ios::binary);
  if (!in) return "";
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_key(const fs::path& entry, const std::string& key) {
  std::ofstream out(entry / kKeyFile, std::ios::binary);
  out << key;
  RNNC_USER_CHECK(out.good()) << "codegen: cannot write " << entry / kKeyFile;
}

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
  if (fs::is_directory(entry, ec) && recorded_key(entry) == key) return {entry, true};

  fs::path tmp = root / (entry.filename().string() + ".tmp" + std::to_string(getpid()));
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  RNNC_USER_CHECK(!ec) << "codegen: cannot create " << tmp << ": " << ec.message();
  try {
    build(tmp);
    write_key(tmp, key);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  // A folder left under the name is another key's or a damaged one: ours replaces it.
  if (fs::exists(entry, ec) && recorded_key(entry) != key) fs::remove_all(entry, ec);
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
