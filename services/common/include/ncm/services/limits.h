// Size limits every domain request is held to before its handler runs:
// text fields, repeated fields. (The listener caps whole messages; the
// event store caps appends; list queries cap their page sizes.)
#ifndef NCM_SERVICES_LIMITS_H_
#define NCM_SERVICES_LIMITS_H_

#include <cstddef>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace ncm::services {

// A text field, in bytes of UTF-8.
inline constexpr size_t kMaxTextBytes = 2048;
// A prose field (a resolution's text, a narrative, a purpose, terms, notes,
// a description, a mandate), in bytes of UTF-8.
inline constexpr size_t kMaxProseBytes = 32 * 1024;
// Elements of a repeated field.
inline constexpr int kMaxRepeated = 1000;

// OK, or INVALID_ARGUMENT naming the first field over its limit (by its
// path, e.g. "new_person.full_name") and the limit.
absl::Status CheckFieldLimits(const google::protobuf::Message& message);

}  // namespace ncm::services

#endif  // NCM_SERVICES_LIMITS_H_
