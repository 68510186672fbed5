#include "data/archive.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "ir/error.h"

namespace rnnc::data {

namespace {

constexpr int64_t kBlock = 512;
// Metadata entries (long names, pax records) are small; a larger one is a corrupt header.
constexpr int64_t kMaxMetadataSize = 1 << 20;

int64_t round_up_block(int64_t n) { return (n + kBlock - 1) / kBlock * kBlock; }

std::string field_string(std::string_view header, size_t at, size_t length) {
  std::string_view f = header.substr(at, length);
  size_t nul = f.find('\0');
  return std::string(f.substr(0, nul));
}

// A numeric header field: octal digits (leading spaces, ending at NUL or space), or GNU base-256 when the
// first byte has its high bit set. Returns -1 when malformed.
int64_t field_number(std::string_view header, size_t at, size_t length) {
  std::string_view f = header.substr(at, length);
  auto byte = [&](size_t i) { return static_cast<unsigned char>(f[i]); };
  if (byte(0) & 0x80) {
    if (byte(0) != 0x80) return -1;  // negative or unsupported
    uint64_t v = 0;
    for (size_t i = 1; i < f.size(); ++i) {
      if (v >> 55) return -1;
      v = (v << 8) | byte(i);
    }
    return v > static_cast<uint64_t>(INT64_MAX) ? -1 : static_cast<int64_t>(v);
  }
  size_t i = 0;
  while (i < f.size() && f[i] == ' ') ++i;
  int64_t v = 0;
  bool digits = false;
  for (; i < f.size() && f[i] != '\0' && f[i] != ' '; ++i) {
    if (f[i] < '0' || f[i] > '7' || v > (INT64_MAX >> 3)) return -1;
    v = v * 8 + (f[i] - '0');
    digits = true;
  }
  for (; i < f.size(); ++i)
    if (f[i] != '\0' && f[i] != ' ') return -1;
  return digits ? v : 0;
}

bool checksum_ok(std::string_view header) {
  int64_t stored = field_number(header, 148, 8);
  if (stored < 0) return false;
  int64_t unsigned_sum = 0, signed_sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    bool in_field = i >= 148 && i < 156;
    unsigned char u = in_field ? ' ' : static_cast<unsigned char>(header[i]);
    unsigned_sum += u;
    signed_sum += in_field ? ' ' : static_cast<signed char>(header[i]);
  }
  return stored == unsigned_sum || stored == signed_sum;
}

// pax extended header records: "LEN key=value\n".
void parse_pax(const std::string& records, std::string& path, int64_t& size, const std::string& name, int64_t at) {
  size_t i = 0;
  while (i < records.size()) {
    if (records[i] == '\0') break;  // padding some writers leave
    size_t space = records.find(' ', i);
    size_t length = 0;
    bool ok = space != std::string::npos && space > i;
    for (size_t k = i; ok && k < space; ++k) {
      ok = records[k] >= '0' && records[k] <= '9' && length < (1u << 30);
      length = length * 10 + (records[k] - '0');
    }
    ok = ok && length > space - i + 1 && i + length <= records.size() && records[i + length - 1] == '\n';
    RNNC_USER_CHECK(ok) << name << ": corrupt pax header at offset " << at << ": malformed record";
    std::string record = records.substr(space + 1, i + length - 1 - (space + 1));
    size_t eq = record.find('=');
    RNNC_USER_CHECK(eq != std::string::npos) << name << ": corrupt pax header at offset " << at
                                             << ": record without '='";
    std::string key = record.substr(0, eq), value = record.substr(eq + 1);
    if (key == "path") path = value;
    if (key == "size") {
      // At most 18 decimal digits fit int64; the value is accumulated only over digits (a comma
      // operator here once kept multiplying after a non-digit: signed overflow, found by fuzzing).
      int64_t v = 0;
      bool digits = !value.empty() && value.size() < 19;
      for (size_t k = 0; digits && k < value.size(); ++k) {
        digits = value[k] >= '0' && value[k] <= '9';
        if (digits) v = v * 10 + (value[k] - '0');
      }
      RNNC_USER_CHECK(digits) << name << ": corrupt pax header at offset " << at << ": bad size '" << value << "'";
      size = v;
    }
    i += length;
  }
}

}  // namespace

TarParser::TarParser(std::string name, Want want, OnFile on_file)
    : name_(std::move(name)), want_(std::move(want)), on_file_(std::move(on_file)) {
  header_.reserve(kBlock);
}

void TarParser::fail(int64_t at, const std::string& what) const {
  throw UserError(name_ + ": " + what + " at offset " + std::to_string(at));
}

