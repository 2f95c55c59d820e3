// Corruption of a stopped store: bytes flipped in an SST, in the MANIFEST,
// and a torn or garbled tail of the write-ahead log. The real keygate-server
// must then either serve correctly, or refuse to serve with a clear error —
// never give a wrong decision:
//
//   correct     allowed (with the right key id) for an active key,
//               REASON_REVOKED for a revoked one
//   refused     exits non-zero at start with an error event in its log, or
//               answers Authorize with DATA_LOSS and turns readiness
//               NOT_SERVING
//   wrong       anything else: allowed for a revoked key, a denial such as
//               REASON_UNKNOWN_KEY for a key that exists, another error code
//
// The flips use a seed printed by each test (KEYGATE_CORRUPTION_SEED
// overrides it); KEYGATE_SERVER_BINARY overrides the server under test.
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "client/keygate_client.h"
#include "gtest/gtest.h"
#include "tests/reliability/calls.h"
#include "tests/reliability/server_process.h"
#include "tests/reliability/store_files.h"
#include "tests/support/test_support.h"

namespace keygate::reliability {
namespace {

namespace fs = std::filesystem;
namespace v1 = keygate::v1;

struct Key {
  std::string key_id;
  std::string token;
  bool revoked = false;
};

// What a store did when served after damage.
struct Outcome {
  bool started = false;
  int exit_code = 0;  // When it did not start.
  std::string error;  // Its last log lines, when it did not start.
  int correct = 0;
  int data_loss = 0;               // DATA_LOSS answers (failing closed).
  int in_doubt = 0;                // Keys whose last write was damaged on purpose.
  std::vector<std::string> wrong;  // Wrong decisions and unexpected errors.
  int revoked_allowed = 0;         // The worst of them.
  bool ready_at_end = false;

  std::string Summary() const {
    if (!started) return absl::StrCat("refused to start (exit ", exit_code, ")");
    return absl::StrCat("served: ", correct, " correct, ", data_loss, " DATA_LOSS, ", in_doubt,
                        " in doubt, ", wrong.size(), " wrong (", revoked_allowed,
                        " revoked keys allowed); readiness ",
                        ready_at_end ? "SERVING" : "NOT_SERVING");
  }
};

uint64_t Seed() {
  uint64_t seed = 0;
  const char* env = std::getenv("KEYGATE_CORRUPTION_SEED");
  if (env == nullptr || !absl::SimpleAtoi(env, &seed)) seed = std::random_device()();
  std::cout << "KEYGATE_CORRUPTION_SEED=" << seed << std::endl;
  return seed;
}

// The first line of `text` that contains `needle`, or "".
std::string LineWith(const std::string& text, absl::string_view needle) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StrContains(line, needle)) return std::string(line);
  }
  return "";
}

class CorruptionTest : public ::testing::Test {
 protected:
  static constexpr int kKeys = 240;

  std::string Dir(const std::string& name) const { return tmp_.path() + "/" + name; }

  // The server under test: the one built with this test, or
  // $KEYGATE_SERVER_BINARY (to try a patched server).
  static std::string ServerBinary() {
    const char* binary = std::getenv("KEYGATE_SERVER_BINARY");
    return binary != nullptr ? binary : KEYGATE_SERVER_BINARY;
  }

  ServerOptions Options(const std::string& data_dir) const {
    ServerOptions options;
    options.binary = ServerBinary();
    options.data_dir = data_dir;
    options.log_path = data_dir + ".log";
    options.flags = {"--shutdown_delay=0s"};
    return options;
  }

