// Usage counts between their flush and their fold into per-day rows.
//
// Every usage flush (each second) is written, unsynced, as one journal entry: a
// single value holding all of that flush's deltas. The deltas are then kept
// in memory, spread over kBuckets buckets by key id, and each flush also
// folds one bucket into the usage rows (merge operands). So a key used
// every second reaches its rows once per kBuckets flushes instead of every
// flush: a minute's distinct keys rather than the sum of every second's
// (at 1M Zipf keys, 3.2x fewer rows for RocksDB to write and compact).
//
// What each bucket has folded up to is stored with the fold, in the same
// batch; journal files whose entries every bucket has folded past are
// dropped whole. After a crash the entries still in the journal are read
// again, each delta only for a bucket not yet folded past its entry, so
// nothing is counted twice and nothing flushed is lost.
#ifndef KEYGATE_STORAGE_USAGE_JOURNAL_H_
#define KEYGATE_STORAGE_USAGE_JOURNAL_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "server/core/usage.h"

namespace keygate::storage {

// The deltas that are in the journal but not yet in the usage rows, by key
// id. Not thread-safe (the store guards it).
class UnfoldedUsage {
 public:
  static constexpr int kBuckets = 60;
  // Client addresses kept per key until its fold; more are dropped.
  static constexpr size_t kMaxClientsPerKey = 64;

  // The bucket of `key_id`: stable across restarts (a CRC-32).
  static int BucketOf(absl::string_view key_id);

  // Adds `delta` to what its key has pending: counts add up, times take
  // the maximum. A key not pending takes the delta's strings and vectors.
  void Add(core::KeyUsage delta);
  // Add() of each delta, in order. Faster for many keys: the table slots of
  // the next few keys are fetched into the CPU cache while one is added.
  void AddAll(std::vector<core::KeyUsage> deltas);
  // Removes and returns the keys of `bucket` (of all buckets). Take()
  // leaves the bucket room for as many keys as it returned.
  std::vector<core::KeyUsage> Take(int bucket);
  std::vector<core::KeyUsage> TakeAll();

  // Adds what `key_id` has pending (days from `since` on) to `usage`,
  // whose days are sorted; they stay sorted. Clients are appended.
  void AddTo(absl::string_view key_id, absl::CivilDay since, core::KeyUsage* usage) const;
  // The pending last use of `key_id` (InfinitePast: none).
  absl::Time LastUsed(absl::string_view key_id) const;

  size_t size() const;

 private:
  // A key id kept in the table's own memory when it is short (every id
  // Keygate issues is 24 bytes): a lookup compares bytes at hand instead of
  // following a pointer to the heap, and the id costs no allocation.
  using KeyId = absl::InlinedVector<char, 31>;
  struct KeyIdHash {
    using is_transparent = void;
    size_t operator()(absl::string_view id) const;
    size_t operator()(const KeyId& id) const;
  };
  struct KeyIdEq {
    using is_transparent = void;
    bool operator()(absl::string_view a, absl::string_view b) const { return a == b; }
    bool operator()(const KeyId& a, absl::string_view b) const { return View(a) == b; }
    bool operator()(absl::string_view a, const KeyId& b) const { return a == View(b); }
    bool operator()(const KeyId& a, const KeyId& b) const { return View(a) == View(b); }
  };
  static absl::string_view View(const KeyId& id) { return {id.data(), id.size()}; }

  struct Pending {
    absl::Time last_used = absl::InfinitePast();
    // In no order; nearly always one (two across midnight), held inline.
    absl::InlinedVector<core::DailyUsage, 1> days;
    std::vector<core::ClientSeen> clients;
  };
  using Bucket = absl::flat_hash_map<KeyId, Pending, KeyIdHash, KeyIdEq>;
  static void AddToBucket(Bucket& bucket, core::KeyUsage delta);
  // The deltas of `taken`, days sorted.
  static std::vector<core::KeyUsage> Drain(Bucket taken);

  std::array<Bucket, kBuckets> buckets_;
};

// What each bucket has been folded up to: journal entries up to and
// including folded[b] are in the usage rows for bucket b's keys.
using FoldedThrough = std::array<uint64_t, UnfoldedUsage::kBuckets>;

// The key of journal entry `sequence` (big-endian, so entries sort in order).
std::string UsageJournalKey(uint64_t sequence);
// False unless `key` is a journal key.
bool DecodeUsageJournalKey(absl::string_view key, uint64_t* sequence);

// A journal entry: one flush's deltas.
std::string EncodeUsageJournalEntry(const std::vector<core::KeyUsage>& deltas);
// False if `bytes` is not a journal entry (then `deltas` is unspecified).
bool DecodeUsageJournalEntry(absl::string_view bytes, std::vector<core::KeyUsage>* deltas);

std::string EncodeFoldedThrough(const FoldedThrough& folded);
bool DecodeFoldedThrough(absl::string_view bytes, FoldedThrough* folded);

}  // namespace keygate::storage

#endif  // KEYGATE_STORAGE_USAGE_JOURNAL_H_
