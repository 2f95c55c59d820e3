// The authorization matrix (issue 7, item 6): every KeyManager RPC against
// every kind of management credential, through a real server, with the
// exact gRPC code each cell must answer. Expectations come from the
// contract (/work/shared/design/contract.md, "service KeyManager") and
// docs/api.md:
//  - none, malformed, unknown, revoked or expired credential: UNAUTHENTICATED;
//  - a valid key without the unrestricted admin scope (read, write, or
//    admin of resources only): PERMISSION_DENIED;
//  - an admin of another team: NOT_FOUND for a key id of this team
//    (existence is not leaked), PERMISSION_DENIED for this team's
//    CreateKey/ListKeys/ListAuditEvents;
//  - a test-environment admin on a live key (or the live listing):
//    PERMISSION_DENIED (a test key never manages live keys);
//  - the team's live admin and the operator: OK, except CreateBackup
//    (a backup holds every team's keys), which is for operators only.
// Every key-id cell acts on a fresh live key of team acme, so that Revoke
// and Rotate cells do not depend on each other. The matrix is printed.
#include <chrono>
#include <cstdint>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "keygate/v1/key_manager.grpc.pb.h"
#include "server/core/token.h"
#include "tests/server/server_fixture.h"

namespace keygate::testing {
namespace {

using ::grpc::StatusCode;

enum class Credential {
  kNone,
  kMalformed,
  kUnknown,
  kRevokedAdmin,
  kExpiredAdmin,
  kRead,
  kWrite,
  kResourceAdmin,
  kOtherTeamAdmin,
  kTestAdminOnLive,
  kTeamAdmin,
  kOperator,
};

enum class Rpc {
  kCreateKey,
  kGetKey,
  kListKeys,
  kRevokeKey,
  kRotateKey,
  kGetKeyUsage,
  kListAuditEvents,
  kCreateBackup,
};

const std::vector<std::pair<Credential, const char*>>& Credentials() {
  static const auto* kAll = new std::vector<std::pair<Credential, const char*>>{
      {Credential::kNone, "none"},
      {Credential::kMalformed, "malformed"},
      {Credential::kUnknown, "unknown"},
      {Credential::kRevokedAdmin, "revoked admin"},
      {Credential::kExpiredAdmin, "expired admin"},
      {Credential::kRead, "read key"},
      {Credential::kWrite, "write key"},
      {Credential::kResourceAdmin, "flows:admin key"},
      {Credential::kOtherTeamAdmin, "other-team admin"},
      {Credential::kTestAdminOnLive, "test admin, live key"},
      {Credential::kTeamAdmin, "team admin"},
      {Credential::kOperator, "operator"},
  };
  return *kAll;
}

const std::vector<std::pair<Rpc, const char*>>& Rpcs() {
  static const auto* kAll = new std::vector<std::pair<Rpc, const char*>>{
      {Rpc::kCreateKey, "CreateKey"},     {Rpc::kGetKey, "GetKey"},
      {Rpc::kListKeys, "ListKeys"},       {Rpc::kRevokeKey, "RevokeKey"},
      {Rpc::kRotateKey, "RotateKey"},     {Rpc::kGetKeyUsage, "GetKeyUsage"},
      {Rpc::kListAuditEvents, "ListAuditEvents"}, {Rpc::kCreateBackup, "CreateBackup"},
  };
  return *kAll;
}

bool IsKeyIdRpc(Rpc rpc) {
  return rpc != Rpc::kCreateKey && rpc != Rpc::kListKeys && rpc != Rpc::kListAuditEvents &&
         rpc != Rpc::kCreateBackup;
}

// The code the contract requires for one cell.
StatusCode Expected(Credential credential, Rpc rpc) {
  switch (credential) {
    case Credential::kNone:
    case Credential::kMalformed:
    case Credential::kUnknown:
    case Credential::kRevokedAdmin:
    case Credential::kExpiredAdmin:
      return StatusCode::UNAUTHENTICATED;
    case Credential::kRead:
    case Credential::kWrite:
    case Credential::kResourceAdmin:  // Management needs the unrestricted `admin`.
      return StatusCode::PERMISSION_DENIED;
    case Credential::kOtherTeamAdmin:
      return IsKeyIdRpc(rpc) ? StatusCode::NOT_FOUND : StatusCode::PERMISSION_DENIED;
    case Credential::kTestAdminOnLive:
      return StatusCode::PERMISSION_DENIED;
    case Credential::kTeamAdmin:
      // Backups hold every team's keys: operators only.
      return rpc == Rpc::kCreateBackup ? StatusCode::PERMISSION_DENIED : StatusCode::OK;
    case Credential::kOperator:
      return StatusCode::OK;
  }
  return StatusCode::UNKNOWN;
}

// Cells where the server is known to deviate from the contract, with the
// code it answers today. Such a cell passes with either code and is flagged
// in the printed matrix; remove the entry once the server is fixed. None at
// present.
const std::map<std::pair<Credential, Rpc>, StatusCode>& KnownDeviations() {
  static const auto* kKnown = new std::map<std::pair<Credential, Rpc>, StatusCode>{
  };
  return *kKnown;
}

const char* ShortName(StatusCode code) {
  switch (code) {
    case StatusCode::OK:
      return "OK";
    case StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    default:
      return "OTHER";
  }
}

class AuthorizationMatrixTest : public ServerFixture {
 protected:
  void SetUp() override {
    // This test makes ~40 failed authentications from 127.0.0.1 on purpose
    // and the fake clock does not move: raise the failed-authentication
    // throttle's burst so it does not turn later cells into
    // RESOURCE_EXHAUSTED (the throttle has its own tests).
    policy_.auth_failure_burst = 100000;
    policy_.backup_dir = dir_.path() + "/backups";
    ServerFixture::SetUp();
    if (HasFatalFailure()) return;
    stub_ = keygate::v1::KeyManager::NewStub(channel_);

    team_admin_ = MustCreate("acme", {"admin"}).token();
    read_ = MustCreate("acme", {"read"}).token();
    write_ = MustCreate("acme", {"write"}).token();
    resource_admin_ = MustCreate("acme", {"flows:admin", "runs:admin"}).token();
    other_team_admin_ = MustCreate("globex", {"admin"}).token();
    test_admin_ = MustCreate("acme", {"admin"}, keygate::v1::ENVIRONMENT_TEST).token();

    const keygate::v1::CreateKeyResponse revoked = MustCreate("acme", {"admin"});
    revoked_admin_ = revoked.token();
    keygate::v1::RevokeKeyRequest revoke;
    revoke.set_key_id(revoked.key().key_id());
    ASSERT_TRUE(Operator().RevokeKey(revoke).ok());

    keygate::v1::CreateKeyRequest expiring;
    expiring.set_team_id("acme");
    expiring.set_name("expiring admin");
    expiring.add_scopes("admin");
    expiring.set_environment(keygate::v1::ENVIRONMENT_LIVE);
    expiring.mutable_expire_time()->set_seconds(absl::ToUnixSeconds(clock_.Now()) + 60);
    absl::StatusOr<keygate::v1::CreateKeyResponse> expired = Operator().CreateKey(expiring);
    ASSERT_TRUE(expired.ok()) << expired.status();
    expired_admin_ = expired->token();
    clock_.Advance(absl::Minutes(2));

    absl::StatusOr<core::TokenFormat> format = core::TokenFormat::Create("fs");
    ASSERT_TRUE(format.ok());
    unknown_ = format->Generate(core::Environment::kLive);
    // Right prefix and length, wrong checksum.
    malformed_ = unknown_;
    malformed_.back() = malformed_.back() == 'A' ? 'B' : 'A';
  }

