// keygate-crash-harness: kill -9 the real keygate-server while it writes, and
// check that nothing it acknowledged was lost.
//
// Each cycle starts keygate-server on the same data dir (the store must open
// every time), checks the keys written so far through Authorize, then runs
// concurrent CreateKey / RevokeKey / RotateKey calls from several threads and
// SIGKILLs the server after a random delay (seeded). The bookkeeping:
//
//   acknowledged (OK) create      the token authorizes each of its scopes, and
//                                 is refused a scope it lacks (the record is
//                                 whole), until it is revoked or rotated
//   acknowledged revoke           REASON_REVOKED from then on
//   acknowledged rotate, grace 0  the new token authorizes; the old one is
//                                 REASON_REVOKED
//   acknowledged rotate, grace 1h both authorize
//   unacknowledged (in flight at the kill) revoke or rotate: the key may be
//                                 active or revoked; the first check after the
//                                 restart settles which, and from then on it
//                                 must stay so. An unacknowledged create is
//                                 unknown to the harness (its token never
//                                 arrived).
// Any gRPC error from Authorize, and any management error while the server
// was not being killed, is a failure too. Tokens stay in memory; failures name
// key ids only.
//
// After the last cycle the server is restarted once more, every key is
// checked, the server is stopped with SIGTERM (exit 0 expected) and
// --verify_store must pass. Exit code 0 when everything held, 1 otherwise.
#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/keygate_client.h"
#include "tests/reliability/calls.h"
#include "tests/reliability/server_process.h"

ABSL_FLAG(std::string, server_binary, "", "Path of keygate-server (required)");
ABSL_FLAG(std::string, work_dir, "",
          "Directory for the data dir and server log (default: a new temp dir, removed on "
          "success)");
ABSL_FLAG(int, cycles, 5, "Kill cycles");
ABSL_FLAG(uint64_t, seed, 0, "Seed of the random delays and operations (0: pick one)");
ABSL_FLAG(int, threads, 4, "Concurrent management client threads");
ABSL_FLAG(int, min_run_ms, 20, "Shortest time between the start of the load and the kill");
ABSL_FLAG(int, max_run_ms, 700, "Longest time between the start of the load and the kill");
ABSL_FLAG(int, sample, 300,
          "Keys not touched in the last cycle checked after each restart (all at the end)");

namespace keygate::reliability {
namespace {

namespace v1 = keygate::v1;

constexpr char kTeam[] = "crash";
constexpr const char* kScopePool[] = {"read", "flows:write", "runs:read", "connections:write"};
// No key of the harness holds a scope that satisfies this.
constexpr char kUngrantedScope[] = "teams:admin";

enum class Expect {
  kActive,   // Authorizes its scopes.
  kRevoked,  // REASON_REVOKED.
  kEither,   // An unacknowledged revoke or rotate: active or revoked.
};

struct TrackedKey {
  std::string key_id;
  std::string token;  // Memory only; never printed.
  std::vector<std::string> scopes;
  Expect expect = Expect::kActive;
  // RotateKey would be (or may be) refused: the key has a successor.
  bool rotated = false;
  // The unacknowledged operation behind kEither: "revoke" or "rotate".
  std::string pending;
  int touched_cycle = 0;  // Last cycle that created or changed it.
};

struct Counters {
  int64_t acked_creates = 0, acked_revokes = 0, acked_rotations = 0, acked_grace_rotations = 0;
  int64_t unacked_creates = 0, unacked_revokes = 0, unacked_rotations = 0;
  int64_t unacked_applied = 0, unacked_not_applied = 0;  // Settled after a restart.
  int64_t authorize_calls = 0, key_checks = 0;

  void Add(const Counters& o) {
    acked_creates += o.acked_creates;
    acked_revokes += o.acked_revokes;
    acked_rotations += o.acked_rotations;
    acked_grace_rotations += o.acked_grace_rotations;
    unacked_creates += o.unacked_creates;
    unacked_revokes += o.unacked_revokes;
    unacked_rotations += o.unacked_rotations;
    unacked_applied += o.unacked_applied;
    unacked_not_applied += o.unacked_not_applied;
    authorize_calls += o.authorize_calls;
    key_checks += o.key_checks;
  }
};

class Harness {
 public:
  Harness(std::string binary, std::string work_dir, uint64_t seed, int threads)
      : binary_(std::move(binary)),
        work_dir_(std::move(work_dir)),
        rng_(seed),
        seed_(seed),
        keys_(threads) {}

