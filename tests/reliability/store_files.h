// Looks inside the files of a stopped RocksDB store, for the corruption and
// secret-hygiene suites: which SST holds which column family (and where its
// data blocks end), the decoded content of an SST, and the record layout of
// a write-ahead log. Reads only; never opens the database.
#ifndef KEYGATE_TESTS_RELIABILITY_STORE_FILES_H_
#define KEYGATE_TESTS_RELIABILITY_STORE_FILES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace keygate::reliability {

struct SstInfo {
  std::string path;
  std::string column_family;
  uint64_t file_size = 0;
  // Data blocks occupy [0, data_size); index, filter, properties and the
  // footer follow.
  uint64_t data_size = 0;
  uint64_t num_data_blocks = 0;
  uint64_t num_entries = 0;
};

// Every *.sst file in `db_dir`, by name.
absl::StatusOr<std::vector<SstInfo>> ListSsts(const std::string& db_dir);

// Every key and value of the SST at `path`, decompressed, as "key\tvalue\n"
// lines (bytes as they are). Merge operands are concatenated.
absl::StatusOr<std::string> DumpSst(const std::string& path);

// One logical record of a RocksDB log file (WAL or MANIFEST): its fragments
// span [begin, end) of the file; `payload` is the reassembled content (for a
// WAL, one WriteBatch).
struct LogRecord {
  uint64_t begin = 0;
  uint64_t end = 0;
  std::string payload;
};

// The complete records of a log file, in order. Parsing stops at the first
// torn or zero-filled fragment.
absl::StatusOr<std::vector<LogRecord>> ReadLogRecords(const std::string& path);

// Appends to `log` (the bytes of a WAL) what a crash while writing `record`
// again would leave: a fragment header and part of its payload. Like
// RocksDB's writer, it never lets the fragment cross a 32 KiB block: it
// declares only the length that fits in the block (the fragment's checksum is
// never checked, as its payload ends first), and with no room for a header
// and some payload it zero-fills the block's trailer and starts the next
// block. `content` holds `record`, in the legacy (non-recycled) log format.
void AppendTornRecord(absl::string_view content, const LogRecord& record, std::string* log);

// The newest file named *<suffix> in `dir` by RocksDB file number (e.g.
// ".log" for the live WAL), or "" if none.
std::string NewestFile(const std::string& dir, const std::string& suffix);
// The file whose name starts with `prefix` (e.g. "MANIFEST-"), or "".
std::string FileWithPrefix(const std::string& dir, const std::string& prefix);

// XORs the byte at `offset` of `path` with `mask` (non-zero).
absl::Status FlipByte(const std::string& path, uint64_t offset, uint8_t mask = 0x5a);

// Every distinct Keygate key id (`key_` + 20 base62 characters) in `bytes`.
std::vector<std::string> KeyIdsIn(const std::string& bytes);

}  // namespace keygate::reliability

#endif  // KEYGATE_TESTS_RELIABILITY_STORE_FILES_H_
