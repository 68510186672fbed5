// A numericalised split on disk, for other programs (bench/imdb_torch.py) to read exactly the inputs
// rnnc trains on. Little-endian, no padding:
//
//   char[8]  magic "RNNCTOK1"
//   int64    n           examples
//   int64    total       sum of the lengths
//   int32    labels[n]   1 = pos, 0 = neg
//   int32    lengths[n]  each >= 1
//   int32    tokens[total]  the examples' ids, concatenated
//
// Python: a = numpy.frombuffer(raw, "<i4", offset=24); labels = a[:n]; lengths = a[n:2*n]; ...
#pragma once

#include <string>
#include <string_view>

#include "data/batch.h"

namespace rnnc::data {

std::string serialize_token_file(const EncodedSplit& split);
EncodedSplit parse_token_file(std::string_view bytes, const std::string& name = "<memory>");
void write_token_file(const std::string& path, const EncodedSplit& split);
EncodedSplit read_token_file(const std::string& path);

}  // namespace rnnc::data