  std::unique_ptr<ServerProcess> MustStart(const std::string& data_dir) {
    absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(Options(data_dir));
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  Client OperatorClient(const ServerProcess& server, const std::string& data_dir) const {
    ClientOptions options;
    options.server = server.address();
    options.api_key =
        std::string(absl::StripAsciiWhitespace(ReadFileOrEmpty(data_dir + "/operator.key")));
    return Client(options, ConnectedChannel(server.address()));
  }

  // Creates keys from 4 threads (every third one revoked) until `count` exist
  // or, if `server` is killed meanwhile, until the calls fail. Only
  // acknowledged writes are recorded.
  void Load(const Client& client, int count, std::atomic<bool>* stop = nullptr) {
    absl::Mutex mu;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = t; i < count && (stop == nullptr || !*stop); i += 4) {
          v1::CreateKeyRequest create;
          create.set_team_id("corrupt");
          create.set_name(absl::StrCat("k", i));
          create.add_scopes("read");
          create.set_environment(v1::ENVIRONMENT_LIVE);
          absl::StatusOr<v1::CreateKeyResponse> created = client.CreateKey(create);
          if (!created.ok()) {
            EXPECT_NE(stop, nullptr) << created.status();
            return;
          }
          Key key{created->key().key_id(), created->token(), false};
          if (i % 3 == 0) {
            v1::RevokeKeyRequest revoke;
            revoke.set_key_id(key.key_id);
            const absl::Status revoked = client.RevokeKey(revoke).status();
            if (!revoked.ok()) {  // In flight at a kill: either state.
              EXPECT_NE(stop, nullptr) << revoked;
              absl::MutexLock lock(&mu);
              in_doubt_.insert(key.key_id);
              keys_.push_back(key);
              return;
            }
            key.revoked = true;
          }
          absl::MutexLock lock(&mu);
          keys_.push_back(key);
        }
      });
    }
    for (std::thread& t : threads) t.join();
  }

  // A store with kKeys keys, stopped cleanly, then opened once by
  // --verify_store, which replays the WAL into SST files.
  std::string BuildStore() {
    const std::string data_dir = Dir("golden");
    std::unique_ptr<ServerProcess> server = MustStart(data_dir);
    if (server == nullptr) return "";
    Load(OperatorClient(*server, data_dir), kKeys);
    server->Signal(SIGTERM);
    EXPECT_EQ(server->Wait(), 0) << Tail(server->log_path());
    EXPECT_EQ(Verify(data_dir), 0) << Tail(data_dir + ".verify.log");
    return data_dir;
  }

  std::string CopyOf(const std::string& data_dir, const std::string& name) {
    const std::string copy = Dir(name);
    fs::remove_all(copy);
    fs::copy(data_dir, copy, fs::copy_options::recursive);
    return copy;
  }

  int Verify(const std::string& data_dir) {
    return RunToCompletion(ServerBinary(), {"--data_dir=" + data_dir, "--verify_store"},
                           data_dir + ".verify.log");
  }

  SstInfo KeysSst(const std::string& data_dir) {
    absl::StatusOr<std::vector<SstInfo>> ssts = ListSsts(data_dir + "/db");
    EXPECT_TRUE(ssts.ok()) << ssts.status();
    if (ssts.ok()) {
      for (const SstInfo& sst : *ssts) {
        if (sst.column_family == "keys") return sst;
      }
    }
    ADD_FAILURE() << "no SST of the keys column family";
    return SstInfo();
  }

  // A store killed (-9) while four clients create and revoke keys, after
  // 300 acknowledged creates; its WAL holds every write (nothing flushed).
  std::string BuildKilledStore() {
    const std::string killed = Dir("killed");
    std::unique_ptr<ServerProcess> server = MustStart(killed);
    if (server == nullptr) return "";
    const Client client = OperatorClient(*server, killed);
    Load(client, 300);  // Some history first.
    std::atomic<bool> stop{false};
    std::thread load([&] { Load(client, 1 << 30, &stop); });
    absl::SleepFor(absl::Milliseconds(300));
    stop = true;  // Calls already sent are in flight at the kill.
    server->Kill();
    load.join();
    return killed;
  }

  // Starts the server on `data_dir` and asks Authorize about every key.
  Outcome Serve(const std::string& data_dir) {
    Outcome outcome;
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start(Options(data_dir), &outcome.exit_code);
    if (!server.ok()) {
      outcome.error = std::string(server.status().message());
      return outcome;
    }
    outcome.started = true;
    const std::shared_ptr<grpc::Channel> channel = ConnectedChannel((*server)->address());
    std::unique_ptr<v1::Authorizer::Stub> stub = v1::Authorizer::NewStub(channel);
    for (const Key& key : keys_) {
      const Answer answer = AuthorizeOnce(*stub, key.token, "read");
      const bool right = key.revoked
                             ? answer.ok() && !answer.response.allowed() &&
                                   answer.response.reason() == v1::REASON_REVOKED
                             : answer.allowed() && answer.response.key().key_id() == key.key_id;
      if (in_doubt_.count(key.key_id) > 0 && answer.ok()) {
        ++outcome.in_doubt;  // Before or after its damaged write: any decision.
      } else if (right) {
        ++outcome.correct;
      } else if (answer.code == grpc::StatusCode::DATA_LOSS) {
        ++outcome.data_loss;
      } else {
        if (key.revoked && answer.allowed()) ++outcome.revoked_allowed;
        outcome.wrong.push_back(absl::StrCat(key.key_id, key.revoked ? " (revoked)" : " (active)",
                                             ": ", answer.Describe()));
      }
    }
    // The storage check runs every second.
    const absl::Time deadline = absl::Now() + absl::Seconds(3);
    outcome.ready_at_end = IsServing(channel, "readiness");
    while (outcome.data_loss > 0 && outcome.ready_at_end && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(100));
      outcome.ready_at_end = IsServing(channel, "readiness");
    }
    return outcome;
  }

  // Flips one byte of `file` (relative to the data dir) in a copy of
  // `golden`, then checks --verify_store and serving. Returns the outcome; a
  // wrong decision fails the test.
  Outcome FlipAndServe(const std::string& golden, const std::string& relative_file, uint64_t offset,
                       const std::string& trial, int* verify_code) {
    const std::string copy = CopyOf(golden, trial);
    EXPECT_TRUE(FlipByte(copy + "/" + relative_file, offset).ok());
    *verify_code = Verify(copy);
    Outcome outcome = Serve(copy);
    std::cout << trial << ": byte " << offset << " of " << relative_file << ": verify_store "
              << (*verify_code == 0 ? "passed" : "failed") << "; " << outcome.Summary()
              << std::endl;
    EXPECT_TRUE(outcome.wrong.empty())
        << trial << ": wrong decisions, first: " << outcome.wrong.front();
    if (!outcome.started) {
      EXPECT_NE(outcome.exit_code, 0);
      EXPECT_TRUE(absl::StrContains(outcome.error, "\"level\":\"error\""))
          << "no error event in the log: " << outcome.error;
    } else if (outcome.data_loss > 0) {
      EXPECT_FALSE(outcome.ready_at_end) << trial << ": readiness SERVING after DATA_LOSS";
    }
    return outcome;
  }

  // Name and size of every file in `dir`.
  static std::map<std::string, uintmax_t> Files(const std::string& dir) {
    std::map<std::string, uintmax_t> files;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
      files[entry.path().filename()] = entry.is_regular_file() ? entry.file_size() : 0;
    }
    return files;
  }

  // After a refusal: --accept_data_loss (the operator override) starts the
  // damaged store, and from then on it starts without the flag. Returns the
  // override's log.
  std::string ExpectOverrideStarts(const std::string& data_dir) {
    ServerOptions options = Options(data_dir);
    options.flags.push_back("--accept_data_loss");
    options.log_path = data_dir + ".override.log";
    for (const bool with_flag : {true, false}) {
      absl::StatusOr<std::unique_ptr<ServerProcess>> server =
          ServerProcess::Start(with_flag ? options : Options(data_dir));
      EXPECT_TRUE(server.ok()) << (with_flag ? "with" : "after")
                               << " --accept_data_loss: " << server.status();
      if (!server.ok()) break;
      (*server)->Signal(SIGTERM);
      EXPECT_EQ((*server)->Wait(), 0);
    }
    return ReadFileOrEmpty(options.log_path);
  }

  testing::TempDir tmp_;
  std::vector<Key> keys_;
  std::set<std::string> in_doubt_;
};

