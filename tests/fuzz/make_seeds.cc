// Writes the seed corpora of the fuzz targets into <dir>/<target>/ (valid
// and edge-case inputs; the preloaded keys' tokens come from FuzzEnv, so
// they match the keys the targets register). The output is committed;
// rerun after changing a request format or FuzzEnv's keys:
//
//   cmake --build build --target keygate_fuzz_seeds
//   build/tests/keygate_fuzz_seeds tests/fuzz/corpus
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "envoy/service/auth/v3/external_auth.pb.h"
#include "keygate/v1/authorizer.pb.h"
#include "keygate/v1/key_manager.pb.h"
#include "storage/record_codec.h"
#include "tests/fuzz/fuzz_env.h"

namespace keygate::fuzzing {
namespace {

namespace authv3 = ::envoy::service::auth::v3;

class SeedWriter {
 public:
  SeedWriter(const std::string& root, const std::string& target) : dir_(root + "/" + target) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  ~SeedWriter() { std::printf("%s: %d seeds\n", dir_.c_str(), count_); }

  void Add(const std::string& name, const std::string& bytes) {
    char prefix[8];
    std::snprintf(prefix, sizeof(prefix), "%03d-", count_++);
    std::ofstream out(dir_ + "/" + prefix + name, std::ios::binary);
    out << bytes;
  }
  void Add(const std::string& name, const google::protobuf::Message& message) {
    Add(name, message.SerializeAsString());
  }

