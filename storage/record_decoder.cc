// DecodeKeyRecord (declared in record_codec.h): reads a StoredKeyRecord's
// wire format (key_record.proto) straight into a core::KeyRecord.
//
// Every key-cache miss of Authorize decodes one record. Protobuf's generated
// parser builds a StoredKeyRecord first (an allocation per string, then a
// move into the record and the message's destructor): ~7,000 instructions of
// a ~18,500-instruction miss. Reading the fields with protobuf's
// CodedInputStream into the record directly allocates each string once, in
// place, and builds nothing else.
//
// It accepts what protobuf's parser accepts, with the same meaning: fields in
// any order, the last value of a repeated singular field wins, scopes append,
// fields of unknown numbers or of unexpected wire types are skipped (groups
// included). Two differences, both on bytes Keygate never writes: text
// fields are not checked to be UTF-8 (they were when the key was created, and
// RocksDB's block checksums catch corrupted bytes), and groups nest at most
// kMaxGroupDepth deep. tests/fuzz/record_decoder_fuzzer.cc checks the
// decoder against protobuf's parser.
#include <climits>
#include <cstdint>
#include <string>

#include "google/protobuf/io/coded_stream.h"
#include "storage/record_codec.h"

namespace keygate::storage {
namespace {

using google::protobuf::io::CodedInputStream;

enum WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

constexpr uint32_t Tag(uint32_t field, WireType type) { return field << 3 | type; }

constexpr int kMaxGroupDepth = 100;  // Protobuf's default recursion limit.

constexpr int kMaxVarint32Bytes = 5;  // Protobuf refuses longer tags and lengths.

// Reads a field's tag; 0 if the bytes end, or the tag is malformed, longer
// than protobuf allows or of field number 0.
uint32_t ReadTag(CodedInputStream* in) {
  const int start = in->CurrentPosition();
  const uint32_t tag = in->ReadTag();
  return in->CurrentPosition() - start > kMaxVarint32Bytes || tag >> 3 == 0 ? 0 : tag;
}

// Reads a length of a length-delimited field (under 2 GiB, at most 5 bytes).
bool ReadSize(CodedInputStream* in, int* size) {
  const int start = in->CurrentPosition();
  uint32_t value;
  if (!in->ReadVarint32(&value) || in->CurrentPosition() - start > kMaxVarint32Bytes ||
      value > INT_MAX) {
    return false;
  }
  *size = static_cast<int>(value);
  return true;
}

// Skips the value of a field with `tag` (an unknown field). False if the bytes
// end early or the wire type is invalid.
bool SkipField(CodedInputStream* in, uint32_t tag, int depth = 0) {
  switch (tag & 7) {
    case kVarint: {
      uint64_t ignored;
      return in->ReadVarint64(&ignored);
    }
    case kFixed64:
      return in->Skip(8);
    case kLengthDelimited: {
      int size;
      return ReadSize(in, &size) && in->Skip(size);
    }
    case kStartGroup: {
      if (depth >= kMaxGroupDepth) return false;
      const uint32_t end = (tag & ~7u) | kEndGroup;
      while (true) {
        const uint32_t inner = ReadTag(in);
        if (inner == end) return true;
        if (inner == 0 || !SkipField(in, inner, depth + 1)) return false;
      }
    }
    case kFixed32:
      return in->Skip(4);
    default:  // An end group without its start, or wire types 6 and 7.
      return false;
  }
}

bool ReadString(CodedInputStream* in, std::string* out) {
  int size;
  return ReadSize(in, &size) && in->ReadString(out, size);
}

bool ReadInt32(CodedInputStream* in, int32_t* out) {
  uint64_t v;  // Protobuf reads an int32 as a 64-bit varint and truncates it.
  if (!in->ReadVarint64(&v)) return false;
  *out = static_cast<int32_t>(v);
  return true;
}

bool ReadInt64(CodedInputStream* in, int64_t* out) {
  uint64_t v;
  if (!in->ReadVarint64(&v)) return false;
  *out = static_cast<int64_t>(v);
  return true;
}

bool IsKnownLevel(int32_t level) {
  return level >= static_cast<int32_t>(core::Level::kRead) &&
         level <= static_cast<int32_t>(core::Level::kAdmin);
}

// Reads one length-delimited StoredScope into `scope`; false if malformed or
// its level is unknown.
bool ReadScope(CodedInputStream* in, core::Scope* scope) {
  int size;
  // PushLimit never extends the current limit (the record's end), so a scope
  // longer than what is left must be refused here.
  if (!ReadSize(in, &size) || size > in->BytesUntilLimit()) return false;
  const CodedInputStream::Limit limit = in->PushLimit(size);
  int32_t level = 0;
  bool ok = true;
  while (ok && in->BytesUntilLimit() > 0) {
    const uint32_t tag = ReadTag(in);
    switch (tag) {
      case Tag(1, kLengthDelimited):
        ok = ReadString(in, &scope->resource);
        break;
      case Tag(2, kVarint):
        ok = ReadInt32(in, &level);
        break;
      default:
        ok = tag != 0 && SkipField(in, tag, /*depth=*/1);
    }
  }
  in->PopLimit(limit);
  scope->level = static_cast<core::Level>(level);
  return ok && IsKnownLevel(level);
}

absl::Status Malformed() { return absl::DataLossError("stored key record does not parse"); }

}  // namespace

absl::Status DecodeKeyRecord(absl::string_view bytes, core::KeyRecord* record) {
  if (bytes.size() > INT_MAX) return Malformed();
  *record = core::KeyRecord();
  CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  int32_t environment = 0;
  int64_t create_us = 0;
  int64_t expire_us = 0;
  int64_t revoke_us = 0;
  while (in.CurrentPosition() < static_cast<int>(bytes.size())) {
    const uint32_t tag = ReadTag(&in);
    bool ok;
    switch (tag) {
      case Tag(1, kLengthDelimited):
        ok = ReadString(&in, &record->key_id);
        break;
      case Tag(2, kLengthDelimited):
        ok = ReadString(&in, &record->team_id);
        break;
      case Tag(3, kLengthDelimited):
        ok = ReadString(&in, &record->name);
        break;
      case Tag(4, kLengthDelimited):
        if (!ReadScope(&in, &record->scopes.emplace_back())) {
          return absl::DataLossError("stored key record has a malformed scope or an unknown level");
        }
        ok = true;
        break;
      case Tag(5, kVarint):
        ok = ReadInt32(&in, &environment);
        break;
      case Tag(6, kLengthDelimited):
        ok = ReadString(&in, &record->display_prefix);
        break;
      case Tag(7, kLengthDelimited):
        ok = ReadString(&in, &record->token_hash);
        break;
      case Tag(8, kVarint):
        ok = ReadInt64(&in, &create_us);
        break;
      case Tag(9, kVarint):
        ok = ReadInt64(&in, &expire_us);
        break;
      case Tag(10, kVarint):
        ok = ReadInt64(&in, &revoke_us);
        break;
      case Tag(11, kLengthDelimited):
        ok = ReadString(&in, &record->revoke_reason);
        break;
      case Tag(12, kLengthDelimited):
        ok = ReadString(&in, &record->created_by);
        break;
      case Tag(13, kVarint): {
        uint64_t v = 0;
        ok = in.ReadVarint64(&v);
        record->is_operator = v != 0;
        break;
      }
      case Tag(14, kLengthDelimited):
        ok = ReadString(&in, &record->rotated_from_key_id);
        break;
      case Tag(15, kLengthDelimited):
        ok = ReadString(&in, &record->rotated_to_key_id);
        break;
      default:
        ok = tag != 0 && SkipField(&in, tag);
    }
    if (!ok) return Malformed();
  }
  if (environment != static_cast<int32_t>(core::Environment::kLive) &&
      environment != static_cast<int32_t>(core::Environment::kTest)) {
    return absl::DataLossError("stored key record has an unknown environment");
  }
  record->environment = static_cast<core::Environment>(environment);
  record->create_time = absl::FromUnixMicros(create_us);
  record->expire_time = FromStoredMicros(expire_us);
  record->revoke_time = FromStoredMicros(revoke_us);
  return absl::OkStatus();
}

}  // namespace keygate::storage
