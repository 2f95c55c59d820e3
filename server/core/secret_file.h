// Files that hold secrets (the pepper, the bootstrap operator token).
#ifndef KEYGATE_SERVER_CORE_SECRET_FILE_H_
#define KEYGATE_SERVER_CORE_SECRET_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace keygate::core {

// Reads the whole file. Returns NotFound if it does not exist,
// PermissionDenied/Internal for other failures. The error message names the
// path, never the content.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path);

// Creates `path` with mode 0600 holding `content`, durably (file and its
// directory are fsynced). Returns AlreadyExists if the file exists; never
// overwrites.
absl::Status WriteNewSecretFile(const std::string& path, absl::string_view content);

}  // namespace keygate::core

#endif  // KEYGATE_SERVER_CORE_SECRET_FILE_H_