void TarParser::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    if (state_ == State::End) {
      offset_ += static_cast<int64_t>(bytes.size());
      return;
    }
    if (state_ == State::Header) {
      if (header_.empty()) header_offset_ = offset_;
      size_t take = std::min<size_t>(bytes.size(), kBlock - header_.size());
      header_.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      offset_ += static_cast<int64_t>(take);
      if (static_cast<int64_t>(header_.size()) == kBlock) {
        parse_header();
        header_.clear();
      }
      continue;
    }
    // Data, then the padding up to the next block.
    if (remaining_ > 0) {
      size_t take = static_cast<size_t>(std::min<int64_t>(remaining_, static_cast<int64_t>(bytes.size())));
      if (keep_) data_.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      offset_ += static_cast<int64_t>(take);
      remaining_ -= static_cast<int64_t>(take);
      continue;
    }
    size_t take = static_cast<size_t>(std::min<int64_t>(padding_, static_cast<int64_t>(bytes.size())));
    bytes.remove_prefix(take);
    offset_ += static_cast<int64_t>(take);
    padding_ -= static_cast<int64_t>(take);
    if (padding_ == 0) end_entry();
  }
  if (state_ == State::Data && remaining_ == 0 && padding_ == 0) end_entry();
}

void TarParser::parse_header() {
  if (std::all_of(header_.begin(), header_.end(), [](char c) { return c == '\0'; })) {
    if (++zero_blocks_ == 2) state_ = State::End;
    return;
  }
  zero_blocks_ = 0;
  if (!checksum_ok(header_)) {
    fail(header_offset_, header_offset_ == 0 ? "not a tar archive (bad header checksum)"
                                             : "corrupt tar header (bad checksum)");
  }
  type_ = header_[156];
  int64_t size = field_number(header_, 124, 12);
  if (size < 0) fail(header_offset_, "corrupt tar header (bad size field)");
  std::string path = field_string(header_, 0, 100);
  bool posix = header_.compare(257, 6, std::string_view("ustar\0", 6)) == 0;
  if (posix) {
    std::string prefix = field_string(header_, 345, 155);
    if (!prefix.empty()) path = prefix + "/" + path;
  }
  bool metadata = type_ == 'L' || type_ == 'K' || type_ == 'x' || type_ == 'g';
  if (!metadata) {
    if (!long_name_.empty()) path = long_name_;
    if (!pax_path_.empty()) path = pax_path_;
    if (pax_size_ >= 0) size = pax_size_;
    long_name_.clear();
    pax_path_.clear();
    pax_size_ = -1;
  } else if (size > kMaxMetadataSize) {
    fail(header_offset_, "corrupt tar header (metadata entry of " + std::to_string(size) + " bytes)");
  }
  // Entry types without data even when a size is recorded: links, devices, fifos, directories.
  if (type_ == '1' || type_ == '2' || type_ == '3' || type_ == '4' || type_ == '5' || type_ == '6') size = 0;
  path_ = std::move(path);
  size_ = size;
  remaining_ = size;
  padding_ = round_up_block(size) - size;
  bool regular = type_ == '0' || type_ == '\0' || type_ == '7';
  keep_ = type_ == 'L' || type_ == 'x' || (regular && want_(path_));
  data_.clear();
  if (keep_) data_.reserve(static_cast<size_t>(std::min<int64_t>(size, 1 << 20)));
  state_ = State::Data;
  if (remaining_ == 0 && padding_ == 0) end_entry();
}

void TarParser::end_entry() {
  state_ = State::Header;
  if (!keep_) return;
  keep_ = false;
  if (type_ == 'L') {
    long_name_ = data_.substr(0, data_.find('\0'));
  } else if (type_ == 'x') {
    parse_pax(data_, pax_path_, pax_size_, name_, offset_ - round_up_block(size_));
  } else {
    on_file_(path_, std::move(data_));
  }
  data_.clear();
}

void TarParser::finish() {
  if (state_ == State::End) return;
  if (state_ == State::Header && header_.empty()) {
    if (!long_name_.empty() || !pax_path_.empty()) fail(offset_, "truncated tar archive (ends after a long-name header)");
    return;
  }
  if (state_ == State::Header) fail(header_offset_, "truncated tar archive (ends inside a header)");
  fail(offset_, "truncated tar archive: entry '" + path_ + "' has " + std::to_string(size_ - remaining_) + " of " +
                    std::to_string(size_) + " bytes when the archive ends");
}

void parse_tar(std::string_view bytes, const std::string& name, const TarParser::Want& want,
               const TarParser::OnFile& on_file) {
  TarParser parser(name, want, on_file);
  parser.feed(bytes);
  parser.finish();
}

namespace {
z_stream* zs(void* p) { return static_cast<z_stream*>(p); }
}  // namespace

