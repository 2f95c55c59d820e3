// The usage journal's parts: the entry codec and the unfolded counts.
#include "storage/usage_journal.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "gtest/gtest.h"

namespace keygate::storage {
namespace {

core::KeyUsage Usage(const std::string& key_id, absl::CivilDay day, uint64_t allowed,
                     uint64_t denied, absl::Time last) {
  core::KeyUsage usage;
  usage.key_id = key_id;
  usage.last_used = last;
  usage.days.push_back(core::DailyUsage{day, allowed, denied});
  return usage;
}

const absl::Time kNoon = absl::FromCivil(absl::CivilSecond(2027, 3, 1, 12, 0, 0), absl::UTCTimeZone());

TEST(UsageJournalEntryTest, RoundTripsEveryField) {
  core::KeyUsage rich = Usage("key_a", absl::CivilDay(2027, 2, 28), 300, 2, kNoon);
  rich.days.push_back(core::DailyUsage{absl::CivilDay(2027, 3, 1), 1ull << 40, 0});
  rich.clients.push_back(core::ClientSeen{"10.0.0.1", kNoon - absl::Seconds(1)});
  rich.clients.push_back(core::ClientSeen{"2001:db8::1", kNoon});
  core::KeyUsage never;  // No use, no days: only an id.
  never.key_id = "key_b";
  core::KeyUsage old = Usage("key_c", absl::CivilDay(1960, 1, 1), 1, 1,
                             absl::FromCivil(absl::CivilSecond(1960, 1, 1, 0, 0, 1), absl::UTCTimeZone()));
  const std::vector<core::KeyUsage> deltas = {rich, never, old};

  std::vector<core::KeyUsage> decoded;
  ASSERT_TRUE(DecodeUsageJournalEntry(EncodeUsageJournalEntry(deltas), &decoded));
  ASSERT_EQ(decoded.size(), 3u);
  for (size_t i = 0; i < deltas.size(); ++i) {
    SCOPED_TRACE(deltas[i].key_id);
    EXPECT_EQ(decoded[i].key_id, deltas[i].key_id);
    EXPECT_EQ(decoded[i].last_used, deltas[i].last_used);
    ASSERT_EQ(decoded[i].days.size(), deltas[i].days.size());
    for (size_t d = 0; d < deltas[i].days.size(); ++d) {
      EXPECT_EQ(decoded[i].days[d].day, deltas[i].days[d].day);
      EXPECT_EQ(decoded[i].days[d].allowed, deltas[i].days[d].allowed);
      EXPECT_EQ(decoded[i].days[d].denied, deltas[i].days[d].denied);
    }
    ASSERT_EQ(decoded[i].clients.size(), deltas[i].clients.size());
    for (size_t c = 0; c < deltas[i].clients.size(); ++c) {
      EXPECT_EQ(decoded[i].clients[c].address, deltas[i].clients[c].address);
      EXPECT_EQ(decoded[i].clients[c].last_seen, deltas[i].clients[c].last_seen);
    }
  }
  ASSERT_TRUE(DecodeUsageJournalEntry(EncodeUsageJournalEntry({}), &decoded));
  EXPECT_TRUE(decoded.empty());
}

TEST(UsageJournalEntryTest, RejectsEveryTruncationAndTrailingBytes) {
  core::KeyUsage usage = Usage("key_a", absl::CivilDay(2027, 3, 1), 1000, 3, kNoon);
  usage.clients.push_back(core::ClientSeen{"10.0.0.1", kNoon});
  const std::string entry = EncodeUsageJournalEntry({usage, usage});
  std::vector<core::KeyUsage> decoded;
  for (size_t size = 0; size < entry.size(); ++size) {
    EXPECT_FALSE(DecodeUsageJournalEntry(entry.substr(0, size), &decoded)) << size;
  }
  EXPECT_FALSE(DecodeUsageJournalEntry(entry + "x", &decoded));
  std::string other_version = entry;
  other_version[0] = 2;
  EXPECT_FALSE(DecodeUsageJournalEntry(other_version, &decoded));
  // A count far beyond what the bytes could hold is refused before any
  // allocation.
  EXPECT_FALSE(DecodeUsageJournalEntry(std::string("\x01\xff\xff\xff\xff\x0f", 6), &decoded));
}

TEST(UsageJournalKeyTest, SortsBySequenceAndRoundTrips) {
  EXPECT_LT(UsageJournalKey(255), UsageJournalKey(256));
  EXPECT_LT(UsageJournalKey(1), UsageJournalKey(1ull << 40));
  uint64_t sequence = 0;
  ASSERT_TRUE(DecodeUsageJournalKey(UsageJournalKey(123456789), &sequence));
  EXPECT_EQ(sequence, 123456789u);
  EXPECT_FALSE(DecodeUsageJournalKey("short", &sequence));
}

TEST(FoldedThroughTest, RoundTrips) {
  FoldedThrough folded;
  for (size_t i = 0; i < folded.size(); ++i) folded[i] = i * 1000 + 7;
  FoldedThrough decoded{};
  ASSERT_TRUE(DecodeFoldedThrough(EncodeFoldedThrough(folded), &decoded));
  EXPECT_EQ(decoded, folded);
  EXPECT_FALSE(DecodeFoldedThrough("too short", &decoded));
}

TEST(UnfoldedUsageTest, AddsUpByKeyAndDayAndKeepsTheLatestTimes) {
  UnfoldedUsage unfolded;
  const absl::CivilDay day(2027, 3, 1);
  core::KeyUsage first = Usage("key_a", day, 5, 1, kNoon);
  first.clients.push_back(core::ClientSeen{"10.0.0.1", kNoon});
  core::KeyUsage second = Usage("key_a", day, 2, 0, kNoon - absl::Minutes(1));
  second.days.push_back(core::DailyUsage{day + 1, 4, 0});
  second.clients.push_back(core::ClientSeen{"10.0.0.1", kNoon - absl::Hours(1)});
  second.clients.push_back(core::ClientSeen{"10.0.0.2", kNoon});
  unfolded.Add(first);
  unfolded.Add(second);
  unfolded.Add(Usage("key_b", day, 9, 0, kNoon));
  EXPECT_EQ(unfolded.size(), 2u);
  EXPECT_EQ(unfolded.LastUsed("key_a"), kNoon);
  EXPECT_EQ(unfolded.LastUsed("key_z"), absl::InfinitePast());

  // Read on top of what the rows hold, from a day on.
  core::KeyUsage read;
  read.days.push_back(core::DailyUsage{day - 1, 1, 0});
  read.days.push_back(core::DailyUsage{day, 10, 0});
  unfolded.AddTo("key_a", day, &read);
  ASSERT_EQ(read.days.size(), 3u);
  EXPECT_EQ(read.days[1].day, day);
  EXPECT_EQ(read.days[1].allowed, 17u);
  EXPECT_EQ(read.days[1].denied, 1u);
  EXPECT_EQ(read.days[2].day, day + 1);
  EXPECT_EQ(read.last_used, kNoon);
  ASSERT_EQ(read.clients.size(), 2u);
  core::KeyUsage later;
  unfolded.AddTo("key_a", day + 1, &later);
  ASSERT_EQ(later.days.size(), 1u);  // Days before `since` are left out.

  // Taking a bucket removes exactly its keys.
  std::vector<core::KeyUsage> taken = unfolded.Take(UnfoldedUsage::BucketOf("key_a"));
  size_t found = 0;
  for (const core::KeyUsage& usage : taken) {
    if (usage.key_id != "key_a") continue;
    ++found;
    ASSERT_EQ(usage.days.size(), 2u);
    EXPECT_EQ(usage.days[0].day, day);  // Sorted for the rows.
    EXPECT_EQ(usage.days[0].allowed, 7u);
    EXPECT_EQ(usage.clients.size(), 2u);
  }
  EXPECT_EQ(found, 1u);
  EXPECT_EQ(unfolded.LastUsed("key_a"), absl::InfinitePast());
  const size_t left = unfolded.size();  // key_b, unless it shares key_a's bucket.
  EXPECT_EQ(left + taken.size(), 2u);
  EXPECT_EQ(unfolded.TakeAll().size(), left);
  EXPECT_EQ(unfolded.size(), 0u);
}

TEST(UnfoldedUsageTest, AddAllAddsEveryDeltaAsAddDoes) {
  // AddAll works ahead of the delta it adds: lists shorter and longer than
  // its lookahead, with keys repeated within it and across it.
  const absl::CivilDay day(2027, 3, 1);
  for (size_t count : {0, 1, 7, 8, 9, 17, 500}) {
    SCOPED_TRACE(count);
    UnfoldedUsage one_by_one, all_at_once;
    std::vector<core::KeyUsage> deltas;
    for (size_t i = 0; i < count; ++i) {
      const std::string id = "key_" + std::to_string(i % 13);
      deltas.push_back(Usage(id, day + static_cast<int>(i % 2), i + 1, i % 3,
                             kNoon + absl::Seconds(static_cast<int64_t>(i))));
      one_by_one.Add(deltas.back());
    }
    all_at_once.AddAll(deltas);
    ASSERT_EQ(all_at_once.size(), one_by_one.size());
    for (int k = 0; k < 13; ++k) {
      const std::string id = "key_" + std::to_string(k);
      core::KeyUsage expected, got;
      one_by_one.AddTo(id, day, &expected);
      all_at_once.AddTo(id, day, &got);
      EXPECT_EQ(got.last_used, expected.last_used) << id;
      ASSERT_EQ(got.days.size(), expected.days.size()) << id;
      for (size_t d = 0; d < got.days.size(); ++d) {
        EXPECT_EQ(got.days[d].day, expected.days[d].day) << id;
        EXPECT_EQ(got.days[d].allowed, expected.days[d].allowed) << id;
        EXPECT_EQ(got.days[d].denied, expected.days[d].denied) << id;
      }
    }
  }
}

TEST(UnfoldedUsageTest, KeysOfEveryLengthAreKeptApart) {
  // Ids up to 31 bytes are held inline, longer ones on the heap; ids that
  // differ only in their last byte, or only in length, stay apart.
  UnfoldedUsage unfolded;
  const absl::CivilDay day(2027, 3, 1);
  std::vector<std::string> ids;
  for (size_t length = 1; length <= 40; ++length) {
    ids.push_back(std::string(length, 'k'));
    ids.push_back(std::string(length - 1, 'k') + 'x');
  }
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < ids.size(); ++i) {
      unfolded.Add(Usage(ids[i], day, i + 1, 0, kNoon + absl::Seconds(static_cast<int64_t>(i))));
    }
  }
  ASSERT_EQ(unfolded.size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    SCOPED_TRACE(ids[i]);
    EXPECT_EQ(unfolded.LastUsed(ids[i]), kNoon + absl::Seconds(static_cast<int64_t>(i)));
    core::KeyUsage read;
    unfolded.AddTo(ids[i], day, &read);
    ASSERT_EQ(read.days.size(), 1u);
    EXPECT_EQ(read.days[0].allowed, 2 * (i + 1));
  }
  const std::vector<core::KeyUsage> all = unfolded.TakeAll();
  ASSERT_EQ(all.size(), ids.size());
  for (const core::KeyUsage& usage : all) {
    const size_t i = std::find(ids.begin(), ids.end(), usage.key_id) - ids.begin();
    ASSERT_LT(i, ids.size()) << usage.key_id;
    EXPECT_EQ(usage.days.at(0).allowed, 2 * (i + 1)) << usage.key_id;
  }
}

