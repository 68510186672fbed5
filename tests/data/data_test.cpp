// The data layer on small inputs built at test time (and on the real IMDB archive when it is present).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "data/archive.h"
#include "data/batch.h"
#include "data/imdb.h"
#include "data/pipeline.h"
#include "data/random.h"
#include "data/text.h"
#include "data/token_file.h"
#include "data/vocab.h"
#include "data/word_vectors.h"
#include "ir/durable_file.h"
#include "ir/error.h"

namespace rnnc::data {
namespace {

namespace fs = std::filesystem;
using Tokens = std::vector<std::string>;

// Expects `body` to throw a UserError whose message contains every one of `parts`.
template <typename F>
void expect_user_error(F&& body, std::initializer_list<std::string> parts) {
  try {
    body();
    ADD_FAILURE() << "no error; expected one mentioning '" << *parts.begin() << "'";
  } catch (const UserError& e) {
    std::string message = e.what();
    for (const std::string& part : parts) EXPECT_NE(message.find(part), std::string::npos) << "message: " << message << "\nmissing: " << part;
  }
}

// A scratch folder removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("rnnc-data-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return (path_ / rel).string(); }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

void write(const fs::path& path, std::string_view contents) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
}

std::string slurp(const fs::path& path) { return read_file_or_say_why(path.string(), ""); }

void run(const std::string& command) { ASSERT_EQ(std::system(command.c_str()), 0) << command; }

// ---------------------------------------------------------------------------------------------- tokenizer

TEST(Tokenizer, TorchtextDocstringExample) {
  EXPECT_EQ(tokenize_basic_english("You can now install TorchText using pip!"),
            (Tokens{"you", "can", "now", "install", "torchtext", "using", "pip", "!"}));
}

TEST(Tokenizer, LineBreakTags) {
  EXPECT_EQ(tokenize_basic_english("Great film.<br /><br />Loved it"),
            (Tokens{"great", "film", ".", "loved", "it"}));
  EXPECT_EQ(tokenize_basic_english("a<BR />b"), (Tokens{"a", "b"}));  // lower-cased first
  EXPECT_EQ(tokenize_basic_english("a<br /\">b"), (Tokens{"a", "b"}));  // `"` goes before <br /> is matched
  EXPECT_EQ(tokenize_basic_english("a<br/>b <br>"), (Tokens{"a<br/>b", "<br>"}));  // other spellings stay
  EXPECT_EQ(tokenize_basic_english("<br <br />x"), (Tokens{"<br", "x"}));
}

TEST(Tokenizer, PunctuationAndQuotes) {
  EXPECT_EQ(tokenize_basic_english("Wow!! (1990), really?"),
            (Tokens{"wow", "!", "!", "(", "1990", ")", ",", "really", "?"}));
  EXPECT_EQ(tokenize_basic_english("a;b:c"), (Tokens{"a", "b", "c"}));
  EXPECT_EQ(tokenize_basic_english("\"Quoted\" a\"b"), (Tokens{"quoted", "ab"}));
  EXPECT_EQ(tokenize_basic_english("3.5/10 - e.g."), (Tokens{"3", ".", "5/10", "-", "e", ".", "g", "."}));
  EXPECT_EQ(tokenize_basic_english("...and"), (Tokens{".", ".", ".", "and"}));
}

TEST(Tokenizer, Apostrophes) {
  EXPECT_EQ(tokenize_basic_english("Don't, it's 'fine'"),
            (Tokens{"don", "'", "t", ",", "it", "'", "s", "'", "fine", "'"}));
  // Only the ASCII apostrophe is split; U+2019 stays inside the word, as in torchtext.
  EXPECT_EQ(tokenize_basic_english("don\u2019t"), (Tokens{"don\u2019t"}));
}

TEST(Tokenizer, WhitespaceIsPythons) {
  EXPECT_EQ(tokenize_basic_english("a\tb\nc\r\nd\x0b" "e\x0c" "f\x1c" "g"), (Tokens{"a", "b", "c", "d", "e", "f", "g"}));
  // U+0085 (NEL, frequent in IMDB), U+00A0, U+2028, U+3000 split; U+200B (zero width space) does not.
  EXPECT_EQ(tokenize_basic_english("a\u0085b\u00a0c\u2028d\u3000e\u200bf"), (Tokens{"a", "b", "c", "d", "e\u200bf"}));
  EXPECT_TRUE(tokenize_basic_english("").empty());
  EXPECT_TRUE(tokenize_basic_english(" \t\n").empty());
}

TEST(Tokenizer, UnicodeLowerCaseIsPythons) {
  EXPECT_EQ(tokenize_basic_english("CAFÉ Élan ÀÖØ"), (Tokens{"café", "élan", "àöø"}));
  EXPECT_EQ(tokenize_basic_english("ΟΔΟΣ ΣΑ"), (Tokens{"οδος", "σα"}));        // final sigma rule
  EXPECT_EQ(tokenize_basic_english("İ"), (Tokens{"i\u0307"}));               // the one 1 -> 2 mapping
  EXPECT_EQ(tokenize_basic_english("ПРИВЕТ 😀"), (Tokens{"привет", "😀"}));
  EXPECT_EQ(lower_python("\u212A"), "k");  // KELVIN SIGN lower-cases to ASCII
}

TEST(Tokenizer, InvalidUtf8BecomesReplacementCharacter) {
  // One U+FFFD per maximal ill-formed subsequence, as bytes.decode("utf-8", "replace").
  EXPECT_EQ(tokenize_basic_english("a\xff" "b"), (Tokens{"a\uFFFDb"}));
  EXPECT_EQ(tokenize_basic_english("a\xe2\x82" "b"), (Tokens{"a\uFFFDb"}));
  EXPECT_EQ(tokenize_basic_english("\xf0\x80"), (Tokens{"\uFFFD\uFFFD"}));
  EXPECT_EQ(tokenize_basic_english("\xed\xa0\x80"), (Tokens{"\uFFFD\uFFFD\uFFFD"}));  // a surrogate
}

TEST(Tokenizer, HasToken) {
  EXPECT_FALSE(has_basic_english_token(""));
  EXPECT_FALSE(has_basic_english_token(" <br /> \"\" ;: \u00a0"));
  EXPECT_TRUE(has_basic_english_token(" . "));
  EXPECT_TRUE(has_basic_english_token("x"));
}

TEST(Utf8, Repair) {
  std::string s = "ok é";
  EXPECT_EQ(repair_utf8(s), 0);
  EXPECT_EQ(s, "ok é");
  EXPECT_TRUE(is_valid_utf8(s));
  s = "a\xe2\x82" "b\xff\xf0\x80";
  EXPECT_FALSE(is_valid_utf8(s));
  EXPECT_EQ(repair_utf8(s), 4);
  EXPECT_EQ(s, "a\uFFFDb\uFFFD\uFFFD\uFFFD");
  EXPECT_TRUE(is_valid_utf8(s));
  s = "\uFFFD";  // an honest U+FFFD is valid and not counted
  EXPECT_EQ(repair_utf8(s), 0);
}

// ------------------------------------------------------------------------------------------------ vocab

TEST(Vocab, SpecialsOrderAndTies) {
  TokenCounts counts{{"the", 10}, {"b", 3}, {"a", 3}, {"c", 3}, {"rare", 1}, {"<pad>", 50}};
  Vocab v = Vocab::from_counts(counts, /*max_tokens=*/4);
  EXPECT_EQ(v.tokens(), (Tokens{"<unk>", "<pad>", "<bos>", "the", "a", "b", "c"}));
  EXPECT_EQ(v.id("<unk>"), Vocab::kUnk);
  EXPECT_EQ(v.id("<pad>"), Vocab::kPad);
  EXPECT_EQ(v.id("<bos>"), Vocab::kBos);
  EXPECT_EQ(v.id("the"), 3);
  EXPECT_EQ(v.id("rare"), Vocab::kUnk);
  EXPECT_EQ(v.token(4), "a");
  expect_user_error([&] { v.token(7); }, {"id 7 out of range"});

  Vocab all = Vocab::from_counts(counts, 100);
  EXPECT_EQ(all.size(), 3 + 5);
  EXPECT_EQ(all.tokens().back(), "rare");
  Vocab frequent = Vocab::from_counts(counts, 100, /*min_freq=*/3);
  EXPECT_EQ(frequent.size(), 3 + 4);
  // Byte order of UTF-8 is code point order: "z" < "é".
  Vocab unicode = Vocab::from_counts({{"é", 2}, {"z", 2}}, 10);
  EXPECT_EQ(unicode.token(3), "z");
}

TEST(Vocab, BuildAndEncode) {
  std::vector<Review> reviews = {{"The film, the END.", 1, "train/pos/1.txt"}, {"the end", 0, "train/neg/2.txt"}};
  Vocab v = Vocab::build(reviews);
  // the:3 end:2 then ties at 1 in byte order: , . film
  EXPECT_EQ(v.tokens(), (Tokens{"<unk>", "<pad>", "<bos>", "the", "end", ",", ".", "film"}));
  EXPECT_EQ(v.encode("The END of it"), (std::vector<int32_t>{3, 4, Vocab::kUnk, Vocab::kUnk}));
  EXPECT_EQ(v.encode("The END of it", 2), (std::vector<int32_t>{3, 4}));
  EXPECT_EQ(v.encode("The END of it", 0).size(), 4u);
  // Truncate::Tail keeps the last max_len tokens, in order; shorter texts are whole either way.
  EXPECT_EQ(v.encode("The END of it", 2, data::Truncate::Tail), (std::vector<int32_t>{Vocab::kUnk, Vocab::kUnk}));
  EXPECT_EQ(v.encode("it of The END", 2, data::Truncate::Tail), (std::vector<int32_t>{3, 4}));
  EXPECT_EQ(v.encode("The END", 5, data::Truncate::Tail), (std::vector<int32_t>{3, 4}));
  EXPECT_EQ(v.encode("The END of it", 0, data::Truncate::Tail).size(), 4u);
}

TEST(Vocab, SaveLoadRoundTrip) {
  TempDir dir;
  Vocab v = Vocab::from_counts({{"x", 2}, {"y", 1}, {"héllo", 5}, {"(", 1}});
  EXPECT_EQ(v.serialize(), "rnnc-vocab 1 7\n<unk>\n<pad>\n<bos>\nhéllo\nx\n(\ny\n");
  v.save(dir / "vocab.txt");
  Vocab back = Vocab::load(dir / "vocab.txt");
  EXPECT_EQ(back, v);
  EXPECT_EQ(back.id("y"), v.id("y"));
  EXPECT_EQ(Vocab::parse(Vocab().serialize()), Vocab());
}

TEST(Vocab, CorruptFilesNameFileAndLine) {
  std::string good = "rnnc-vocab 1 5\n<unk>\n<pad>\n<bos>\na\nb\n";
  EXPECT_EQ(Vocab::parse(good, "v.txt").size(), 5);
  expect_user_error([] { Vocab::parse("", "v.txt"); }, {"v.txt:1:", "empty file"});
  expect_user_error([] { Vocab::parse("hello\n", "v.txt"); }, {"v.txt:1:", "not an rnnc vocabulary"});
  expect_user_error([] { Vocab::parse("rnnc-vocab 2 3\n<unk>\n<pad>\n<bos>\n", "v.txt"); }, {"v.txt:1:", "version 2"});
  expect_user_error([] { Vocab::parse("rnnc-vocab 1 x\n", "v.txt"); }, {"v.txt:1:", "malformed header"});
  // Truncated: fewer lines than announced, or cut inside the last line.
  expect_user_error([&] { Vocab::parse(good.substr(0, good.size() - 1), "v.txt"); }, {"v.txt:6:", "no newline"});
  expect_user_error([&] { Vocab::parse(good.substr(0, good.rfind("b\n")), "v.txt"); },
                    {"v.txt:6:", "truncated", "5 tokens", "has 4"});
  expect_user_error([&] { Vocab::parse(good + "c\n", "v.txt"); }, {"v.txt:7:", "more tokens"});
  expect_user_error([] { Vocab::parse("rnnc-vocab 1 5\n<unk>\n<pad>\n<bos>\na\na\n", "v.txt"); }, {"v.txt:6:", "appears twice"});
  expect_user_error([] { Vocab::parse("rnnc-vocab 1 4\n<unk>\n<bos>\n<pad>\na\n", "v.txt"); }, {"v.txt:3:", "<pad>"});
  expect_user_error([] { Vocab::parse("rnnc-vocab 1 4\n<unk>\n<pad>\n<bos>\n\n", "v.txt"); }, {"v.txt:5:", "empty token"});
  expect_user_error([] { Vocab::parse("rnnc-vocab 1 4\r\n<unk>\r\n<pad>\r\n<bos>\r\na\r\n", "v.txt"); }, {"v.txt:"});
  expect_user_error([] { Vocab::load("/nonexistent/vocab.txt"); }, {"/nonexistent/vocab.txt"});
}

// -------------------------------------------------------------------------------------- reading the data

// A tiny aclImdb: 3 pos + 2 neg train reviews, 1 + 1 test, plus files the reader must ignore.
void make_tiny_imdb(const fs::path& root, bool with_test) {
  write(root / "README", "not a review");
  write(root / "imdb.vocab", "the\nand\n");
  write(root / "train/pos/0_9.txt", "A <b>great</b> film.<br /><br />Loved it!");
  write(root / "train/pos/1_8.txt", "Good, good, GOOD.");
  write(root / "train/pos/10_7.txt", "Fine \"acting\" (mostly).");
  write(root / "train/neg/0_2.txt", "Awful; boring: bad.");
  write(root / "train/neg/1_1.txt", "Bad film, bad acting.");
  write(root / "train/unsup/0_0.txt", "unlabelled: ignored");
  write(root / "train/pos/.hidden.txt", "ignored");
  write(root / "train/pos/notes.md", "ignored");
  if (with_test) {
    write(root / "test/pos/0_10.txt", "Brilliant.");
    write(root / "test/neg/0_1.txt", "Terrible.");
  }
}

void expect_tiny(const ImdbDataset& ds, bool with_test) {
  ASSERT_EQ(ds.train.size(), 5u);
  std::vector<std::string> paths;
  for (const Review& r : ds.train) paths.push_back(r.path);
  EXPECT_EQ(paths, (Tokens{"train/neg/0_2.txt", "train/neg/1_1.txt", "train/pos/0_9.txt", "train/pos/10_7.txt",
                           "train/pos/1_8.txt"}));
  EXPECT_EQ(ds.train[0].label, kLabelNeg);
  EXPECT_EQ(ds.train[2].label, kLabelPos);
  EXPECT_EQ(ds.train[2].text, "A <b>great</b> film.<br /><br />Loved it!");
  EXPECT_EQ(ds.has_test(), with_test);
  if (with_test) {
    ASSERT_EQ(ds.test.size(), 2u);
    EXPECT_EQ(ds.test[0].path, "test/neg/0_1.txt");
    EXPECT_EQ(ds.test[1].label, kLabelPos);
  }
  EXPECT_EQ(ds.skipped_empty, 0);
  EXPECT_EQ(ds.repaired_utf8, 0);
}

bool same_reviews(const std::vector<Review>& a, const std::vector<Review>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].text != b[i].text || a[i].label != b[i].label || a[i].path != b[i].path) return false;
  return true;
}

