// Fuzzes DecodeKeyRecord, which reads stored key records' wire format itself
// (storage/record_decoder.cc), against protobuf's parser of the same format.
//
// Invariants, for arbitrary bytes:
//  - the decoder accepts exactly what protobuf parses into a record with a
//    known environment and known scope levels (stored_record_bytes.proto, so
//    that protobuf's UTF-8 check, which the decoder leaves out, plays no part);
//  - what it accepts, it decodes as protobuf does, field for field;
//  - a refusal is DataLoss;
//  - decoding into a record that held another key leaves nothing of it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/core/key_record.h"
#include "storage/record_codec.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/stored_record_bytes.pb.h"
#include "tests/storage/stored_record_reference.h"

namespace keygate::fuzzing {
namespace {

bool SameRecord(const core::KeyRecord& a, const core::KeyRecord& b) {
  if (a.scopes.size() != b.scopes.size()) return false;
  for (size_t i = 0; i < a.scopes.size(); ++i) {
    if (!(a.scopes[i] == b.scopes[i])) return false;
  }
  return a.key_id == b.key_id && a.team_id == b.team_id && a.name == b.name &&
         a.environment == b.environment && a.display_prefix == b.display_prefix &&
         a.token_hash == b.token_hash && a.create_time == b.create_time &&
         a.expire_time == b.expire_time && a.revoke_time == b.revoke_time &&
         a.revoke_reason == b.revoke_reason && a.created_by == b.created_by &&
         a.is_operator == b.is_operator && a.rotated_from_key_id == b.rotated_from_key_id &&
         a.rotated_to_key_id == b.rotated_to_key_id && a.last_used_time == b.last_used_time;
}

// A record with every field set, to decode into.
core::KeyRecord HeldRecord() {
  core::KeyRecord held;
  held.key_id = "key_held0123456789abcdef";
  held.team_id = "held-team";
  held.name = "a record that must be overwritten";
  held.scopes = {core::Scope{"held", core::Level::kAdmin}};
  held.environment = core::Environment::kTest;
  held.display_prefix = "fs_test_Held";
  held.token_hash = std::string(32, 'h');
  held.expire_time = absl::FromUnixSeconds(1);
  held.revoke_time = absl::FromUnixSeconds(2);
  held.revoke_reason = "held";
  held.created_by = "held";
  held.is_operator = true;
  held.rotated_from_key_id = "held";
  held.rotated_to_key_id = "held";
  held.last_used_time = absl::FromUnixSeconds(3);
  return held;
}

}  // namespace
}  // namespace keygate::fuzzing

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keygate;           // NOLINT
  using namespace keygate::fuzzing;  // NOLINT
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);

  StoredKeyRecordBytes parsed;
  std::optional<core::KeyRecord> expected;
  if (parsed.ParseFromArray(data, static_cast<int>(size))) {
    expected = storage::testing::ReferenceRecord(parsed);
  }

  const absl::StatusOr<core::KeyRecord> decoded = storage::DecodeKeyRecord(bytes);
  FUZZ_CHECK(decoded.ok() == expected.has_value(),
             decoded.ok() ? "the decoder accepted what protobuf refuses"
                          : "the decoder refused what protobuf accepts");
  if (!decoded.ok()) {
    FUZZ_CHECK(absl::IsDataLoss(decoded.status()), "a refusal is DataLoss");
    return 0;
  }
  FUZZ_CHECK(SameRecord(*decoded, *expected), "the decoder reads a field as protobuf does not");

  core::KeyRecord held = HeldRecord();
  FUZZ_CHECK(storage::DecodeKeyRecord(bytes, &held).ok(), "decoding into a record succeeds too");
  FUZZ_CHECK(SameRecord(held, *expected), "decoding into a record overwrites every field");
  return 0;
}
