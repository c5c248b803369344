// Identifiers of aggregates and events.
#ifndef NCM_SERVICES_IDS_H_
#define NCM_SERVICES_IDS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ncm::services {

// A random (version 4) UUID in lower-case text.
std::string NewUuid();

// A UUID determined by `parts` (SHA-256 of them, length-prefixed, shaped as
// a version 8 UUID): the same parts always give the same id. Used so that a
// command retried with the same command id names the same aggregate and
// the same events.
std::string DeriveUuid(std::initializer_list<absl::string_view> parts);

// The lower-case hex SHA-256 of `parts`, length-prefixed as DeriveUuid does.
std::string HexSha256(std::initializer_list<absl::string_view> parts);

// OK when `id` is a UUID in text form; INVALID_ARGUMENT naming `field`.
absl::Status CheckUuid(absl::string_view id, absl::string_view field);

// OK when `id` is empty or 1-128 printable ASCII characters.
absl::Status CheckCommandId(absl::string_view id, absl::string_view field);

}  // namespace ncm::services

#endif  // NCM_SERVICES_IDS_H_
