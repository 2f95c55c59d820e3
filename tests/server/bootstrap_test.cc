// Start-up rules of KeyService on a real store: bootstrap operator key and
// pepper check.
#include <sys/stat.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/core/secret_file.h"
#include "server/service/key_service.h"
#include "storage/rocksdb_key_store.h"
#include "tests/support/test_support.h"

namespace keygate::testing {
namespace {

class BootstrapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::RocksDbOptions options;
    options.path = dir_.path() + "/db";
    store_ = *storage::OpenRocksDbKeyStore(options);
  }

  std::unique_ptr<service::KeyService> Service(const std::string& pepper) {
    return std::make_unique<service::KeyService>(*core::TokenFormat::Create("fs"),
                                                 *core::TokenHasher::Create(pepper), store_.get(),
                                                 &clock_);
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<storage::KeyStore> store_;
  const std::string pepper_ = std::string(40, 'p');
};

TEST_F(BootstrapTest, GeneratesFileOnceWithMode0600AndRegistersOnce) {
  const std::string path = dir_.path() + "/operator.key";
  auto keys = Service(pepper_);
  auto first = keys->EnsureOperatorKey(path);
  ASSERT_THAT(first, StatusIs(absl::StatusCode::kOk));
  EXPECT_TRUE(first->generated_file);
  EXPECT_TRUE(first->registered);
  EXPECT_TRUE(first->key.is_operator);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);

  auto second = keys->EnsureOperatorKey(path);
  ASSERT_THAT(second, StatusIs(absl::StatusCode::kOk));
  EXPECT_FALSE(second->generated_file);
  EXPECT_FALSE(second->registered);
  EXPECT_EQ(second->key.key_id, first->key.key_id);

  // The token in the file authenticates as an operator.
  auto token = core::ReadSecretFile(path);
  auto caller = keys->Authenticate(*token);
  ASSERT_THAT(caller, StatusIs(absl::StatusCode::kOk));
  EXPECT_TRUE(caller->is_operator);
}

TEST_F(BootstrapTest, RegistersAProvidedToken) {
  const std::string path = dir_.path() + "/provided.key";
  const std::string token = core::TokenFormat::Create("fs")->Generate(core::Environment::kLive);
  KEYGATE_ASSERT_OK(core::WriteNewSecretFile(path, token + "\n"));
  auto keys = Service(pepper_);
  auto result = keys->EnsureOperatorKey(path);
  ASSERT_THAT(result, StatusIs(absl::StatusCode::kOk));
  EXPECT_FALSE(result->generated_file);
  EXPECT_TRUE(result->registered);
  EXPECT_THAT(keys->Authenticate("Bearer " + token), StatusIs(absl::StatusCode::kOk));
}

TEST_F(BootstrapTest, RejectsAFileWithoutAValidToken) {
  const std::string path = dir_.path() + "/bad.key";
  KEYGATE_ASSERT_OK(core::WriteNewSecretFile(path, "hunter2\n"));
  auto result = Service(pepper_)->EnsureOperatorKey(path);
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(result.status().message()), ::testing::Not(::testing::HasSubstr("hunter2")));
}

TEST_F(BootstrapTest, RefusesAnotherPepperForTheSameStore) {
  KEYGATE_EXPECT_OK(Service(pepper_)->CheckPepper());
  KEYGATE_EXPECT_OK(Service(pepper_)->CheckPepper());
  EXPECT_THAT(Service(std::string(40, 'q'))->CheckPepper(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace keygate::testing
