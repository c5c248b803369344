#include "ncm/eventstore/subject_keys.h"

#include <openssl/rand.h>

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
