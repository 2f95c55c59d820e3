#include "storage/usage_journal.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/hash/hash.h"
#include "server/core/crc32.h"
#include "storage/record_codec.h"

namespace keygate::storage {
namespace {

constexpr char kEntryVersion = 1;

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

bool ReadVarint(absl::string_view* in, uint64_t* value) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *value = result;
      return true;
    }
  }
  return false;
}

uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

void AppendString(absl::string_view s, std::string* out) {
  AppendVarint(s.size(), out);
  out->append(s.data(), s.size());
}

bool ReadString(absl::string_view* in, std::string* s) {
  uint64_t size = 0;
  if (!ReadVarint(in, &size) || size > in->size()) return false;
  s->assign(in->data(), size);
  in->remove_prefix(size);
  return true;
}

// Times at the store's precision (µs); 0 stands for InfinitePast.
void AppendTime(absl::Time t, std::string* out) {
  AppendVarint(t == absl::InfinitePast() ? 0 : ZigZag(absl::ToUnixMicros(t)) + 1, out);
}

bool ReadTime(absl::string_view* in, absl::Time* t) {
  uint64_t v = 0;
  if (!ReadVarint(in, &v)) return false;
  *t = v == 0 ? absl::InfinitePast() : absl::FromUnixMicros(UnZigZag(v - 1));
  return true;
}

// Adds `add` to `into` (counts add up, times take the maximum).
template <typename Days>
void AddDay(const core::DailyUsage& add, Days* into) {
  for (core::DailyUsage& day : *into) {
    if (day.day == add.day) {
      day.allowed += add.allowed;
      day.denied += add.denied;
      return;
    }
  }
  into->push_back(add);
}

void AddClient(const core::ClientSeen& add, size_t max_clients,
               std::vector<core::ClientSeen>* into) {
  for (core::ClientSeen& client : *into) {
    if (client.address == add.address) {
      client.last_seen = std::max(client.last_seen, add.last_seen);
      return;
    }
  }
  if (into->size() < max_clients) into->push_back(add);
}

}  // namespace

size_t UnfoldedUsage::KeyIdHash::operator()(absl::string_view id) const {
  return absl::Hash<absl::string_view>{}(id);
}

size_t UnfoldedUsage::KeyIdHash::operator()(const KeyId& id) const { return (*this)(View(id)); }

int UnfoldedUsage::BucketOf(absl::string_view key_id) {
  return static_cast<int>(core::Crc32(key_id) % kBuckets);
}

void UnfoldedUsage::Add(core::KeyUsage delta) {
  Bucket& bucket = buckets_[BucketOf(delta.key_id)];  // Before `delta` is moved from.
  AddToBucket(bucket, std::move(delta));
}

void UnfoldedUsage::AddAll(std::vector<core::KeyUsage> deltas) {
  // The buckets together hold a minute of keys, far more than the CPU caches:
  // an Add alone would wait on a miss for its slot, so each key's slot is
  // requested this many keys before it is added.
  constexpr size_t kAhead = 8;
  std::array<Bucket*, kAhead> ahead{};
  for (size_t i = 0; i < deltas.size() + kAhead; ++i) {
    Bucket*& slot = ahead[i % kAhead];
    if (i >= kAhead) AddToBucket(*slot, std::move(deltas[i - kAhead]));
    if (i < deltas.size()) {
      const absl::string_view key_id = deltas[i].key_id;
      slot = &buckets_[BucketOf(key_id)];
      slot->prefetch(key_id);
    }
  }
}

void UnfoldedUsage::AddToBucket(Bucket& bucket, core::KeyUsage delta) {
  bool inserted = false;
  auto it = bucket.lazy_emplace(absl::string_view(delta.key_id), [&](const auto& construct) {
    inserted = true;
    construct(std::piecewise_construct,
              std::forward_as_tuple(delta.key_id.begin(), delta.key_id.end()),
              std::forward_as_tuple());
  });
  Pending& pending = it->second;
  if (inserted) {
    pending.last_used = delta.last_used;
    pending.days.assign(delta.days.begin(), delta.days.end());
    pending.clients = std::move(delta.clients);
    if (pending.clients.size() > kMaxClientsPerKey) pending.clients.resize(kMaxClientsPerKey);
    return;
  }
  pending.last_used = std::max(pending.last_used, delta.last_used);
  for (const core::DailyUsage& day : delta.days) AddDay(day, &pending.days);
  for (const core::ClientSeen& client : delta.clients) {
    AddClient(client, kMaxClientsPerKey, &pending.clients);
  }
}

std::vector<core::KeyUsage> UnfoldedUsage::Take(int bucket) {
  // About as many keys arrive before the next fold: growing the table to
  // that size step by step would move its entries a dozen times.
  Bucket taken(/*bucket_count=*/buckets_[bucket].size());
  taken.swap(buckets_[bucket]);
  return Drain(std::move(taken));
}

std::vector<core::KeyUsage> UnfoldedUsage::Drain(Bucket taken) {
  std::vector<core::KeyUsage> usages;
  usages.reserve(taken.size());
  for (auto it = taken.begin(); it != taken.end();) {
    auto node = taken.extract(it++);
    Pending& pending = node.mapped();
    core::KeyUsage usage;
    usage.key_id = std::string(View(node.key()));
    usage.last_used = pending.last_used;
    usage.days.assign(pending.days.begin(), pending.days.end());
    std::sort(usage.days.begin(), usage.days.end(),
              [](const core::DailyUsage& a, const core::DailyUsage& b) { return a.day < b.day; });
    usage.clients = std::move(pending.clients);
    usages.push_back(std::move(usage));
  }
  return usages;
}

