// imdb-tokens: writes the tokenised, numericalised IMDB splits and the vocabulary to a folder, so that
// another program (bench/imdb_torch.py) trains on exactly the inputs rnnc sees.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "data/pipeline.h"
#include "data/text.h"
#include "data/token_file.h"
#include "data/word_vectors.h"
#include "ir/durable_file.h"
#include "ir/error.h"
#include "tools/cli.h"

namespace {

namespace data = rnnc::data;

const std::string kUsage = R"(usage: imdb-tokens DATA --out DIR [options]

Reads the IMDB reviews from DATA (the aclImdb folder, or aclImdb_v1.tar.gz / aclImdb-train.tar.gz; run
scripts/fetch-imdb.sh to get the path), tokenises them like torchtext's basic_english, builds the
vocabulary on the training reviews and writes to DIR:
  vocab.txt                the vocabulary (rnnc-vocab 1 format: <unk>=0 <pad>=1 <bos>=2, then tokens)
  train.tokens             the training split     (format: data/token_file.h)
  validation.tokens        the validation split: test/ when DATA has it, else carved from train
  train.paths, validation.paths   each example's review file ("train/pos/0_9.txt"), one per line
  meta.json                sizes, options, counts and timings

options:
  --out DIR                output folder (created)
  --max-len N              tokens kept per review (default 200; 0: all)
  --vocab-size N           most frequent tokens kept besides the 3 specials (default 25000)
  --min-freq N             minimum count for a token (default 1)
  --validation N           reviews carved from train for validation (default 5000)
  --seed N                 seed of the carved validation split (default 1234)
  --carve                  carve validation from train even when DATA has a test split
  --limit N                keep only N training reviews (a seeded subset; validation unchanged)
  --word-vectors N         also write word_vectors.f32: the embedding start imdb-sentiment train learns
                           from the training reviews in N skip-gram epochs (its default: 5; the same
                           values when the split is the same: with --carve, as imdb-sentiment trains),
                           for bench/imdb_torch.py --embedding-start (0: none; meta.json records them)
  --word-vector-std X      their entries' spread (default 1.0, as imdb-sentiment)
  --word-vector-seed N     their seed (default 0: imdb-sentiment's default --seed)
  --dump-tokens FILE       also write every review's full token list as text lines:
                           split<TAB>path<TAB>label<TAB>tok tok tok ...
)";

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// Every output is written whole or not at all (rnnc::write_file_atomically): a failed or killed run
// leaves the files of an earlier run, not truncated ones that another program would read as data.
void dump_tokens(const std::string& path, const data::ImdbDataset& ds) {
  std::ostringstream out;
  for (const auto* split : {&ds.train, &ds.test}) {
    for (const data::Review& r : *split) {
      out << r.path.substr(0, r.path.find('/')) << '\t' << r.path << '\t' << r.label << '\t';
      bool first = true;
      data::for_each_basic_english_token(r.text, [&](std::string_view t) {
        if (!first) out << ' ';
        out << t;
        first = false;
      });
      out << '\n';
    }
  }
  rnnc::write_file_atomically(path, out.str());
}

int tokens_main(int argc, char** argv) {
  rnnc::cli::Args args(argc, argv, {"out", "max-len", "vocab-size", "min-freq", "validation", "seed", "limit", "dump-tokens", "word-vectors",
                        "word-vector-std", "word-vector-seed"},
                       {"carve"});
  if (args.positional().size() != 1)
    throw rnnc::cli::UsageError("needs exactly one DATA path (scripts/fetch-imdb.sh prints it)");
  if (!args.has("out")) throw rnnc::cli::UsageError("needs --out DIR");
  const std::string source = args.positional()[0];
  const std::string out_dir = args.get("out");
  data::ImdbOptions options;
  options.max_len = static_cast<int32_t>(args.get_int("max-len", options.max_len));
  options.vocab_tokens = args.get_int("vocab-size", options.vocab_tokens);
  options.min_freq = args.get_int("min-freq", options.min_freq);
  options.validation_size = args.get_int("validation", options.validation_size);
  options.seed = static_cast<uint64_t>(args.get_int("seed", static_cast<int64_t>(options.seed)));
  options.use_test_split = !args.has("carve");
  options.limit_train = args.get_int("limit", 0);
  const int64_t word_vector_epochs = args.get_int("word-vectors", 0);
  const double word_vector_std = args.get_double("word-vector-std", 1.0);
  if (word_vector_epochs < 0 || word_vector_epochs > data::kMaxWordVectorEpochs || !(word_vector_std > 0)) {
    throw rnnc::cli::UsageError("--word-vectors must be between 0 and " + std::to_string(data::kMaxWordVectorEpochs) +
                                " and --word-vector-std positive");
  }
  const uint64_t word_vector_seed = static_cast<uint64_t>(args.get_int("word-vector-seed", 0));
  options.keep_untruncated_train = word_vector_epochs > 0;

  // The output files' folder is made once the data has been read: a wrong DATA leaves no empty folder. The
  // dump is checked before anything, unless it goes into that folder, not made yet.
  const std::string dump = args.get("dump-tokens");
  if (!dump.empty()) {
    namespace fs = std::filesystem;
    const bool into_out = fs::path(dump).parent_path().lexically_normal() == fs::path(out_dir + "/x").parent_path().lexically_normal();
    std::error_code ec;
    if (!into_out || fs::is_directory(out_dir, ec)) rnnc::check_writable(dump, "the token dump");
  }
  auto start = std::chrono::steady_clock::now();
  data::ImdbDataset dataset = data::read_imdb(source);
  double read_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  size_t read_train = dataset.train.size(), read_test = dataset.test.size();
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) throw rnnc::UserError("cannot create " + out_dir + ": " + ec.message());
  if (!dump.empty()) dump_tokens(dump, dataset);
  data::ImdbData d = data::prepare_imdb(std::move(dataset), options);
  d.read_seconds = read_seconds;

