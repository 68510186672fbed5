// Files that are either whole or absent: written atomically, checked by a CRC-32, read whole or refused
// with the reason. Checkpoints, the tools' inputs and outputs, the data readers and the kernel cache share
// them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace rnnc {

// The whole file at `path`, or a UserError "cannot read <what> '<path>': <reason>" (no such file, it is a
// directory, permission denied, an I/O error). `what` says what the file was for ("checkpoint"); `hint`,
// if given, is added when there is no such file ("see ../shared/data/README.md").
std::string read_file_or_say_why(const std::string& path, const std::string& what, const std::string& hint = "");

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