TEST(ImdbReader, DirectoryAndArchiveAgree) {
  TempDir tmp;
  make_tiny_imdb(tmp.path() / "aclImdb", /*with_test=*/true);
  run("tar czf " + (tmp / "imdb.tar.gz") + " -C " + tmp.path().string() + " aclImdb");
  run("tar cf " + (tmp / "imdb.tar") + " -C " + tmp.path().string() + " aclImdb");

  ImdbDataset from_dir = read_imdb(tmp / "aclImdb");
  expect_tiny(from_dir, true);
  ImdbDataset from_parent = read_imdb(tmp.path().string());  // the folder holding aclImdb/
  expect_tiny(from_parent, true);
  ImdbDataset from_tgz = read_imdb(tmp / "imdb.tar.gz");
  expect_tiny(from_tgz, true);
  EXPECT_EQ(from_tgz.origin, tmp / "imdb.tar.gz");
  ImdbDataset from_tar = read_imdb(tmp / "imdb.tar");
  expect_tiny(from_tar, true);
  ImdbDataset from_memory = read_imdb_tar_gz_from_memory(slurp(tmp / "imdb.tar.gz"), "mem.tar.gz");
  expect_tiny(from_memory, true);
  ImdbDataset from_tar_memory = read_imdb_tar_from_memory(slurp(tmp / "imdb.tar"), "mem.tar");
  EXPECT_TRUE(same_reviews(from_dir.train, from_tgz.train));
  EXPECT_TRUE(same_reviews(from_dir.test, from_tgz.test));
  EXPECT_TRUE(same_reviews(from_dir.train, from_tar_memory.train));
}