  // Runs the cycles and the final checks; true if nothing failed.
  bool Run(int cycles, int min_run_ms, int max_run_ms, int sample) {
    int opened = 0;
    for (cycle_ = 1; cycle_ <= cycles && failures_ == 0; ++cycle_) {
      if (!StartServer()) break;
      ++opened;
      const Counters before = totals_;
      Verify(/*all=*/false, sample);
      if (failures_ > 0) break;
      const int run_ms = std::uniform_int_distribution<int>(min_run_ms, max_run_ms)(rng_);
      RunLoadAndKill(absl::Milliseconds(run_ms));
      std::printf(
          "cycle %d: store opened, in-doubt writes settled: %lld applied, %lld not; killed "
          "after %d ms with +%lld creates +%lld revokes +%lld rotations acknowledged, %lld "
          "calls in flight\n",
          cycle_, static_cast<long long>(totals_.unacked_applied - before.unacked_applied),
          static_cast<long long>(totals_.unacked_not_applied - before.unacked_not_applied), run_ms,
          static_cast<long long>(totals_.acked_creates - before.acked_creates),
          static_cast<long long>(totals_.acked_revokes - before.acked_revokes),
          static_cast<long long>(totals_.acked_rotations + totals_.acked_grace_rotations -
                                 before.acked_rotations - before.acked_grace_rotations),
          static_cast<long long>(totals_.unacked_creates + totals_.unacked_revokes +
                                 totals_.unacked_rotations - before.unacked_creates -
                                 before.unacked_revokes - before.unacked_rotations));
      std::fflush(stdout);
    }
    const int kills = cycle_ - 1;
    if (failures_ == 0 && StartServer()) {
      ++opened;
      Verify(/*all=*/true, 0);
      server_->Signal(SIGTERM);
      if (const int code = server_->Wait(); code != 0) {
        Fail(absl::StrCat("SIGTERM: server exited with ", code, ":\n", Tail(LogPath())));
      }
      const int verify = RunToCompletion(binary_, {"--data_dir=" + DataDir(), "--verify_store"},
                                         work_dir_ + "/verify.log");
      if (verify != 0) {
        Fail(absl::StrCat("--verify_store exited with ", verify, ":\n",
                          Tail(work_dir_ + "/verify.log")));
      }
    }
    size_t keys = 0;
    for (const auto& owned : keys_) keys += owned.size();
    std::printf(
        "\ncrash harness: seed %llu, %d kill -9 cycles, store opened %d/%d times\n"
        "  acknowledged: %lld creates, %lld revokes, %lld rotations (grace 0), %lld rotations "
        "(grace 1h)\n"
        "  unacknowledged (in flight at a kill): %lld creates, %lld revokes, %lld rotations; "
        "settled after restart: %lld applied, %lld not applied\n"
        "  checked: %lld key checks, %lld Authorize calls, %zu keys tracked\n"
        "  failures: %d (acknowledged writes lost or wrong decisions)\n",
        static_cast<unsigned long long>(seed_), kills, opened, kills + 1,
        static_cast<long long>(totals_.acked_creates),
        static_cast<long long>(totals_.acked_revokes),
        static_cast<long long>(totals_.acked_rotations),
        static_cast<long long>(totals_.acked_grace_rotations),
        static_cast<long long>(totals_.unacked_creates),
        static_cast<long long>(totals_.unacked_revokes),
        static_cast<long long>(totals_.unacked_rotations),
        static_cast<long long>(totals_.unacked_applied),
        static_cast<long long>(totals_.unacked_not_applied),
        static_cast<long long>(totals_.key_checks), static_cast<long long>(totals_.authorize_calls),
        keys, failures_.load());
    return failures_ == 0 && opened == kills + 1;
  }