GzipDecoder::GzipDecoder(std::string name, Sink sink) : name_(std::move(name)), sink_(std::move(sink)) {
  auto* s = new z_stream{};
  // 16 + MAX_WBITS: gzip format only (a zlib or raw stream is "not gzip").
  if (inflateInit2(s, 16 + MAX_WBITS) != Z_OK) {
    delete s;
    throw InternalError("zlib: inflateInit2 failed");
  }
  stream_ = s;
  out_.resize(1 << 18);
}

GzipDecoder::~GzipDecoder() {
  inflateEnd(zs(stream_));
  delete zs(stream_);
}

void GzipDecoder::feed(std::string_view compressed) {
  z_stream* s = zs(stream_);
  while (!compressed.empty()) {
    if (trailing_zeros_ || !in_member_) {
      // Between members: a new member starts with 1f 8b; zero padding after the last one is allowed.
      if (!in_member_ && consumed_ > 0 && static_cast<unsigned char>(compressed[0]) == 0) trailing_zeros_ = true;
      if (trailing_zeros_) {
        for (char c : compressed)
          RNNC_USER_CHECK(c == '\0') << name_ << ": corrupt gzip data: garbage after the end of the stream at offset "
                                     << consumed_;
        consumed_ += static_cast<int64_t>(compressed.size());
        return;
      }
      in_member_ = true;
    }
    s->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
    s->avail_in = static_cast<uInt>(std::min<size_t>(compressed.size(), 1u << 30));
    size_t offered = s->avail_in;
    int rc;
    do {
      s->next_out = reinterpret_cast<Bytef*>(out_.data());
      s->avail_out = static_cast<uInt>(out_.size());
      rc = inflate(s, Z_NO_FLUSH);
      if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT) {
        int64_t at = consumed_ + static_cast<int64_t>(offered - s->avail_in);
        std::string why = s->msg ? s->msg : "invalid data";
        if (consumed_ == 0 && why == "incorrect header check") throw UserError(name_ + ": not a gzip file");
        throw UserError(name_ + ": corrupt gzip data (" + why + ") near offset " + std::to_string(at));
      }
      if (rc == Z_MEM_ERROR) throw UserError(name_ + ": out of memory while decompressing");
      size_t produced = out_.size() - s->avail_out;
      if (produced) sink_(std::string_view(out_.data(), produced));
    } while (rc == Z_OK && (s->avail_in > 0 || s->avail_out == 0));
    size_t used = offered - s->avail_in;
    consumed_ += static_cast<int64_t>(used);
    compressed.remove_prefix(used);
    if (rc == Z_STREAM_END) {
      in_member_ = false;
      inflateReset(s);
    }
  }
}

void GzipDecoder::finish() {
  RNNC_USER_CHECK(consumed_ > 0) << name_ << ": empty file (not a gzip archive)";
  RNNC_USER_CHECK(!in_member_) << name_ << ": truncated gzip stream (the data ends after " << consumed_
                               << " bytes, before the end of the compressed stream)";
}

std::string gunzip(std::string_view compressed, const std::string& name) {
  std::string out;
  GzipDecoder decoder(name, [&](std::string_view chunk) { out.append(chunk); });
  decoder.feed(compressed);
  decoder.finish();
  return out;
}

bool looks_like_gzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f && static_cast<unsigned char>(bytes[1]) == 0x8b;
}

bool looks_like_tar(std::string_view bytes) { return bytes.size() >= kBlock && checksum_ok(bytes.substr(0, kBlock)); }

namespace {

using File = std::unique_ptr<FILE, int (*)(FILE*)>;

// errno is kept before a message is built: building it may change errno.
File open_for_reading(const std::string& path) {
  File f(std::fopen(path.c_str(), "rb"), &std::fclose);
  const int error = errno;
  RNNC_USER_CHECK(f != nullptr) << "cannot open " << path << ": " << std::strerror(error);
  return f;
}

// fread's count, or a UserError when the read failed.
size_t read_some(FILE* f, char* into, size_t size, const std::string& path) {
  const size_t n = std::fread(into, 1, size, f);
  const int error = errno;
  RNNC_USER_CHECK(n == size || !std::ferror(f)) << "cannot read " << path << ": " << std::strerror(error);
  return n;
}

}  // namespace

void read_file_chunks(const std::string& path, const std::function<void(std::string_view)>& consume) {
  File f = open_for_reading(path);
  std::string buffer(1 << 20, '\0');
  for (;;) {
    const size_t n = read_some(f.get(), buffer.data(), buffer.size(), path);  // checked before `consume` runs
    if (n > 0) consume(std::string_view(buffer.data(), n));
    if (n < buffer.size()) break;
  }
}

std::string read_file_prefix(const std::string& path, size_t n) {
  File f = open_for_reading(path);
  std::string out(n, '\0');
  out.resize(read_some(f.get(), out.data(), n, path));
  return out;
}

}  // namespace rnnc::data
