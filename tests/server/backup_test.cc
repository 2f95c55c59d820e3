// Online backup under write load, and restore: every key acknowledged before
// the backup started is in it and authorizes.
#include <atomic>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/rocksdb_key_store.h"
#include "tests/server/server_fixture.h"

namespace keygate::testing {
namespace {

class BackupTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    policy_.backup_dir = dir_.path() + "/backups";
    Restart();
  }
};

TEST_F(BackupTest, BackupUnderWriteLoadRestoresEveryAcknowledgedKey) {
  absl::Mutex mu;
  std::vector<std::string> acknowledged;  // Tokens, in acknowledgement order.
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&] {
      const Client op = Operator();
      keygate::v1::CreateKeyRequest request;
      request.set_team_id("acme");
      request.set_name("under load");
      request.add_scopes("read");
      request.set_environment(keygate::v1::ENVIRONMENT_LIVE);
      while (!stop.load()) {
        absl::StatusOr<keygate::v1::CreateKeyResponse> created = op.CreateKey(request);
        ASSERT_TRUE(created.ok()) << created.status();
        absl::MutexLock lock(&mu);
        acknowledged.push_back(created->token());
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(300));
  std::vector<std::string> before;
  {
    absl::MutexLock lock(&mu);
    before = acknowledged;
  }
  absl::StatusOr<keygate::v1::Backup> backup = Operator().CreateBackup({});
  absl::SleepFor(absl::Milliseconds(100));  // Writes go on after the backup.
  stop = true;
  for (std::thread& t : writers) t.join();
  ASSERT_THAT(backup, StatusIs(absl::StatusCode::kOk));
  ASSERT_GT(before.size(), 10u);
  EXPECT_GE(backup->backup_id(), 1u);
  EXPECT_GT(backup->size_bytes(), 0);

  // Restore into a new directory and open it with the same pepper.
  const std::string restored_db = dir_.path() + "/restored/db";
  absl::StatusOr<storage::BackupInfo> restored =
      storage::RestoreRocksDbBackup(policy_.backup_dir, 0, restored_db);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->backup_id, backup->backup_id());
  storage::RocksDbOptions options;
  options.path = restored_db;
  absl::StatusOr<std::unique_ptr<storage::KeyStore>> store = storage::OpenRocksDbKeyStore(options);
  ASSERT_TRUE(store.ok()) << store.status();
  service::KeyService keys(*core::TokenFormat::Create("fs"), *core::TokenHasher::Create(kPepper),
                           store->get(), &clock_);
  KEYGATE_ASSERT_OK(keys.CheckPepper());
  for (const std::string& token : before) {
    absl::StatusOr<service::AuthorizeResult> result =
        keys.Authorize(token, core::Scope{"", core::Level::kRead}, std::nullopt);
    ASSERT_TRUE(result.ok());
    EXPECT_TRUE(result->decision.allowed()) << core::ReasonName(result->decision.reason);
  }
  // Restoring over an existing database is refused.
  EXPECT_THAT(storage::RestoreRocksDbBackup(policy_.backup_dir, 0, restored_db),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(BackupTest, OnlyOperatorsTakeBackups) {
  const Client admin = ClientWith(MustCreate("acme", {"admin"}).token());
  EXPECT_THAT(admin.CreateBackup({}), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(Anonymous().CreateBackup({}), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(storage::RestoreRocksDbBackup(dir_.path() + "/none", 0, dir_.path() + "/x"),
              ::testing::Not(StatusIs(absl::StatusCode::kOk)));
}

}  // namespace
}  // namespace keygate::testing
