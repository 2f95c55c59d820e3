// keygate-preload: builds a store of N keys for the benchmarks through
// KeyStore::BulkCreate, and writes their tokens for keygate-bench.
//
// In --dir, which then serves as the server's --data_dir:
//   db/          the RocksDB store (pepper fingerprint recorded, compacted)
//   pepper       the pepper, created if missing (the server's default path)
//   tokens.txt   the active keys' tokens, one per line
//   revoked.txt  the revoked keys' tokens, one per line
//   COMPLETE     written last: a directory without it is unfinished
// Each of --threads threads makes (token, HMAC, record) and bulk-writes its
// share of every chunk.
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/core/clock.h"
#include "server/core/key_record.h"
#include "server/core/random.h"
#include "server/core/scope.h"
#include "server/core/secret_file.h"
#include "server/core/status_macros.h"
#include "server/core/token.h"
#include "server/core/token_hasher.h"
#include "server/core/validation.h"
#include "server/service/key_service.h"
#include "storage/rocksdb_key_store.h"

ABSL_FLAG(std::string, dir, "", "Directory to build the store in (must not hold a db/ yet)");
ABSL_FLAG(int64_t, keys, 1000000, "Number of keys, revoked ones included");
ABSL_FLAG(double, revoked_fraction, 0.001, "Fraction of the keys stored as revoked");
ABSL_FLAG(int, teams, 1000, "Keys are spread round-robin over this many teams");
ABSL_FLAG(std::string, key_prefix, "fs", "Token prefix (the server's --key_prefix)");
ABSL_FLAG(int, threads, 2, "Threads making and writing keys");
ABSL_FLAG(int64_t, chunk, 500000, "Keys generated and bulk-written at a time");
ABSL_FLAG(bool, compact, true, "Compact the store at the end (a steady-state layout)");

namespace keygate::bench {
namespace {

// Reads the pepper as the server does (trailing whitespace stripped),
// creating it like the server (32 random bytes, hex) if missing.
absl::StatusOr<std::string> LoadOrCreatePepper(const std::string& path) {
  absl::StatusOr<std::string> pepper = core::ReadSecretFile(path);
  if (absl::IsNotFound(pepper.status())) {
    std::string hex;
    for (unsigned char c : core::SecureRandomBytes(32)) {
      absl::StrAppend(&hex, absl::Hex(c, absl::kZeroPad2));
    }
    KEYGATE_RETURN_IF_ERROR(core::WriteNewSecretFile(path, hex + "\n"));
    return hex;
  }
  if (!pepper.ok()) return pepper.status();
  return std::string(absl::StripTrailingAsciiWhitespace(*pepper));
}

// Keys made and stored by one thread.
struct Part {
  std::vector<core::KeyRecord> records;
  std::vector<std::string> tokens;
  absl::Status stored;
};

// Makes keys with consecutive indexes. Key `index` is revoked when it
// crosses a multiple of 1 / revoked_fraction, so revocations are spread
// evenly and their number is exact. Thread-safe.
struct KeyMaker {
  const core::TokenFormat& format;
  const core::TokenHasher& hasher;
  const core::ScopeList& scopes;
  double revoked_fraction;
  int teams;
  absl::Time now;

