// Human (table) and machine (JSON) output of the `keygate` CLI.
#ifndef KEYGATE_CLIENT_CLI_OUTPUT_H_
#define KEYGATE_CLIENT_CLI_OUTPUT_H_

#include <string>
#include <vector>

#include "google/protobuf/message.h"
#include "keygate/v1/key.pb.h"
#include "keygate/v1/key_manager.pb.h"

namespace keygate::cli {

// `message` as JSON with proto field names (snake_case), enums as names.
std::string ToJson(const google::protobuf::Message& message);

// One key as aligned "field: value" lines.
std::string FormatKeyDetails(const keygate::v1::Key& key);

// Keys as a table: KEY ID, NAME, ENV, SCOPES, STATE, PREFIX, CREATED.
std::string FormatKeyTable(const std::vector<keygate::v1::Key>& keys);

// Usage: last use, totals, the non-zero days and the client addresses.
std::string FormatUsage(const keygate::v1::KeyUsage& usage);

// Audit events as a table: TIME, ACTION, OUTCOME, ACTOR, TARGET, PEER, DETAIL.
std::string FormatAuditTable(const std::vector<keygate::v1::AuditEvent>& events);

// "live", "test" or "-".
std::string EnvironmentLabel(keygate::v1::Environment env);
// "active", "revoked", "expired".
std::string StateLabel(keygate::v1::Key::State state);

}  // namespace keygate::cli

#endif  // KEYGATE_CLIENT_CLI_OUTPUT_H_
