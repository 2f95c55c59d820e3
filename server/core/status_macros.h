// Small Abseil status helpers that Debian's Abseil (20220623) does not ship.
#ifndef KEYGATE_SERVER_CORE_STATUS_MACROS_H_
#define KEYGATE_SERVER_CORE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define KEYGATE_RETURN_IF_ERROR(expr)                \
  do {                                               \
    ::absl::Status keygate_status_ = (expr);         \
    if (!keygate_status_.ok()) return keygate_status_; \
  } while (0)

#define KEYGATE_STATUS_CONCAT_INNER_(a, b) a##b
#define KEYGATE_STATUS_CONCAT_(a, b) KEYGATE_STATUS_CONCAT_INNER_(a, b)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status from
// the enclosing function, otherwise moves the value into `lhs`.
//   KEYGATE_ASSIGN_OR_RETURN(KeyRecord record, store.GetById(id));
#define KEYGATE_ASSIGN_OR_RETURN(lhs, rexpr) \
  KEYGATE_ASSIGN_OR_RETURN_IMPL_(            \
      KEYGATE_STATUS_CONCAT_(keygate_statusor_, __LINE__), lhs, rexpr)

#define KEYGATE_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                   \
  if (!statusor.ok()) return statusor.status();              \
  lhs = std::move(statusor).value()

#endif  // KEYGATE_SERVER_CORE_STATUS_MACROS_H_
