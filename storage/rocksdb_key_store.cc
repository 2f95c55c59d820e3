#include "storage/rocksdb_key_store.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <utility>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/listener.h"
#include "rocksdb/options.h"
#include "rocksdb/statistics.h"
#include "rocksdb/table.h"
#include "rocksdb/convenience.h"
#include "rocksdb/utilities/backup_engine.h"
#include "rocksdb/write_batch.h"
#include "server/core/log.h"
#include "server/core/status_macros.h"
#include "storage/block_cache_warmer.h"
#include "storage/cache_snapshot.h"
#include "storage/group_committer.h"
#include "storage/record_cache.h"
#include "storage/record_codec.h"
#include "storage/retention.h"
#include "storage/rocks_status.h"
#include "storage/sequence_floor.h"
#include "storage/usage_journal.h"

namespace keygate::storage {
namespace {

constexpr char kKeysFamily[] = "keys";
constexpr char kKeyIdsFamily[] = "key_ids";
constexpr char kTeamKeysFamily[] = "team_keys";
constexpr char kAuditFamily[] = "audit";
constexpr char kAuditByKeyFamily[] = "audit_by_key";
constexpr char kUsageFamily[] = "usage";
constexpr char kMetaFamily[] = "meta";
// The usage journal lives in the default family, which nothing else uses:
// a store with it still opens in a build from before it (an unknown family
// would refuse the open), which ignores the journal (folded at every clean
// close).
const std::string& kUsageJournalFamily = rocksdb::kDefaultColumnFamilyName;
// In the meta family: the FoldedThrough of the usage journal.
constexpr char kUsageFoldedName[] = "usage_journal_folded";

// The most key-cache records a snapshot holds, the most used ones: the open
// loads them before it serves, 0.75-3.3 µs each on the benchmark VM (the
// more with 10M keys), so this bounds that to well under a second however
// large the cache.
constexpr size_t kMaxSnapshotRecords = 200'000;

// Converts a failed DB::Open; for damage, names the remedies.
absl::Status OpenError(const rocksdb::Status& s, const std::string& path) {
  absl::Status status = FromRocks(s, absl::StrCat("cannot open store at ", path));
  if (absl::IsInternal(status)) status = absl::UnavailableError(status.message());
  if (absl::IsDataLoss(status)) {
    status = absl::DataLossError(absl::StrCat(
        status.message(),
        "; the store is damaged: restore the latest backup (--restore_backup), or, if the "
        "damaged file is a write-ahead log (*.log, named by the rocksdb warnings before this), "
        "start once with --accept_data_loss to recover the writes before the damaged record "
        "and drop every later one"));
  }
  return status;
}

// Raises (or, after accepted data loss, lowers) the store's sequence floor.
// A failure leaves the previous floor, which is never higher: logged only.
void RecordSequenceFloor(const std::string& path, uint64_t sequence) {
  const absl::Status written = WriteSequenceFloor(path, sequence);
  if (!written.ok()) {
    core::Log(core::LogLevel::kWarning, "sequence_floor_not_written",
              {{"error", written.ToString()}});
  }
}

rocksdb::Slice ToSlice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// The first 8 bytes of `s` (zero-padded) as a big-endian number: if
// OrderHead(a) < OrderHead(b), then a < b (bytes compare unsigned).
uint64_t OrderHead(absl::string_view s) {
  uint64_t head = 0;
  for (size_t i = 0; i < 8; ++i) {
    head = (head << 8) | (i < s.size() ? static_cast<unsigned char>(s[i]) : 0);
  }
  return head;
}
absl::string_view View(const rocksdb::Slice& s) { return absl::string_view(s.data(), s.size()); }

// Decodes a page token into the index key to continue after; it must lie
// under `prefix`.
absl::Status DecodePageToken(absl::string_view token, absl::string_view prefix,
                             std::string* start_after) {
  if (!token.empty() && (!absl::WebSafeBase64Unescape(token, start_after) ||
                         !absl::StartsWith(*start_after, prefix))) {
    return absl::InvalidArgumentError("page_token is not valid for this query");
  }
  return absl::OkStatus();
}

// Positions `it` at the first entry after `start_after`, or at `prefix`.
void SeekPage(rocksdb::Iterator* it, absl::string_view prefix, absl::string_view start_after) {
  if (start_after.empty()) {
    it->Seek(ToSlice(prefix));
    return;
  }
  it->Seek(ToSlice(start_after));
  if (it->Valid() && View(it->key()) == start_after) it->Next();
}

// Sends RocksDB's warnings and errors to Keygate's JSON log instead of a LOG
// file in the data dir: with Debian's RocksDB (assertions on), a second
// write to its own LOG file after a failed one on a full disk aborts the
// process.
class RocksDbLogger final : public rocksdb::Logger {
 public:
  RocksDbLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char message[1024];
    std::vsnprintf(message, sizeof(message), format, ap);
    core::Log(level >= rocksdb::InfoLogLevel::ERROR_LEVEL ? core::LogLevel::kError
                                                          : core::LogLevel::kWarning,
              "rocksdb", {{"message", message}});
  }
};

// Remembers the background error that stopped writes, until recovery.
class ErrorListener final : public rocksdb::EventListener {
 public:
  void OnBackgroundError(rocksdb::BackgroundErrorReason reason, rocksdb::Status* error) override {
    absl::MutexLock lock(&mu_);
    error_ = *error;
  }
  void OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) override {
    absl::MutexLock lock(&mu_);
    error_ = info.new_bg_error;
  }
  rocksdb::Status error() const {
    absl::MutexLock lock(&mu_);
    return error_;
  }

 private:
  mutable absl::Mutex mu_;
  rocksdb::Status error_ ABSL_GUARDED_BY(mu_);
};