  d.vocab.save(out_dir + "/vocab.txt");
  data::write_token_file(out_dir + "/train.tokens", d.train);
  data::write_token_file(out_dir + "/validation.tokens", d.validation);
  for (const auto& [file, paths] : {std::pair{"/train.paths", &d.train_paths}, std::pair{"/validation.paths", &d.validation_paths}}) {
    std::string lines;
    for (const std::string& p : *paths) lines += p + '\n';
    rnnc::write_file_atomically(out_dir + file, lines);
  }

  // A word_vectors.f32 left by an earlier run into this folder must not pass for this run's.
  std::filesystem::remove(out_dir + "/word_vectors.f32", ec);
  if (word_vector_epochs > 0) {
    data::WordVectors v = data::embedding_start(
        d.train_untruncated, d.vocab.size(), {.epochs = static_cast<int32_t>(word_vector_epochs), .seed = word_vector_seed},
        word_vector_std);
    data::write_word_vectors(out_dir + "/word_vectors.f32", v);
    std::printf("imdb-tokens: word_vectors.f32: %lld x %lld, %lld skip-gram epochs in %.1f s\n", static_cast<long long>(v.vocab_size),
                static_cast<long long>(v.dim), static_cast<long long>(v.epochs), v.seconds);
  }

  const auto& info = d.source_info;
  for (size_t i = 0; i < info.warnings.size() && i < 10; ++i) std::cerr << "imdb-tokens: warning: " << info.warnings[i] << "\n";
  if (info.warnings.size() > 10) std::cerr << "imdb-tokens: ... and " << info.warnings.size() - 10 << " more warnings\n";

  auto split_json = [](const data::EncodedSplit& s) {
    int64_t pos = 0;
    for (int32_t l : s.labels) pos += l == data::kLabelPos;
    return "{\"count\": " + std::to_string(s.size()) + ", \"tokens\": " + std::to_string(s.tokens.size()) +
           ", \"pos\": " + std::to_string(pos) + "}";
  };
  std::ostringstream meta;
  meta << "{\n"
       << "  \"format\": \"rnnc-imdb-tokens-1\",\n"
       << "  \"source\": " << json_string(info.origin) << ",\n"
       << "  \"read\": {\"train\": " << read_train << ", \"test\": " << read_test
       << ", \"skipped_empty\": " << info.skipped_empty << ", \"repaired_utf8\": " << info.repaired_utf8 << "},\n"
       << "  \"vocab_size\": " << d.vocab.size() << ",\n"
       << "  \"unk_id\": " << data::Vocab::kUnk << ", \"pad_id\": " << data::Vocab::kPad << ", \"bos_id\": " << data::Vocab::kBos << ",\n"
       << "  \"max_len\": " << options.max_len << ",\n"
       << "  \"min_freq\": " << options.min_freq << ",\n"
       << "  \"seed\": " << options.seed << ",\n"
       << "  \"validation_source\": " << json_string(d.validation_source) << ",\n"
       << "  \"train\": " << split_json(d.train) << ",\n"
       << "  \"validation\": " << split_json(d.validation) << ",\n"
       << "  \"word_vectors\": "
       << (word_vector_epochs > 0 ? "{\"epochs\": " + std::to_string(word_vector_epochs) + ", \"std\": " + std::to_string(word_vector_std) +
                                        ", \"seed\": " + std::to_string(word_vector_seed) + "}"
                                  : std::string("null"))
       << ",\n"
       << "  \"seconds\": {\"read\": " << d.read_seconds << ", \"vocab\": " << d.vocab_seconds
       << ", \"encode\": " << d.encode_seconds << "}\n"
       << "}\n";
  rnnc::write_file_atomically(out_dir + "/meta.json", meta.str());

  std::printf("imdb-tokens: %s -> %s: train %zu, validation %zu (%s), vocab %d; read %.2f s, vocab %.2f s, encode %.2f s\n",
              info.origin.c_str(), out_dir.c_str(), d.train.size(), d.validation.size(), d.validation_source.c_str(),
              d.vocab.size(), d.read_seconds, d.vocab_seconds, d.encode_seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return rnnc::cli::run_tool("imdb-tokens", kUsage, tokens_main, argc, argv); }
