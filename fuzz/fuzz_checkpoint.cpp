// libFuzzer target: the checkpoint reader (runtime/train/checkpoint.h, parse_checkpoint).
//
// A checkpoint ends with a CRC-32 of everything before it, which random mutations almost never keep
// right; so each input is parsed twice: as it is (the header and CRC checks), and with its last four
// bytes replaced by the right CRC (every check behind the CRC: entry kinds, names, lengths, ranks,
// dims, sizes). Accepted checkpoints must round-trip: parse(serialize(c)) gives c again.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz/fuzz_common.h"
#include "runtime/train/checkpoint.h"

using namespace rnnc;

namespace {

void parse_and_round_trip(const std::string& bytes, const char* stage) {
  fuzz::expect_user_errors_only(stage, [&] {
    train::Checkpoint c = train::parse_checkpoint(bytes, "<fuzz>");
    for (const auto& [name, t] : c.tensors) {
      // Whatever reads a tensor computes products of its dims (sizes, strides): none may overflow.
      uint64_t n = 1, nonzero = 1;
      for (int64_t d : t.shape) {
        n *= static_cast<uint64_t>(d);
        if (d > 0) nonzero *= static_cast<uint64_t>(d);
        if (nonzero > (uint64_t{1} << 40)) fuzz::finding("accepted tensor '" + name + "' with dims whose product overflows");
      }
      if (n != t.data.size()) fuzz::finding("accepted tensor '" + name + "' with a wrong size");
    }
    train::Checkpoint again = train::parse_checkpoint(train::serialize_checkpoint(c), "<serialized>");
    bool same = again.text == c.text && again.tensors.size() == c.tensors.size();
    for (auto a = again.tensors.begin(), b = c.tensors.begin(); same && b != c.tensors.end(); ++a, ++b) {
      same = a->first == b->first && a->second.shape == b->second.shape &&
             a->second.data.size() == b->second.data.size() &&
             (b->second.data.empty() ||  // bitwise: NaNs included
              std::memcmp(a->second.data.data(), b->second.data.data(), b->second.data.size() * sizeof(float)) == 0);
    }
    if (!same) fuzz::finding("parse_checkpoint(serialize_checkpoint(c)) != c");
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  parse_and_round_trip(bytes, "parse_checkpoint");
  if (size >= 4) {
    uint32_t crc = static_cast<uint32_t>(::crc32(0L, data, static_cast<uInt>(size - 4)));
    std::memcpy(bytes.data() + size - 4, &crc, 4);
    parse_and_round_trip(bytes, "parse_checkpoint (CRC fixed)");
  }
  return 0;
}