TEST(ImdbReader, TrainOnly) {
  TempDir tmp;
  make_tiny_imdb(tmp.path() / "aclImdb", /*with_test=*/false);
  run("tar czf " + (tmp / "train.tar.gz") + " -C " + tmp.path().string() + " aclImdb");
  expect_tiny(read_imdb(tmp / "aclImdb"), false);
  expect_tiny(read_imdb(tmp / "train.tar.gz"), false);
}

// GNU long names ('L' entries), POSIX ustar names split into prefix + name, and pax path records.
TEST(ImdbReader, TarFormatsWithLongNames) {
  TempDir tmp;
  std::string deep = "aclImdb";
  for (int i = 0; i < 6; ++i) deep += "/folder-with-a-rather-long-name-" + std::to_string(i);
  std::string long_file = std::string(110, 'x') + "_7.txt";
  write(tmp.path() / "aclImdb/train/pos/1_9.txt", "pos one");
  write(tmp.path() / "aclImdb/train/neg/1_2.txt", "neg one");
  write(tmp.path() / deep / "train/pos/2_9.txt", "deep pos");
  write(tmp.path() / deep / "train/neg/2_2.txt", "deep neg");
  write(tmp.path() / "aclImdb/train/pos" / long_file, "a long name");
  for (std::string format : {"gnu", "posix", "ustar"}) {
    SCOPED_TRACE(format);
    std::string archive = tmp / ("t-" + format + ".tar.gz");
    // ustar cannot store a 116-byte file name; it gets the deep tree only (prefix + name).
    std::string what = format == "ustar" ? deep : std::string("aclImdb");
    run("tar czf " + archive + " --format=" + format + " -C " + tmp.path().string() + " " + what);
    ImdbDataset ds = read_imdb(archive);
    std::set<std::string> texts;
    for (const Review& r : ds.train) texts.insert(r.text);
    if (format == "ustar") {
      EXPECT_EQ(ds.train.size(), 2u);
      EXPECT_TRUE(texts.count("deep pos"));
    } else {
      EXPECT_EQ(ds.train.size(), 5u);  // "aclImdb/train" and the deep copy; both end in train/{pos,neg}
      EXPECT_TRUE(texts.count("a long name"));
    }
  }
}

