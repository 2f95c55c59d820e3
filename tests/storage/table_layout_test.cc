// The keys family's table files as RocksDB reads them back: the layout that
// key-cache misses depend on (storage/rocksdb_key_store.cc, "keys").
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/table_properties.h"
#include "storage/rocksdb_key_store.h"
#include "tests/storage/key_record_testing.h"
#include "tests/support/test_support.h"

namespace keygate::storage {
namespace {

using ::keygate::storage::testing::MakeRecord;
using ::keygate::testing::TempDir;

// The table properties of the `family` column family of the closed store at
// `path`, opened read-only.
rocksdb::TablePropertiesCollection FamilyTables(const std::string& path,
                                                const std::string& family) {
  std::vector<std::string> names;
  EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status opened =
      rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), path, descriptors, &handles, &raw);
  EXPECT_TRUE(opened.ok()) << opened.ToString();
  rocksdb::TablePropertiesCollection tables;
  if (!opened.ok()) return tables;
  std::unique_ptr<rocksdb::DB> db(raw);
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] != family) continue;
    EXPECT_TRUE(db->GetPropertiesOfAllTables(handles[i], &tables).ok());
  }
  for (rocksdb::ColumnFamilyHandle* handle : handles) db->DestroyColumnFamilyHandle(handle);
  return tables;
}

TEST(TableLayoutTest, KeyRecordsAreWrittenInBlocksOfAbout16KiB) {
  TempDir dir;
  RocksDbOptions options;
  options.path = dir.path() + "/db";
  options.block_cache_bytes = size_t{8} << 20;
  {
    absl::StatusOr<std::unique_ptr<KeyStore>> store = OpenRocksDbKeyStore(options);
    ASSERT_TRUE(store.ok()) << store.status();
    std::vector<core::KeyRecord> records;
    for (int i = 0; i < 3000; ++i) {
      records.push_back(MakeRecord("team-a", absl::FromUnixSeconds(1'800'000'000 + i)));
    }
    ASSERT_TRUE((*store)->BulkCreate(records).ok());  // Flushed to table files.
  }

  const rocksdb::TablePropertiesCollection tables = FamilyTables(options.path, "keys");
  ASSERT_FALSE(tables.empty());
  uint64_t entries = 0, blocks = 0, data_bytes = 0;
  for (const auto& [file, properties] : tables) {
    entries += properties->num_entries;
    blocks += properties->num_data_blocks;
    data_bytes += properties->data_size;
  }
  EXPECT_GE(entries, 3000u);
  ASSERT_GT(blocks, 0u);
  // Blocks close once they reach the size; only each file's last is short.
  EXPECT_GT(data_bytes / blocks, uint64_t{12} << 10);
  EXPECT_LE(data_bytes / blocks, uint64_t{20} << 10);
}

}  // namespace
}  // namespace keygate::storage