  // The `authorization` metadata value of `credential`; nullopt: none sent.
  std::optional<std::string> Authorization(Credential credential) const {
    switch (credential) {
      case Credential::kNone:
        return std::nullopt;
      case Credential::kMalformed:
        return "Bearer " + malformed_;
      case Credential::kUnknown:
        return "Bearer " + unknown_;
      case Credential::kRevokedAdmin:
        return "Bearer " + revoked_admin_;
      case Credential::kExpiredAdmin:
        return "Bearer " + expired_admin_;
      case Credential::kRead:
        return "Bearer " + read_;
      case Credential::kWrite:
        return "Bearer " + write_;
      case Credential::kResourceAdmin:
        return "Bearer " + resource_admin_;
      case Credential::kOtherTeamAdmin:
        return "Bearer " + other_team_admin_;
      case Credential::kTestAdminOnLive:
        return "Bearer " + test_admin_;
      case Credential::kTeamAdmin:
        return "Bearer " + team_admin_;
      case Credential::kOperator:
        return "Bearer " + operator_token_;
    }
    return std::nullopt;
  }

  // Calls `rpc` with `credential` on a fresh live key of team acme.
  grpc::Status Call(Credential credential, Rpc rpc) {
    const std::string target = MustCreate("acme", {"read"}, keygate::v1::ENVIRONMENT_LIVE,
                                          "matrix target").key().key_id();
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (const auto value = Authorization(credential); value.has_value()) {
      context.AddMetadata("authorization", *value);
    }
    switch (rpc) {
      case Rpc::kCreateKey: {
        keygate::v1::CreateKeyRequest request;
        request.set_team_id("acme");
        request.set_name("matrix");
        request.add_scopes("read");
        request.set_environment(keygate::v1::ENVIRONMENT_LIVE);
        keygate::v1::CreateKeyResponse response;
        return stub_->CreateKey(&context, request, &response);
      }
      case Rpc::kGetKey: {
        keygate::v1::GetKeyRequest request;
        request.set_key_id(target);
        keygate::v1::Key response;
        return stub_->GetKey(&context, request, &response);
      }
      case Rpc::kListKeys: {
        keygate::v1::ListKeysRequest request;
        request.set_team_id("acme");
        request.set_environment(keygate::v1::ENVIRONMENT_LIVE);
        keygate::v1::ListKeysResponse response;
        return stub_->ListKeys(&context, request, &response);
      }
      case Rpc::kRevokeKey: {
        keygate::v1::RevokeKeyRequest request;
        request.set_key_id(target);
        request.set_reason("matrix");
        keygate::v1::Key response;
        return stub_->RevokeKey(&context, request, &response);
      }
      case Rpc::kRotateKey: {
        keygate::v1::RotateKeyRequest request;
        request.set_key_id(target);
        keygate::v1::RotateKeyResponse response;
        return stub_->RotateKey(&context, request, &response);
      }
      case Rpc::kGetKeyUsage: {
        keygate::v1::GetKeyUsageRequest request;
        request.set_key_id(target);
        keygate::v1::KeyUsage response;
        return stub_->GetKeyUsage(&context, request, &response);
      }
      case Rpc::kListAuditEvents: {
        keygate::v1::ListAuditEventsRequest request;
        request.set_team_id("acme");
        request.set_key_id(target);
        keygate::v1::ListAuditEventsResponse response;
        return stub_->ListAuditEvents(&context, request, &response);
      }
      case Rpc::kCreateBackup: {
        keygate::v1::CreateBackupRequest request;
        keygate::v1::Backup response;
        return stub_->CreateBackup(&context, request, &response);
      }
    }
    return grpc::Status(StatusCode::UNKNOWN, "no such rpc");
  }

