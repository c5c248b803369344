// Files that hold keys: readable by their owner only, created whole.
#ifndef NCM_EVENTSTORE_SECRET_FILE_H_
#define NCM_EVENTSTORE_SECRET_FILE_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ncm::eventstore {

// The file's bytes (at most max_bytes), or nullopt when it does not exist.
// FAILED_PRECONDITION naming `what` and the path when it cannot be read,
// is larger, or can be read by other users (with the chmod that fixes it).
absl::StatusOr<std::optional<std::string>> ReadSecretFile(
    const std::string& path, absl::string_view what, size_t max_bytes);

// Creates the file with mode 0600 (failing if it exists), writes and
// fsyncs it and its folder.
absl::Status CreateSecretFile(const std::string& path, absl::string_view bytes,
                              absl::string_view what);

}  // namespace ncm::eventstore

#endif  // NCM_EVENTSTORE_SECRET_FILE_H_
