// Per-subject encryption keys, kept beside the log but outside its hash
// chain, so that destroying a key ("forgetting" a data subject) leaves every
// recorded event, and the chain, unchanged while the subject's encrypted
// details become unreadable everywhere.
//
// Thread safety: every method may be called concurrently.
#ifndef NCM_EVENTSTORE_SUBJECT_KEYS_H_
#define NCM_EVENTSTORE_SUBJECT_KEYS_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ncm::eventstore {

inline constexpr size_t kSubjectKeyBytes = 32;  // AES-256

class SubjectKeyStore {
 public:
  virtual ~SubjectKeyStore() = default;

  // Returns the subject's key, making and durably storing a random one on
  // first use. FAILED_PRECONDITION when the subject's key was destroyed: a
  // forgotten subject never gets a key again.
  virtual absl::StatusOr<std::string> GetOrCreate(absl::string_view subject) = 0;

  // The subject's key; nullopt when it never existed or was destroyed.
  virtual absl::StatusOr<std::optional<std::string>> Get(
      absl::string_view subject) = 0;

  // Destroys the subject's key durably and leaves a tombstone. Idempotent.
  virtual absl::Status Destroy(absl::string_view subject) = 0;
};

// A key store in memory, for tests and the in-memory event store.
std::unique_ptr<SubjectKeyStore> NewMemorySubjectKeyStore();

// kSubjectKeyBytes random bytes from OpenSSL's generator.
absl::StatusOr<std::string> NewSubjectKey();

}  // namespace ncm::eventstore

#endif  // NCM_EVENTSTORE_SUBJECT_KEYS_H_
