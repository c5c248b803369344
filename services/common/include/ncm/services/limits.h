// Size limits every domain request is held to before its handler runs:
// text fields, repeated fields. (The listener caps whole messages; the
// event store caps appends; list queries cap their page sizes.)
#ifndef NCM_SERVICES_LIMITS_H_
#define NCM_SERVICES_LIMITS_H_

#include <cstddef>
#include <string>

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

// An answer, in bytes: what a client accepts by default (4 MiB) less room
// for gRPC's framing. Lists page below it; an answer that stored data made
// larger is refused with RESOURCE_EXHAUSTED instead of failing in the
// client, and nothing else is affected.
inline constexpr size_t kMaxAnswerBytes = 4 * 1024 * 1024 - 64 * 1024;

// OK, or RESOURCE_EXHAUSTED naming the method, the answer's size and the
// limit.
absl::Status CheckAnswerSize(const std::string& method,
                             const google::protobuf::Message& answer);

// OK, or INVALID_ARGUMENT naming the first message, at any depth (by its
// path, e.g. "amount"), that carries a field its type does not define.
// Every request is held to it as it is parsed (raw_call.h): unknown fields
// would otherwise be copied into events and kept in the log forever.
absl::Status CheckKnownFields(const google::protobuf::Message& message);

// OK, or INVALID_ARGUMENT naming the first field over its limit (by its
// path, e.g. "new_person.full_name") and the limit.
absl::Status CheckFieldLimits(const google::protobuf::Message& message);

}  // namespace ncm::services

#endif  // NCM_SERVICES_LIMITS_H_
