// The low-level SHA256_* functions (deprecated by OpenSSL 3) need no
// provider fetch: a store closed from a static destructor, after OpenSSL's
// own exit handler has run, can still save its snapshot.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "storage/cache_snapshot.h"

#include <fcntl.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iterator>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "storage/file_io.h"
#include "storage/record_codec.h"

namespace keygate::storage {
namespace {

constexpr char kFileName[] = "keygate_key_cache";
constexpr char kMagic[] = "keygate-key-cache 1";
constexpr size_t kDigestBytes = SHA256_DIGEST_LENGTH;

std::string Digest(absl::string_view data) {
  unsigned char digest[kDigestBytes];
  SHA256_CTX context;
  SHA256_Init(&context);
  SHA256_Update(&context, data.data(), data.size());
  SHA256_Final(digest, &context);
  return std::string(reinterpret_cast<const char*>(digest), kDigestBytes);
}

void AppendLength(uint32_t n, std::string* out) {
  for (int shift = 0; shift < 32; shift += 8) out->push_back(static_cast<char>((n >> shift) & 0xff));
}

uint32_t LoadLength(const char* p) {
  uint32_t n = 0;
  for (int i = 3; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(p[i]);
  return n;
}

absl::Status Damaged(const std::string& path, absl::string_view why) {
  return absl::DataLossError(absl::StrCat("key cache snapshot ", path, " ignored: ", why));
}

// Parses the records of an intact, correctly stamped `body`.
absl::StatusOr<std::vector<core::KeyRecord>> ParseRecords(absl::string_view body, size_t count,
                                                          const std::string& path) {
  std::vector<core::KeyRecord> records;
  records.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    if (body.size() < 4) return Damaged(path, "truncated");
    const uint32_t length = LoadLength(body.data());
    body.remove_prefix(4);
    if (body.size() < length) return Damaged(path, "truncated");
    absl::StatusOr<core::KeyRecord> record = DecodeKeyRecord(body.substr(0, length));
    if (!record.ok()) return Damaged(path, record.status().message());
    records.push_back(*std::move(record));
    body.remove_prefix(length);
  }
  if (!body.empty()) return Damaged(path, "trailing bytes");
  return records;
}

}  // namespace

std::string CacheSnapshotPath(const std::string& db_path) {
  return absl::StrCat(db_path, "/", kFileName);
}

absl::Status WriteCacheSnapshot(const std::string& db_path, const SnapshotStamp& stamp,
                                const std::vector<core::SharedKeyRecord>& records) {
  std::string content = absl::StrCat(kMagic, " ", stamp.db_identity, " ", stamp.sequence, " ",
                                     records.size(), "\n");
  for (const core::SharedKeyRecord& record : records) {
    const std::string bytes = EncodeKeyRecord(*record);
    AppendLength(static_cast<uint32_t>(bytes.size()), &content);
    content.append(bytes);
  }
  content.append(Digest(content));

  const std::string path = CacheSnapshotPath(db_path);
  const std::string temp = path + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("cannot create", temp);
  // No fsync: a snapshot torn by a crash fails its digest and is ignored.
  const bool written = WriteAll(fd, content);
  if (::close(fd) != 0 || !written) {
    const absl::Status error = IoError("cannot write", temp);
    ::unlink(temp.c_str());
    return error;
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const absl::Status error = IoError("cannot rename into", path);
    ::unlink(temp.c_str());
    return error;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<core::KeyRecord>> TakeCacheSnapshot(const std::string& db_path,
                                                               const SnapshotStamp& expected) {
  const std::string path = CacheSnapshotPath(db_path);
  std::string content;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::vector<core::KeyRecord>();  // None.
    content.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) return IoError("cannot read", path);
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return IoError("cannot remove", path);

  if (content.size() < kDigestBytes) return Damaged(path, "truncated");
  const absl::string_view covered =
      absl::string_view(content).substr(0, content.size() - kDigestBytes);
  if (Digest(covered) != absl::string_view(content).substr(covered.size())) {
    return Damaged(path, "digest mismatch");
  }
  const size_t line_end = covered.find('\n');
  if (line_end == absl::string_view::npos) return Damaged(path, "no header");
  // "<magic: two words> <identity> <sequence> <count>"
  const std::vector<absl::string_view> header = absl::StrSplit(covered.substr(0, line_end), ' ');
  uint64_t sequence = 0;
  size_t count = 0;
  if (header.size() != 5 || absl::StrCat(header[0], " ", header[1]) != kMagic ||
      !absl::SimpleAtoi(header[3], &sequence) || !absl::SimpleAtoi(header[4], &count)) {
    return Damaged(path, "bad header");
  }
  if (header[2] != expected.db_identity || sequence != expected.sequence) {
    return std::vector<core::KeyRecord>();  // Stale: the database changed since.
  }
  return ParseRecords(covered.substr(line_end + 1), count, path);
}

}  // namespace keygate::storage
