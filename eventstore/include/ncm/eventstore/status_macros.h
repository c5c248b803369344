// Early-return helpers for absl::Status and absl::StatusOr<T>.
#ifndef NCM_EVENTSTORE_STATUS_MACROS_H_
#define NCM_EVENTSTORE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns from the enclosing function when `expr` is not OK.
#define NCM_RETURN_IF_ERROR(expr)                       \
  do {                                                  \
    ::absl::Status ncm_status_ = (expr);                \
    if (!ncm_status_.ok()) return ncm_status_;          \
  } while (0)

#define NCM_STATUS_CONCAT_INNER_(a, b) a##b
#define NCM_STATUS_CONCAT_(a, b) NCM_STATUS_CONCAT_INNER_(a, b)

// `lhs` = value of the StatusOr `rexpr`, or returns its status.
#define NCM_ASSIGN_OR_RETURN(lhs, rexpr) \
  NCM_ASSIGN_OR_RETURN_IMPL_(NCM_STATUS_CONCAT_(ncm_statusor_, __LINE__), lhs, rexpr)

#define NCM_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                               \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // NCM_EVENTSTORE_STATUS_MACROS_H_
