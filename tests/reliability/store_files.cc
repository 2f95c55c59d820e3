#include "tests/reliability/store_files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/merge_operator.h"
#include "rocksdb/options.h"
#include "rocksdb/sst_file_reader.h"
#include "tests/reliability/server_process.h"

namespace keygate::reliability {
namespace {

namespace fs = std::filesystem;

// RocksDB's log format (db/log_format.h): 32 KiB blocks of fragments, each
// with a header of checksum (4), length (2, little-endian) and type (1), plus
// a log number (4) for the recyclable types 5-8.
constexpr uint64_t kLogBlockSize = 32768;
constexpr uint64_t kLogHeaderSize = 7;
constexpr uint64_t kRecyclableLogHeaderSize = 11;
enum LogFragment : uint8_t { kZero = 0, kFull = 1, kFirst = 2, kMiddle = 3, kLast = 4 };

// Concatenates operands, so that a dump shows every byte of a merge chain.
class ConcatenateOperator final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* merged, rocksdb::Logger*) const override {
    if (existing != nullptr) merged->assign(existing->data(), existing->size());
    merged->append(value.data(), value.size());
    return true;
  }
  const char* Name() const override { return "ConcatenateOperator"; }
};

rocksdb::Options ReaderOptions() {
  rocksdb::Options options;
  options.merge_operator = std::make_shared<ConcatenateOperator>();
  return options;
}

absl::Status FromRocks(const rocksdb::Status& s, const std::string& path) {
  if (s.ok()) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(path, ": ", s.ToString()));
}

}  // namespace

absl::StatusOr<std::vector<SstInfo>> ListSsts(const std::string& db_dir) {
  std::vector<SstInfo> ssts;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(db_dir, error)) {
    if (entry.path().extension() != ".sst") continue;
    rocksdb::SstFileReader reader(ReaderOptions());
    const std::string path = entry.path().string();
    if (absl::Status s = FromRocks(reader.Open(path), path); !s.ok()) return s;
    const std::shared_ptr<const rocksdb::TableProperties> properties = reader.GetTableProperties();
    SstInfo info;
    info.path = path;
    info.column_family = properties->column_family_name;
    info.file_size = entry.file_size();
    info.data_size = properties->data_size;
    info.num_data_blocks = properties->num_data_blocks;
    info.num_entries = properties->num_entries;
    ssts.push_back(std::move(info));
  }
  if (error)
    return absl::NotFoundError(absl::StrCat("cannot list ", db_dir, ": ", error.message()));
  std::sort(ssts.begin(), ssts.end(),
            [](const SstInfo& a, const SstInfo& b) { return a.path < b.path; });
  return ssts;
}

absl::StatusOr<std::string> DumpSst(const std::string& path) {
  rocksdb::SstFileReader reader(ReaderOptions());
  if (absl::Status s = FromRocks(reader.Open(path), path); !s.ok()) return s;
  std::unique_ptr<rocksdb::Iterator> it(reader.NewIterator(rocksdb::ReadOptions()));
  std::string out;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    absl::StrAppend(&out, it->key().ToString(), "\t", it->value().ToString(), "\n");
  }
  if (absl::Status s = FromRocks(it->status(), path); !s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<LogRecord>> ReadLogRecords(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  const std::string data = ReadFileOrEmpty(path);
  std::vector<LogRecord> records;
  LogRecord partial;
  uint64_t pos = 0;
  while (pos < data.size()) {
    const uint64_t left_in_block = kLogBlockSize - pos % kLogBlockSize;
    if (left_in_block < kLogHeaderSize) {  // Zero-filled block trailer.
      pos += left_in_block;
      continue;
    }
    if (pos + kLogHeaderSize > data.size()) break;
    const uint64_t length =
        static_cast<uint8_t>(data[pos + 4]) | (uint64_t{static_cast<uint8_t>(data[pos + 5])} << 8);
    uint8_t type = static_cast<uint8_t>(data[pos + 6]);
    uint64_t header = kLogHeaderSize;
    if (type >= 5 && type <= 8) {  // Recyclable fragments.
      header = kRecyclableLogHeaderSize;
      type -= 4;
    }
    if (type == kZero || pos + header + length > data.size()) break;
    const absl::string_view fragment = absl::string_view(data).substr(pos + header, length);
    const uint64_t end = pos + header + length;
    switch (type) {
      case kFull:
        records.push_back(LogRecord{pos, end, std::string(fragment)});
        break;
      case kFirst:
        partial = LogRecord{pos, end, std::string(fragment)};
        break;
      case kMiddle:
        partial.payload.append(fragment.data(), fragment.size());
        break;
      case kLast:
        partial.payload.append(fragment.data(), fragment.size());
        partial.end = end;
        records.push_back(std::move(partial));
        partial = LogRecord();
        break;
      default:  // A record type this parser does not know: stop.
        return records;
    }
    pos = end;
  }
  return records;
}

void AppendTornRecord(absl::string_view content, const LogRecord& record, std::string* log) {
  uint64_t room = kLogBlockSize - log->size() % kLogBlockSize;
  if (room < kLogHeaderSize + 2) {
    log->append(room, '\0');
    room = kLogBlockSize;
  }
  std::string header(content.substr(record.begin, kLogHeaderSize));
  const uint64_t declared =
      static_cast<uint8_t>(header[4]) | (uint64_t{static_cast<uint8_t>(header[5])} << 8);
  const uint64_t length = std::min(declared, room - kLogHeaderSize);
  if (length < declared) header[6] = static_cast<char>(kFirst);
  header[4] = static_cast<char>(length & 0xff);
  header[5] = static_cast<char>(length >> 8);
  log->append(header);
  const absl::string_view payload = content.substr(record.begin + kLogHeaderSize, length / 2);
  log->append(payload.data(), payload.size());
}

std::string NewestFile(const std::string& dir, const std::string& suffix) {
  std::string newest;
  uint64_t newest_number = 0;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (!absl::EndsWith(name, suffix)) continue;
    uint64_t number = 0;
    if (!absl::SimpleAtoi(name.substr(0, name.size() - suffix.size()), &number)) continue;
    if (newest.empty() || number > newest_number) {
      newest = entry.path().string();
      newest_number = number;
    }
  }
  return newest;
}

std::string FileWithPrefix(const std::string& dir, const std::string& prefix) {
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    if (absl::StartsWith(entry.path().filename().string(), prefix)) return entry.path().string();
  }
  return "";
}

absl::Status FlipByte(const std::string& path, uint64_t offset, uint8_t mask) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  char byte = 0;
  if (!file.seekg(offset) || !file.get(byte)) {
    return absl::OutOfRangeError(absl::StrCat("cannot read byte ", offset, " of ", path));
  }
  byte = static_cast<char>(byte ^ mask);
  if (!file.seekp(offset) || !file.put(byte) || !file.flush()) {
    return absl::InternalError(absl::StrCat("cannot write byte ", offset, " of ", path));
  }
  return absl::OkStatus();
}

std::vector<std::string> KeyIdsIn(const std::string& bytes) {
  constexpr size_t kIdChars = 20;
  std::set<std::string> ids;
  for (size_t at = bytes.find("key_"); at != std::string::npos; at = bytes.find("key_", at + 1)) {
    if (at + 4 + kIdChars > bytes.size()) break;
    const std::string id = bytes.substr(at, 4 + kIdChars);
    if (std::all_of(id.begin() + 4, id.end(), [](char c) { return absl::ascii_isalnum(c); })) {
      ids.insert(id);
    }
  }
  return std::vector<std::string>(ids.begin(), ids.end());
}

}  // namespace keygate::reliability