TEST(UnfoldedUsageTest, BucketsAreStableAndSpreadKeys) {
  // Stored fold state refers to buckets: they must not change between runs.
  EXPECT_EQ(UnfoldedUsage::BucketOf("key_a"), UnfoldedUsage::BucketOf(std::string("key_a")));
  std::vector<int> per_bucket(UnfoldedUsage::kBuckets, 0);
  for (int i = 0; i < 6000; ++i) ++per_bucket[UnfoldedUsage::BucketOf("key_" + std::to_string(i))];
  for (int count : per_bucket) {
    EXPECT_GT(count, 50);
    EXPECT_LT(count, 150);
  }
}

TEST(UnfoldedUsageTest, KeepsABoundedNumberOfClientsPerKey) {
  UnfoldedUsage unfolded;
  for (size_t i = 0; i < UnfoldedUsage::kMaxClientsPerKey + 10; ++i) {
    core::KeyUsage usage = Usage("key_a", absl::CivilDay(2027, 3, 1), 1, 0, kNoon);
    usage.clients.push_back(core::ClientSeen{"10.0.1." + std::to_string(i), kNoon});
    unfolded.Add(usage);
  }
  const std::vector<core::KeyUsage> all = unfolded.TakeAll();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].clients.size(), UnfoldedUsage::kMaxClientsPerKey);
  EXPECT_EQ(all[0].days[0].allowed, UnfoldedUsage::kMaxClientsPerKey + 10);
}

}  // namespace
}  // namespace keygate::storage