  std::unique_ptr<keygate::v1::KeyManager::Stub> stub_;
  std::string team_admin_, read_, write_, resource_admin_, other_team_admin_, test_admin_;
  std::string revoked_admin_, expired_admin_, unknown_, malformed_;
};

TEST_F(AuthorizationMatrixTest, EveryRpcAgainstEveryCredential) {
  std::string table = absl::StrFormat("%-22s", "credential \\ rpc");
  for (const auto& [rpc, name] : Rpcs()) table += absl::StrFormat(" %-18s", name);
  table += "\n";
  int passed = 0, deviations = 0, cells = 0;
  for (const auto& [credential, credential_name] : Credentials()) {
    table += absl::StrFormat("%-22s", credential_name);
    for (const auto& [rpc, rpc_name] : Rpcs()) {
      ++cells;
      const grpc::Status status = Call(credential, rpc);
      const StatusCode expected = Expected(credential, rpc);
      const auto known = KnownDeviations().find({credential, rpc});
      std::string cell = ShortName(status.error_code());
      if (status.error_code() == expected) {
        ++passed;
      } else if (known != KnownDeviations().end() && status.error_code() == known->second) {
        ++deviations;
        cell = absl::StrCat(cell, "(!)");
      } else {
        cell = absl::StrCat(cell, "(want ", ShortName(expected), ")");
        ADD_FAILURE() << credential_name << " x " << rpc_name << ": got "
                      << ShortName(status.error_code()) << " (" << status.error_message()
                      << "), want " << ShortName(expected);
      }
      table += absl::StrFormat(" %-18s", cell);
      // A refused call never carries a credential back.
      if (const auto value = Authorization(credential); value.has_value()) {
        EXPECT_EQ(status.error_message().find(value->substr(7)), std::string::npos)
            << credential_name << " x " << rpc_name << " echoes the credential";
      }
    }
    table += "\n";
  }
  std::cout << "\nAuthorization matrix (" << cells << " cells: " << passed << " as the contract says, "
            << deviations << " known deviation(s) marked (!), "
            << (cells - passed - deviations) << " failing):\n"
            << table << std::endl;
}

// The key id of another team's key answers exactly like a key id that does
// not exist, in code and message, so that existence is not leaked.
TEST_F(AuthorizationMatrixTest, OtherTeamKeyIsIndistinguishableFromMissingKey) {
  const std::string acme_key = MustCreate("acme", {"read"}).key().key_id();
  const std::string missing = "key_" + std::string(20, 'Z');
  for (const std::string& key_id : {acme_key, missing}) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + other_team_admin_);
    keygate::v1::GetKeyRequest request;
    request.set_key_id(key_id);
    keygate::v1::Key response;
    const grpc::Status status = stub_->GetKey(&context, request, &response);
    EXPECT_EQ(status.error_code(), StatusCode::NOT_FOUND) << key_id;
    EXPECT_EQ(status.error_message(), "no key with this key_id") << key_id;
  }
}

