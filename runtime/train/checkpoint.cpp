#include "runtime/train/checkpoint.h"

#include <cstring>

#include "ir/durable_file.h"
#include "ir/error.h"

namespace rnnc::train {
namespace {

constexpr char kMagic[8] = {'R', 'N', 'N', 'C', 'C', 'K', 'P', 'T'};
constexpr uint32_t kVersion = 1;
constexpr uint8_t kText = 0, kTensor = 1;
constexpr uint32_t kMaxRank = 8;

template <typename T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

// Bounds-checked reads; every failure names the file, the byte offset and what was being read.
class Reader {
 public:
  Reader(const std::string& bytes, size_t end, const std::string& origin) : bytes_(bytes), end_(end), origin_(origin) {}

  template <typename T>
  T get(const char* what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  std::string get_bytes(uint64_t n, const char* what) {
    need(n, what);
    std::string s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  void need(uint64_t n, const char* what) const {
    if (n > end_ - pos_) fail(std::string("truncated: ") + what + " needs " + std::to_string(n) + " bytes, " +
                              std::to_string(end_ - pos_) + " remain");
  }
  [[noreturn]] void fail(const std::string& message) const {
    throw_user_error("checkpoint " + origin_ + ": " + message + " (at byte " + std::to_string(pos_) + ")");
  }
  size_t pos() const { return pos_; }
  void seek(size_t pos) { pos_ = pos; }

 private:
  const std::string& bytes_;
  size_t end_;
  size_t pos_ = 0;
  const std::string& origin_;
};

}  // namespace

const std::string& Checkpoint::get_text(const std::string& key) const {
  auto it = text.find(key);
  RNNC_USER_CHECK(it != text.end()) << "checkpoint has no entry '" << key << "'";
  return it->second;
}

std::string serialize_checkpoint(const Checkpoint& c) {
  std::string out(kMagic, sizeof(kMagic));
  put<uint32_t>(out, kVersion);
  put<uint32_t>(out, static_cast<uint32_t>(c.text.size() + c.tensors.size()));
  for (const auto& [name, value] : c.text) {
    put<uint8_t>(out, kText);
    put<uint32_t>(out, static_cast<uint32_t>(name.size()));
    out += name;
    put<uint64_t>(out, value.size());
    out += value;
  }
  for (const auto& [name, t] : c.tensors) {
    RNNC_INTERNAL_CHECK(t.size() == runtime::num_elements(t.shape)) << "tensor " << name << " size mismatch";
    put<uint8_t>(out, kTensor);
    put<uint32_t>(out, static_cast<uint32_t>(name.size()));
    out += name;
    put<uint32_t>(out, static_cast<uint32_t>(t.shape.size()));
    for (int64_t d : t.shape) put<int64_t>(out, d);
    out.append(reinterpret_cast<const char*>(t.data.data()), t.data.size() * sizeof(float));
  }
  put<uint32_t>(out, crc32(out.data(), out.size()));
  return out;
}

Checkpoint parse_checkpoint(const std::string& bytes, const std::string& origin) {
  Reader header(bytes, bytes.size(), origin);
  if (bytes.size() < sizeof(kMagic) || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    header.fail("not an rnnc checkpoint (the file does not start with RNNCCKPT)");
  }
  if (bytes.size() < sizeof(kMagic) + 12) header.fail("truncated: " + std::to_string(bytes.size()) + " bytes");
  const size_t body = bytes.size() - 4;
  uint32_t stored;
  std::memcpy(&stored, bytes.data() + body, 4);
  if (stored != crc32(bytes.data(), body)) {
    header.fail("corrupted or truncated: the CRC-32 of its " + std::to_string(bytes.size()) +
                " bytes does not match the one stored at the end");
  }
  Reader r(bytes, body, origin);
  r.seek(sizeof(kMagic));
  uint32_t version = r.get<uint32_t>("the version");
  if (version != kVersion) r.fail("version " + std::to_string(version) + ", this build reads version 1");
  uint32_t count = r.get<uint32_t>("the entry count");
  Checkpoint c;
  for (uint32_t e = 0; e < count; ++e) {
    uint8_t kind = r.get<uint8_t>("an entry kind");
    uint32_t name_len = r.get<uint32_t>("an entry name length");
    std::string name = r.get_bytes(name_len, "an entry name");
    if (kind == kText) {
      uint64_t len = r.get<uint64_t>("a text length");
      c.text[name] = r.get_bytes(len, "a text entry");
    } else if (kind == kTensor) {
      uint32_t rank = r.get<uint32_t>("a tensor rank");
      if (rank > kMaxRank) r.fail("tensor '" + name + "' has rank " + std::to_string(rank));
      runtime::Dims dims(rank);
      // The product of the non-zero dims is bounded too: a zero dim must not let [0, 2^62, 2^62] through,
      // whose row strides overflow in whatever reads the tensor.
      uint64_t count_elems = 1, nonzero_elems = 1;
      for (auto& d : dims) {
        d = r.get<int64_t>("a tensor dimension");
        if (d < 0 || (d > 0 && nonzero_elems > (uint64_t{1} << 40) / static_cast<uint64_t>(d))) {
          r.fail("tensor '" + name + "' has an impossible dimension " + std::to_string(d));
        }
        count_elems *= static_cast<uint64_t>(d);
        if (d > 0) nonzero_elems *= static_cast<uint64_t>(d);
      }
      r.need(count_elems * sizeof(float), "tensor data");
      runtime::Tensor<float> t(dims);
      if (count_elems > 0) std::memcpy(t.data.data(), bytes.data() + r.pos(), count_elems * sizeof(float));
      r.seek(r.pos() + count_elems * sizeof(float));
      c.tensors[name] = std::move(t);
    } else {
      r.fail("entry '" + name + "' has unknown kind " + std::to_string(kind));
    }
  }
  if (r.pos() != body) r.fail(std::to_string(body - r.pos()) + " unexpected bytes after the last entry");
  return c;
}

void save_checkpoint_atomically(const Checkpoint& checkpoint, const std::string& path) {
  write_file_atomically(path, serialize_checkpoint(checkpoint));
}

Checkpoint load_checkpoint(const std::string& path) {
  return parse_checkpoint(read_file_or_say_why(path, "checkpoint"), path);
}

}  // namespace rnnc::train