class RocksDbKeyStore final : public KeyStore {
 public:
  RocksDbKeyStore(std::unique_ptr<rocksdb::DB> db,
                  std::vector<rocksdb::ColumnFamilyHandle*> handles,
                  std::shared_ptr<ErrorListener> errors,
                  std::shared_ptr<rocksdb::Statistics> statistics,
                  std::shared_ptr<rocksdb::Cache> block_cache, const RocksDbOptions& options)
      : handles_(std::move(handles)),
        errors_(std::move(errors)),
        statistics_(std::move(statistics)),
        db_(std::move(db)),
        path_(options.path),
        retention_(options.retention),
        accept_data_loss_(options.accept_data_loss),
        records_(options.record_cache_bytes) {
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      const std::string& name = h->GetName();
      if (name == kKeysFamily) keys_ = h;
      if (name == kKeyIdsFamily) key_ids_ = h;
      if (name == kTeamKeysFamily) team_keys_ = h;
      if (name == kAuditFamily) audit_ = h;
      if (name == kAuditByKeyFamily) audit_by_key_ = h;
      if (name == kUsageFamily) usage_ = h;
      if (name == kMetaFamily) meta_ = h;
      if (name == kUsageJournalFamily) usage_journal_ = h;
    }
    sync_write_.sync = true;
    committer_ = std::make_unique<GroupCommitter>(db_.get(), handles_);
    if (options.warm_block_cache) {
      warmer_ = std::make_unique<BlockCacheWarmer>(db_.get(), keys_, std::move(block_cache));
    }
  }

  ~RocksDbKeyStore() override {
    committer_.reset();  // Commits what is queued before the flush below.
    warmer_.reset();     // Stops its read before the database closes.
    // Folded now, so the journal is empty and the next open reads nothing
    // back; on failure the journal still holds every count.
    FoldAllUsage().IgnoreError();  // Logged inside.
    // Flushing now makes the next start quick (no WAL to replay). Failure
    // (e.g. a full disk) is harmless: the WAL still holds everything. After
    // a successful flush every write up to `sequence` is in synced SST files
    // and the MANIFEST: the floor the next open must reach.
    const rocksdb::SequenceNumber sequence = db_->GetLatestSequenceNumber();
    rocksdb::FlushOptions flush;
    flush.wait = true;
    if (db_->Flush(flush, handles_).ok()) {
      RecordSequenceFloor(path_, sequence);
      SaveCacheSnapshot(sequence);
    }
    for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close().PermitUncheckedError();
  }

  // Fills the key cache from the snapshot saved when the store last closed,
  // if the database is still exactly as it was then (at `sequence`).
  void LoadCacheSnapshot(uint64_t sequence) {
    const absl::Time start = absl::Now();
    absl::StatusOr<std::vector<core::KeyRecord>> records =
        TakeCacheSnapshot(path_, {Identity(), sequence});
    if (!records.ok()) {
      core::Log(core::LogLevel::kWarning, "key_cache_snapshot_ignored",
                {{"error", records.status().ToString()}});
      return;
    }
    if (records->empty()) return;
    const size_t count = records->size();
    // Nothing else runs yet, so no change can race with these fills.
    for (core::KeyRecord& record : *records) {
      records_.Fill(records_.BeginFill(record.token_hash), std::move(record));
    }
    core::Log(core::LogLevel::kInfo, "key_cache_loaded",
              {{"records", count}, {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
  }

  // Reads back the journal entries that a crash left unfolded (the open
  // calls it before the store is used).
  absl::Status ReplayUsageJournal() {
    absl::WriterMutexLock lock(&usage_mu_);
    std::string value;
    const rocksdb::Status read = db_->Get(rocksdb::ReadOptions(), meta_, kUsageFoldedName, &value);
    if (!read.IsNotFound()) {
      KEYGATE_RETURN_IF_ERROR(FromRocks(read, "read usage journal state"));
      if (!DecodeFoldedThrough(value, &folded_)) {
        return absl::DataLossError("the usage journal's fold state does not decode");
      }
    }
    uint64_t last = *std::max_element(folded_.begin(), folded_.end());
    size_t entries = 0, deltas_read = 0;
    std::vector<core::KeyUsage> deltas;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), usage_journal_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      uint64_t sequence = 0;
      if (!DecodeUsageJournalKey(View(it->key()), &sequence) ||
          !DecodeUsageJournalEntry(View(it->value()), &deltas)) {
        if (!accept_data_loss_) {
          return absl::DataLossError(
              "a usage journal entry does not decode (--accept_data_loss skips it and loses its "
              "usage counts)");
        }
        core::Log(core::LogLevel::kError, "usage_journal_entry_skipped",
                  {{"reason", "--accept_data_loss"}});
        continue;
      }
      ++entries;
      last = std::max(last, sequence);
      for (core::KeyUsage& delta : deltas) {
        if (sequence > folded_[UnfoldedUsage::BucketOf(delta.key_id)]) {
          unfolded_.Add(std::move(delta));
          ++deltas_read;
        }
      }
    }
    KEYGATE_RETURN_IF_ERROR(FromRocks(it->status(), "read usage journal"));
    journal_next_ = last + 1;
    journal_replayed_ = true;
    DropFoldedJournalFiles();
    if (deltas_read > 0) {
      core::Log(core::LogLevel::kInfo, "usage_journal_replayed",
                {{"entries", static_cast<int64_t>(entries)},
                 {"deltas", static_cast<int64_t>(deltas_read)}});
    }
    return absl::OkStatus();
  }

  // storage::KeyStore
  absl::StatusOr<core::SharedKeyRecord> FindByTokenHash(
      absl::string_view token_hash) const override {
    if (core::SharedKeyRecord cached = records_.Lookup(token_hash)) return cached;
    const uint64_t ticket = records_.BeginFill(token_hash);
    rocksdb::PinnableSlice value;
    const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), keys_, ToSlice(token_hash), &value);
    if (s.IsNotFound()) return absl::NotFoundError("no key has this token");
    KEYGATE_RETURN_IF_ERROR(ReadStatus(s, "key lookup"));
    // Decoded in its shared allocation: the record is not moved again.
    auto record = std::make_shared<core::KeyRecord>();
    KEYGATE_RETURN_IF_ERROR(Decoded(DecodeKeyRecord(View(value), record.get())));
    return records_.Offer(ticket, std::move(record));
  }

  absl::StatusOr<core::KeyRecord> Get(absl::string_view key_id) const override {
    return GetAt(rocksdb::ReadOptions(), key_id);
  }

  absl::Status Create(const core::KeyRecord& record, const core::AuditEvent* audit) override {
    absl::Notification written;
    absl::Status status;
    CreateAsync(record, audit, [&](absl::Status s) {
      status = std::move(s);
      written.Notify();
    });
    written.WaitForNotification();
    return status;
  }

  void CreateAsync(const core::KeyRecord& record, const core::AuditEvent* audit,
                   CreateDone done) override {
    rocksdb::WriteBatch batch;
    absl::Status prepared = CheckNew(record);
    if (prepared.ok()) prepared = PutRecord(record, &batch);
    if (prepared.ok() && audit != nullptr) prepared = PutAudit(*audit, &batch);
    if (!prepared.ok()) return done(std::move(prepared));
    // Creates are the writes that come many at a time: they commit in groups.
    committer_->Submit(std::move(batch), std::move(done));
  }

  absl::Status BulkCreate(const std::vector<core::KeyRecord>& records) override {
    constexpr size_t kBatchRecords = 10000;
    rocksdb::WriteOptions unsynced;
    unsynced.disableWAL = true;  // Made durable by the flush below.
    for (size_t begin = 0; begin < records.size(); begin += kBatchRecords) {
      rocksdb::WriteBatch batch;
      const size_t end = std::min(records.size(), begin + kBatchRecords);
      for (size_t i = begin; i < end; ++i) KEYGATE_RETURN_IF_ERROR(PutRecord(records[i], &batch));
      KEYGATE_RETURN_IF_ERROR(FromRocks(db_->Write(unsynced, &batch), "bulk create"));
    }
    rocksdb::FlushOptions flush;
    flush.wait = true;
    return FromRocks(db_->Flush(flush, handles_), "bulk create flush");
  }

  absl::StatusOr<core::KeyRecord> Update(
      absl::string_view key_id, const std::function<absl::Status(core::KeyRecord&)>& mutate,
      const UpdateExtras& extras) override {
    absl::MutexLock lock(
        &update_locks_[absl::Hash<absl::string_view>()(key_id) % update_locks_.size()]);
    KEYGATE_ASSIGN_OR_RETURN(core::KeyRecord record, Get(key_id));
    const core::KeyRecord before = record;
    KEYGATE_RETURN_IF_ERROR(mutate(record));
    if (record.key_id != before.key_id || record.team_id != before.team_id ||
        record.token_hash != before.token_hash || record.create_time != before.create_time) {
      return absl::InternalError("Update must not change a key's identity");
    }
    rocksdb::WriteBatch batch;
    KEYGATE_RETURN_IF_ERROR(PutRecord(record, &batch));
    if (extras.create != nullptr) {
      KEYGATE_RETURN_IF_ERROR(CheckNew(*extras.create));
      KEYGATE_RETURN_IF_ERROR(PutRecord(*extras.create, &batch));
    }
    if (extras.audit != nullptr) KEYGATE_RETURN_IF_ERROR(PutAudit(*extras.audit, &batch));
    {
      RecordCache::Change change(&records_, record.token_hash);
      KEYGATE_RETURN_IF_ERROR(FromRocks(db_->Write(sync_write_, &batch), "update key"));
    }
    return record;
  }

  absl::StatusOr<KeyPage> List(const ListQuery& query) const override {
    if (query.page_size == 0) return absl::InvalidArgumentError("page size must be positive");
    const std::string prefix = IndexPrefix(query.team_id);
    std::string start_after;
    KEYGATE_RETURN_IF_ERROR(DecodePageToken(query.page_token, prefix, &start_after));

    rocksdb::ManagedSnapshot snapshot(db_.get());
    rocksdb::ReadOptions read;
    read.snapshot = snapshot.snapshot();
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, team_keys_));
    KeyPage page;
    std::string last_key;
    for (SeekPage(it.get(), prefix, start_after); it->Valid() && it->key().starts_with(prefix);
         it->Next()) {
      absl::string_view hash;
      absl::Time purge_after;
      if (!DecodeIndexValue(View(it->value()), &hash, &purge_after)) {
        return absl::DataLossError("team index entry does not decode");
      }
      rocksdb::PinnableSlice value;
      const rocksdb::Status s = db_->Get(read, keys_, ToSlice(hash), &value);
      if (s.IsNotFound()) continue;  // Purged by retention; its index follows.
      KEYGATE_RETURN_IF_ERROR(FromRocks(s, "listed key lookup"));
      KEYGATE_ASSIGN_OR_RETURN(core::KeyRecord record, DecodeKeyRecord(View(value)));
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

  absl::Status AppendAudit(const core::AuditEvent& event) override {
    rocksdb::WriteBatch batch;
    KEYGATE_RETURN_IF_ERROR(PutAudit(event, &batch));
    return FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "append audit event");
  }

  absl::StatusOr<AuditPage> ListAudit(const AuditQuery& query) const override {
    if (query.page_size == 0) return absl::InvalidArgumentError("page size must be positive");
    const bool by_key = !query.key_id.empty();
    const std::string prefix = IndexPrefix(by_key ? query.key_id : query.team_id);
    std::string start_after;
    KEYGATE_RETURN_IF_ERROR(DecodePageToken(query.page_token, prefix, &start_after));
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), by_key ? audit_by_key_ : audit_));
    AuditPage page;
    std::string last_key;
    for (SeekPage(it.get(), prefix, start_after); it->Valid() && it->key().starts_with(prefix);
         it->Next()) {
      KEYGATE_ASSIGN_OR_RETURN(core::AuditEvent event, DecodeAuditEvent(View(it->value())));
      if (by_key && event.team_id != query.team_id) continue;
      if (page.events.size() == query.page_size) {
        page.next_page_token = absl::WebSafeBase64Escape(last_key);
        break;
      }
      page.events.push_back(std::move(event));
      last_key = it->key().ToString();
    }
    KEYGATE_RETURN_IF_ERROR(FromRocks(it->status(), "list audit events"));
    return page;
  }

  // The flush's deltas become one journal entry, and one bucket of the
  // deltas in memory is folded into the rows, in one batch (usage_journal.h).
  absl::Status RecordUsage(std::vector<core::KeyUsage> deltas) override {
    absl::WriterMutexLock lock(&usage_mu_);
    KEYGATE_RETURN_IF_ERROR(CheckJournalReplayed());
    const uint64_t sequence = journal_next_;
    const int bucket = static_cast<int>(sequence % UnfoldedUsage::kBuckets);
    std::vector<core::KeyUsage> folding = unfolded_.Take(bucket);
    FoldedThrough folded = folded_;
    folded[bucket] = sequence - 1;
    const uint64_t all_folded = *std::min_element(folded.begin(), folded.end());
    rocksdb::WriteBatch batch(/*reserved_bytes=*/folding.size() * 64 + deltas.size() * 48);
    absl::Status status = FromRocks(
        batch.Put(usage_journal_, UsageJournalKey(sequence), EncodeUsageJournalEntry(deltas)),
        "batch");
    if (status.ok()) status = AppendUsageRows(folding, &batch);
    if (status.ok()) {
      status = FromRocks(batch.Put(meta_, kUsageFoldedName, EncodeFoldedThrough(folded)), "batch");
    }
    if (status.ok()) status = FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "record usage");
    if (!status.ok()) {
      // The folded bucket's entries are still in the journal: keep them.
      unfolded_.AddAll(std::move(folding));
      return status;
    }
    folded_ = folded;
    journal_next_ = sequence + 1;
    unfolded_.AddAll(std::move(deltas));
    if (all_folded >= journal_dropped_through_ + UnfoldedUsage::kBuckets) DropFoldedJournalFiles();
    return absl::OkStatus();
  }

  absl::StatusOr<core::KeyUsage> GetUsage(absl::string_view key_id, absl::CivilDay since,
                                          size_t max_clients) const override {
    core::KeyUsage usage;
    usage.key_id = std::string(key_id);
    const std::string prefix = IndexPrefix(key_id);
    // Held across the rows and the unfolded counts: a fold moves counts
    // from one to the other.
    absl::ReaderMutexLock lock(&usage_mu_);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), usage_));
    for (it->Seek(ToSlice(prefix)); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      const absl::string_view key = View(it->key());
      const absl::string_view value = View(it->value());
      if (key.size() <= prefix.size()) continue;
      const char kind = key[prefix.size()];
      const absl::string_view rest = key.substr(prefix.size() + 1);
      if (kind == kUsageDay && rest.size() == 8) {
        core::DailyUsage day;
        day.day = DayFromNumber(static_cast<int64_t>(ReadBigEndian64(rest)));
        if (day.day < since) continue;
        absl::Time day_last;
        if (!DecodeCounters(value, &day.allowed, &day.denied, &day_last)) {
          return absl::DataLossError("usage counters do not decode");
        }
        usage.last_used = std::max(usage.last_used, day_last);
        usage.days.push_back(day);
      } else if (kind == kUsageLastUsed) {
        absl::Time row_last;
        if (!DecodeMicros(value, &row_last)) return absl::DataLossError("bad last use");
        usage.last_used = std::max(usage.last_used, row_last);
      } else if (kind == kUsageClient) {
        core::ClientSeen client{std::string(rest)};
        if (!DecodeMicros(value, &client.last_seen)) return absl::DataLossError("bad last seen");
        usage.clients.push_back(std::move(client));
      }
    }
    KEYGATE_RETURN_IF_ERROR(FromRocks(it->status(), "read usage"));
    unfolded_.AddTo(key_id, since, &usage);
    std::sort(usage.clients.begin(), usage.clients.end(),
              [](const core::ClientSeen& a, const core::ClientSeen& b) {
                return a.last_seen > b.last_seen;
              });
    if (usage.clients.size() > max_clients) usage.clients.resize(max_clients);
    return usage;
  }

  // The later of the last-use row and the newest day's counters.
  absl::StatusOr<absl::Time> GetLastUsed(absl::string_view key_id) const override {
    absl::ReaderMutexLock lock(&usage_mu_);  // As in GetUsage.
    absl::Time last = unfolded_.LastUsed(key_id);
    std::string value;
    const rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), usage_, UsageLastUsedKey(key_id), &value);
    if (!s.IsNotFound()) {
      KEYGATE_RETURN_IF_ERROR(FromRocks(s, "read last use"));
      absl::Time row_last;
      if (!DecodeMicros(value, &row_last)) return absl::DataLossError("bad last use");
      last = std::max(last, row_last);
    }
    const std::string days = IndexPrefix(key_id) + kUsageDay;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), usage_));
    it->SeekForPrev(ToSlice(days + std::string(8, '\xff')));
    if (it->Valid() && it->key().starts_with(days)) {
      uint64_t allowed = 0, denied = 0;
      absl::Time day_last;
      if (!DecodeCounters(View(it->value()), &allowed, &denied, &day_last)) {
        return absl::DataLossError("usage counters do not decode");
      }
      last = std::max(last, day_last);
    }
    KEYGATE_RETURN_IF_ERROR(FromRocks(it->status(), "read last use"));
    return last;
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

  absl::Status CompactAll() override {
    KEYGATE_RETURN_IF_ERROR(FoldAllUsage());  // So that retention sees every count.
    rocksdb::CompactRangeOptions options;
    options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      KEYGATE_RETURN_IF_ERROR(
          FromRocks(db_->CompactRange(options, h, nullptr, nullptr), "compact"));
    }
    return absl::OkStatus();
  }

  absl::Status ForEachKey(const std::function<void(const core::KeyRecord&)>& fn) const override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), keys_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      KEYGATE_ASSIGN_OR_RETURN(core::KeyRecord record, DecodeKeyRecord(View(it->value())));
      fn(record);
    }
    return FromRocks(it->status(), "scan keys");
  }

  absl::Status Health() override {
    if (corruption_seen_.load()) {
      return absl::DataLossError("corruption was detected while reading; run --verify_store");
    }
    const rocksdb::Status error = errors_->error();
    if (error.ok()) return absl::OkStatus();
    // Ask RocksDB to recover (it also retries by itself); harmless if the
    // cause persists.
    const rocksdb::Status resumed = db_->Resume();
    if (resumed.ok() && errors_->error().ok()) return absl::OkStatus();
    if (error.IsCorruption()) return FromRocks(error, "store is corrupt");
    return absl::UnavailableError(
        absl::StrCat("store stopped accepting writes: ", error.ToString()));
  }

  StoreStats Stats() const override {
    StoreStats stats;
    if (statistics_ != nullptr) {
      stats.block_cache_hits = statistics_->getTickerCount(rocksdb::BLOCK_CACHE_HIT);
      stats.block_cache_misses = statistics_->getTickerCount(rocksdb::BLOCK_CACHE_MISS);
    }
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      uint64_t value = 0;
      if (db_->GetIntProperty(h, rocksdb::DB::Properties::kTotalSstFilesSize, &value)) {
        stats.sst_bytes += value;
      }
      if (db_->GetIntProperty(h, rocksdb::DB::Properties::kEstimatePendingCompactionBytes,
                              &value)) {
        stats.pending_compaction_bytes += value;
      }
      if (db_->GetIntProperty(h, rocksdb::DB::Properties::kCurSizeAllMemTables, &value)) {
        stats.memtable_bytes += value;
      }
    }
    db_->GetIntProperty(keys_, rocksdb::DB::Properties::kEstimateNumKeys, &stats.estimated_keys);
    // One cache shared by every family.
    db_->GetIntProperty(keys_, rocksdb::DB::Properties::kBlockCacheUsage, &stats.block_cache_bytes);
    stats.key_cache_bytes = records_.usage_bytes();
    const RecordCache::LookupCounts lookups = records_.lookups();
    stats.key_cache_hits = lookups.hits;
    stats.key_cache_misses = lookups.misses;
    {
      absl::ReaderMutexLock lock(&usage_mu_);
      stats.unfolded_usage_keys = unfolded_.size();
      stats.usage_journal_entries = journal_next_ - 1 - AllFolded();
    }
    stats.warming_block_cache = warmer_ != nullptr && warmer_->warming();
    return stats;
  }

  absl::Status VerifyChecksums() const override {
    return FromRocks(db_->VerifyChecksum(), "verify checksums");
  }

  absl::StatusOr<BackupInfo> CreateBackup(const std::string& backup_dir) override {
    absl::MutexLock lock(&backup_mu_);
    rocksdb::BackupEngine* raw = nullptr;
    KEYGATE_RETURN_IF_ERROR(
        FromRocks(rocksdb::BackupEngine::Open(rocksdb::BackupEngineOptions(backup_dir),
                                              rocksdb::Env::Default(), &raw),
                  absl::StrCat("open backup dir ", backup_dir)));
    std::unique_ptr<rocksdb::BackupEngine> engine(raw);
    rocksdb::CreateBackupOptions options;
    options.flush_before_backup = true;  // Acknowledged writes are in the files.
    rocksdb::BackupID id = 0;
    KEYGATE_RETURN_IF_ERROR(
        FromRocks(engine->CreateNewBackup(options, db_.get(), &id), "create backup"));
    rocksdb::BackupInfo info;
    KEYGATE_RETURN_IF_ERROR(FromRocks(engine->GetBackupInfo(id, &info), "backup info"));
    return BackupInfo{info.backup_id, absl::FromUnixSeconds(info.timestamp), info.size,
                      info.number_files};
  }

 private:

  // Folds every bucket and empties the journal (at close, and before a
  // compaction that applies retention).
  absl::Status FoldAllUsage() {
    absl::WriterMutexLock lock(&usage_mu_);
    KEYGATE_RETURN_IF_ERROR(CheckJournalReplayed());
    if (unfolded_.size() == 0 && AllFolded() == journal_next_ - 1) return absl::OkStatus();
    std::vector<core::KeyUsage> folding = unfolded_.TakeAll();
    FoldedThrough folded;
    folded.fill(journal_next_ - 1);
    rocksdb::WriteBatch batch;
    absl::Status status = AppendUsageRows(folding, &batch);
    if (status.ok()) {
      status = FromRocks(batch.Put(meta_, kUsageFoldedName, EncodeFoldedThrough(folded)), "batch");
    }
    if (status.ok()) status = FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "fold usage");
    if (!status.ok()) {
      unfolded_.AddAll(std::move(folding));
      core::Log(core::LogLevel::kError, "usage_fold_failed", {{"error", status.ToString()}});
      return status;
    }
    folded_ = folded;
    DropFoldedJournalFiles();
    return absl::OkStatus();
  }

  uint64_t AllFolded() const ABSL_SHARED_LOCKS_REQUIRED(usage_mu_) {
    return *std::min_element(folded_.begin(), folded_.end());
  }

  // Journal entries are never deleted one by one: the family keeps its
  // files as flushed (no compaction), and whole files of entries that
  // every bucket has folded are dropped here, about once a minute. Entries
  // left in a file are harmless: a read-back skips what is folded.
  void DropFoldedJournalFiles() ABSL_EXCLUSIVE_LOCKS_REQUIRED(usage_mu_) {
    const uint64_t through = AllFolded();
    const std::string begin = UsageJournalKey(0), end = UsageJournalKey(through);
    const rocksdb::Slice begin_slice(begin), end_slice(end);
    const rocksdb::Status s = rocksdb::DeleteFilesInRange(db_.get(), usage_journal_, &begin_slice,
                                                          &end_slice, /*include_end=*/true);
    if (!s.ok()) {
      core::Log(core::LogLevel::kWarning, "usage_journal_cleanup_failed",
                {{"error", s.ToString()}});
    }
    journal_dropped_through_ = through;
  }

  // Until the journal has been read back, folding would delete entries
  // whose counts are not in memory.
  absl::Status CheckJournalReplayed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(usage_mu_) {
    if (journal_replayed_) return absl::OkStatus();
    return absl::FailedPreconditionError("the usage journal has not been read back");
  }

  // Adds `usages` to the usage rows: one merge operand per key and day (the
  // counters carry the last use of that day; both expire after the usage
  // retention, so no separate last-use row is written, though rows written
  // before this are still read), one per client address.
  absl::Status AppendUsageRows(const std::vector<core::KeyUsage>& usages,
                               rocksdb::WriteBatch* batch) const {
    // In key order, the batch reaches the memtable's skip list in order, which
    // it inserts next to the previous entry instead of searching from the top.
    // Sorted by the key id's first bytes as a number first, so that most
    // comparisons are of two integers rather than of two strings in the heap.
    struct InOrder {
      uint64_t head;
      const core::KeyUsage* usage;
    };
    std::vector<InOrder> in_order;
    in_order.reserve(usages.size());
    for (const core::KeyUsage& usage : usages) in_order.push_back({OrderHead(usage.key_id), &usage});
    std::sort(in_order.begin(), in_order.end(), [](const InOrder& a, const InOrder& b) {
      return a.head != b.head ? a.head < b.head : a.usage->key_id < b.usage->key_id;
    });
    std::string key, value;  // Reused by every row: no allocation per key.
    for (const InOrder& next : in_order) {
      const core::KeyUsage& usage = *next.usage;
      const bool used = usage.last_used != absl::InfinitePast();
      const int64_t last_day = used ? UtcDayNumber(usage.last_used) : 0;
      bool last_written = false;
      for (const core::DailyUsage& day : usage.days) {
        const int64_t day_number = DayNumber(day.day);
        const bool carries_last = used && day_number == last_day;
        last_written = last_written || carries_last;
        SetUsageDayKey(usage.key_id, day_number, &key);
        SetCounters(day.allowed, day.denied, carries_last ? usage.last_used : absl::InfinitePast(),
                    &value);
        KEYGATE_RETURN_IF_ERROR(FromRocks(batch->Merge(usage_, key, value), "batch"));
      }
      if (used && !last_written) {  // A last use without counts of its day.
        SetUsageDayKey(usage.key_id, last_day, &key);
        SetCounters(0, 0, usage.last_used, &value);
        KEYGATE_RETURN_IF_ERROR(FromRocks(batch->Merge(usage_, key, value), "batch"));
      }
      for (const core::ClientSeen& client : usage.clients) {
        KEYGATE_RETURN_IF_ERROR(
            FromRocks(batch->Merge(usage_, UsageClientKey(usage.key_id, client.address),
                                   EncodeMicros(client.last_seen)),
                      "batch"));
      }
    }
    return absl::OkStatus();
  }

  std::string Identity() const {
    std::string identity;
    if (!db_->GetDbIdentity(identity).ok()) identity.clear();
    return identity;
  }

  // Saves the key cache for the next open (see cache_snapshot.h); called
  // once everything up to `sequence` is flushed.
  void SaveCacheSnapshot(uint64_t sequence) const {
    const std::vector<core::SharedKeyRecord> records = records_.Records(kMaxSnapshotRecords);
    if (records.empty()) return;
    const absl::Status saved = WriteCacheSnapshot(path_, {Identity(), sequence}, records);
    if (!saved.ok()) {
      core::Log(core::LogLevel::kWarning, "key_cache_snapshot_not_written",
                {{"error", saved.ToString()}});
    }
  }

  // Converts a read status, remembering corruption for Health().
  absl::Status ReadStatus(const rocksdb::Status& s, absl::string_view what) const {
    if (s.IsCorruption()) corruption_seen_.store(true);
    return FromRocks(s, what);
  }

  // Passes a decoded record through, remembering a decoding failure (a
  // corrupt value) for Health().
  absl::StatusOr<core::KeyRecord> Decoded(absl::StatusOr<core::KeyRecord> record) const {
    Decoded(record.status()).IgnoreError();  // Only remembered here.
    return record;
  }
  absl::Status Decoded(absl::Status status) const {
    if (absl::IsDataLoss(status)) corruption_seen_.store(true);
    return status;
  }

  // AlreadyExists if the id or the token hash of `record` is taken.
  absl::Status CheckNew(const core::KeyRecord& record) const {
    std::string ignored;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), key_ids_, ToSlice(record.key_id), &ignored);
    if (s.ok()) return absl::AlreadyExistsError("a key with this id exists");
    if (!s.IsNotFound()) return FromRocks(s, "key id check");
    s = db_->Get(rocksdb::ReadOptions(), keys_, ToSlice(record.token_hash), &ignored);
    if (s.ok()) return absl::AlreadyExistsError("a key with this token exists");
    if (!s.IsNotFound()) return FromRocks(s, "token check");
    return absl::OkStatus();
  }

  // Puts `record` and its indexes (with their purge time) into `batch`.
  absl::Status PutRecord(const core::KeyRecord& record, rocksdb::WriteBatch* batch) const {
    const std::string index_value = IndexValue(record.token_hash, PurgeAfter(record, retention_));
    KEYGATE_RETURN_IF_ERROR(
        FromRocks(batch->Put(keys_, ToSlice(record.token_hash), EncodeKeyRecord(record)), "batch"));
    KEYGATE_RETURN_IF_ERROR(
        FromRocks(batch->Put(key_ids_, ToSlice(record.key_id), index_value), "batch"));
    if (!record.team_id.empty()) {
      KEYGATE_RETURN_IF_ERROR(
          FromRocks(batch->Put(team_keys_, TeamIndexKey(record), index_value), "batch"));
    }
    return absl::OkStatus();
  }

  absl::Status PutAudit(const core::AuditEvent& event, rocksdb::WriteBatch* batch) const {
    const std::string value = EncodeAuditEvent(event);
    KEYGATE_RETURN_IF_ERROR(
        FromRocks(batch->Put(audit_, AuditKey(event.team_id, event), value), "batch"));
    if (!event.target_key_id.empty()) {
      KEYGATE_RETURN_IF_ERROR(FromRocks(
          batch->Put(audit_by_key_, AuditKey(event.target_key_id, event), value), "batch"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<core::KeyRecord> GetAt(const rocksdb::ReadOptions& read,
                                        absl::string_view key_id) const {
    std::string index_value;
    rocksdb::Status s = db_->Get(read, key_ids_, ToSlice(key_id), &index_value);
    if (s.IsNotFound()) return absl::NotFoundError("no key has this id");
    KEYGATE_RETURN_IF_ERROR(ReadStatus(s, "key id lookup"));
    absl::string_view hash;
    absl::Time purge_after;
    if (!DecodeIndexValue(index_value, &hash, &purge_after)) {
      return absl::DataLossError("key id index entry does not decode");
    }
    rocksdb::PinnableSlice value;
    s = db_->Get(read, keys_, ToSlice(hash), &value);
    if (s.IsNotFound()) return absl::NotFoundError("no key has this id");  // Purged.
    KEYGATE_RETURN_IF_ERROR(ReadStatus(s, "key record lookup"));
    return Decoded(DecodeKeyRecord(View(value)));
  }

  // Handles are destroyed explicitly (destructor) before db_ closes.
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::shared_ptr<ErrorListener> errors_;
  std::shared_ptr<rocksdb::Statistics> statistics_;
  std::unique_ptr<rocksdb::DB> db_;
  const std::string path_;
  const absl::Duration retention_;
  rocksdb::ColumnFamilyHandle* keys_ = nullptr;
  rocksdb::ColumnFamilyHandle* key_ids_ = nullptr;
  rocksdb::ColumnFamilyHandle* team_keys_ = nullptr;
  rocksdb::ColumnFamilyHandle* audit_ = nullptr;
  rocksdb::ColumnFamilyHandle* audit_by_key_ = nullptr;
  rocksdb::ColumnFamilyHandle* usage_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* usage_journal_ = nullptr;
  rocksdb::WriteOptions sync_write_;
  // Usage between its flush and its fold (usage_journal.h). Writers of
  // usage hold it exclusively, readers shared.
  mutable absl::Mutex usage_mu_;
  UnfoldedUsage unfolded_ ABSL_GUARDED_BY(usage_mu_);
  FoldedThrough folded_ ABSL_GUARDED_BY(usage_mu_){};
  uint64_t journal_next_ ABSL_GUARDED_BY(usage_mu_) = 1;    // The next entry's sequence.
  // Journal files up to this sequence were last dropped.
  uint64_t journal_dropped_through_ ABSL_GUARDED_BY(usage_mu_) = 0;
  bool journal_replayed_ ABSL_GUARDED_BY(usage_mu_) = false;
  const bool accept_data_loss_;
  mutable std::atomic<bool> corruption_seen_{false};
  absl::Mutex backup_mu_;
  // Serialise read-modify-write of one key; striped by key id.
  std::array<absl::Mutex, 64> update_locks_;
  // Decoded records for FindByTokenHash; Update's write is a Change of them.
  mutable RecordCache records_;
  std::unique_ptr<BlockCacheWarmer> warmer_;
  std::unique_ptr<GroupCommitter> committer_;  // Commits Create's writes.
};

// How a family's table files are laid out for its reads.
struct TableLayout {
  // Entries per restart point of a data block (RocksDB's default is 16).
  int block_restart_interval = 16;
  // Whether the family is read by point lookups. Such a family has a
  // whole-key bloom filter in its memtable and in each table file, and a
  // hash index in each data block. A family read by scans needs none of
  // them: they would cost hashing for every key written, flushed and
  // compacted, and the filters would hold memory with their open tables.
  bool point_lookups = true;
  // Data block size before compression (RocksDB's default is 4 KiB).
  size_t block_size = 4096;
  // Entries per bucket of a point-lookup family's data-block hash index
  // (RocksDB's default is 0.75). A lookup whose bucket another entry shares
  // falls back to a binary search of the block.
  double hash_util_ratio = 0.75;
};

// `retention` (may be null) drops what compactions find past retention.
rocksdb::ColumnFamilyOptions FamilyOptions(
    const std::shared_ptr<rocksdb::Cache>& cache,
    std::shared_ptr<rocksdb::CompactionFilterFactory> retention, TableLayout layout = {}) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.block_restart_interval = layout.block_restart_interval;
  table.block_size = layout.block_size;
  if (layout.point_lookups) {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
    table.whole_key_filtering = true;
    table.data_block_index_type = rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;
    table.data_block_hash_table_util_ratio = layout.hash_util_ratio;
  }
  // Index and filter blocks stay in memory with their open table (all are
  // kept open), so a point lookup costs one data-block cache lookup.
  table.cache_index_and_filter_blocks = false;
  table.format_version = 5;
  rocksdb::ColumnFamilyOptions cf;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  if (layout.point_lookups) {
    cf.memtable_whole_key_filtering = true;
    cf.memtable_prefix_bloom_size_ratio = 0.05;
  }
  cf.level_compaction_dynamic_level_bytes = true;
  // Recompact files at least daily so that retention applies without writes.
  if (retention != nullptr) cf.periodic_compaction_seconds = 24 * 60 * 60;
  cf.compaction_filter_factory = std::move(retention);
  return cf;
}

// DataLoss for a store that opens at `sequence`, below its floor.
absl::Status BelowFloorError(const std::string& path, uint64_t sequence, uint64_t floor) {
  return absl::DataLossError(absl::StrCat(
      "store at ", path, " went back in time: it opens at sequence number ", sequence, ", but ",
      floor, " was already durable (", SequenceFloorPath(path),
      "), so writes it acknowledged are missing, e.g. after damage to its MANIFEST; serving it "
      "could allow revoked keys again. The store was left as it is. Restore the latest backup "
      "(--restore_backup into an empty data dir), or start once with --accept_data_loss to "
      "serve this older state, then repeat the lost changes (revocations first)"));
}

// The sequence number the store at `path` opens at, from a read-only open,
// which replays the WAL in memory and changes no file (a read-write open of a
// store that went back in time deletes the newer files its MANIFEST lost).
// 0 if there is no database.
absl::StatusOr<uint64_t> ReadOnlySequence(rocksdb::DBOptions db_options, const std::string& path,
                                          const std::vector<rocksdb::ColumnFamilyDescriptor>& all) {
  if (!rocksdb::Env::Default()->FileExists(path + "/CURRENT").ok()) return 0;
  std::vector<std::string> names;
  const rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(db_options, path, &names);
  if (!listed.ok()) return OpenError(listed, path);
  std::vector<rocksdb::ColumnFamilyDescriptor> families;  // A read-only open creates none.
  for (const rocksdb::ColumnFamilyDescriptor& family : all) {
    if (std::find(names.begin(), names.end(), family.name) != names.end()) {
      families.push_back(family);
    }
  }
  db_options.statistics = nullptr;
  db_options.max_open_files = 64;  // Do not open every table file: none is read.
  db_options.skip_stats_update_on_db_open = true;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status opened =
      rocksdb::DB::OpenForReadOnly(db_options, path, families, &handles, &raw);
  if (!opened.ok()) return OpenError(opened, path);
  std::unique_ptr<rocksdb::DB> db(raw);
  const uint64_t sequence = db->GetLatestSequenceNumber();
  for (rocksdb::ColumnFamilyHandle* h : handles) db->DestroyColumnFamilyHandle(h);
  return sequence;
}

}  // namespace

absl::StatusOr<BackupInfo> RestoreRocksDbBackup(const std::string& backup_dir, uint32_t backup_id,
                                                const std::string& db_path) {
  if (rocksdb::Env::Default()->FileExists(db_path + "/CURRENT").ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(db_path, " already holds a database; restore into an empty directory"));
  }
  std::error_code error;
  std::filesystem::create_directories(db_path, error);
  if (error) {
    return absl::UnavailableError(absl::StrCat("cannot create ", db_path, ": ", error.message()));
  }
  rocksdb::BackupEngineReadOnly* raw = nullptr;
  KEYGATE_RETURN_IF_ERROR(
      FromRocks(rocksdb::BackupEngineReadOnly::Open(rocksdb::BackupEngineOptions(backup_dir),
                                                    rocksdb::Env::Default(), &raw),
                absl::StrCat("open backup dir ", backup_dir)));
  std::unique_ptr<rocksdb::BackupEngineReadOnly> engine(raw);
  if (backup_id == 0) {
    std::vector<rocksdb::BackupInfo> backups;
    engine->GetBackupInfo(&backups);
    if (backups.empty()) return absl::NotFoundError(absl::StrCat("no backup in ", backup_dir));
    backup_id = backups.back().backup_id;
  }
  rocksdb::BackupInfo info;
  const rocksdb::Status found = engine->GetBackupInfo(backup_id, &info);
  if (!found.ok())
    return absl::NotFoundError(absl::StrCat("no backup ", backup_id, " in ", backup_dir));
  KEYGATE_RETURN_IF_ERROR(
      FromRocks(engine->VerifyBackup(backup_id, /*verify_with_checksum=*/true), "verify backup"));
  // The restored store is legitimately older than any floor left here.
  KEYGATE_RETURN_IF_ERROR(RemoveSequenceFloor(db_path));
  KEYGATE_RETURN_IF_ERROR(
      FromRocks(engine->RestoreDBFromBackup(backup_id, db_path, db_path), "restore backup"));
  return BackupInfo{info.backup_id, absl::FromUnixSeconds(info.timestamp), info.size,
                    info.number_files};
}