// An admin cannot read another team's events about a key by naming its own
// team with the other team's key id.
TEST_F(AuthorizationMatrixTest, AuditTrailByKeyIdStaysWithinTheTeam) {
  const std::string acme_key = MustCreate("acme", {"read"}).key().key_id();
  keygate::v1::RevokeKeyRequest revoke;
  revoke.set_key_id(acme_key);
  ASSERT_TRUE(Operator().RevokeKey(revoke).ok());

  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + other_team_admin_);
  keygate::v1::ListAuditEventsRequest request;
  request.set_team_id("globex");
  request.set_key_id(acme_key);
  keygate::v1::ListAuditEventsResponse response;
  const grpc::Status status = stub_->ListAuditEvents(&context, request, &response);
  // Another team's key id answers exactly like one that does not exist.
  EXPECT_EQ(status.error_code(), StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_EQ(response.events_size(), 0);

  grpc::ClientContext missing_context;
  missing_context.AddMetadata("authorization", "Bearer " + other_team_admin_);
  request.set_key_id("key_" + std::string(20, 'Z'));
  const grpc::Status missing = stub_->ListAuditEvents(&missing_context, request, &response);
  EXPECT_EQ(missing.error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(missing.error_message(), status.error_message());
}

// A caller without a valid credential learns nothing about input rules: a
// request whose enum, timestamp or duration field is out of range is
// UNAUTHENTICATED for it, and INVALID_ARGUMENT only for an authenticated
// caller.
TEST_F(AuthorizationMatrixTest, BadInputFromUnauthenticatedCallers) {
  struct Case {
    const char* what;
    std::function<grpc::Status(grpc::ClientContext*)> call;
  };
  const std::vector<Case> cases = {
      {"CreateKey, environment 7",
       [&](grpc::ClientContext* context) {
         keygate::v1::CreateKeyRequest request;
         request.set_team_id("acme");
         request.set_name("x");
         request.add_scopes("read");
         request.set_environment(static_cast<keygate::v1::Environment>(7));
         keygate::v1::CreateKeyResponse response;
         return stub_->CreateKey(context, request, &response);
       }},
      {"CreateKey, expire_time out of range",
       [&](grpc::ClientContext* context) {
         keygate::v1::CreateKeyRequest request;
         request.set_team_id("acme");
         request.set_name("x");
         request.add_scopes("read");
         request.set_environment(keygate::v1::ENVIRONMENT_LIVE);
         request.mutable_expire_time()->set_seconds(-(int64_t{1} << 60));
         keygate::v1::CreateKeyResponse response;
         return stub_->CreateKey(context, request, &response);
       }},
      {"ListKeys, environment 7",
       [&](grpc::ClientContext* context) {
         keygate::v1::ListKeysRequest request;
         request.set_team_id("acme");
         request.set_environment(static_cast<keygate::v1::Environment>(7));
         keygate::v1::ListKeysResponse response;
         return stub_->ListKeys(context, request, &response);
       }},
      {"RotateKey, malformed grace_period",
       [&](grpc::ClientContext* context) {
         keygate::v1::RotateKeyRequest request;
         request.set_key_id("key_" + std::string(20, 'Z'));
         request.mutable_grace_period()->set_seconds(1);
         request.mutable_grace_period()->set_nanos(-1);
         keygate::v1::RotateKeyResponse response;
         return stub_->RotateKey(context, request, &response);
       }},
  };
  for (const Case& c : cases) {
    for (const std::optional<std::string>& credential :
         {std::optional<std::string>(), std::optional<std::string>("Bearer " + unknown_)}) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      if (credential.has_value()) context.AddMetadata("authorization", *credential);
      const grpc::Status status = c.call(&context);
      EXPECT_EQ(status.error_code(), StatusCode::UNAUTHENTICATED)
          << c.what << ": " << status.error_message();
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    context.AddMetadata("authorization", "Bearer " + operator_token_);
    const grpc::Status status = c.call(&context);
    EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT)
        << c.what << ": " << status.error_message();
  }
}

}  // namespace
}  // namespace keygate::testing