TEST(ImdbReader, TruncatedAndCorruptArchives) {
  TempDir tmp;
  make_tiny_imdb(tmp.path() / "aclImdb", true);
  // Incompressible padding makes the archive long enough to cut in several places.
  std::string noise;
  uint64_t x = 1;
  for (int i = 0; i < 20000; ++i) noise += static_cast<char>('a' + ((x = x * 6364136223846793005ull + 1) >> 59));
  write(tmp.path() / "aclImdb/train/pos/2_9.txt", noise);
  run("tar czf " + (tmp / "imdb.tar.gz") + " -C " + tmp.path().string() + " aclImdb");
  run("tar cf " + (tmp / "imdb.tar") + " -C " + tmp.path().string() + " aclImdb");
  std::string tgz = slurp(tmp / "imdb.tar.gz"), tar = slurp(tmp / "imdb.tar");

  for (size_t cut : {tgz.size() / 2, tgz.size() - 4, size_t{20}}) {
    write(tmp.path() / "cut.tar.gz", tgz.substr(0, cut));
    expect_user_error([&] { read_imdb(tmp / "cut.tar.gz"); }, {tmp / "cut.tar.gz", "truncated gzip stream"});
    expect_user_error([&] { read_imdb_tar_gz_from_memory(tgz.substr(0, cut), "mem.tgz"); }, {"mem.tgz", "truncated"});
  }
  std::string flipped = tgz;
  flipped[flipped.size() / 2] ^= 0x55;
  expect_user_error([&] { read_imdb_tar_gz_from_memory(flipped, "flip.tgz"); }, {"flip.tgz", "corrupt"});
  std::string bad_crc = tgz;
  bad_crc[bad_crc.size() - 6] ^= 1;  // the CRC32 in the trailer
  expect_user_error([&] { read_imdb_tar_gz_from_memory(bad_crc, "crc.tgz"); }, {"crc.tgz", "corrupt gzip data"});

  // A plain tar cut inside an entry's data, inside a header; a header with a wrong checksum.
  size_t noise_at = tar.find(noise.substr(0, 64));
  ASSERT_NE(noise_at, std::string::npos);
  expect_user_error([&] { read_imdb_tar_from_memory(tar.substr(0, noise_at + 100), "cut.tar"); },
                    {"cut.tar", "truncated tar archive", "2_9.txt", "100 of 20000 bytes"});
  expect_user_error([&] { read_imdb_tar_from_memory(tar.substr(0, 512 + 100), "cut.tar"); }, {"cut.tar", "truncated"});
  std::string bad_header = tar;
  bad_header[512 * 3 + 10] ^= 1;
  EXPECT_THROW(read_imdb_tar_from_memory(bad_header, "bad.tar"), UserError);

  write(tmp.path() / "empty.tar.gz", "");
  expect_user_error([&] { read_imdb(tmp / "empty.tar.gz"); }, {tmp / "empty.tar.gz", "empty file"});
  write(tmp.path() / "text.tar.gz", "just some text, not an archive at all");
  expect_user_error([&] { read_imdb(tmp / "text.tar.gz"); }, {tmp / "text.tar.gz", "not a .tar.gz or .tar archive"});
  expect_user_error([&] { read_imdb_tar_gz_from_memory("\x1f\x8bnope", "x.gz"); }, {"x.gz"});
  expect_user_error([&] { read_imdb(tmp / "missing.tar.gz"); }, {tmp / "missing.tar.gz", "no such file or directory"});
  // An archive without reviews.
  run("tar czf " + (tmp / "other.tar.gz") + " -C " + tmp.path().string() + " aclImdb/README");
  expect_user_error([&] { read_imdb(tmp / "other.tar.gz"); }, {tmp / "other.tar.gz", "no train/pos reviews"});
}

