// Personal details inside event payloads, sealed with AES-256-GCM under a
// key per data subject (see eventstore/subject_keys.h). Destroying the key
// ("crypto-shredding") makes every sealed copy unreadable at once.
#ifndef NCM_SERVICES_PERSONAL_DATA_H_
#define NCM_SERVICES_PERSONAL_DATA_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "ncm/common/v1/common.pb.h"
#include "ncm/eventstore/subject_keys.h"

namespace ncm::services {

// Seals `plaintext` under `subject`'s key, making the key on first use.
// FAILED_PRECONDITION when the subject was forgotten.
absl::StatusOr<ncm::common::v1::Sealed> Seal(
    eventstore::SubjectKeyStore* keys, const std::string& subject,
    const std::string& plaintext);

// The plaintext; nullopt when the subject's key was destroyed. DATA_LOSS
// when the sealed bytes were altered (the GCM tag does not verify).
absl::StatusOr<std::optional<std::string>> Unseal(
    eventstore::SubjectKeyStore* keys, const ncm::common::v1::Sealed& sealed);

}  // namespace ncm::services

#endif  // NCM_SERVICES_PERSONAL_DATA_H_
