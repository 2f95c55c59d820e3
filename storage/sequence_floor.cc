#include "storage/sequence_floor.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "server/core/crc32.h"
#include "storage/file_io.h"

namespace keygate::storage {
namespace {

constexpr char kFileName[] = "keygate_sequence_floor";
constexpr char kMagic[] = "keygate-sequence-floor 1";
constexpr size_t kMaxFileBytes = 256;

}  // namespace

std::string SequenceFloorPath(const std::string& db_path) {
  return absl::StrCat(db_path, "/", kFileName);
}

absl::StatusOr<std::optional<uint64_t>> ReadSequenceFloor(const std::string& db_path) {
  const std::string path = SequenceFloorPath(db_path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<uint64_t>();
    return IoError("cannot open", path);
  }
  std::string content;
  char buffer[kMaxFileBytes + 1];
  ssize_t n = 0;
  while (content.size() <= kMaxFileBytes) {
    n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  const int read_errno = errno;
  ::close(fd);
  if (n < 0) {
    errno = read_errno;
    return IoError("cannot read", path);
  }
  const absl::Status damaged = absl::DataLossError(absl::StrCat(
      "the sequence floor file ", path,
      " is damaged, so the store cannot be checked for lost writes; restore the latest backup "
      "(--restore_backup), or start once with --accept_data_loss to accept the store as it is"));
  // "<magic> <sequence> <crc>\n"
  if (content.size() > kMaxFileBytes || content.empty() || content.back() != '\n') return damaged;
  const absl::string_view line = absl::string_view(content).substr(0, content.size() - 1);
  const size_t crc_at = line.rfind(' ');
  if (crc_at == absl::string_view::npos) return damaged;
  const absl::string_view covered = line.substr(0, crc_at);
  uint32_t crc = 0;
  if (!absl::SimpleHexAtoi(line.substr(crc_at + 1), &crc) || crc != core::Crc32(covered)) {
    return damaged;
  }
  const std::vector<absl::string_view> fields = absl::StrSplit(covered, ' ');
  uint64_t sequence = 0;
  if (fields.size() != 3 || absl::StrCat(fields[0], " ", fields[1]) != kMagic ||
      !absl::SimpleAtoi(fields[2], &sequence)) {
    return damaged;
  }
  return std::optional<uint64_t>(sequence);
}

absl::Status WriteSequenceFloor(const std::string& db_path, uint64_t sequence) {
  const std::string path = SequenceFloorPath(db_path);
  const std::string temp = path + ".tmp";
  const std::string covered = absl::StrCat(kMagic, " ", sequence);
  const std::string content =
      absl::StrCat(covered, " ", absl::Hex(core::Crc32(covered), absl::kZeroPad8), "\n");
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("cannot create", temp);
  if (!WriteAll(fd, content) || ::fsync(fd) != 0) {
    const absl::Status error = IoError("cannot write", temp);
    ::close(fd);
    ::unlink(temp.c_str());
    return error;
  }
  if (::close(fd) != 0) return IoError("cannot close", temp);
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const absl::Status error = IoError("cannot rename into", path);
    ::unlink(temp.c_str());
    return error;
  }
  return SyncDirectory(db_path);
}

absl::Status RemoveSequenceFloor(const std::string& db_path) {
  const std::string path = SequenceFloorPath(db_path);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return IoError("cannot remove", path);
  }
  return SyncDirectory(db_path);
}

}  // namespace keygate::storage