TEST(ImdbReader, MissingFolders) {
  TempDir tmp;
  write(tmp.path() / "aclImdb/train/pos/0_9.txt", "good");
  expect_user_error([&] { read_imdb(tmp / "aclImdb"); }, {"train/neg", "missing folder"});
  write(tmp.path() / "aclImdb/train/neg/0_1.txt", "bad");
  fs::create_directories(tmp.path() / "aclImdb/test/pos");
  expect_user_error([&] { read_imdb(tmp / "aclImdb"); }, {"test/neg", "missing folder"});
  write(tmp.path() / "aclImdb/test/neg/0_1.txt", "bad");
  expect_user_error([&] { read_imdb(tmp / "aclImdb"); }, {"no test/pos reviews"});
  expect_user_error([&] { read_imdb(tmp / "nothing"); }, {tmp / "nothing", "no such file or directory"});
}

// A pax "size" record whose value is not a number (found by fuzz_imdb_archive: the parser kept
// multiplying past the first non-digit, a signed overflow that only the sanitized build sees).
TEST(ImdbReader, PaxSizeThatIsNotANumber) {
  std::string tar = slurp(fs::path(RNNC_SOURCE_DIR) / "fuzz/regressions/fuzz_imdb_archive/pax-size-not-a-number");
  ASSERT_NE(tar.find("size=aclImdb/"), std::string::npos);
  expect_user_error([&] { read_imdb_tar_from_memory(tar, "pax.tar"); }, {"pax.tar", "corrupt pax header", "bad size 'aclImdb/"});
}

TEST(ImdbReader, EmptyFilesAndBadUtf8) {
  TempDir tmp;
  make_tiny_imdb(tmp.path() / "aclImdb", false);
  write(tmp.path() / "aclImdb/train/pos/5_9.txt", "");
  write(tmp.path() / "aclImdb/train/neg/5_1.txt", " <br /> \"\" ");
  write(tmp.path() / "aclImdb/train/neg/6_1.txt", "Bad\xff movie \xe2\x82");
  run("tar czf " + (tmp / "imdb.tar.gz") + " -C " + tmp.path().string() + " aclImdb");
  for (const std::string& source : {tmp / "aclImdb", tmp / "imdb.tar.gz"}) {
    SCOPED_TRACE(source);
    ImdbDataset ds = read_imdb(source);
    EXPECT_EQ(ds.train.size(), 6u);
    EXPECT_EQ(ds.skipped_empty, 2);
    EXPECT_EQ(ds.repaired_utf8, 1);
    ASSERT_EQ(ds.warnings.size(), 3u);
    std::string all;
    for (const std::string& w : ds.warnings) all += w + "\n";
    EXPECT_NE(all.find("train/pos/5_9.txt: empty review"), std::string::npos) << all;
    EXPECT_NE(all.find("train/neg/5_1.txt: empty review"), std::string::npos) << all;
    EXPECT_NE(all.find("train/neg/6_1.txt: 2 invalid UTF-8 sequences replaced"), std::string::npos) << all;
    auto it = std::find_if(ds.train.begin(), ds.train.end(), [](const Review& r) { return r.path == "train/neg/6_1.txt"; });
    ASSERT_NE(it, ds.train.end());
    EXPECT_EQ(it->text, "Bad\uFFFD movie \uFFFD");
  }
}

TEST(ImdbReader, UnreadableFile) {
  TempDir tmp;
  make_tiny_imdb(tmp.path() / "aclImdb", false);
  // A dangling link cannot be opened, even by root.
  fs::create_symlink(tmp.path() / "nowhere.txt", tmp.path() / "aclImdb/train/neg/7_1.txt");
  expect_user_error([&] { read_imdb(tmp / "aclImdb"); }, {"cannot read review '", "train/neg/7_1.txt': no such file or directory"});
  fs::remove(tmp.path() / "aclImdb/train/neg/7_1.txt");
  if (::geteuid() != 0) {  // root reads every file whatever its mode
    fs::permissions(tmp.path() / "aclImdb/train/pos/1_8.txt", fs::perms::none);
    expect_user_error([&] { read_imdb(tmp / "aclImdb"); }, {"cannot read review '", "1_8.txt': permission denied"});
  }
}

TEST(ImdbReader, PathClassification) {
  std::string split, rel;
  int32_t label = -1;
  EXPECT_TRUE(classify_imdb_path("aclImdb/train/pos/0_9.txt", split, label, rel));
  EXPECT_EQ(split, "train");
  EXPECT_EQ(label, kLabelPos);
  EXPECT_EQ(rel, "train/pos/0_9.txt");
  EXPECT_TRUE(classify_imdb_path("./aclImdb/test/neg/1_2.txt", split, label, rel));
  EXPECT_EQ(rel, "test/neg/1_2.txt");
  EXPECT_FALSE(classify_imdb_path("aclImdb/train/unsup/0_0.txt", split, label, rel));
  EXPECT_FALSE(classify_imdb_path("aclImdb/train/pos/._0_9.txt", split, label, rel));
  EXPECT_FALSE(classify_imdb_path("aclImdb/train/labeledBow.feat", split, label, rel));
  EXPECT_FALSE(classify_imdb_path("pos/0_9.txt", split, label, rel));
}

