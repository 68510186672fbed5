// A fuzz target without libFuzzer, for every build (gcc included): replays the inputs it is given
// (files, or directories of them) through LLVMFuzzerTestOneInput, then runs a short, deterministic
// mutation loop over them (bit flips, truncations, byte insertions, splices). CI runs it per target
// (CTest fuzz_replay.*): every input that once found a bug (fuzz/regressions/) stays checked, and a few
// thousand mutants exercise the contract in fuzz/fuzz_common.h. Real fuzzing (coverage-guided, under
// ASan+UBSan) is scripts/fuzz.sh.
//
//   TARGET [--mutants N] [--seed S] PATH...   (the fuzz target, built without libFuzzer)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

// fuzz_onnx_importer's custom mutator calls libFuzzer's; the replayer never calls the custom mutator.
extern "C" size_t LLVMFuzzerMutate(uint8_t*, size_t size, size_t) { return size; }

namespace {

std::vector<uint8_t> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void run(const std::vector<uint8_t>& input) {
  // A copy of exactly the input's size, so that reading past it is an error the sanitizers can see.
  std::vector<uint8_t> copy(input);
  LLVMFuzzerTestOneInput(copy.empty() ? nullptr : copy.data(), copy.size());
}

std::vector<uint8_t> mutate(std::vector<uint8_t> x, const std::vector<std::vector<uint8_t>>& corpus, std::mt19937_64& rng) {
  auto pick = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  switch (rng() % 5) {
    case 0:  // flip bits
      for (int i = 0, n = 1 + static_cast<int>(rng() % 8); i < n && !x.empty(); ++i) x[pick(x.size())] ^= static_cast<uint8_t>(1u << (rng() % 8));
      break;
    case 1:  // truncate
      x.resize(pick(x.size() + 1));
      break;
    case 2:  // insert random bytes
      for (int i = 0, n = 1 + static_cast<int>(rng() % 16); i < n; ++i) x.insert(x.begin() + pick(x.size() + 1), static_cast<uint8_t>(rng()));
      break;
    case 3:  // overwrite with an "interesting" byte run
      if (!x.empty()) {
        static const uint8_t values[] = {0x00, 0xff, 0x7f, 0x80, '\n', '%', '@', '[', ']', ','};
        size_t at = pick(x.size());
        for (size_t i = at; i < x.size() && i < at + 1 + rng() % 8; ++i) x[i] = values[rng() % sizeof(values)];
      }
      break;
    default: {  // splice with another input
      const std::vector<uint8_t>& y = corpus[pick(corpus.size())];
      size_t cut_x = pick(x.size() + 1), cut_y = pick(y.size() + 1);
      x.resize(cut_x);
      x.insert(x.end(), y.begin() + static_cast<std::ptrdiff_t>(cut_y), y.end());
      break;
    }
  }
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  long mutants = 2000;
  uint64_t seed = 1;
  std::vector<std::vector<uint8_t>> corpus;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--mutants" && i + 1 < argc) {
      mutants = std::strtol(argv[++i], nullptr, 10);
      continue;
    }
    if (a == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
      continue;
    }
    std::filesystem::path p(a);
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(p)) {
        if (e.is_regular_file() && e.file_size() <= (1u << 20)) corpus.push_back(read_file(e.path()));
      }
    } else if (std::filesystem::is_regular_file(p, ec)) {
      corpus.push_back(read_file(p));
    } else {
      std::fprintf(stderr, "replay: %s: no such file or directory\n", a.c_str());
      return 2;
    }
  }
  if (corpus.empty()) corpus.push_back({});
  for (const auto& input : corpus) run(input);
  std::mt19937_64 rng(seed);
  for (long i = 0; i < mutants; ++i) run(mutate(corpus[rng() % corpus.size()], corpus, rng));
  std::printf("replay: %zu inputs and %ld mutants (seed %llu): every one accepted or rejected with a UserError\n",
              corpus.size(), mutants, static_cast<unsigned long long>(seed));
  return 0;
}