TEST_F(CorruptionTest, SstDataBlockFlipFailsClosedAndVerifyStoreFindsIt) {
  const std::string golden = BuildStore();
  ASSERT_FALSE(golden.empty());
  const SstInfo sst = KeysSst(golden);
  ASSERT_GT(sst.num_data_blocks, 2u) << "too few data blocks to aim at";
  const std::string file = "db/" + fs::path(sst.path).filename().string();
  // The block at the offset may hold the operator key, which the server
  // reads at start (and then rightly refuses to start); aim until a trial
  // serves, so that the DATA_LOSS path is exercised.
  bool served = false;
  for (const uint64_t offset : {sst.data_size / 2, sst.data_size / 4, sst.data_size * 3 / 4}) {
    int verify_code = 0;
    const Outcome outcome =
        FlipAndServe(golden, file, offset, absl::StrCat("sst_data_", offset), &verify_code);
    EXPECT_EQ(verify_code, 1) << "--verify_store missed a flipped SST data block";
    const std::string verify_log =
        ReadFileOrEmpty(Dir(absl::StrCat("sst_data_", offset)) + ".verify.log");
    EXPECT_TRUE(absl::StrContains(verify_log, "verify_store_failed")) << verify_log;
    EXPECT_TRUE(absl::StrContains(verify_log, fs::path(sst.path).filename().string()))
        << "the damaged file is not named: " << verify_log;
    if (outcome.started) {
      EXPECT_GT(outcome.data_loss, 0) << "no key of the damaged block was asked about";
      served = true;
      break;
    }
  }
  EXPECT_TRUE(served);
}