// ------------------------------------------------------------------------------------ splits and batches

std::vector<Review> numbered_reviews(int n) {
  std::vector<Review> reviews;
  for (int i = 0; i < n; ++i) reviews.push_back({"review " + std::to_string(i), i % 2, "train/x/" + std::to_string(i) + ".txt"});
  return reviews;
}

TEST(Split, ReproducibleAndDisjoint) {
  auto a = split_train_validation(numbered_reviews(100), 30, 7);
  auto b = split_train_validation(numbered_reviews(100), 30, 7);
  auto c = split_train_validation(numbered_reviews(100), 30, 8);
  ASSERT_EQ(a.train.size(), 70u);
  ASSERT_EQ(a.validation.size(), 30u);
  EXPECT_TRUE(same_reviews(a.train, b.train));
  EXPECT_TRUE(same_reviews(a.validation, b.validation));
  EXPECT_FALSE(same_reviews(a.validation, c.validation));
  std::set<std::string> seen;
  for (const auto* part : {&a.train, &a.validation})
    for (const Review& r : *part) EXPECT_TRUE(seen.insert(r.path).second) << r.path << " in both";
  EXPECT_EQ(seen.size(), 100u);
  // Input order is kept inside each part.
  for (size_t i = 1; i < a.train.size(); ++i)
    EXPECT_LT(std::stoi(a.train[i - 1].text.substr(7)), std::stoi(a.train[i].text.substr(7)));
  expect_user_error([] { split_train_validation(numbered_reviews(10), 10, 1); }, {"validation split of 10"});
}

EncodedSplit three_examples() {
  EncodedSplit s;
  s.add(std::vector<int32_t>{5, 6, 7}, 1);
  s.add(std::vector<int32_t>{8}, 0);
  s.add(std::vector<int32_t>{9, 10}, 1);
  return s;
}

TEST(Batch, PaddedTimeMajor) {
  EncodedSplit s = three_examples();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s.length(2), 2);
  std::vector<int64_t> order = {1, 0, 2};
  Batch b = make_batch(s, order);
  EXPECT_EQ(b.max_length, 3);
  EXPECT_EQ(b.batch_size, 3);
  EXPECT_EQ(b.lengths, (std::vector<int32_t>{1, 3, 2}));
  EXPECT_EQ(b.labels, (std::vector<int32_t>{0, 1, 1}));
  EXPECT_EQ(b.indices, order);
  // [T][B]: row t holds step t of every example; <pad> = 1 after each length.
  EXPECT_EQ(b.tokens, (std::vector<int32_t>{8, 5, 9,  //
                                            1, 6, 10,  //
                                            1, 7, 1}));
  EXPECT_EQ(b.at(1, 2), 10);
  Batch short_one = make_batch(s, std::vector<int64_t>{1});
  EXPECT_EQ(short_one.max_length, 1);  // T is the longest length in this batch
  expect_user_error([&] { make_batch(s, std::vector<int64_t>{3}); }, {"index 3 out of range"});
}

TEST(Batch, ReproducibleShuffle) {
  BatchOptions o{.batch_size = 4, .shuffle = true, .seed = 42};
  auto p0 = batch_plan(10, o, 0);
  EXPECT_EQ(p0, batch_plan(10, o, 0));
  EXPECT_NE(p0, batch_plan(10, o, 1));  // each epoch its own order
  ASSERT_EQ(p0.size(), 3u);
  EXPECT_EQ(p0[2].size(), 2u);
  std::multiset<int64_t> all;
  for (const auto& batch : p0) all.insert(batch.begin(), batch.end());
  EXPECT_EQ(all, (std::multiset<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  o.drop_last = true;
  EXPECT_EQ(batch_plan(10, o, 0).size(), 2u);
  BatchOptions in_order{.batch_size = 4, .shuffle = false};
  EXPECT_EQ(batch_plan(5, in_order, 3), (std::vector<std::vector<int64_t>>{{0, 1, 2, 3}, {4}}));
  // The permutation is specified (SplitMix64 + Fisher-Yates), not left to the standard library.
  EXPECT_EQ(batch_plan(6, {.batch_size = 6, .seed = 1}, 0), batch_plan(6, {.batch_size = 6, .seed = 1}, 0));

  EncodedSplit s = three_examples();
  auto batches = make_batches(s, {.batch_size = 2, .seed = 3}, 0);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].batch_size + batches[1].batch_size, 3);
}

TEST(Batch, TokenFileRoundTrip) {
  TempDir tmp;
  EncodedSplit s = three_examples();
  write_token_file(tmp / "s.tokens", s);
  EncodedSplit back = read_token_file(tmp / "s.tokens");
  EXPECT_EQ(back.tokens, s.tokens);
  EXPECT_EQ(back.offsets, s.offsets);
  EXPECT_EQ(back.labels, s.labels);
  std::string bytes = serialize_token_file(s);
  EXPECT_EQ(bytes.size(), 24u + 4 * (3 + 3 + 6));
  expect_user_error([&] { parse_token_file(bytes.substr(0, bytes.size() - 4), "s.tokens"); }, {"s.tokens", "truncated"});
  expect_user_error([&] { parse_token_file("RNNCTOK0", "s.tokens"); }, {"s.tokens", "not an rnnc token file"});
  // Found by fuzz_token_file: counts whose byte size overflows int64 (here n = 0x1800000000000000) made
  // the error message itself overflow (UBSan); now it is a plain error.
  expect_user_error([&] { parse_token_file(std::string("RNNCTOK1\0\0\0\0\0\0\0\x18\0\0\0\0\0\0\0\0", 24), "s.tokens"); },
                    {"s.tokens", "truncated or corrupt token file", "need more than 2^63 bytes"});
  EXPECT_EQ(s.head(2).size(), 2u);
  EXPECT_EQ(s.head(2).tokens, (std::vector<int32_t>{5, 6, 7, 8}));
}

