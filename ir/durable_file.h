// Files that are either whole or absent: written atomically, checked by a CRC-32. Checkpoints, the tools'
// outputs and the kernel cache share them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace rnnc {

// The CRC-32 of `size` bytes (IEEE 802.3, as zlib's crc32).
uint32_t crc32(const char* data, size_t size);

// Writes `contents` to a temporary file beside `path`, flushes it to disk, renames it over `path`, then
// flushes the directory: a crash at any moment leaves the old file or the new one, never a torn one, and
// a failed write (a full disk, say) leaves the old one. UserError naming the file and the reason.
void write_file_atomically(const std::string& path, const std::string& contents);

// Whether write_file_atomically(path, ...) can create its temporary file now: a UserError naming `what`,
// the file and the reason otherwise. A long job calls it first, so that it fails before its work, not
// after (an unwritable checkpoint found once an epoch has trained).
void check_writable(const std::string& path, const std::string& what);

}  // namespace rnnc
