// The store's open and close path after damage, without a server: the
// sequence floor file (storage/sequence_floor.h), refusing a store that
// opens below it, the --accept_data_loss override, and restoring a backup
// over a floor. corruption_test.cc covers the same through the real server
// with real damage.
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/key_store.h"
#include "storage/rocksdb_key_store.h"
#include "storage/sequence_floor.h"
#include "tests/support/test_support.h"

namespace keygate::storage {
namespace {

namespace fs = std::filesystem;
using ::keygate::testing::StatusIs;
using ::keygate::testing::TempDir;
using ::testing::HasSubstr;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

// Name and size of every file in `dir`.
std::map<std::string, uintmax_t> Files(const std::string& dir) {
  std::map<std::string, uintmax_t> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    files[entry.path().filename()] = entry.file_size();
  }
  return files;
}

class StoreRecoveryTest : public ::testing::Test {
 protected:
  RocksDbOptions Options(bool accept_data_loss = false) const {
    RocksDbOptions options;
    options.path = path_;
    options.block_cache_bytes = size_t{8} << 20;
    options.accept_data_loss = accept_data_loss;
    return options;
  }

  std::unique_ptr<KeyStore> MustOpen(bool accept_data_loss = false) {
    absl::StatusOr<std::unique_ptr<KeyStore>> store =
        OpenRocksDbKeyStore(Options(accept_data_loss));
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  // Opens the store, makes `writes` synced writes, closes it cleanly.
  void Session(int writes) {
    std::unique_ptr<KeyStore> store = MustOpen();
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < writes; ++i) {
      ASSERT_TRUE(store->PutMetadata(absl::StrCat("m", i), "value").ok());
    }
  }

  uint64_t Floor() const {
    absl::StatusOr<std::optional<uint64_t>> floor = ReadSequenceFloor(path_);
    EXPECT_TRUE(floor.ok()) << floor.status();
    EXPECT_TRUE(floor.ok() && floor->has_value()) << "no floor recorded";
    return floor.ok() && floor->has_value() ? **floor : 0;
  }

