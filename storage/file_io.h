// Small POSIX file helpers for the files Keygate keeps beside RocksDB's.
#ifndef KEYGATE_STORAGE_FILE_IO_H_
#define KEYGATE_STORAGE_FILE_IO_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace keygate::storage {

// Unavailable: "<what> <path>: <strerror(errno)>".
absl::Status IoError(absl::string_view what, const std::string& path);

// Writes all of `data` to `fd`; false on an error (errno says which).
bool WriteAll(int fd, absl::string_view data);

// fsyncs the directory `dir`, making renames in it durable.
absl::Status SyncDirectory(const std::string& dir);

}  // namespace keygate::storage

#endif  // KEYGATE_STORAGE_FILE_IO_H_