 private:
  std::string DataDir() const { return work_dir_ + "/data"; }
  std::string LogPath() const { return work_dir_ + "/server.log"; }

  void Fail(const std::string& message) {
    if (failures_.fetch_add(1) < 20)
      std::fprintf(stderr, "FAIL (cycle %d): %s\n", cycle_, message.c_str());
  }

  // Starts the server on the data dir; a failure to start is a failure.
  bool StartServer() {
    server_.reset();
    ServerOptions options;
    options.binary = binary_;
    options.data_dir = DataDir();
    options.log_path = LogPath();
    options.flags = {"--shutdown_delay=0s", "--management_threads=8"};
    absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(options);
    if (!server.ok()) {
      Fail(absl::StrCat("the store did not open: ", server.status().message()));
      return false;
    }
    server_ = *std::move(server);
    if (operator_token_.empty()) {
      operator_token_ =
          std::string(absl::StripAsciiWhitespace(ReadFileOrEmpty(DataDir() + "/operator.key")));
    }
    channel_ = ConnectedChannel(server_->address());
    return true;
  }

  // Checks the keys touched in the last cycle and those in doubt, plus
  // `sample` others at random (all of them if `all`).
  void Verify(bool all, int sample) {
    std::vector<TrackedKey*> chosen, rest;
    for (auto& owned : keys_) {
      for (TrackedKey& key : owned) {
        if (all || key.touched_cycle >= cycle_ - 1 || key.expect == Expect::kEither) {
          chosen.push_back(&key);
        } else {
          rest.push_back(&key);
        }
      }
    }
    std::shuffle(rest.begin(), rest.end(), rng_);
    if (rest.size() > static_cast<size_t>(sample)) rest.resize(sample);
    chosen.insert(chosen.end(), rest.begin(), rest.end());

    std::vector<std::thread> threads;
    std::vector<Counters> counters(keys_.size());
    for (size_t t = 0; t < keys_.size(); ++t) {
      threads.emplace_back([&, t] {
        std::unique_ptr<v1::Authorizer::Stub> stub = v1::Authorizer::NewStub(channel_);
        for (size_t i = t; i < chosen.size(); i += keys_.size()) {
          CheckKey(*stub, *chosen[i], counters[t]);
        }
      });
    }
    for (std::thread& t : threads) t.join();
    for (const Counters& c : counters) totals_.Add(c);
  }

  // One Authorize call; a gRPC error is a failure (returns false).
  bool Call(v1::Authorizer::Stub& stub, const TrackedKey& key, const std::string& scope,
            Counters& counters, Answer* answer) {
    ++counters.authorize_calls;
    *answer = AuthorizeOnce(stub, key.token, scope);
    if (answer->ok()) return true;
    Fail(absl::StrCat(key.key_id, ": Authorize failed: ", answer->Describe()));
    return false;
  }

  void CheckKey(v1::Authorizer::Stub& stub, TrackedKey& key, Counters& counters) {
    ++counters.key_checks;
    Answer answer;
    if (key.expect == Expect::kEither) {
      if (!Call(stub, key, key.scopes[0], counters, &answer)) return;
      const bool revoked =
          !answer.response.allowed() && answer.response.reason() == v1::REASON_REVOKED;
      if (!answer.response.allowed() && !revoked) {
        Fail(absl::StrCat(key.key_id, " (unacknowledged ", key.pending,
                          "): expected allowed or REASON_REVOKED, got ", answer.Describe()));
        return;
      }
      ++(revoked ? counters.unacked_applied : counters.unacked_not_applied);
      if (!revoked && key.pending == "rotate") key.rotated = false;
      key.expect = revoked ? Expect::kRevoked : Expect::kActive;
      key.pending.clear();
    }
    if (key.expect == Expect::kRevoked) {
      if (!Call(stub, key, key.scopes[0], counters, &answer)) return;
      if (answer.response.allowed() || answer.response.reason() != v1::REASON_REVOKED) {
        Fail(absl::StrCat(key.key_id, ": acknowledged revoke lost: expected REASON_REVOKED, got ",
                          answer.Describe()));
      }
      return;
    }
    for (const std::string& scope : key.scopes) {
      if (!Call(stub, key, scope, counters, &answer)) return;
      if (!answer.response.allowed() || answer.response.key().key_id() != key.key_id) {
        Fail(absl::StrCat(key.key_id, ": acknowledged key lost or wrong: scope ", scope,
                          " expected allowed, got ", answer.Describe(), " key ",
                          answer.response.key().key_id()));
        return;
      }
    }
    if (!Call(stub, key, kUngrantedScope, counters, &answer)) return;
    if (answer.response.allowed() || answer.response.reason() != v1::REASON_INSUFFICIENT_SCOPE) {
      Fail(absl::StrCat(key.key_id, ": scope ", kUngrantedScope,
                        " expected REASON_INSUFFICIENT_SCOPE, got ", answer.Describe()));
    }
  }