  // Fills `part` with `count` keys from `first_index` on.
  void Make(int64_t first_index, size_t count, Part* part) const {
    part->records.resize(count);
    part->tokens.resize(count);
    for (size_t i = 0; i < count; ++i) {
      const int64_t index = first_index + static_cast<int64_t>(i);
      std::string token = format.Generate(core::Environment::kLive);
      // A generated token always parses; value() aborts otherwise.
      const core::ParsedToken parsed = format.Parse(token).value();
      core::KeyRecord& key = part->records[i];
      key = core::KeyRecord();
      key.key_id = core::GenerateKeyId();
      key.team_id = absl::StrCat("team-", index % teams);
      key.name = "bench key";
      key.scopes = scopes;
      key.environment = parsed.environment;
      key.display_prefix = core::TokenFormat::DisplayPrefix(parsed);
      key.token_hash = hasher.Hash(parsed.token);
      key.create_time = now;
      key.created_by = "keygate-preload";
      if (std::floor((index + 1) * revoked_fraction) > std::floor(index * revoked_fraction)) {
        key.revoke_time = now;
        key.revoke_reason = "benchmark";
      }
      part->tokens[i] = std::move(token);
    }
  }
};

absl::Status WriteLines(FILE* file, const std::string& lines, const std::string& path) {
  if (std::fwrite(lines.data(), 1, lines.size(), file) != lines.size()) {
    return absl::UnavailableError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

absl::Status Run() {
  const std::string dir = absl::GetFlag(FLAGS_dir);
  const int64_t total = absl::GetFlag(FLAGS_keys);
  const int threads = std::max(1, absl::GetFlag(FLAGS_threads));
  const size_t chunk = static_cast<size_t>(std::max<int64_t>(1, absl::GetFlag(FLAGS_chunk)));
  if (dir.empty() || total < 1) return absl::InvalidArgumentError("need --dir and --keys >= 1");
  std::error_code error;
  std::filesystem::create_directories(dir, error);  // With its parents, as `mkdir -p`.
  if (error) return absl::UnavailableError(absl::StrCat("cannot create ", dir, ": ", error.message()));
  struct stat st;
  if (::stat((dir + "/db").c_str(), &st) == 0) {
    return absl::AlreadyExistsError(absl::StrCat(dir, "/db exists; remove the directory first"));
  }

  KEYGATE_ASSIGN_OR_RETURN(const core::TokenFormat format,
                           core::TokenFormat::Create(absl::GetFlag(FLAGS_key_prefix)));
  KEYGATE_ASSIGN_OR_RETURN(const std::string pepper, LoadOrCreatePepper(dir + "/pepper"));
  KEYGATE_ASSIGN_OR_RETURN(std::unique_ptr<core::TokenHasher> hasher,
                           core::TokenHasher::Create(pepper));
  KEYGATE_ASSIGN_OR_RETURN(std::unique_ptr<core::TokenHasher> service_hasher,
                           core::TokenHasher::Create(pepper));
  KEYGATE_ASSIGN_OR_RETURN(core::ScopeList scopes,
                           core::ParseScopes(std::vector<std::string>{"flows:write", "runs:read"}));

  storage::RocksDbOptions options;
  options.path = dir + "/db";
  options.warm_block_cache = false;  // Only writes.
  KEYGATE_ASSIGN_OR_RETURN(std::unique_ptr<storage::KeyStore> store,
                           storage::OpenRocksDbKeyStore(options));
  // Records the pepper's fingerprint, exactly as the server would.
  service::KeyService service(format, std::move(service_hasher), store.get(), &core::Clock::Real());
  KEYGATE_RETURN_IF_ERROR(service.CheckPepper());

  const std::string tokens_path = dir + "/tokens.txt";
  const std::string revoked_path = dir + "/revoked.txt";
  std::unique_ptr<FILE, int (*)(FILE*)> tokens_file(std::fopen(tokens_path.c_str(), "w"),
                                                    &std::fclose);
  std::unique_ptr<FILE, int (*)(FILE*)> revoked_file(std::fopen(revoked_path.c_str(), "w"),
                                                     &std::fclose);
  if (tokens_file == nullptr || revoked_file == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot create token files in ", dir));
  }

  const KeyMaker maker{format,
                       *hasher,
                       scopes,
                       absl::GetFlag(FLAGS_revoked_fraction),
                       std::max(1, absl::GetFlag(FLAGS_teams)),
                       absl::Now()};
  const absl::Time start = absl::Now();
  int64_t revoked = 0;
  std::vector<Part> parts(threads);
  for (int64_t first = 0; first < total; first += static_cast<int64_t>(chunk)) {
    const int64_t n = std::min<int64_t>(chunk, total - first);
    // Each thread makes and bulk-writes its share of the chunk (KeyStore is
    // thread-safe, so encoding and memtable inserts run in parallel too).
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        const int64_t begin = first + n * t / threads;
        maker.Make(begin, static_cast<size_t>(first + n * (t + 1) / threads - begin), &parts[t]);
        parts[t].stored = store->BulkCreate(parts[t].records);
      });
    }
    for (std::thread& w : workers) w.join();
    std::string active_lines, revoked_lines;
    for (const Part& part : parts) {
      KEYGATE_RETURN_IF_ERROR(part.stored);
      for (size_t i = 0; i < part.records.size(); ++i) {
        const bool is_revoked = part.records[i].revoke_time != absl::InfiniteFuture();
        absl::StrAppend(is_revoked ? &revoked_lines : &active_lines, part.tokens[i], "\n");
        revoked += is_revoked;
      }
    }
    KEYGATE_RETURN_IF_ERROR(WriteLines(tokens_file.get(), active_lines, tokens_path));
    KEYGATE_RETURN_IF_ERROR(WriteLines(revoked_file.get(), revoked_lines, revoked_path));
    std::fprintf(stderr, "keygate-preload: %lld/%lld keys\n", static_cast<long long>(first + n),
                 static_cast<long long>(total));
  }
  if (std::fflush(tokens_file.get()) != 0 || std::fflush(revoked_file.get()) != 0) {
    return absl::UnavailableError("cannot write the token files");
  }
  const absl::Time t2 = absl::Now();
  if (absl::GetFlag(FLAGS_compact)) KEYGATE_RETURN_IF_ERROR(store->CompactAll());
  const absl::Duration compacting = absl::Now() - t2;
  store.reset();

  std::unique_ptr<FILE, int (*)(FILE*)> complete(std::fopen((dir + "/COMPLETE").c_str(), "w"),
                                                 &std::fclose);
  if (complete == nullptr) return absl::UnavailableError("cannot write COMPLETE");
  std::printf(
      "{\"keys\":%lld,\"revoked\":%lld,\"seconds\":%.1f,\"compact_s\":%.1f,"
      "\"threads\":%d}\n",
      static_cast<long long>(total), static_cast<long long>(revoked),
      absl::ToDoubleSeconds(absl::Now() - start), absl::ToDoubleSeconds(compacting), threads);
  return absl::OkStatus();
}

}  // namespace
}  // namespace keygate::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Builds a Keygate store of --keys keys for benchmarks.");
  absl::ParseCommandLine(argc, argv);
  const absl::Status status = keygate::bench::Run();
  if (!status.ok()) {
    std::fprintf(stderr, "keygate-preload: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