TEST_F(CorruptionTest, SstFlipAnywhereNeverGivesAWrongDecision) {
  const std::string golden = BuildStore();
  ASSERT_FALSE(golden.empty());
  const SstInfo sst = KeysSst(golden);
  const std::string file = "db/" + fs::path(sst.path).filename().string();
  std::mt19937_64 rng(Seed());
  for (int trial = 0; trial < 6; ++trial) {
    const uint64_t offset = std::uniform_int_distribution<uint64_t>(0, sst.file_size - 1)(rng);
    int verify_code = 0;
    const Outcome outcome =
        FlipAndServe(golden, file, offset, absl::StrCat("sst_any_", trial), &verify_code);
    if (verify_code == 0) {
      // The byte was not covered by any check (footer padding): it must not
      // matter.
      EXPECT_TRUE(outcome.started && outcome.data_loss == 0 && outcome.wrong.empty())
          << "--verify_store passed a store that does not serve correctly";
    }
  }
}

TEST_F(CorruptionTest, ManifestFlipRefusesToStart) {
  const std::string golden = BuildStore();
  ASSERT_FALSE(golden.empty());
  const std::string manifest = fs::path(FileWithPrefix(golden + "/db", "MANIFEST-")).filename();
  ASSERT_FALSE(manifest.empty());
  absl::StatusOr<std::vector<LogRecord>> records = ReadLogRecords(golden + "/db/" + manifest);
  ASSERT_TRUE(records.ok()) << records.status();
  const uint64_t size = fs::file_size(golden + "/db/" + manifest);
  ASSERT_EQ(records->back().end, size) << "the MANIFEST does not parse to its end";
  // The length field (bytes 4-5 of a record header) is left to
  // ManifestRecordLengthFlipRefusesToStart below.
  auto in_length_field = [&](uint64_t offset) {
    for (const LogRecord& record : *records) {
      if (offset == record.begin + 4 || offset == record.begin + 5) return true;
    }
    return false;
  };
  std::mt19937_64 rng(Seed());
  std::vector<uint64_t> offsets = {records->front().end + 10};  // Inside the second record.
  while (offsets.size() < 6) {
    const uint64_t offset = std::uniform_int_distribution<uint64_t>(0, size - 1)(rng);
    if (!in_length_field(offset)) offsets.push_back(offset);
  }
  for (size_t i = 0; i < offsets.size(); ++i) {
    int verify_code = 0;
    const Outcome outcome = FlipAndServe(golden, "db/" + manifest, offsets[i],
                                         absl::StrCat("manifest_", i), &verify_code);
    if (outcome.started) {
      // Only a byte no check covers may go unnoticed, and then it must not
      // matter (wrong decisions already fail in FlipAndServe).
      EXPECT_EQ(outcome.data_loss, 0);
      EXPECT_EQ(verify_code, 0);
    } else {
      EXPECT_TRUE(absl::StrContains(outcome.error, "store_open_failed")) << outcome.error;
      EXPECT_NE(verify_code, 0);
    }
  }
}

