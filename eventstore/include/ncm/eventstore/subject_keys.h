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

// AES-256-GCM with a random 12-byte nonce; `aad` is authenticated, not
// encrypted. The ciphertext ends with the 16-byte tag.
struct Sealed {
  std::string nonce;       // kGcmNonceBytes
  std::string ciphertext;  // plaintext's length + kGcmTagBytes
};
inline constexpr size_t kGcmNonceBytes = 12;
inline constexpr size_t kGcmTagBytes = 16;
// REQUIRES: key.size() == kSubjectKeyBytes.
absl::StatusOr<Sealed> SealAes256Gcm(absl::string_view key,
                                     absl::string_view aad,
                                     absl::string_view plaintext);
// The plaintext, or DATA_LOSS when the bytes do not verify under `key`
// and `aad` (altered, or sealed under another key).
absl::StatusOr<std::string> OpenAes256Gcm(absl::string_view key,
                                          absl::string_view aad,
                                          absl::string_view nonce,
                                          absl::string_view ciphertext);

}  // namespace ncm::eventstore

#endif  // NCM_EVENTSTORE_SUBJECT_KEYS_H_
