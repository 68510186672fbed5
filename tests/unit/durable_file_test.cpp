// Whole-or-absent files (ir/durable_file.h): the CRC-32 is zlib's, an atomic write replaces the file or
// keeps the old one, and a file that cannot be read is refused with the reason.
#include "ir/durable_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <random>
#include <string>

#include "ir/error.h"
#include "support/user_error.h"

namespace rnnc {
namespace {

namespace fs = std::filesystem;

using testing_support::user_error_of;

class DurableFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rnnc-durable-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST(Crc32, MatchesZlibsCheckValues) {
  EXPECT_EQ(crc32("", 0), 0u);
  EXPECT_EQ(crc32("123456789", 9), 0xCBF43926u);  // the catalogued check value of CRC-32/ISO-HDLC
  EXPECT_EQ(crc32("a", 1), 0xE8B7BE43u);
}

// The definition, a bit at a time: the fast version (eight bytes a step) must agree at every length and
// alignment, the tail bytes included.
uint32_t crc32_bit_by_bit(const char* data, size_t size) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) {
    c ^= static_cast<uint8_t>(data[i]);
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

TEST(Crc32, AgreesWithTheDefinitionAtEveryLengthAndOffset) {
  std::mt19937 gen(std::random_device{}());
  std::string bytes(4099, '\0');
  for (char& c : bytes) c = static_cast<char>(gen());
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t size : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{15}, size_t{16}, size_t{17},
                        size_t{1000}, bytes.size() - offset}) {
      EXPECT_EQ(crc32(bytes.data() + offset, size), crc32_bit_by_bit(bytes.data() + offset, size))
          << size << " bytes at offset " << offset;
    }
  }
}

TEST_F(DurableFile, ReadsBackWhatWasWrittenByteForByte) {
  std::mt19937 gen(std::random_device{}());
  for (size_t size : {size_t{0}, size_t{1}, size_t{65535}, size_t{65536}, size_t{200001}}) {
    std::string bytes(size, '\0');
    for (char& c : bytes) c = static_cast<char>(gen());
    const std::string path = (dir_ / "f.bin").string();
    write_file_atomically(path, bytes);
    EXPECT_EQ(read_file_or_say_why(path, "test file"), bytes) << size << " bytes";
  }
}

TEST_F(DurableFile, ReadsAFileThatReportsNoSize) {
  // /proc files have st_size 0: the reader must not trust it.
  EXPECT_NE(read_file_or_say_why("/proc/self/status", "").find("Pid:"), std::string::npos);
}

TEST_F(DurableFile, ARefusedReadNamesTheFileWhatItIsForAndWhy) {
  const std::string missing = (dir_ / "missing.ckpt").string();
  EXPECT_EQ(user_error_of([&] { read_file_or_say_why(missing, "checkpoint"); }),
            "cannot read checkpoint '" + missing + "': no such file or directory");
  EXPECT_EQ(user_error_of([&] { read_file_or_say_why(dir_.string(), "checkpoint"); }),
            "cannot read checkpoint '" + dir_.string() + "': it is a directory");
  const std::string under_a_file = (dir_ / "f.bin" / "x").string();
  write_file_atomically((dir_ / "f.bin").string(), "x");
  EXPECT_EQ(user_error_of([&] { read_file_or_say_why(under_a_file, ""); }),
            "cannot read '" + under_a_file + "': not a directory");
}

TEST_F(DurableFile, AFailedWriteKeepsTheOldFile) {
  const std::string path = (dir_ / "keep.txt").string();
  write_file_atomically(path, "old");
  // A directory where the temporary file would go makes the write fail before the rename.
  fs::create_directories(dir_ / (".keep.txt.tmp." + std::to_string(::getpid())) / "busy");
  EXPECT_NE(user_error_of([&] { write_file_atomically(path, "new"); }).find("cannot write"), std::string::npos);
  EXPECT_EQ(read_file_or_say_why(path, ""), "old");
}

TEST_F(DurableFile, ADeviceIsWrittenInPlaceNotReplaced) {
  // A rename over /dev/null would leave a plain file there (as root, where the tests may run).
  write_file_atomically("/dev/null", "discarded");
  check_writable("/dev/null", "the output");
  struct stat st {};
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST_F(DurableFile, ALinkStaysALinkAndItsTargetIsReplaced) {
  const fs::path target = dir_ / "target.ckpt", link = dir_ / "link.ckpt";
  write_file_atomically(target.string(), "old");
  fs::create_symlink(target.filename(), link);
  check_writable(link.string(), "the checkpoint");
  write_file_atomically(link.string(), "new");
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(read_file_or_say_why(target.string(), ""), "new");
}

TEST_F(DurableFile, CheckWritableRefusesADirectoryAndAMissingFolder) {
  EXPECT_NE(user_error_of([&] { check_writable(dir_.string(), "the checkpoint"); }).find("it is a directory"),
            std::string::npos);
  EXPECT_NE(user_error_of([&] { check_writable((dir_ / "no" / "x").string(), "the checkpoint"); }).find(
                "cannot write the checkpoint"),
            std::string::npos);
  check_writable((dir_ / "fine").string(), "the checkpoint");
  EXPECT_FALSE(fs::exists(dir_ / "fine"));  // checking leaves nothing behind
}

}  // namespace
}  // namespace rnnc
