#include "storage/rocksdb_key_store.h"

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "server/core/status_macros.h"
#include "storage/record_codec.h"

namespace keygate::storage {
namespace {

constexpr char kKeysFamily[] = "keys";
constexpr char kKeyIdsFamily[] = "key_ids";
constexpr char kTeamKeysFamily[] = "team_keys";
constexpr char kMetaFamily[] = "meta";

// Converts a RocksDB status at the storage boundary.
absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  const std::string message = absl::StrCat(what, ": ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(message);
  if (s.IsNoSpace()) return absl::ResourceExhaustedError(message);
  if (s.IsCorruption()) return absl::DataLossError(message);
  if (s.IsIOError() || s.IsBusy() || s.IsTimedOut() || s.IsTryAgain() ||
      s.IsIncomplete() || s.IsShutdownInProgress() || s.IsAborted()) {
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

rocksdb::Slice ToSlice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

rocksdb::ColumnFamilyOptions PointLookupFamilyOptions(
    const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
  table.whole_key_filtering = true;
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.data_block_index_type = rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;
  table.format_version = 5;
  rocksdb::ColumnFamilyOptions cf;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.memtable_whole_key_filtering = true;
  cf.memtable_prefix_bloom_size_ratio = 0.05;
  cf.level_compaction_dynamic_level_bytes = true;
  return cf;
}

class RocksDbKeyStore final : public KeyStore {
 public:
  RocksDbKeyStore(std::unique_ptr<rocksdb::DB> db,
                  std::vector<rocksdb::ColumnFamilyHandle*> handles)
      : handles_(std::move(handles)), db_(std::move(db)) {
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      if (h->GetName() == kKeysFamily) keys_ = h;
      if (h->GetName() == kKeyIdsFamily) key_ids_ = h;
      if (h->GetName() == kTeamKeysFamily) team_keys_ = h;
      if (h->GetName() == kMetaFamily) meta_ = h;
    }
    sync_write_.sync = true;
  }

  ~RocksDbKeyStore() override {
    for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }

  // storage::KeyStore
  absl::StatusOr<core::KeyRecord> FindByTokenHash(absl::string_view token_hash) const override {
    rocksdb::PinnableSlice value;
    const rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), keys_, ToSlice(token_hash), &value);
    if (s.IsNotFound()) return absl::NotFoundError("no key has this token");
    KEYGATE_RETURN_IF_ERROR(FromRocks(s, "key lookup"));
    return DecodeKeyRecord(absl::string_view(value.data(), value.size()));
  }

  absl::StatusOr<core::KeyRecord> Get(absl::string_view key_id) const override {
    return GetAt(rocksdb::ReadOptions(), key_id);
  }

  absl::Status Create(const core::KeyRecord& record) override {
    std::string ignored;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key_ids_, ToSlice(record.key_id), &ignored);
    if (s.ok()) return absl::AlreadyExistsError("a key with this id exists");
    if (!s.IsNotFound()) return FromRocks(s, "key id check");
    s = db_->Get(rocksdb::ReadOptions(), keys_, ToSlice(record.token_hash), &ignored);
    if (s.ok()) return absl::AlreadyExistsError("a key with this token exists");
    if (!s.IsNotFound()) return FromRocks(s, "token check");

    rocksdb::WriteBatch batch;
    KEYGATE_RETURN_IF_ERROR(AddToBatch(record, &batch));
    return FromRocks(db_->Write(sync_write_, &batch), "create key");
  }

  absl::Status BulkCreate(const std::vector<core::KeyRecord>& records) override {
    constexpr size_t kBatchRecords = 10000;
    rocksdb::WriteOptions unsynced;
    unsynced.disableWAL = true;  // Made durable by the flush below.
    for (size_t begin = 0; begin < records.size(); begin += kBatchRecords) {
      rocksdb::WriteBatch batch;
      const size_t end = std::min(records.size(), begin + kBatchRecords);
      for (size_t i = begin; i < end; ++i) KEYGATE_RETURN_IF_ERROR(AddToBatch(records[i], &batch));
      KEYGATE_RETURN_IF_ERROR(FromRocks(db_->Write(unsynced, &batch), "bulk create"));
    }
    rocksdb::FlushOptions flush;
    flush.wait = true;
    return FromRocks(db_->Flush(flush, handles_), "bulk create flush");
  }

  absl::StatusOr<core::KeyRecord> Update(
      absl::string_view key_id,
      const std::function<absl::Status(core::KeyRecord&)>& mutate) override {
    absl::MutexLock lock(&update_locks_[absl::Hash<absl::string_view>()(key_id) %
                                        update_locks_.size()]);
    KEYGATE_ASSIGN_OR_RETURN(core::KeyRecord record, Get(key_id));
    const core::KeyRecord before = record;
    KEYGATE_RETURN_IF_ERROR(mutate(record));
    if (record.key_id != before.key_id || record.team_id != before.team_id ||
        record.token_hash != before.token_hash || record.create_time != before.create_time) {
      return absl::InternalError("Update must not change a key's identity");
    }
    rocksdb::WriteBatch batch;
    KEYGATE_RETURN_IF_ERROR(FromRocks(
        batch.Put(keys_, ToSlice(record.token_hash), EncodeKeyRecord(record)), "batch"));
    KEYGATE_RETURN_IF_ERROR(FromRocks(db_->Write(sync_write_, &batch), "update key"));
    return record;
  }