std::vector<core::KeyUsage> UnfoldedUsage::TakeAll() {
  std::vector<core::KeyUsage> all;
  for (int bucket = 0; bucket < kBuckets; ++bucket) {
    std::vector<core::KeyUsage> taken = Drain(std::move(buckets_[bucket]));
    buckets_[bucket] = Bucket();
    all.insert(all.end(), std::make_move_iterator(taken.begin()),
               std::make_move_iterator(taken.end()));
  }
  return all;
}

void UnfoldedUsage::AddTo(absl::string_view key_id, absl::CivilDay since,
                          core::KeyUsage* usage) const {
  const Bucket& bucket = buckets_[BucketOf(key_id)];
  const auto it = bucket.find(key_id);
  if (it == bucket.end()) return;
  const Pending& pending = it->second;
  usage->last_used = std::max(usage->last_used, pending.last_used);
  for (const core::DailyUsage& day : pending.days) {
    if (day.day >= since) AddDay(day, &usage->days);
  }
  std::sort(usage->days.begin(), usage->days.end(),
            [](const core::DailyUsage& a, const core::DailyUsage& b) { return a.day < b.day; });
  for (const core::ClientSeen& client : pending.clients) {
    AddClient(client, usage->clients.size() + 1, &usage->clients);
  }
}

absl::Time UnfoldedUsage::LastUsed(absl::string_view key_id) const {
  const Bucket& bucket = buckets_[BucketOf(key_id)];
  const auto it = bucket.find(key_id);
  return it == bucket.end() ? absl::InfinitePast() : it->second.last_used;
}

size_t UnfoldedUsage::size() const {
  size_t keys = 0;
  for (const Bucket& bucket : buckets_) keys += bucket.size();
  return keys;
}

std::string UsageJournalKey(uint64_t sequence) {
  std::string key;
  AppendBigEndian64(sequence, &key);
  return key;
}

bool DecodeUsageJournalKey(absl::string_view key, uint64_t* sequence) {
  if (key.size() != 8) return false;
  *sequence = ReadBigEndian64(key);
  return true;
}

std::string EncodeUsageJournalEntry(const std::vector<core::KeyUsage>& deltas) {
  std::string out;
  out.reserve(1 + deltas.size() * 48);
  out.push_back(kEntryVersion);
  AppendVarint(deltas.size(), &out);
  for (const core::KeyUsage& delta : deltas) {
    AppendString(delta.key_id, &out);
    AppendTime(delta.last_used, &out);
    AppendVarint(delta.days.size(), &out);
    for (const core::DailyUsage& day : delta.days) {
      AppendVarint(ZigZag(DayNumber(day.day)), &out);
      AppendVarint(day.allowed, &out);
      AppendVarint(day.denied, &out);
    }
    AppendVarint(delta.clients.size(), &out);
    for (const core::ClientSeen& client : delta.clients) {
      AppendString(client.address, &out);
      AppendTime(client.last_seen, &out);
    }
  }
  return out;
}

bool DecodeUsageJournalEntry(absl::string_view in, std::vector<core::KeyUsage>* deltas) {
  deltas->clear();
  if (in.empty() || in.front() != kEntryVersion) return false;
  in.remove_prefix(1);
  uint64_t count = 0;
  // Every delta takes at least 4 bytes: a bound before reserving.
  if (!ReadVarint(&in, &count) || count > in.size() / 4) return false;
  deltas->resize(count);
  for (core::KeyUsage& delta : *deltas) {
    uint64_t days = 0, clients = 0;
    if (!ReadString(&in, &delta.key_id) || !ReadTime(&in, &delta.last_used) ||
        !ReadVarint(&in, &days) || days > in.size() / 3) {
      return false;
    }
    delta.days.resize(days);
    for (core::DailyUsage& day : delta.days) {
      uint64_t number = 0;
      if (!ReadVarint(&in, &number) || !ReadVarint(&in, &day.allowed) ||
          !ReadVarint(&in, &day.denied)) {
        return false;
      }
      day.day = DayFromNumber(UnZigZag(number));
    }
    if (!ReadVarint(&in, &clients) || clients > in.size() / 2) return false;
    delta.clients.resize(clients);
    for (core::ClientSeen& client : delta.clients) {
      if (!ReadString(&in, &client.address) || !ReadTime(&in, &client.last_seen)) return false;
    }
  }
  return in.empty();
}

std::string EncodeFoldedThrough(const FoldedThrough& folded) {
  std::string out;
  for (uint64_t sequence : folded) AppendBigEndian64(sequence, &out);
  return out;
}

bool DecodeFoldedThrough(absl::string_view bytes, FoldedThrough* folded) {
  if (bytes.size() != folded->size() * 8) return false;
  for (size_t i = 0; i < folded->size(); ++i) (*folded)[i] = ReadBigEndian64(bytes.substr(i * 8));
  return true;
}

}  // namespace keygate::storage
