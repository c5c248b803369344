#include "ncm/services/personal_data.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "ncm/eventstore/status_macros.h"

namespace ncm::services {
namespace {

constexpr int kNonceBytes = 12;
constexpr int kTagBytes = 16;

using CipherCtx =
    std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* U(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

absl::StatusOr<ncm::common::v1::Sealed> Seal(
    eventstore::SubjectKeyStore* keys, const std::string& subject,
    const std::string& plaintext) {
  NCM_ASSIGN_OR_RETURN(std::string key, keys->GetOrCreate(subject));
  ncm::common::v1::Sealed out;
  out.set_subject_id(subject);
  std::string nonce(kNonceBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), kNonceBytes) !=
      1) {
    return absl::UnavailableError("the random number generator failed");
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  std::string ct(plaintext.size() + kTagBytes, '\0');
  int len = 0, fin = 0;
  auto* o = reinterpret_cast<unsigned char*>(ct.data());
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr,
                         nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes,
                          nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, U(key), U(nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(subject),
                        static_cast<int>(subject.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), o, &len, U(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), o + len, &fin) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          o + plaintext.size()) != 1) {
    return absl::InternalError("AES-256-GCM encryption failed");
  }
  out.set_nonce(std::move(nonce));
  out.set_ciphertext(std::move(ct));
  return out;
}

absl::StatusOr<std::optional<std::string>> Unseal(
    eventstore::SubjectKeyStore* keys, const ncm::common::v1::Sealed& sealed) {
  NCM_ASSIGN_OR_RETURN(std::optional<std::string> key,
                       keys->Get(sealed.subject_id()));
  if (!key.has_value()) return std::optional<std::string>();
  const std::string& ct = sealed.ciphertext();
  if (sealed.nonce().size() != kNonceBytes || ct.size() < kTagBytes) {
    return absl::DataLossError(absl::StrCat(
        "sealed details of ", sealed.subject_id(), " are malformed"));
  }
  const size_t n = ct.size() - kTagBytes;
  std::string plain(n, '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int len = 0, fin = 0;
  auto* o = reinterpret_cast<unsigned char*>(plain.data());
  std::string tag = ct.substr(n);
  if (ctx == nullptr ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr,
                         nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes,
                          nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, U(*key),
                         U(sealed.nonce())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(sealed.subject_id()),
                        static_cast<int>(sealed.subject_id().size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), o, &len, U(ct), static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes,
                          tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), o + len, &fin) != 1) {
    return absl::DataLossError(absl::StrCat(
        "sealed details of ", sealed.subject_id(),
        " do not verify: they were altered or sealed under another key"));
  }
  return std::optional<std::string>(std::move(plain));
}

}  // namespace ncm::services
