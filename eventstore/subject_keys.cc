#include "ncm/eventstore/subject_keys.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace ncm::eventstore {

absl::StatusOr<std::string> NewSubjectKey() {
  std::string key(kSubjectKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()),
                 static_cast<int>(key.size())) != 1) {
    return absl::UnavailableError(
        "the random number generator failed; cannot make a key");
  }
  return key;
}

namespace {

using CipherCtx =
    std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* U(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

absl::StatusOr<Sealed> SealAes256Gcm(absl::string_view key,
                                     absl::string_view aad,
                                     absl::string_view plaintext) {
  if (key.size() != kSubjectKeyBytes) {
    return absl::InternalError("an AES-256 key has 32 bytes");
  }
  Sealed out;
  out.nonce.assign(kGcmNonceBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.nonce.data()),
                 kGcmNonceBytes) != 1) {
    return absl::UnavailableError("the random number generator failed");
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  out.ciphertext.assign(plaintext.size() + kGcmTagBytes, '\0');
  int len = 0, fin = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.ciphertext.data());
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr,
                         nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kGcmNonceBytes,
                          nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, U(key), U(out.nonce)) !=
          1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(aad),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), o, &len, U(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), o + len, &fin) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagBytes,
                          o + plaintext.size()) != 1) {
    return absl::InternalError("AES-256-GCM encryption failed");
  }
  return out;
}

absl::StatusOr<std::string> OpenAes256Gcm(absl::string_view key,
                                          absl::string_view aad,
                                          absl::string_view nonce,
                                          absl::string_view ciphertext) {
  if (key.size() != kSubjectKeyBytes || nonce.size() != kGcmNonceBytes ||
      ciphertext.size() < kGcmTagBytes) {
    return absl::DataLossError("malformed AES-256-GCM input");
  }
  const size_t n = ciphertext.size() - kGcmTagBytes;
  std::string plain(n, '\0');
  std::string tag(ciphertext.substr(n));
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int len = 0, fin = 0;
  auto* o = reinterpret_cast<unsigned char*>(plain.data());
  if (ctx == nullptr ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr,
                         nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kGcmNonceBytes,
                          nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, U(key), U(nonce)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(aad),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), o, &len, U(ciphertext),
                        static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagBytes,
                          tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), o + len, &fin) != 1) {
    return absl::DataLossError("AES-256-GCM: the bytes do not verify");
  }
  return plain;
}

namespace {

class MemorySubjectKeyStore final : public SubjectKeyStore {
 public:
  absl::StatusOr<std::string> GetOrCreate(absl::string_view subject) override {
    absl::MutexLock l(&mu_);
    auto it = keys_.find(subject);
    if (it != keys_.end()) {
      if (!it->second.has_value()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "subject ", subject, " was forgotten; its key cannot be remade"));
      }
      return *it->second;
    }
    absl::StatusOr<std::string> key = NewSubjectKey();
    if (!key.ok()) return key.status();
    keys_.emplace(subject, *key);
    return key;
  }

  absl::StatusOr<std::optional<std::string>> Get(
      absl::string_view subject) override {
    absl::MutexLock l(&mu_);
    auto it = keys_.find(subject);
    if (it == keys_.end()) return std::optional<std::string>();
    return it->second;
  }

  absl::Status Destroy(absl::string_view subject) override {
    absl::MutexLock l(&mu_);
    keys_[subject] = std::nullopt;
    return absl::OkStatus();
  }

 private:
  absl::Mutex mu_;
  // nullopt: destroyed.
  absl::flat_hash_map<std::string, std::optional<std::string>> keys_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<SubjectKeyStore> NewMemorySubjectKeyStore() {
  return std::make_unique<MemorySubjectKeyStore>();
}

}  // namespace ncm::eventstore
