#include "storage/cache_snapshot.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/storage/key_record_testing.h"
#include "tests/support/test_support.h"

namespace keygate::storage {
namespace {

using ::keygate::storage::testing::ExpectSameRecord;
using ::keygate::storage::testing::MakeRecord;
using ::keygate::testing::StatusIs;
using ::keygate::testing::TempDir;
using ::testing::IsEmpty;

const absl::Time kBase = absl::FromUnixSeconds(1'800'000'000);
const SnapshotStamp kStamp{"db-identity", 42};

std::vector<core::SharedKeyRecord> TwoRecords() {
  return {std::make_shared<const core::KeyRecord>(MakeRecord("team-a", kBase, "a")),
          std::make_shared<const core::KeyRecord>(MakeRecord("team-b", kBase, "b"))};
}

TEST(CacheSnapshotTest, RoundTripsAndIsUsedOnce) {
  TempDir dir;
  const std::vector<core::SharedKeyRecord> saved = TwoRecords();
  ASSERT_TRUE(WriteCacheSnapshot(dir.path(), kStamp, saved).ok());
  EXPECT_EQ(std::filesystem::status(CacheSnapshotPath(dir.path())).permissions() &
                std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  absl::StatusOr<std::vector<core::KeyRecord>> loaded = TakeCacheSnapshot(dir.path(), kStamp);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), 2u);
  ExpectSameRecord((*loaded)[0], *saved[0]);
  ExpectSameRecord((*loaded)[1], *saved[1]);

  loaded = TakeCacheSnapshot(dir.path(), kStamp);
  ASSERT_TRUE(loaded.ok());
  EXPECT_THAT(*loaded, IsEmpty());
}

TEST(CacheSnapshotTest, AnotherDatabaseStateLoadsNothing) {
  TempDir dir;
  ASSERT_TRUE(WriteCacheSnapshot(dir.path(), kStamp, TwoRecords()).ok());
  absl::StatusOr<std::vector<core::KeyRecord>> loaded =
      TakeCacheSnapshot(dir.path(), {kStamp.db_identity, kStamp.sequence + 1});
  ASSERT_TRUE(loaded.ok());
  EXPECT_THAT(*loaded, IsEmpty());

  ASSERT_TRUE(WriteCacheSnapshot(dir.path(), kStamp, TwoRecords()).ok());
  loaded = TakeCacheSnapshot(dir.path(), {"another-db", kStamp.sequence});
  ASSERT_TRUE(loaded.ok());
  EXPECT_THAT(*loaded, IsEmpty());
}

// Any damaged byte fails the digest: nothing from a damaged file is used.
TEST(CacheSnapshotTest, ADamagedSnapshotIsDataLossAndRemoved) {
  TempDir dir;
  const std::string path = CacheSnapshotPath(dir.path());
  ASSERT_TRUE(WriteCacheSnapshot(dir.path(), kStamp, TwoRecords()).ok());
  std::string content;
  {
    std::ifstream in(path, std::ios::binary);
    content.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  for (size_t at : {size_t{3}, content.size() / 2, content.size() - 1}) {
    std::string damaged = content;
    damaged[at] ^= 0x01;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << damaged;
    EXPECT_THAT(TakeCacheSnapshot(dir.path(), kStamp).status(),
                StatusIs(absl::StatusCode::kDataLoss))
        << "byte " << at;
    EXPECT_FALSE(std::filesystem::exists(path));
  }
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content.substr(0, 10);
  EXPECT_THAT(TakeCacheSnapshot(dir.path(), kStamp).status(),
              StatusIs(absl::StatusCode::kDataLoss));
}

}  // namespace
}  // namespace keygate::storage
