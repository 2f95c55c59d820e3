// The `keygate` CLI's commands. Each prints its result on stdout (a table,
// or JSON with --json), a one-line reason on stderr when it fails, and
// returns the process exit code.
#ifndef KEYGATE_CLIENT_CLI_COMMANDS_H_
#define KEYGATE_CLIENT_CLI_COMMANDS_H_

#include "client/cli/args.h"
#include "client/keygate_client.h"

namespace keygate::cli {

// Exit codes.
inline constexpr int kExitOk = 0;        // Success; for `authorize`: allowed.
inline constexpr int kExitDenied = 1;    // `authorize` answered "denied".
inline constexpr int kExitUsage = 2;     // Bad command line.
inline constexpr int kExitError = 3;     // The call failed (see stderr).

struct CommandContext {
  const Client& client;
  bool json = false;
};

int KeysCreate(const CommandContext& ctx, const Args& args);
int KeysList(const CommandContext& ctx, const Args& args);
int KeysGet(const CommandContext& ctx, const Args& args);
int KeysRevoke(const CommandContext& ctx, const Args& args);
int KeysRotate(const CommandContext& ctx, const Args& args);
int KeysUsage(const CommandContext& ctx, const Args& args);
int Audit(const CommandContext& ctx, const Args& args);
int AdminBackup(const CommandContext& ctx, const Args& args);
int Authorize(const CommandContext& ctx, const Args& args);

// Prints "keygate: <message>" on stderr and returns `code`.
int Fail(int code, absl::string_view message);

}  // namespace keygate::cli

#endif  // KEYGATE_CLIENT_CLI_COMMANDS_H_