// A flipped high byte of a MANIFEST record's length makes the record reach
// past the end of the file. RocksDB 7.8 reads that as a torn tail (the
// writer died mid-record) and silently ignores the rest of the MANIFEST: the
// store opens at an older version. Here the ignored records are the flush of
// a later session, which revoked keys and created others: served, the
// revoked keys would be allowed again and the new ones unknown. The store's
// sequence floor (storage/sequence_floor.h), recorded at that session's
// clean stop, is above what the store now opens at: the server and
// --verify_store refuse it, before a read-write open deletes the session's
// SST files.
TEST_F(CorruptionTest, ManifestRecordLengthFlipRefusesToStart) {
  const std::string golden = BuildStore();
  ASSERT_FALSE(golden.empty());
  {  // A later session: 20 revocations and 20 creates, flushed at SIGTERM.
    std::unique_ptr<ServerProcess> server = MustStart(golden);
    ASSERT_NE(server, nullptr);
    const Client client = OperatorClient(*server, golden);
    int revoked = 0;
    for (Key& key : keys_) {
      v1::RevokeKeyRequest revoke;
      revoke.set_key_id(key.key_id);
      if (key.revoked || revoked == 20) continue;
      ASSERT_TRUE(client.RevokeKey(revoke).ok());
      key.revoked = true;
      ++revoked;
    }
    Load(client, 20);
    server->Signal(SIGTERM);
    ASSERT_EQ(server->Wait(), 0);
  }
  const std::string manifest = fs::path(FileWithPrefix(golden + "/db", "MANIFEST-")).filename();
  absl::StatusOr<std::vector<LogRecord>> records = ReadLogRecords(golden + "/db/" + manifest);
  ASSERT_TRUE(records.ok()) << records.status();
  // The session's flush: the first record after the column families (the
  // snapshot written at open) that adds an SST file (a NewFile4 tag, 103, at
  // level 0).
  size_t first = 0;
  for (size_t i = 0; i < records->size(); ++i) {
    if (absl::StrContains((*records)[i].payload, "leveldb.BytewiseComparator")) first = i + 2;
  }
  const LogRecord* flush = nullptr;
  for (size_t i = first; i < records->size() && flush == nullptr; ++i) {
    if (absl::StrContains((*records)[i].payload, absl::string_view("g\0", 2))) {
      flush = &(*records)[i];
    }
  }
  ASSERT_NE(flush, nullptr) << "no flush record after the snapshot";
  int verify_code = 0;
  const Outcome outcome =
      FlipAndServe(golden, "db/" + manifest, flush->begin + 5, "manifest_length", &verify_code);
  EXPECT_FALSE(outcome.started);
  EXPECT_NE(verify_code, 0) << "--verify_store passed a store that went back in time";
  EXPECT_TRUE(absl::StrContains(outcome.error, "store_open_failed") &&
              absl::StrContains(outcome.error, "went back in time") &&
              absl::StrContains(outcome.error, "--restore_backup"))
      << outcome.error;
  std::cout << "manifest_length: " << LineWith(outcome.error, "store_open_failed") << std::endl;
  const std::string copy = Dir("manifest_length");
  EXPECT_EQ(Files(copy + "/db"), Files(golden + "/db")) << "the refused store was changed";
  const std::string log = ExpectOverrideStarts(copy);
  EXPECT_TRUE(absl::StrContains(log, "store_went_back_in_time")) << log;
}

