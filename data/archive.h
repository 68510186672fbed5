// Reading .tar.gz archives in memory, without extracting anything to disk: a gzip stream decoder (zlib)
// and a streaming tar parser (POSIX ustar with its name prefix, GNU long names 'L', pax 'x' path and
// size records, base-256 sizes). Both take bytes in chunks of any size, so a large archive streams
// through with only the wanted files kept.
//
// Every failure is an rnnc::UserError whose message starts with the archive's name and says what is
// wrong and where: not gzip, corrupt gzip data (CRC or deflate error), truncated gzip stream, bad tar
// header checksum at an offset, an entry cut off by the end of the archive.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace rnnc::data {

// Streams tar bytes through; calls `on_file(path, contents)` for each regular file whose path `want`
// accepts (other entries' contents are skipped, not stored). Paths are as stored, e.g.
// "aclImdb/train/pos/0_9.txt". The archive may end at any block boundary after a complete entry (with
// or without the two zero blocks); ending inside a header or an entry's data is an error at finish().
class TarParser {
 public:
  using Want = std::function<bool(const std::string& path)>;
  using OnFile = std::function<void(const std::string& path, std::string&& contents)>;

  TarParser(std::string name, Want want, OnFile on_file);
  void feed(std::string_view bytes);
  void finish();
  int64_t offset() const { return offset_; }  // bytes consumed so far

 private:
  enum class State { Header, Data, End };
  void parse_header();
  void end_entry();
  [[noreturn]] void fail(int64_t at, const std::string& what) const;

  std::string name_;
  Want want_;
  OnFile on_file_;
  State state_ = State::Header;
  int64_t offset_ = 0;
  int64_t header_offset_ = 0;
  std::string header_;  // up to 512 bytes of the header being read
  int zero_blocks_ = 0;

  // The entry whose data is being read.
  char type_ = 0;
  std::string path_;
  int64_t size_ = 0, remaining_ = 0, padding_ = 0;
  bool keep_ = false;
  std::string data_;

  // Metadata entries that name the next one.
  std::string long_name_, pax_path_;
  int64_t pax_size_ = -1;
};

// Parses a whole tar archive held in memory.
void parse_tar(std::string_view bytes, const std::string& name, const TarParser::Want& want,
               const TarParser::OnFile& on_file);

// Decompresses gzip (one or more concatenated members) chunk by chunk into `sink`.
class GzipDecoder {
 public:
  using Sink = std::function<void(std::string_view)>;
  GzipDecoder(std::string name, Sink sink);
  ~GzipDecoder();
  GzipDecoder(const GzipDecoder&) = delete;
  GzipDecoder& operator=(const GzipDecoder&) = delete;
  void feed(std::string_view compressed);
  void finish();  // the input ended: an unfinished member is a truncated stream

 private:
  std::string name_;
  Sink sink_;
  void* stream_;  // z_stream
  bool in_member_ = false;
  bool trailing_zeros_ = false;
  int64_t consumed_ = 0;
  std::string out_;
};

// Decompresses a whole gzip buffer.
std::string gunzip(std::string_view compressed, const std::string& name);

// True when `bytes` starts like a gzip stream (1f 8b).
bool looks_like_gzip(std::string_view bytes);
// True when `bytes` starts with a tar header whose checksum is right.
bool looks_like_tar(std::string_view bytes);

// Reads a file in chunks and passes them to `consume`; an unreadable file is a UserError naming it.
void read_file_chunks(const std::string& path, const std::function<void(std::string_view)>& consume);
// Reads the first `n` bytes of a file (fewer when it is shorter).
std::string read_file_prefix(const std::string& path, size_t n);

}  // namespace rnnc::data