  // Runs the management load for `run`, then SIGKILLs the server.
  void RunLoadAndKill(absl::Duration run) {
    ClientOptions options;
    options.server = server_->address();
    options.api_key = operator_token_;
    options.timeout = absl::Seconds(10);
    const Client client(options, channel_);
    killing_ = false;
    stop_ = false;
    std::vector<std::thread> workers;
    std::vector<Counters> counters(keys_.size());
    for (size_t w = 0; w < keys_.size(); ++w) {
      const uint64_t seed = seed_ ^ (uint64_t(cycle_) << 16) ^ w;
      workers.emplace_back([&, w, seed] { Work(client, keys_[w], seed, counters[w]); });
    }
    absl::SleepFor(run);
    // No call starts after this point: those that fail were in flight.
    killing_ = true;
    stop_ = true;
    server_->Kill();
    for (std::thread& t : workers) t.join();
    for (const Counters& c : counters) totals_.Add(c);
  }

  // One client thread: operations on the keys it owns, until stop_.
  void Work(const Client& client, std::vector<TrackedKey>& owned, uint64_t seed,
            Counters& counters) {
    std::mt19937_64 rng(seed);
    auto pick = [&](auto eligible) -> TrackedKey* {
      std::vector<TrackedKey*> candidates;
      for (TrackedKey& key : owned) {
        if (eligible(key)) candidates.push_back(&key);
      }
      if (candidates.empty()) return nullptr;
      return candidates[std::uniform_int_distribution<size_t>(0, candidates.size() - 1)(rng)];
    };
    // Errors are expected only once the kill has begun.
    auto unexpected = [&](const char* what, const absl::Status& status) {
      if (!killing_)
        Fail(absl::StrCat(what, " failed while the server was up: ", status.ToString()));
    };
    while (!stop_) {
      const int dice = std::uniform_int_distribution<int>(0, 99)(rng);
      if (dice < 25) {  // Revoke.
        TrackedKey* key = pick([](const TrackedKey& k) { return k.expect != Expect::kRevoked; });
        if (key != nullptr) {
          v1::RevokeKeyRequest request;
          request.set_key_id(key->key_id);
          request.set_reason("crash harness");
          const absl::StatusOr<v1::Key> revoked = client.RevokeKey(request);
          key->touched_cycle = cycle_;
          if (revoked.ok()) {
            ++counters.acked_revokes;
            key->expect = Expect::kRevoked;
            key->pending.clear();
          } else {
            unexpected("RevokeKey", revoked.status());
            ++counters.unacked_revokes;
            key->expect = Expect::kEither;
            key->pending = "revoke";
          }
          continue;
        }
      } else if (dice < 50) {  // Rotate.
        TrackedKey* key =
            pick([](const TrackedKey& k) { return k.expect == Expect::kActive && !k.rotated; });
        if (key != nullptr) {
          const bool grace = std::uniform_int_distribution<int>(0, 3)(rng) == 0;
          v1::RotateKeyRequest request;
          request.set_key_id(key->key_id);
          if (grace) request.mutable_grace_period()->set_seconds(3600);
          const absl::StatusOr<v1::RotateKeyResponse> rotated = client.RotateKey(request);
          key->touched_cycle = cycle_;
          key->rotated = true;
          if (rotated.ok()) {
            ++(grace ? counters.acked_grace_rotations : counters.acked_rotations);
            if (!grace) key->expect = Expect::kRevoked;
            TrackedKey successor;
            successor.key_id = rotated->key().key_id();
            successor.token = rotated->token();
            successor.scopes = key->scopes;
            successor.touched_cycle = cycle_;
            owned.push_back(std::move(successor));  // Invalidates `key`.
          } else {
            unexpected("RotateKey", rotated.status());
            ++counters.unacked_rotations;
            // With a grace period the old key works whether or not it applied.
            if (!grace) {
              key->expect = Expect::kEither;
              key->pending = "rotate";
            }
          }
          continue;
        }
      }
      // Create (also when no key qualifies for the chosen operation).
      TrackedKey key;
      std::vector<std::string> pool(std::begin(kScopePool), std::end(kScopePool));
      std::shuffle(pool.begin(), pool.end(), rng);
      key.scopes.assign(pool.begin(), pool.begin() + 1 + (dice % 2));
      v1::CreateKeyRequest request;
      request.set_team_id(kTeam);
      request.set_name(absl::StrCat("crash ", cycle_, "-", owned.size()));
      request.set_environment(v1::ENVIRONMENT_LIVE);
      for (const std::string& scope : key.scopes) request.add_scopes(scope);
      const absl::StatusOr<v1::CreateKeyResponse> created = client.CreateKey(request);
      if (created.ok()) {
        ++counters.acked_creates;
        key.key_id = created->key().key_id();
        key.token = created->token();
        key.touched_cycle = cycle_;
        owned.push_back(std::move(key));
      } else {
        unexpected("CreateKey", created.status());
        ++counters.unacked_creates;
      }
    }
  }

