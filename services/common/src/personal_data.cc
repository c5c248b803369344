#include "ncm/services/personal_data.h"

#include "absl/strings/str_cat.h"
#include "ncm/eventstore/status_macros.h"

namespace ncm::services {

absl::StatusOr<ncm::common::v1::Sealed> Seal(
    eventstore::SubjectKeyStore* keys, const std::string& subject,
    const std::string& plaintext) {
  NCM_ASSIGN_OR_RETURN(std::string key, keys->GetOrCreate(subject));
  NCM_ASSIGN_OR_RETURN(eventstore::Sealed sealed,
                       eventstore::SealAes256Gcm(key, subject, plaintext));
  ncm::common::v1::Sealed out;
  out.set_subject_id(subject);
  out.set_nonce(std::move(sealed.nonce));
  out.set_ciphertext(std::move(sealed.ciphertext));
  return out;
}

absl::StatusOr<std::optional<std::string>> Unseal(
    eventstore::SubjectKeyStore* keys, const ncm::common::v1::Sealed& sealed) {
  NCM_ASSIGN_OR_RETURN(std::optional<std::string> key,
                       keys->Get(sealed.subject_id()));
  if (!key.has_value()) return std::optional<std::string>();
  absl::StatusOr<std::string> plain = eventstore::OpenAes256Gcm(
      *key, sealed.subject_id(), sealed.nonce(), sealed.ciphertext());
  if (!plain.ok()) {
    return absl::DataLossError(absl::StrCat(
        "sealed details of ", sealed.subject_id(),
        " do not verify: they were altered or sealed under another key"));
  }
  return std::optional<std::string>(std::move(*plain));
}

}  // namespace ncm::services
