// keygate: command-line client for a Keygate server.
#include <cstdlib>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/cli/args.h"
#include "client/cli/commands.h"
#include "client/keygate_client.h"
#include "server/core/duration.h"

namespace {

constexpr char kUsage[] = R"(keygate - manage and check Keygate API keys

Usage:
  keygate [--server HOST:PORT] [--json] [--timeout 10s]
          [--tls-ca CA.pem [--tls-cert CERT.pem --tls-key KEY.pem] [--tls-server-name NAME]]
          COMMAND

Commands:
  keys create --team T --name N --scope S [--scope S]... [--env live|test] [--expires 90d|RFC3339]
  keys list   --team T [--all] [--stale] [--env live|test] [--page-size N]
  keys get    KEY_ID
  keys revoke KEY_ID [--reason TEXT]
  keys rotate KEY_ID [--grace 24h]          (the old key keeps working for the grace period)
  keys usage  KEY_ID [--days 30]
  audit       --team T [--key KEY_ID] [--limit 100]
  admin backup                              (operator key: online backup of the store)
  authorize   TOKEN|- --scope S [--env live|test] [--client-ip IP]

Management commands send the admin or operator key in $FLOWSTACK_API_KEY.
--server defaults to $KEYGATE_SERVER or localhost:50051.

Exit codes: 0 success (authorize: allowed), 1 denied, 2 bad usage, 3 call failed.
)";

const std::set<std::string> kValueOptions = {"server", "timeout", "tls-ca", "tls-cert", "tls-key",
                                             "tls-server-name", "team",   "name",
                                             "scope",   "env",     "expires", "reason",
                                             "page-size", "client-ip", "grace",
                                             "days",    "key",     "limit"};
const std::set<std::string> kSwitchOptions = {"json", "all", "stale", "help"};
const std::set<std::string> kGlobalOptions = {"server",   "timeout", "tls-ca",          "tls-cert",
                                              "tls-key",  "json",    "tls-server-name", "help"};

std::set<std::string> With(std::set<std::string> extra) {
  extra.insert(kGlobalOptions.begin(), kGlobalOptions.end());
  return extra;
}

}  // namespace

int main(int argc, char** argv) {
  using keygate::cli::Fail;
  using keygate::cli::kExitUsage;
  const std::vector<std::string> words(argv + 1, argv + argc);
  absl::StatusOr<keygate::cli::Args> args =
      keygate::cli::ParseArgs(words, kValueOptions, kSwitchOptions);
  if (!args.ok()) return Fail(kExitUsage, absl::StrCat(args.status().message(), " (see --help)"));
  if (args->Has("help") || args->positional.empty()) {
    std::cout << kUsage;
    return args->Has("help") ? 0 : kExitUsage;
  }

  keygate::ClientOptions options;
  const char* server_env = std::getenv("KEYGATE_SERVER");
  options.server = args->Value("server", server_env != nullptr ? server_env : "localhost:50051");
  if (const char* key = std::getenv("FLOWSTACK_API_KEY"); key != nullptr) options.api_key = key;
  if (args->Has("timeout")) {
    absl::StatusOr<absl::Duration> timeout = keygate::core::ParseHumanDuration(args->Value("timeout"));
    if (!timeout.ok()) return Fail(kExitUsage, timeout.status().message());
    options.timeout = *timeout;
  }
  options.authorize_timeout = options.timeout;  // A person is waiting, not an API.
  options.tls_ca_file = args->Value("tls-ca");
  options.tls_cert_file = args->Value("tls-cert");
  options.tls_key_file = args->Value("tls-key");
  options.tls_server_name = args->Value("tls-server-name");
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = keygate::CreateKeygateChannel(options);
  if (!channel.ok()) return Fail(kExitUsage, channel.status().message());
  const keygate::Client client(options, *channel);
  const keygate::cli::CommandContext ctx{client, args->Has("json")};

  const std::vector<std::string>& pos = args->positional;
  const bool two_words = pos.size() >= 2 && (pos[0] == "keys" || pos[0] == "admin");
  const std::string command = two_words ? pos[0] + " " + pos[1] : pos[0];
  struct Entry {
    std::set<std::string> options;
    int (*run)(const keygate::cli::CommandContext&, const keygate::cli::Args&);
    bool needs_credential;
  };
  const std::vector<std::pair<std::string, Entry>> commands = {
      {"keys create", {With({"team", "name", "scope", "env", "expires"}), keygate::cli::KeysCreate, true}},
      {"keys list", {With({"team", "all", "stale", "env", "page-size"}), keygate::cli::KeysList, true}},
      {"keys rotate", {With({"grace"}), keygate::cli::KeysRotate, true}},
      {"keys usage", {With({"days"}), keygate::cli::KeysUsage, true}},
      {"audit", {With({"team", "key", "limit"}), keygate::cli::Audit, true}},
      {"admin backup", {With({}), keygate::cli::AdminBackup, true}},
      {"keys get", {With({}), keygate::cli::KeysGet, true}},
      {"keys revoke", {With({"reason"}), keygate::cli::KeysRevoke, true}},
      {"authorize", {With({"scope", "env", "client-ip"}), keygate::cli::Authorize, false}},
  };
  for (const auto& [name, entry] : commands) {
    if (name != command) continue;
    if (absl::Status s = keygate::cli::CheckAllowed(*args, name, entry.options); !s.ok()) {
      return Fail(kExitUsage, s.message());
    }
    if (entry.needs_credential && options.api_key.empty()) {
      return Fail(kExitUsage, "set FLOWSTACK_API_KEY to an admin or operator key");
    }
    return entry.run(ctx, *args);
  }
  return Fail(kExitUsage, absl::StrCat("unknown command '", command, "' (see --help)"));
}
