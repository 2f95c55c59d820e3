#include "server/core/secret_file.h"

#include <sys/stat.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace keygate::core {
namespace {

using ::keygate::testing::StatusIs;
using ::keygate::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

class SecretFileTest : public ::testing::Test {
 protected:
  std::string PathOf(const std::string& name) const { return dir_.path() + "/" + name; }

  TempDir dir_;
};

TEST_F(SecretFileTest, WriteCreatesFileWithMode0600AndReadReturnsContent) {
  const std::string path = PathOf("bootstrap.key");
  const std::string content = "fs_live_secretsecretsecret\n";
  KEYGATE_ASSERT_OK(WriteNewSecretFile(path, content));

  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  absl::StatusOr<std::string> read = ReadSecretFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, content);
}

TEST_F(SecretFileTest, ModeIs0600EvenWithPermissiveUmask) {
  const mode_t old_umask = ::umask(0);
  const std::string path = PathOf("pepper");
  const absl::Status status = WriteNewSecretFile(path, "x");
  ::umask(old_umask);
  KEYGATE_ASSERT_OK(status);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(SecretFileTest, BinaryContentRoundTrips) {
  const std::string path = PathOf("binary");
  const std::string content("\0\x01\xff pepper \n\0", 12);
  KEYGATE_ASSERT_OK(WriteNewSecretFile(path, content));
  absl::StatusOr<std::string> read = ReadSecretFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, content);
}

TEST_F(SecretFileTest, RefusesToOverwrite) {
  const std::string path = PathOf("bootstrap.key");
  KEYGATE_ASSERT_OK(WriteNewSecretFile(path, "first"));
  const absl::Status status = WriteNewSecretFile(path, "second-secret");
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("second-secret")));
  absl::StatusOr<std::string> read = ReadSecretFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, "first");
}

TEST_F(SecretFileTest, ReadMissingFileIsNotFound) {
  const std::string path = PathOf("missing");
  const absl::StatusOr<std::string> read = ReadSecretFile(path);
  EXPECT_THAT(read, StatusIs(absl::StatusCode::kNotFound));
  // The message names the path.
  EXPECT_THAT(std::string(read.status().message()), HasSubstr(path));
}

TEST_F(SecretFileTest, WriteIntoMissingDirectoryIsNotFound) {
  EXPECT_THAT(WriteNewSecretFile(PathOf("no/such/dir/key"), "x"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(SecretFileTest, ReadingADirectoryFails) {
  const absl::StatusOr<std::string> read = ReadSecretFile(dir_.path());
  EXPECT_FALSE(read.ok());
  EXPECT_THAT(std::string(read.status().message()), HasSubstr(dir_.path()));
}

}  // namespace
}  // namespace keygate::core