TEST(Pipeline, TinyDataSet) {
  TempDir tmp;
  make_tiny_imdb(tmp.path() / "aclImdb", true);
  ImdbData with_test = load_imdb(tmp / "aclImdb", {.max_len = 4});
  EXPECT_EQ(with_test.validation_source, "test");
  EXPECT_EQ(with_test.train.size(), 5u);
  EXPECT_EQ(with_test.validation.size(), 2u);
  for (size_t i = 0; i < with_test.train.size(); ++i) EXPECT_LE(with_test.train.length(i), 4);
  EXPECT_EQ(with_test.vocab.id("brilliant"), Vocab::kUnk);  // the vocabulary sees training reviews only
  EXPECT_NE(with_test.vocab.id("good"), Vocab::kUnk);

  ImdbData carved = load_imdb(tmp / "aclImdb", {.validation_size = 2, .seed = 9, .use_test_split = false});
  EXPECT_EQ(carved.validation_source, "train");
  EXPECT_EQ(carved.train.size(), 3u);
  EXPECT_EQ(carved.validation.size(), 2u);
  ImdbData again = load_imdb(tmp / "aclImdb", {.validation_size = 2, .seed = 9, .use_test_split = false});
  EXPECT_EQ(again.validation.tokens, carved.validation.tokens);
  EXPECT_EQ(again.vocab, carved.vocab);
}

TEST(Pipeline, UntruncatedTrainingReviewsOnRequest) {
  TempDir tmp;
  make_tiny_imdb(tmp.path() / "aclImdb", true);
  for (Truncate keep : {Truncate::Head, Truncate::Tail}) {
    ImdbData plain = load_imdb(tmp / "aclImdb", {.max_len = 3, .truncate = keep});
    ImdbData both = load_imdb(tmp / "aclImdb", {.max_len = 3, .truncate = keep, .keep_untruncated_train = true});
    EXPECT_TRUE(plain.train_untruncated.tokens.empty());
    // The truncated split is what it would have been, and the untruncated one is longer somewhere.
    EXPECT_EQ(both.train.tokens, plain.train.tokens);
    EXPECT_EQ(both.train.offsets, plain.train.offsets);
    EXPECT_EQ(both.train_untruncated.labels, plain.train.labels);
    EXPECT_GT(both.train_untruncated.tokens.size(), both.train.tokens.size());
    EXPECT_EQ(truncate_examples(both.train_untruncated, 3, keep).tokens, plain.train.tokens);
  }
}

TEST(Batch, TruncateExamplesKeepsTheNamedEnd) {
  EncodedSplit s;
  s.add(std::vector<int32_t>{5, 6, 7, 8, 9}, 1);
  s.add(std::vector<int32_t>{3, 4}, 0);
  EncodedSplit head = truncate_examples(s, 3, Truncate::Head), tail = truncate_examples(s, 3, Truncate::Tail);
  EXPECT_EQ(head.tokens, (std::vector<int32_t>{5, 6, 7, 3, 4}));
  EXPECT_EQ(tail.tokens, (std::vector<int32_t>{7, 8, 9, 3, 4}));
  EXPECT_EQ(tail.offsets, (std::vector<int64_t>{0, 3, 5}));
  EXPECT_EQ(tail.labels, s.labels);
  EXPECT_EQ(truncate_examples(s, 0, Truncate::Head).tokens, s.tokens);
}

// ------------------------------------------------------------------------------------------ word vectors

// Texts drawn from two topics that never share a text: ids 3-12 and ids 13-22 (0-2 are the specials).
EncodedSplit two_topic_corpus(int texts, uint64_t seed) {
  SplitMix64 rng(seed);
  EncodedSplit corpus;
  for (int i = 0; i < texts; ++i) {
    const int32_t first = i % 2 ? 13 : 3;
    std::vector<int32_t> ids;
    for (int w = 0; w < 30; ++w) ids.push_back(first + static_cast<int32_t>(rng.below(10)));
    corpus.add(ids, i % 2);
  }
  return corpus;
}

double cosine(const WordVectors& v, int32_t a, int32_t b) {
  double dot = 0, na = 0, nb = 0;
  for (int64_t d = 0; d < v.dim; ++d) {
    const double x = v.values[static_cast<size_t>(a * v.dim + d)], y = v.values[static_cast<size_t>(b * v.dim + d)];
    dot += x * y, na += x * x, nb += y * y;
  }
  return dot / std::sqrt(na * nb);
}

TEST(WordVectors, WordsSharingContextsEndUpCloser) {
  WordVectors v = train_word_vectors(two_topic_corpus(400, 1), 23, {.dim = 16, .epochs = 3, .excluded = {Vocab::kPad}});
  // Every word's nearest neighbour is from its own topic, and a topic's words are closer on average.
  double within = 0, across = 0;
  int n_within = 0, n_across = 0;
  for (int32_t a = 3; a < 23; ++a) {
    int32_t nearest = -1;
    for (int32_t b = 3; b < 23; ++b) {
      if (b == a) continue;
      const bool same = (a < 13) == (b < 13);
      (same ? within : across) += cosine(v, a, b);
      ++(same ? n_within : n_across);
      if (nearest < 0 || cosine(v, a, b) > cosine(v, a, nearest)) nearest = b;
    }
    EXPECT_EQ(a < 13, nearest < 13) << "word " << a << "'s nearest neighbour is " << nearest;
  }
  within /= n_within, across /= n_across;
  EXPECT_GT(within, across + 0.3) << "mean cosine within a topic " << within << ", across " << across;
  // The excluded id's row stays zero; ids that never occur keep a small random start.
  for (int64_t d = 0; d < v.dim; ++d) EXPECT_EQ(v.values[static_cast<size_t>(Vocab::kPad * v.dim + d)], 0.0f);
  EXPECT_NE(v.values[0], 0.0f);
  EXPECT_LT(std::abs(v.values[0]), 0.5f / 16);
  EXPECT_GT(v.trained_tokens, 0);
}