 private:
  const std::string dir_;
  int count_ = 0;
};

void TokenSeeds(const std::string& root, FuzzEnv& env) {
  SeedWriter w(root, "token");
  const std::string admin = env.key(kAcmeAdmin).token;
  w.Add("live", admin);
  w.Add("test", env.key(kAcmeTestAdmin).token);
  w.Add("operator", env.key(kOperator).token);
  w.Add("bearer", "Bearer " + admin);
  w.Add("bearer-tab-trailing", "bearer\t" + admin + "  \r\n");
  w.Add("bearer-upper", "BEARER " + admin);
  w.Add("bearer-twice", "Bearer Bearer " + admin);
  w.Add("bearer-glued", "Bearer" + admin);
  w.Add("long-prefix", FixedToken("k0123456789abcde", core::Environment::kLive, "LongPrefixToken"));
  std::string typo = admin;
  typo[12] = typo[12] == 'x' ? 'y' : 'x';
  w.Add("typo", typo);
  w.Add("truncated", admin.substr(0, admin.size() - 1));
  w.Add("extra-char", admin + "A");
  w.Add("wrong-env", "fs_prod_" + admin.substr(8));
  w.Add("wrong-prefix", "xy" + admin.substr(2));
  w.Add("non-base62", admin.substr(0, 20) + "-" + admin.substr(21));
  w.Add("nul-inside", admin.substr(0, 20) + std::string(1, '\0') + admin.substr(21));
  w.Add("invalid-utf8", admin.substr(0, 20) + "\xc3\x28" + admin.substr(22));
  w.Add("empty", "");
  w.Add("bearer-only", "Bearer");
  w.Add("bearer-space", "Bearer ");
  w.Add("whitespace", " \t\r\n ");
  w.Add("splice", "#");
  w.Add("splice-bearer", "Bearer #");
  w.Add("splice-garbage", "fs_test_#");
  w.Add("generate", "G");
  w.Add("long", std::string(4096, 'a'));
  w.Add("binary", std::string("\x00\xff\xfe\x01\x80", 5));
  w.Add("prefix-only", "fs_live_");
}

void ScopeSeeds(const std::string& root) {
  SeedWriter w(root, "scope");
  for (const char* s : {"read", "write", "admin", "flows:read", "flows:write\nruns:read\nadmin",
                        "a:read", "read:write", ":read", "flows:", "flows:read:write", "FLOWS:read",
                        "flows:READ", "-x:read", "_x:read", "x_y-z:admin", "read\nread\nflows:read",
                        "", "\n\n", "flows :read", "fl\xc3\xb6ws:read", "admin\nflows:write\nflows:read",
                        "0:write\n9-_:read"}) {
    w.Add("scope", s);
  }
  w.Add("resource-64", std::string(64, 'r') + ":read");
  w.Add("resource-65", std::string(65, 'r') + ":read");
  w.Add("nul", std::string("flows\0:read", 11));
}

keygate::v1::AuthorizeRequest Authorize(const std::string& token, const std::string& scope,
                                        keygate::v1::Environment env = keygate::v1::ENVIRONMENT_UNSPECIFIED,
                                        const std::string& client_ip = "") {
  keygate::v1::AuthorizeRequest r;
  r.set_token(token);
  r.set_required_scope(scope);
  r.set_environment(env);
  r.set_client_ip(client_ip);
  return r;
}

void AuthorizeSeeds(const std::string& root, FuzzEnv& env) {
  SeedWriter w(root, "authorize");
  const char* names[] = {"operator", "admin", "read", "write", "flows-write",
                         "test-admin", "revoked", "expired", "globex", "expiring"};
  for (int i = 0; i < kNumKeys; ++i) {
    w.Add(absl::StrCat(names[i], "-read"), Authorize(env.key(KeyIndex(i)).token, "read"));
    w.Add(absl::StrCat(names[i], "-flows-write"),
          Authorize("Bearer " + env.key(KeyIndex(i)).token, "flows:write"));
  }
  const std::string admin = env.key(kAcmeAdmin).token;
  w.Add("live-env", Authorize(admin, "admin", keygate::v1::ENVIRONMENT_LIVE, "203.0.113.7"));
  w.Add("test-env-wrong", Authorize(admin, "read", keygate::v1::ENVIRONMENT_TEST));
  w.Add("test-env", Authorize(env.key(kAcmeTestAdmin).token, "read", keygate::v1::ENVIRONMENT_TEST));
  w.Add("runs-read", Authorize(env.key(kAcmeFlowsWrite).token, "runs:read", keygate::v1::ENVIRONMENT_LIVE,
                               "2001:db8::1"));
  w.Add("runs-write", Authorize(env.key(kAcmeFlowsWrite).token, "runs:write"));
  w.Add("write-admin", Authorize(env.key(kAcmeWrite).token, "admin"));
  w.Add("unknown-env", Authorize(admin, "read", static_cast<keygate::v1::Environment>(7)));
  w.Add("empty-scope", Authorize(admin, ""));
  w.Add("bad-scope", Authorize(admin, "flows:root"));
  w.Add("empty-token", Authorize("", "read"));
  w.Add("splice", Authorize("#", "read"));
  w.Add("splice-bearer", Authorize("Bearer #", "flows:read"));
  std::string typo = admin;
  typo[20] = typo[20] == 'x' ? 'y' : 'x';
  w.Add("typo", Authorize(typo, "read"));
  w.Add("nul-token", Authorize(admin.substr(0, 10) + std::string(1, '\0') + admin.substr(11), "read"));
  w.Add("long-token", Authorize(std::string(2048, 'A'), "read"));
  w.Add("long-client-ip", Authorize(admin, "read", keygate::v1::ENVIRONMENT_UNSPECIFIED,
                                    std::string(300, '9')));
  w.Add("empty-message", std::string());
  w.Add("garbage", std::string("\x0a\xff\xff\xff\xff\x0f", 6));
}

keygate::v1::CreateKeyRequest Create(const std::string& team, const std::string& name,
                                     const std::vector<std::string>& scopes,
                                     keygate::v1::Environment env = keygate::v1::ENVIRONMENT_LIVE) {
  keygate::v1::CreateKeyRequest r;
  r.set_team_id(team);
  r.set_name(name);
  for (const std::string& s : scopes) r.add_scopes(s);
  r.set_environment(env);
  return r;
}

void CreateKeySeeds(const std::string& root, FuzzEnv& env) {
  SeedWriter w(root, "create_key");
  const int64_t now = absl::ToUnixSeconds(env.now());
  w.Add("acme-read", Create("acme", "Production Backend", {"read"}));
  w.Add("acme-test", Create("acme", "CI/CD Pipeline", {"write"}, keygate::v1::ENVIRONMENT_TEST));
  w.Add("globex-admin", Create("globex", "ops", {"admin"}));
  w.Add("resources", Create("acme", "svc", {"flows:write", "runs:read", "flows:write", "read"}));
  auto expiring = Create("acme", "expiring", {"read"});
  expiring.mutable_expire_time()->set_seconds(now + 3600);
  w.Add("expire-future", expiring);
  expiring.mutable_expire_time()->set_seconds(now - 1);
  w.Add("expire-past", expiring);
  expiring.mutable_expire_time()->set_seconds(253402300800);
  w.Add("expire-out-of-range", expiring);
  expiring.mutable_expire_time()->set_seconds(253402300799);
  expiring.mutable_expire_time()->set_nanos(999999999);
  w.Add("expire-max", expiring);
  expiring.mutable_expire_time()->set_nanos(-1);
  w.Add("expire-negative-nanos", expiring);
  std::vector<std::string> many(33, "read");
  w.Add("scopes-33", Create("acme", "many", many));
  many.resize(32);
  for (size_t i = 0; i < many.size(); ++i) many[i] = absl::StrCat("r", i, ":read");
  w.Add("scopes-32", Create("acme", "many", many));
  w.Add("scope-96", Create("acme", "long", {std::string(91, 'r') + ":read"}));
  w.Add("scope-97", Create("acme", "long", {std::string(92, 'r') + ":read"}));
  w.Add("no-scopes", Create("acme", "none", {}));
  w.Add("bad-scope", Create("acme", "bad", {"flows:owner"}));
  w.Add("bad-team", Create("Acme", "x", {"read"}));
  w.Add("team-64", Create(std::string(64, 't'), "x", {"read"}));
  w.Add("team-65", Create(std::string(65, 't'), "x", {"read"}));
  w.Add("team-dash", Create("-acme", "x", {"read"}));
  w.Add("name-control", Create("acme", "a\tb", {"read"}));
  w.Add("name-empty", Create("acme", "", {"read"}));
  w.Add("name-128", Create("acme", std::string(128, 'n'), {"read"}));
  w.Add("name-129", Create("acme", std::string(129, 'n'), {"read"}));
  w.Add("name-utf8", Create("acme", "Zürich \xe2\x9c\x93", {"read"}));
  w.Add("env-unspecified", Create("acme", "x", {"read"}, keygate::v1::ENVIRONMENT_UNSPECIFIED));
  w.Add("env-unknown", Create("acme", "x", {"read"}, static_cast<keygate::v1::Environment>(9)));
  w.Add("empty-message", std::string());
}

authv3::CheckRequest Check(const std::string& method, const std::string& path,
                           const std::string& authorization, const std::string& required_scope = "") {
  authv3::CheckRequest r;
  auto* attributes = r.mutable_attributes();
  auto* http = attributes->mutable_request()->mutable_http();
  http->set_method(method);
  http->set_path(path);
  http->set_host("api.example.com");
  if (!authorization.empty()) (*http->mutable_headers())["authorization"] = authorization;
  if (!required_scope.empty()) (*attributes->mutable_context_extensions())["required_scope"] = required_scope;
  attributes->mutable_source()->mutable_address()->mutable_socket_address()->set_address("198.51.100.4");
  return r;
}

void EnvoySeeds(const std::string& root, FuzzEnv& env) {
  SeedWriter w(root, "envoy_check");
  const std::string admin = "Bearer " + env.key(kAcmeAdmin).token;
  const std::string read = "Bearer " + env.key(kAcmeRead).token;
  const std::string flows = "Bearer " + env.key(kAcmeFlowsWrite).token;
  w.Add("get-flows-read", Check("GET", "/api/v1/flows/42?x=1", read));
  w.Add("post-flows-read", Check("POST", "/api/v1/flows", read));
  w.Add("post-flows-flows", Check("POST", "/api/v1/flows/1", flows));
  w.Add("post-runs-flows", Check("POST", "/api/v1/runs", flows));
  w.Add("admin-route", Check("DELETE", "/api/v1/admin/users", admin));
  w.Add("operator", Check("GET", "/", "Bearer " + env.key(kOperator).token));
  w.Add("revoked", Check("GET", "/", "Bearer " + env.key(kAcmeRevokedAdmin).token));
  w.Add("expired", Check("GET", "/", "Bearer " + env.key(kAcmeExpiredRead).token));
  w.Add("test-key", Check("PUT", "/api/v1/flows", "Bearer " + env.key(kAcmeTestAdmin).token));
  w.Add("extension", Check("GET", "/x", read, "runs:admin"));
  w.Add("extension-bad", Check("GET", "/x", read, "runs:owner"));
  w.Add("no-header", Check("GET", "/api/v1/flows", ""));
  w.Add("basic", Check("GET", "/", "Basic dXNlcjpwYXNz"));
  w.Add("bearer-only", Check("GET", "/", "Bearer"));
  w.Add("bearer-spaces", Check("GET", "/", "Bearer a b"));
  w.Add("bearer-splice", Check("GET", "/", "Bearer #"));
  w.Add("unknown-token", Check("GET", "/", "bearer  #  "));
  w.Add("dot-segments", Check("GET", "/api/v1/../v1/admin", admin));
  auto upper = Check("GET", "/api/v1/flows", "");
  (*upper.mutable_attributes()->mutable_request()->mutable_http()->mutable_headers())["Authorization"] = read;
  w.Add("upper-case-key", upper);
  auto raw = Check("GET", "/api/v1/flows", "");
  auto* map = raw.mutable_attributes()->mutable_request()->mutable_http()->mutable_header_map();
  auto* h1 = map->add_headers();
  h1->set_key("authorization");
  h1->set_raw_value(read);
  auto* h2 = map->add_headers();
  h2->set_key("Authorization");
  h2->set_value("Bearer #");
  w.Add("raw-headers-repeated", raw);
  auto single_raw = Check("GET", "/api/v1/flows", "");
  auto* h3 = single_raw.mutable_attributes()->mutable_request()->mutable_http()->mutable_header_map()->add_headers();
  h3->set_key("authorization");
  h3->set_raw_value(std::string("Bearer \xff\xfe", 9));
  w.Add("raw-header-binary", single_raw);
  w.Add("empty-message", std::string());
}

void RecordDecoderSeeds(const std::string& root) {
  SeedWriter w(root, "record_decoder");
  core::KeyRecord record;
  record.key_id = "key_0123456789abcdefABCD";
  record.team_id = "team-a";
  record.name = "CI/CD pipeline";
  record.scopes = {core::Scope{"flows", core::Level::kWrite}, core::Scope{"", core::Level::kRead}};
  record.environment = core::Environment::kLive;
  record.display_prefix = "fs_live_AbCd";
  record.token_hash = std::string(32, '\x5a');
  record.create_time = absl::FromUnixMicros(1'800'000'000'123'456);
  record.created_by = core::kCreatedByBootstrap;
  const std::string active = storage::EncodeKeyRecord(record);
  w.Add("active", active);
  record.revoke_time = record.create_time + absl::Hours(1);
  record.revoke_reason = "leaked";
  record.expire_time = record.create_time + absl::Hours(24);
  record.rotated_to_key_id = "key_to0123456789abcdefgh";
  record.environment = core::Environment::kTest;
  record.is_operator = true;
  const std::string revoked = storage::EncodeKeyRecord(record);
  w.Add("revoked-expiring-operator", revoked);
  w.Add("concatenated", active + revoked);
  // Unknown fields: varint, fixed64, length-delimited, a group, fixed32.
  w.Add("unknown-fields", active + std::string("\xa0\x06\x01\xa9\x06" "12345678" "\xb2\x06\x02hi"
                                               "\xbb\x06\x08\x01\xbc\x06\xc5\x06" "1234", 30));
  w.Add("key-id-as-varint", active + std::string("\x08\x05", 2));
  w.Add("truncated", active.substr(0, active.size() / 2));
  w.Add("empty", "");
}

}  // namespace
}  // namespace keygate::fuzzing

int main(int argc, char** argv) {
  using namespace keygate::fuzzing;  // NOLINT
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus root, e.g. tests/fuzz/corpus>\n", argv[0]);
    return 2;
  }
  FuzzEnv& env = FuzzEnv::Get();
  TokenSeeds(argv[1], env);
  ScopeSeeds(argv[1]);
  AuthorizeSeeds(argv[1], env);
  CreateKeySeeds(argv[1], env);
  EnvoySeeds(argv[1], env);
  RecordDecoderSeeds(argv[1]);
  return 0;
}