  TempDir dir_;
  const std::string path_ = dir_.path() + "/db";
};

TEST_F(StoreRecoveryTest, FloorFileRoundTripsAndDetectsDamage) {
  fs::create_directories(path_);
  absl::StatusOr<std::optional<uint64_t>> missing = ReadSequenceFloor(path_);
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_FALSE(missing->has_value());
  ASSERT_TRUE(WriteSequenceFloor(path_, 123456789012345).ok());
  EXPECT_EQ(Floor(), 123456789012345u);
  ASSERT_TRUE(WriteSequenceFloor(path_, 7).ok());  // Lower is allowed (accepted loss).
  EXPECT_EQ(Floor(), 7u);
  EXPECT_FALSE(fs::exists(SequenceFloorPath(path_) + ".tmp"));

  const std::string good = ReadAll(SequenceFloorPath(path_));
  for (size_t i = 0; i < good.size(); ++i) {  // Every single flipped byte.
    std::string bad = good;
    bad[i] ^= 0x01;
    WriteAll(SequenceFloorPath(path_), bad);
    EXPECT_THAT(ReadSequenceFloor(path_), StatusIs(absl::StatusCode::kDataLoss)) << "byte " << i;
  }
  for (const std::string& bad :
       {std::string(), good.substr(0, good.size() - 1), good + good, std::string(4096, 'x')}) {
    WriteAll(SequenceFloorPath(path_), bad);
    EXPECT_THAT(ReadSequenceFloor(path_), StatusIs(absl::StatusCode::kDataLoss)) << bad;
  }
  ASSERT_TRUE(RemoveSequenceFloor(path_).ok());
  ASSERT_TRUE(RemoveSequenceFloor(path_).ok());  // Idempotent.
  absl::StatusOr<std::optional<uint64_t>> none = ReadSequenceFloor(path_);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(StoreRecoveryTest, OpenRecordsTheFloorAndCloseRaisesIt) {
  ASSERT_NO_FATAL_FAILURE(Session(0));
  const uint64_t first = Floor();
  ASSERT_NO_FATAL_FAILURE(Session(5));
  const uint64_t second = Floor();
  EXPECT_EQ(second, first + 5);  // One sequence number per single-key write.
  {
    std::unique_ptr<KeyStore> store = MustOpen();
    EXPECT_EQ(Floor(), second);  // Written at open too.
  }
  EXPECT_EQ(Floor(), second);
}

TEST_F(StoreRecoveryTest, StoreWithoutFloorIsAcceptedAndGetsOne) {
  ASSERT_NO_FATAL_FAILURE(Session(3));  // As a store from before floors.
  const uint64_t sequence = Floor();
  ASSERT_TRUE(RemoveSequenceFloor(path_).ok());
  std::unique_ptr<KeyStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Floor(), sequence);
}

TEST_F(StoreRecoveryTest, StoreBelowItsFloorIsRefusedUnchangedUntilOverridden) {
  ASSERT_NO_FATAL_FAILURE(Session(3));
  const uint64_t sequence = Floor();
  ASSERT_TRUE(WriteSequenceFloor(path_, sequence + 10).ok());  // As if a flush were lost.
  const std::map<std::string, uintmax_t> before = Files(path_);

  absl::StatusOr<std::unique_ptr<KeyStore>> refused = OpenRocksDbKeyStore(Options());
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(std::string(refused.status().message()),
              AllOf(HasSubstr("went back in time"), HasSubstr(absl::StrCat(sequence)),
                    HasSubstr(absl::StrCat(sequence + 10)), HasSubstr("--restore_backup"),
                    HasSubstr("--accept_data_loss")));
  EXPECT_EQ(Files(path_), before) << "a refused store must be left as it is";

  {
    std::unique_ptr<KeyStore> store = MustOpen(/*accept_data_loss=*/true);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(Floor(), sequence);  // Lowered to what the store has.
    absl::StatusOr<std::string> value = store->GetMetadata("m2");
    EXPECT_TRUE(value.ok()) << value.status();
  }
  std::unique_ptr<KeyStore> store = MustOpen();  // No override needed any more.
  EXPECT_NE(store, nullptr);
}

TEST_F(StoreRecoveryTest, DamagedFloorIsRefusedUntilOverridden) {
  ASSERT_NO_FATAL_FAILURE(Session(2));
  const uint64_t sequence = Floor();
  WriteAll(SequenceFloorPath(path_), "keygate-sequence-floor 1 99 00000000\n");
  EXPECT_THAT(OpenRocksDbKeyStore(Options()), StatusIs(absl::StatusCode::kDataLoss));
  {
    std::unique_ptr<KeyStore> store = MustOpen(/*accept_data_loss=*/true);
    ASSERT_NE(store, nullptr);
  }
  EXPECT_EQ(Floor(), sequence);
  EXPECT_NE(MustOpen(), nullptr);
}

TEST_F(StoreRecoveryTest, WipedStoreWithAFloorIsRefused) {
  ASSERT_NO_FATAL_FAILURE(Session(2));
  for (const fs::directory_entry& entry : fs::directory_iterator(path_)) {
    if (entry.path().filename() != "keygate_sequence_floor") fs::remove(entry.path());
  }
  EXPECT_THAT(OpenRocksDbKeyStore(Options()), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(StoreRecoveryTest, RestoringABackupRemovesTheFloor) {
  const std::string backups = dir_.path() + "/backups";
  {
    std::unique_ptr<KeyStore> store = MustOpen();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->PutMetadata("in_backup", "yes").ok());
    ASSERT_TRUE(store->CreateBackup(backups).ok());
    ASSERT_TRUE(store->PutMetadata("after_backup", "yes").ok());
  }
  const uint64_t newer = Floor();
  // The operator moves the damaged db away but an old floor remains in the
  // directory the backup is restored into.
  const std::string restored = dir_.path() + "/restored";
  fs::create_directories(restored);
  fs::copy_file(SequenceFloorPath(path_), SequenceFloorPath(restored));
  absl::StatusOr<BackupInfo> info = RestoreRocksDbBackup(backups, 0, restored);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_FALSE(fs::exists(SequenceFloorPath(restored)));

  RocksDbOptions options = Options();
  options.path = restored;
  absl::StatusOr<std::unique_ptr<KeyStore>> store = OpenRocksDbKeyStore(options);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE((*store)->GetMetadata("in_backup").ok());
  EXPECT_THAT((*store)->GetMetadata("after_backup"), StatusIs(absl::StatusCode::kNotFound));
  absl::StatusOr<std::optional<uint64_t>> floor = ReadSequenceFloor(restored);
  ASSERT_TRUE(floor.ok() && floor->has_value());
  EXPECT_LT(**floor, newer);
}

}  // namespace
}  // namespace keygate::storage