// The tail of the WAL as a crash can leave it. A store is killed (-9) while
// four clients create and revoke keys; its WAL then holds every write (no
// flush happened). Each variant damages a copy of it:
//   truncated, garbled  the last record cut short or a byte of it flipped.
//                       Its writes count as never acknowledged (a torn write
//                       is by definition one whose sync did not finish), so
//                       its keys may be in either state.
//   garbage, zeros,     a later write that never finished: random bytes, a
//   half_record         zero-filled (preallocated) tail, or a record header
//                       with only part of its payload (within its 32 KiB
//                       block, as RocksDB writes: AppendTornRecord).
// The store must open with every other acknowledged write present and no
// error, and then verify cleanly. The one exception is "garbled": a
// complete record with a bad checksum looks like damage inside the log, and
// refusing to start (store_open_failed) is also right for it: the server
// opens the WAL with WALRecoveryMode::kTolerateCorruptedTailRecords, which
// takes it for damage unless its length reaches past the end of the file.
TEST_F(CorruptionTest, TornWalTailRecovers) {
  const std::string killed = BuildKilledStore();
  ASSERT_FALSE(killed.empty());
  const std::string wal = fs::path(NewestFile(killed + "/db", ".log")).filename();
  ASSERT_FALSE(wal.empty());
  absl::StatusOr<std::vector<LogRecord>> records = ReadLogRecords(killed + "/db/" + wal);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_GT(records->size(), 100u);
  const LogRecord last = records->back();
  const std::vector<std::string> torn_ids = KeyIdsIn(last.payload);
  std::cout << "WAL " << wal << ": " << records->size() << " records, the last at [" << last.begin
            << ", " << last.end << ") mentions " << torn_ids.size() << " key ids; "
            << in_doubt_.size() << " revokes were in flight at the kill" << std::endl;
  std::mt19937_64 rng(Seed());
  auto between = [&](uint64_t lo, uint64_t hi) {  // [lo, hi)
    return std::uniform_int_distribution<uint64_t>(lo, hi - 1)(rng);
  };
  const std::set<std::string> in_flight = in_doubt_;
  for (const std::string variant : {"truncated", "garbled", "garbage", "zeros", "half_record"}) {
    const std::string copy = CopyOf(killed, "wal_" + variant);
    const std::string path = copy + "/db/" + wal;
    const std::string content = ReadFileOrEmpty(path);
    std::string damaged = content.substr(0, last.end);
    in_doubt_ = in_flight;
    if (variant == "truncated" || variant == "garbled") {
      in_doubt_.insert(torn_ids.begin(), torn_ids.end());
      if (variant == "truncated") {
        damaged.resize(between(last.begin + 1, last.end));
      } else {
        damaged[between(last.begin, last.end)] ^= 0x5a;
      }
    } else if (variant == "garbage") {
      for (int i = 0; i < 100; ++i) damaged.push_back(static_cast<char>(between(0, 256)));
    } else if (variant == "zeros") {
      damaged.append(4096, '\0');
    } else {
      AppendTornRecord(content, last, &damaged);
    }
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << damaged;
    }
    const Outcome outcome = Serve(copy);
    std::cout << "wal_" << variant << ": " << outcome.Summary() << std::endl;
    if (!outcome.started && variant == "garbled") {
      EXPECT_TRUE(absl::StrContains(outcome.error, "store_open_failed")) << outcome.error;
      continue;
    }
    EXPECT_TRUE(outcome.started) << variant << ": " << outcome.error;
    EXPECT_TRUE(outcome.wrong.empty()) << variant << ": first: " << outcome.wrong.front();
    EXPECT_EQ(outcome.data_loss, 0) << variant;
    EXPECT_TRUE(outcome.ready_at_end) << variant;
    EXPECT_EQ(Verify(copy), 0) << variant << ": " << Tail(copy + ".verify.log");
  }
}

// A byte flipped in a WAL record in the middle of the log (not a torn tail:
// later records are intact and were acknowledged). With RocksDB's default
// kPointInTimeRecovery the store would open at the last record before the
// damage and silently drop every later write, acknowledged or not: keys
// created later unknown, keys revoked later allowed again. The server opens
// the WAL with kTolerateCorruptedTailRecords and refuses the store;
// --accept_data_loss (kPointInTimeRecovery) is the operator's way to accept
// the loss.
TEST_F(CorruptionTest, MidWalFlipRefusesToStart) {
  const std::string killed = BuildKilledStore();
  ASSERT_FALSE(killed.empty());
  const std::string wal = fs::path(NewestFile(killed + "/db", ".log")).filename();
  absl::StatusOr<std::vector<LogRecord>> records = ReadLogRecords(killed + "/db/" + wal);
  ASSERT_TRUE(records.ok()) << records.status();
  const LogRecord& middle = (*records)[records->size() / 2];
  int verify_code = 0;
  const Outcome outcome = FlipAndServe(killed, "db/" + wal, (middle.begin + middle.end) / 2,
                                       "wal_middle", &verify_code);
  EXPECT_FALSE(outcome.started);
  EXPECT_NE(verify_code, 0) << "--verify_store passed a damaged WAL";
  EXPECT_TRUE(absl::StrContains(outcome.error, "store_open_failed") &&
              absl::StrContains(outcome.error, "Corruption") &&
              absl::StrContains(outcome.error, "--accept_data_loss"))
      << outcome.error;
  std::cout << "wal_middle: " << LineWith(outcome.error, "store_open_failed") << std::endl;
  const std::string copy = Dir("wal_middle");
  EXPECT_EQ(Files(copy + "/db"), Files(killed + "/db")) << "the refused store was changed";
  ExpectOverrideStarts(copy);
}

}  // namespace
}  // namespace keygate::reliability