  const std::string binary_;
  const std::string work_dir_;
  std::mt19937_64 rng_;
  const uint64_t seed_;
  int cycle_ = 0;
  std::string operator_token_;
  std::unique_ptr<ServerProcess> server_;
  std::shared_ptr<grpc::Channel> channel_;
  // keys_[w] is owned by client thread w while the load runs.
  std::vector<std::vector<TrackedKey>> keys_;
  Counters totals_;
  std::atomic<int> failures_{0};
  std::atomic<bool> killing_{false};
  std::atomic<bool> stop_{false};
};

}  // namespace
}  // namespace keygate::reliability

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string binary = absl::GetFlag(FLAGS_server_binary);
  if (binary.empty() || absl::GetFlag(FLAGS_cycles) < 1 || absl::GetFlag(FLAGS_threads) < 1 ||
      absl::GetFlag(FLAGS_min_run_ms) > absl::GetFlag(FLAGS_max_run_ms)) {
    std::fprintf(stderr, "usage: keygate-crash-harness --server_binary=PATH [--cycles=N] ...\n");
    return 2;
  }
  uint64_t seed = absl::GetFlag(FLAGS_seed);
  if (seed == 0) seed = std::random_device()() | 1;
  std::string work_dir = absl::GetFlag(FLAGS_work_dir);
  const bool temporary = work_dir.empty();
  if (temporary) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/keygate_crash_XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) return 2;
    work_dir = pattern;
  }
  std::filesystem::create_directories(work_dir);
  std::printf("crash harness: seed %llu, work dir %s\n", static_cast<unsigned long long>(seed),
              work_dir.c_str());
  keygate::reliability::Harness harness(binary, work_dir, seed, absl::GetFlag(FLAGS_threads));
  const bool ok = harness.Run(absl::GetFlag(FLAGS_cycles), absl::GetFlag(FLAGS_min_run_ms),
                              absl::GetFlag(FLAGS_max_run_ms), absl::GetFlag(FLAGS_sample));
  if (ok && temporary) std::filesystem::remove_all(work_dir);
  if (!ok)
    std::printf("FAILED (work dir kept: %s; rerun with --seed=%llu)\n", work_dir.c_str(),
                static_cast<unsigned long long>(seed));
  return ok ? 0 : 1;
}