  absl::StatusOr<KeyPage> List(const ListQuery& query) const override {
    if (query.page_size == 0) return absl::InvalidArgumentError("page size must be positive");
    const std::string prefix = TeamIndexPrefix(query.team_id);
    std::string start_after;
    if (!query.page_token.empty() &&
        (!absl::WebSafeBase64Unescape(query.page_token, &start_after) ||
         !absl::StartsWith(start_after, prefix))) {
      return absl::InvalidArgumentError("page_token is not valid for this team");
    }

    rocksdb::ManagedSnapshot snapshot(db_.get());
    rocksdb::ReadOptions read;
    read.snapshot = snapshot.snapshot();
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, team_keys_));
    if (start_after.empty()) {
      it->Seek(prefix);
    } else {
      it->Seek(start_after);
      if (it->Valid() && it->key() == start_after) it->Next();
    }

    KeyPage page;
    std::string last_key;
    for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
      rocksdb::PinnableSlice value;
      KEYGATE_RETURN_IF_ERROR(FromRocks(db_->Get(read, keys_, it->value(), &value),
                                        "listed key lookup"));
      KEYGATE_ASSIGN_OR_RETURN(core::KeyRecord record,
                               DecodeKeyRecord(absl::string_view(value.data(), value.size())));
      if (query.filter && !query.filter(record)) continue;
      if (page.keys.size() == query.page_size) {
        page.next_page_token = absl::WebSafeBase64Escape(last_key);
        break;
      }
      page.keys.push_back(std::move(record));
      last_key = it->key().ToString();
    }
    KEYGATE_RETURN_IF_ERROR(FromRocks(it->status(), "list keys"));
    return page;
  }

  absl::StatusOr<std::string> GetMetadata(absl::string_view name) const override {
    std::string value;
    KEYGATE_RETURN_IF_ERROR(
        FromRocks(db_->Get(rocksdb::ReadOptions(), meta_, ToSlice(name), &value),
                  absl::StrCat("metadata ", name)));
    return value;
  }

  absl::Status PutMetadata(absl::string_view name, absl::string_view value) override {
    return FromRocks(db_->Put(sync_write_, meta_, ToSlice(name), ToSlice(value)),
                     absl::StrCat("metadata ", name));
  }

 private:
  // Adds a new record and its indexes to `batch`.
  absl::Status AddToBatch(const core::KeyRecord& record, rocksdb::WriteBatch* batch) const {
    KEYGATE_RETURN_IF_ERROR(FromRocks(
        batch->Put(keys_, ToSlice(record.token_hash), EncodeKeyRecord(record)), "batch"));
    KEYGATE_RETURN_IF_ERROR(FromRocks(
        batch->Put(key_ids_, ToSlice(record.key_id), ToSlice(record.token_hash)), "batch"));
    if (!record.team_id.empty()) {
      KEYGATE_RETURN_IF_ERROR(FromRocks(
          batch->Put(team_keys_, TeamIndexKey(record), ToSlice(record.token_hash)), "batch"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<core::KeyRecord> GetAt(const rocksdb::ReadOptions& read,
                                        absl::string_view key_id) const {
    std::string token_hash;
    const rocksdb::Status s = db_->Get(read, key_ids_, ToSlice(key_id), &token_hash);
    if (s.IsNotFound()) return absl::NotFoundError("no key has this id");
    KEYGATE_RETURN_IF_ERROR(FromRocks(s, "key id lookup"));
    rocksdb::PinnableSlice value;
    KEYGATE_RETURN_IF_ERROR(
        FromRocks(db_->Get(read, keys_, ToSlice(token_hash), &value), "key record lookup"));
    return DecodeKeyRecord(absl::string_view(value.data(), value.size()));
  }

  // Declared before db_ so that it outlives nothing it should not: handles
  // are destroyed explicitly in the destructor before db_ closes.
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* keys_ = nullptr;
  rocksdb::ColumnFamilyHandle* key_ids_ = nullptr;
  rocksdb::ColumnFamilyHandle* team_keys_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::WriteOptions sync_write_;
  // Serialise read-modify-write of one key; striped by key id.
  std::array<absl::Mutex, 64> update_locks_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<KeyStore>> OpenRocksDbKeyStore(const RocksDbOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.IncreaseParallelism(2);
  db_options.keep_log_file_num = 5;
  db_options.max_total_wal_size = uint64_t{256} << 20;

  const std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  const rocksdb::ColumnFamilyOptions cf = PointLookupFamilyOptions(cache);
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, cf}, {kKeysFamily, cf},
      {kKeyIdsFamily, cf},                     {kTeamKeysFamily, cf},
      {kMetaFamily, cf}};

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s =
      rocksdb::DB::Open(db_options, options.path, families, &handles, &raw);
  if (!s.ok()) {
    absl::Status status = FromRocks(s, absl::StrCat("cannot open store at ", options.path));
    if (absl::IsInternal(status)) status = absl::UnavailableError(status.message());
    return status;
  }
  return std::unique_ptr<KeyStore>(
      new RocksDbKeyStore(std::unique_ptr<rocksdb::DB>(raw), std::move(handles)));
}

}  // namespace keygate::storage
