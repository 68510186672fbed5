// rnnc-fuzz-seeds OUT: writes seed inputs made by the real writers (serialize_checkpoint,
// Vocab::serialize, serialize_token_file) to OUT/fuzz_checkpoint, OUT/fuzz_vocab and OUT/fuzz_token_file. The other
// targets' seeds (IR text, ONNX files, tar archives) come from fuzz/make_seeds.py.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "data/batch.h"
#include "data/imdb.h"
#include "data/token_file.h"
#include "data/vocab.h"
#include "ir/error.h"
#include "runtime/train/checkpoint.h"

namespace fs = std::filesystem;
using namespace rnnc;

namespace {

void write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.good()) throw UserError("cannot write " + path.string());
}

std::vector<data::Review> reviews() {
  return {
      {"A wonderful film. I loved it!<br /><br />Great acting, (mostly) great music.", data::kLabelPos, "train/pos/0_9.txt"},
      {"Terrible; boring: I \"walked out\" after an hour?", data::kLabelNeg, "train/neg/1_2.txt"},
      {"Not bad, not great. Caf\xc3\xa9 scenes were \xce\xa3\xce\xa3 fine.", data::kLabelPos, "train/pos/2_7.txt"},
  };
}

train::Checkpoint training_checkpoint() {
  train::Checkpoint c;
  c.text["model"] = "imdb-classifier";
  c.text["optimizer"] = "adam";
  c.text["fit.epochs_done"] = "2";
  c.text["fit.steps"] = "14";
  c.text["fit.history"] = "1 0.69 0.5 0.68 0.55 1.5 100\n2 0.6 0.7 0.65 0.6 1.4 110\n";
  c.tensors["param/fc.weight"] = runtime::Tensor<float>({2, 3}, {0.1f, -0.2f, 0.3f, 0.f, 1e-8f, -4.f});
  c.tensors["param/fc.bias"] = runtime::Tensor<float>({2}, {0.5f, -0.5f});
  c.tensors["optimizer/fc.weight.m"] = runtime::Tensor<float>({2, 3}, 0.01f);
  c.tensors["optimizer/step"] = runtime::Tensor<float>(runtime::Dims{}, std::vector<float>{14.f});
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string arg = argc == 2 ? argv[1] : "";
  if (arg == "--help" || arg == "-h") {
    std::cout << "usage: rnnc-fuzz-seeds OUT   (writes the fuzzers' seed corpora into OUT/<fuzzer>/)\n";
    return 0;
  }
  // An option is not a folder to write into (--help once made a folder named "--help").
  if (argc != 2 || arg.empty() || arg[0] == '-') {
    std::cerr << "usage: rnnc-fuzz-seeds OUT\n";
    return 2;
  }
  const fs::path out = argv[1];
  try {
    // Checkpoints: empty, the shape fit() writes, odd shapes (zero-sized dims, rank 8, NaN/inf data).
    write(out / "fuzz_checkpoint" / "empty.ckpt", train::serialize_checkpoint({}));
    write(out / "fuzz_checkpoint" / "training.ckpt", train::serialize_checkpoint(training_checkpoint()));
    train::Checkpoint odd;
    odd.text[""] = "";
    odd.text[std::string("binary\n\0name", 12)] = std::string("\0\xff", 2);
    odd.tensors["zero"] = runtime::Tensor<float>({3, 0, 2});
    odd.tensors["rank8"] = runtime::Tensor<float>({1, 1, 1, 1, 1, 1, 1, 2}, 1.f);
    odd.tensors["special"] = runtime::Tensor<float>(
        {3}, {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(), -0.f});
    write(out / "fuzz_checkpoint" / "odd.ckpt", train::serialize_checkpoint(odd));

    // Vocabularies: the specials only, and one built from a few reviews.
    data::Vocab vocab = data::Vocab::build(reviews());
    write(out / "fuzz_vocab" / "specials.txt", data::Vocab().serialize());
    write(out / "fuzz_vocab" / "reviews.txt", vocab.serialize());

    // Token files: empty, and the reviews encoded with that vocabulary (one cut to 4 tokens).
    write(out / "fuzz_token_file" / "empty.tok", data::serialize_token_file(data::EncodedSplit{}));
    write(out / "fuzz_token_file" / "reviews.tok", data::serialize_token_file(data::encode_reviews(reviews(), vocab)));
    write(out / "fuzz_token_file" / "short.tok", data::serialize_token_file(data::encode_reviews(reviews(), vocab, 4)));
  } catch (const std::exception& e) {
    std::cerr << "rnnc-fuzz-seeds: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
