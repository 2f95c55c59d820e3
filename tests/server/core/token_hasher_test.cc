#include "server/core/token_hasher.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace keygate::core {
namespace {

using ::keygate::testing::StatusIs;

std::unique_ptr<TokenHasher> MustCreate(absl::string_view pepper) {
  absl::StatusOr<std::unique_ptr<TokenHasher>> hasher = TokenHasher::Create(pepper);
  EXPECT_TRUE(hasher.ok()) << hasher.status();
  return hasher.ok() ? *std::move(hasher) : nullptr;
}

class TokenHasherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hasher_ = MustCreate(std::string(32, 'p'));
    ASSERT_NE(hasher_, nullptr);
  }

  std::unique_ptr<TokenHasher> hasher_;
};

// RFC 4231, test case 6: a 131-byte key (larger than the block size).
TEST(TokenHasherRfc4231Test, TestCase6) {
  std::unique_ptr<TokenHasher> hasher = MustCreate(std::string(131, '\xaa'));
  ASSERT_NE(hasher, nullptr);
  const std::string digest = hasher->Hash("Test Using Larger Than Block-Size Key - Hash Key First");
  EXPECT_EQ(digest.size(), TokenHasher::kHashBytes);
  EXPECT_EQ(absl::BytesToHexString(digest),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

// RFC 4231, test case 7: large key and large data.
TEST(TokenHasherRfc4231Test, TestCase7) {
  std::unique_ptr<TokenHasher> hasher = MustCreate(std::string(131, '\xaa'));
  ASSERT_NE(hasher, nullptr);
  const std::string digest = hasher->Hash(
      "This is a test using a larger than block-size key and a larger than block-size data. "
      "The key needs to be hashed before being used by the HMAC algorithm.");
  EXPECT_EQ(absl::BytesToHexString(digest),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST_F(TokenHasherTest, HashIsDeterministicAnd32Bytes) {
  const std::string a = hasher_->Hash("fs_live_abc");
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a, hasher_->Hash("fs_live_abc"));
  // Reusing the hasher does not carry state from one call to the next.
  hasher_->Hash("something else");
  EXPECT_EQ(a, hasher_->Hash("fs_live_abc"));
}

TEST_F(TokenHasherTest, DifferentInputsGiveDifferentHashes) {
  EXPECT_NE(hasher_->Hash("fs_live_abc"), hasher_->Hash("fs_live_abd"));
  EXPECT_NE(hasher_->Hash(""), hasher_->Hash("a"));
}

TEST_F(TokenHasherTest, HashIsNotThePlainToken) {
  const std::string token = "fs_live_0123456789abcdefghijklmnopqrstuvwxyz";
  const std::string hash = hasher_->Hash(token);
  EXPECT_EQ(hash.find("fs_live_"), std::string::npos);
  EXPECT_NE(hash, token.substr(0, 32));
}

TEST(TokenHasherPepperTest, DifferentPeppersGiveDifferentHashes) {
  std::unique_ptr<TokenHasher> a = MustCreate(std::string(32, 'a'));
  std::unique_ptr<TokenHasher> b = MustCreate(std::string(32, 'b'));
  std::unique_ptr<TokenHasher> a_longer = MustCreate(std::string(33, 'a'));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(a_longer, nullptr);
  EXPECT_NE(a->Hash("fs_live_token"), b->Hash("fs_live_token"));
  EXPECT_NE(a->Hash("fs_live_token"), a_longer->Hash("fs_live_token"));
  // The same pepper gives the same hash in another instance.
  EXPECT_EQ(a->Hash("fs_live_token"), MustCreate(std::string(32, 'a'))->Hash("fs_live_token"));
}

TEST(TokenHasherPepperTest, RejectsShortPepper) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{16}, size_t{31}}) {
    EXPECT_THAT(TokenHasher::Create(std::string(n, 'x')),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << n << " bytes";
  }
  EXPECT_TRUE(TokenHasher::Create(std::string(TokenHasher::kMinPepperBytes, 'x')).ok());
}

TEST_F(TokenHasherTest, ConcurrentHashesAgree) {
  constexpr int kThreads = 8;
  constexpr int kIterations = 2000;
  const std::vector<std::string> inputs = {"fs_live_a", "fs_test_b", "", std::string(200, 'z')};
  std::vector<std::string> want;
  for (const std::string& input : inputs) want.push_back(hasher_->Hash(input));

  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIterations; ++i) {
        const size_t k = static_cast<size_t>(i + t) % inputs.size();
        if (hasher_->Hash(inputs[k]) != want[k]) ++mismatches[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

}  // namespace
}  // namespace keygate::core