TEST(WordVectors, ASeedGivesTheSameVectors) {
  const EncodedSplit corpus = two_topic_corpus(50, 2);
  WordVectors a = train_word_vectors(corpus, 23, {.dim = 8, .epochs = 1, .seed = 7});
  WordVectors b = train_word_vectors(corpus, 23, {.dim = 8, .epochs = 1, .seed = 7});
  WordVectors c = train_word_vectors(corpus, 23, {.dim = 8, .epochs = 1, .seed = 8});
  EXPECT_EQ(a.values, b.values);
  EXPECT_NE(a.values, c.values);
}

TEST(WordVectors, RescaledToTheAskedSpread) {
  WordVectors v = train_word_vectors(two_topic_corpus(50, 3), 23, {.dim = 8, .epochs = 1, .excluded = {Vocab::kPad}});
  rescale_word_vectors(v, 2.0);
  double sum_sq = 0;
  int n = 0;
  for (int64_t row = 0; row < v.vocab_size; ++row) {
    if (row == Vocab::kPad) continue;  // excluded: stays zero and out of the statistics
    for (int64_t d = 0; d < v.dim; ++d) {
      const double x = v.values[static_cast<size_t>(row * v.dim + d)];
      sum_sq += x * x, ++n;
    }
  }
  EXPECT_NEAR(std::sqrt(sum_sq / n), 2.0, 1e-4);
  for (int64_t d = 0; d < v.dim; ++d) EXPECT_EQ(v.values[static_cast<size_t>(Vocab::kPad * v.dim + d)], 0.0f);
}

TEST(WordVectors, EmbeddingStartGivesASmallCorpusMoreEpochs) {
  const EncodedSplit corpus = two_topic_corpus(100, 4);  // 3,000 tokens, of 20 frequent words: most subsampled
  const WordVectorOptions options{.dim = 8, .epochs = 2};
  const double per_epoch = expected_centre_words_per_epoch(corpus, 23, options);
  EXPECT_GT(per_epoch, 100);
  EXPECT_LT(per_epoch, 1500);
  WordVectors v = embedding_start(corpus, 23, options, 1.0);
  EXPECT_EQ(v.epochs, static_cast<int32_t>(std::ceil(kMinEmbeddingStartPositions / per_epoch)));
  EXPECT_NEAR(static_cast<double>(v.trained_tokens), v.epochs * per_epoch, 0.05 * v.epochs * per_epoch);
  for (int64_t d = 0; d < v.dim; ++d) EXPECT_EQ(v.values[static_cast<size_t>(Vocab::kPad * v.dim + d)], 0.0f);
  EXPECT_EQ(train_word_vectors(corpus, 23, options).epochs, 2);  // only embedding_start adds epochs
  // Without subsampling every token is a centre word.
  EXPECT_EQ(expected_centre_words_per_epoch(corpus, 23, {.subsample = 0}), 3000.0);
}

TEST(WordVectors, BadInputIsAUserError) {
  EncodedSplit corpus;
  corpus.add(std::vector<int32_t>{3, 4, 99}, 0);
  expect_user_error([&] { train_word_vectors(corpus, 23); }, {"token id 99", "outside the vocabulary"});
  expect_user_error([&] { train_word_vectors(EncodedSplit{}, 23); }, {"no tokens"});
  expect_user_error([&] { train_word_vectors(two_topic_corpus(4, 1), 23, {.epochs = 0}); }, {"must be positive"});
}

// ----------------------------------------------------------------------------------------- the real data

std::string real_archive() {
  if (const char* env = std::getenv("RNNC_IMDB_ARCHIVE")) return env;
  return std::string(RNNC_SOURCE_DIR) + "/../shared/data/aclImdb-train.tar.gz";
}

TEST(RealImdb, TrainArchive) {
  std::string path = real_archive();
  if (!fs::exists(path)) GTEST_SKIP() << "no IMDB archive at " << path << " (set RNNC_IMDB_ARCHIVE)";
  auto start = std::chrono::steady_clock::now();
  ImdbDataset ds = read_imdb(path);
  double read_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(ds.train.size(), 25000u);
  int64_t pos = std::count_if(ds.train.begin(), ds.train.end(), [](const Review& r) { return r.label == kLabelPos; });
  EXPECT_EQ(pos, 12500);
  EXPECT_EQ(ds.skipped_empty, 0);
  EXPECT_EQ(ds.repaired_utf8, 0);
  start = std::chrono::steady_clock::now();
  TokenCounts counts = count_tokens(ds.train);
  double tokenize_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Vocab v = Vocab::from_counts(counts);
  EXPECT_EQ(v.size(), 25003);
  EXPECT_EQ(v.token(3), "the");
  std::printf("[ timing   ] read %.2f s, tokenize + count %.2f s (%zu distinct tokens)\n", read_s, tokenize_s, counts.size());
  EXPECT_LT(read_s + tokenize_s, 30.0);
}

}  // namespace
}  // namespace rnnc::data
