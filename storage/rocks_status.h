// The one conversion of RocksDB statuses into the KeyStore's error codes.
#ifndef KEYGATE_STORAGE_ROCKS_STATUS_H_
#define KEYGATE_STORAGE_ROCKS_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace rocksdb {
class Status;
}  // namespace rocksdb

namespace keygate::storage {

// Converts a RocksDB status at the storage boundary, prefixing its message
// with `what` (e.g. "create key"): OK stays OK, NotFound stays NotFound, a
// full disk is ResourceExhausted, corruption DataLoss, I/O and transient
// failures Unavailable, anything else Internal.
absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what);

}  // namespace keygate::storage

#endif  // KEYGATE_STORAGE_ROCKS_STATUS_H_
