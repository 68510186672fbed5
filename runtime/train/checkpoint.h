// Checkpoints: named text entries (config, vocabulary, training progress) and named f32 tensors
// (parameters, optimizer state) in one binary file, written atomically and checked when read.
//
// Layout (little-endian): "RNNCCKPT" u32 version u32 count, then per entry
//   u8 kind (0 text, 1 tensor) u32 name_len name
//   text:   u64 len bytes
//   tensor: u32 rank i64 dims[rank] f32 data[product(dims)]
// and a CRC-32 of everything before it. A truncated or corrupted file fails the CRC or a bounds check,
// and the error names the file and what was wrong where: a checkpoint either loads whole or not at all.
#pragma once

#include <map>
#include <string>

#include "ir/durable_file.h"  // write_file_atomically, for any small output file
#include "runtime/tensor.h"

namespace rnnc::train {

struct Checkpoint {
  std::map<std::string, std::string> text;
  std::map<std::string, runtime::Tensor<float>> tensors;

  // The text entry `key`; UserError naming the key when it is missing.
  const std::string& get_text(const std::string& key) const;
};

std::string serialize_checkpoint(const Checkpoint& checkpoint);
// `origin` names the source in error messages (a path).
Checkpoint parse_checkpoint(const std::string& bytes, const std::string& origin);

// Writes to a temporary file in the same directory, flushes it to disk, then renames it over `path`:
// a crash at any moment leaves either the old checkpoint or the new one, never a torn file.
void save_checkpoint_atomically(const Checkpoint& checkpoint, const std::string& path);
Checkpoint load_checkpoint(const std::string& path);

}  // namespace rnnc::train