absl::StatusOr<std::unique_ptr<KeyStore>> OpenRocksDbKeyStore(const RocksDbOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.IncreaseParallelism(2);
  db_options.keep_log_file_num = 5;
  db_options.max_total_wal_size = uint64_t{256} << 20;
  if (options.statistics) {
    // Tickers only (block cache hits/misses): no timers on the read path.
    db_options.statistics = rocksdb::CreateDBStatistics();
    db_options.statistics->set_stats_level(rocksdb::StatsLevel::kExceptHistogramOrTimers);
  }
  // Concurrent synced writes (creates) commit in groups; on 2 cores,
  // spinning while waiting for the group leader only steals CPU.
  db_options.enable_write_thread_adaptive_yield = false;
  // RocksDB recovers by itself from a full disk once space is freed (its own
  // SstFileManager); Health() also asks it to resume.
  db_options.info_log = std::make_shared<RocksDbLogger>();
  auto errors = std::make_shared<ErrorListener>();
  db_options.listeners.push_back(errors);
  // A torn WAL tail (a write that never finished, so was never acknowledged)
  // is recovered; a damaged record inside the WAL fails the open. RocksDB's
  // default, kPointInTimeRecovery, would open at the record before the damage
  // and silently drop every later, acknowledged write.
  db_options.wal_recovery_mode = options.accept_data_loss
                                     ? rocksdb::WALRecoveryMode::kPointInTimeRecovery
                                     : rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;

  const auto retention = [&options](RetentionKind kind) {
    return NewRetentionFilterFactory(
        kind, options.clock,
        kind == RetentionKind::kUsage ? options.usage_retention : options.retention);
  };

  // Lookups in a clock cache take no lock and touch no list: an LRU cache
  // moves each hit out of and back into its list, a few more cache lines per
  // key-cache miss. Its table is sized for 4 KiB entries, the smallest data
  // blocks of the families, so that it has a slot for every block it holds.
  const std::shared_ptr<rocksdb::Cache> cache =
      rocksdb::HyperClockCacheOptions(options.block_cache_bytes, /*estimated_entry_charge=*/4096)
          .MakeSharedCache();
  // Usage is read by scans of a key's rows (GetUsage, GetLastUsed), and by
  // point lookups only of last-use rows that old versions wrote.
  rocksdb::ColumnFamilyOptions usage =
      FamilyOptions(cache, retention(RetentionKind::kUsage), TableLayout{16, /*point_lookups=*/false});
  // Records are keyed by random hashes and barely compress: decompressing
  // them would only cost CPU on every Authorize that misses the cache.
  // A point lookup goes through the data block's hash index to a restart
  // point and parses entries from there; with a restart point at every entry
  // it parses only its own (random keys share no prefix to lose). That cut
  // the cache lines a key-cache miss fetches by a third (docs/performance-history.md).
  // Blocks of 16 KiB (~85 records) need a quarter of 4 KiB blocks' index
  // entries, so the index search that starts every key-cache miss is shorter
  // and its index more often in the CPU's cache. At 0.1 entries per bucket
  // (a byte each, ~850 bytes per block), a lookup shares its bucket and
  // searches the block about one time in eleven by the bucket count, against
  // one in two at RocksDB's default.
  // Together, per key-cache miss at 1M keys: 4.9% fewer instructions and
  // 28% fewer last-level cache misses (docs/performance.md).
  rocksdb::ColumnFamilyOptions keys = FamilyOptions(
      cache, retention(RetentionKind::kKeyRecords),
      TableLayout{/*block_restart_interval=*/1, /*point_lookups=*/true, /*block_size=*/16 << 10,
                  /*hash_util_ratio=*/0.1});
  keys.compression = rocksdb::kNoCompression;
  // Authorize looks up tokens of keys that exist (the rest fail the token's
  // checksum first, or are a small share), and the last level holds nearly
  // every key, so its bloom filter would only answer "maybe": RocksDB skips
  // that probe (a CPU-cache miss of each key-cache miss) and builds no filter
  // there (~1.25 bytes per key). A hash that is not stored (an unknown token,
  // CreateKey's check that a new hash is unused) costs the last level's index
  // search and data block instead.
  keys.optimize_filters_for_hits = true;
  usage.merge_operator = NewUsageMergeOperator();
  // Every usage flush interval (<= 1 s) adds a merge operand per key in use
  // (and one per client address seen). A small memtable is flushed (and its
  // merges collapsed) early, which bounds the memory that Authorize traffic
  // holds: the soak test's VmRSS gate failed with 64 MiB (+17-19%) and with
  // 16 MiB (+11%: it filled for the whole 10 minutes). The price is
  // compaction: keys start with the key id, so each flushed file overlaps
  // the whole family, and leveled compaction rewrote all of it with every
  // fourth flush. Universal compaction merges flushed files with each other
  // first and rewrites the whole family only when they add up to twice its
  // size (or daily, for retention). That cut the CPU of usage's background
  // work by a third at 1M keys (docs/performance-history.md, "Usage flushes,
  // counted"). Reads of usage (GetKeyUsage, last use) search a few more
  // sorted runs. The soak's VmRSS gate sits at the VM's spread with either
  // style (docs/reliability.md, runs L-W).
  usage.write_buffer_size = size_t{2} << 20;
  usage.compaction_style = rocksdb::kCompactionStyleUniversal;
  usage.level_compaction_dynamic_level_bytes = false;  // Leveled only (else a warning).
  // A flush's batch reaches the memtable in key order, but between two of its
  // keys the memtable already holds rows of other keys (earlier flushes), so
  // the skip list's sequential-insert shortcut fails and every insert
  // searched from the top: two thirds of a flush's instructions. One insert
  // hint shared by all keys (an empty prefix) lets an insert start from the
  // previous one and walk only as far as the keys in between.
  usage.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(0));
  // Usage counters are small and barely compress, and compaction rewrites
  // them often (above).
  usage.compression = rocksdb::kNoCompression;
  // One entry per usage flush (~40 bytes per key used in it), folded about
  // a minute later (usage_journal.h). A small memtable bounds the memory it
  // holds (the soak's VmRSS gate; see `usage` above).
  rocksdb::ColumnFamilyOptions journal = FamilyOptions(cache, nullptr);
  journal.write_buffer_size = size_t{2} << 20;
  journal.compression = rocksdb::kNoCompression;
  // Files are dropped whole once folded (DropFoldedJournalFiles), never
  // compacted: a compaction would rewrite the live last minute of entries.
  // With compactions off, the family's files (about two minutes of them,
  // one per 2 MiB, in L0) do not count towards write stalls either.
  journal.disable_auto_compactions = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {kUsageJournalFamily, journal},
      {kKeysFamily, keys},
      {kKeyIdsFamily, FamilyOptions(cache, retention(RetentionKind::kKeyIndex))},
      {kTeamKeysFamily, FamilyOptions(cache, retention(RetentionKind::kKeyIndex))},
      {kAuditFamily, FamilyOptions(cache, retention(RetentionKind::kAudit))},
      {kAuditByKeyFamily, FamilyOptions(cache, retention(RetentionKind::kAudit))},
      {kUsageFamily, usage},
      {kMetaFamily, FamilyOptions(cache, nullptr)}};

  // The sequence floor: checked on a read-only open first, so that a store
  // that went back in time is refused before a read-write open changes it.
  absl::StatusOr<std::optional<uint64_t>> floor = ReadSequenceFloor(options.path);
  if (!floor.ok()) {
    if (!options.accept_data_loss) return floor.status();
    core::Log(core::LogLevel::kError, "sequence_floor_ignored",
              {{"error", floor.status().ToString()}, {"reason", "--accept_data_loss"}});
    floor = std::optional<uint64_t>();
  }
  if (floor->has_value() && !options.accept_data_loss) {
    KEYGATE_ASSIGN_OR_RETURN(const uint64_t sequence,
                             ReadOnlySequence(db_options, options.path, families));
    if (sequence < **floor) return BelowFloorError(options.path, sequence, **floor);
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(db_options, options.path, families, &handles, &raw);
  if (!s.ok()) return OpenError(s, options.path);
  std::unique_ptr<rocksdb::DB> db(raw);
  // Everything up to this sequence number is durable now: recovery flushes
  // what it replayed from the WAL into synced SST files and the MANIFEST.
  const uint64_t sequence = db->GetLatestSequenceNumber();
  if (floor->has_value() && sequence < **floor) {
    if (!options.accept_data_loss) {  // Changed since the read-only check.
      for (rocksdb::ColumnFamilyHandle* h : handles) db->DestroyColumnFamilyHandle(h);
      return BelowFloorError(options.path, sequence, **floor);
    }
    core::Log(core::LogLevel::kError, "store_went_back_in_time",
              {{"path", options.path},
               {"sequence", sequence},
               {"floor", **floor},
               {"reason", "--accept_data_loss"},
               {"message", "serving an older state: repeat the lost changes (revocations first)"}});
  }
  RecordSequenceFloor(options.path, sequence);
  auto store = std::make_unique<RocksDbKeyStore>(std::move(db), std::move(handles),
                                                 std::move(errors),
                                                 db_options.statistics, cache, options);
  KEYGATE_RETURN_IF_ERROR(store->ReplayUsageJournal());
  if (options.record_cache_bytes > 0) store->LoadCacheSnapshot(sequence);
  return std::unique_ptr<KeyStore>(std::move(store));
}

}  // namespace keygate::storage
