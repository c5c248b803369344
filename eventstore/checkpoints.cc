#include "ncm/eventstore/checkpoints.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace ncm::eventstore {
namespace {

class MemoryCheckpointStore final : public CheckpointStore {
 public:
  absl::Status Put(uint64_t size, absl::string_view note, size_t keep) override {
    absl::MutexLock l(&mu_);
    kept_[size] = std::string(note);
    while (keep > 0 && kept_.size() > keep) kept_.erase(kept_.begin());
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> Get(uint64_t size) override {
    absl::MutexLock l(&mu_);
    auto it = kept_.find(size);
    if (it == kept_.end()) {
      return absl::NotFoundError(absl::StrCat("no checkpoint is kept for tree size ", size));
    }
    return it->second;
  }
  absl::StatusOr<std::pair<uint64_t, std::string>> Latest() override {
    absl::MutexLock l(&mu_);
    if (kept_.empty()) return absl::NotFoundError("no checkpoint is kept yet");
    return *kept_.rbegin();
  }
  absl::StatusOr<std::vector<uint64_t>> Sizes(size_t limit) override {
    absl::MutexLock l(&mu_);
    std::vector<uint64_t> out;
    for (auto it = kept_.rbegin(); it != kept_.rend() && out.size() < limit; ++it) {
      out.push_back(it->first);
    }
    return out;
  }

 private:
  absl::Mutex mu_;
  std::map<uint64_t, std::string> kept_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<CheckpointStore> NewMemoryCheckpointStore() {
  return std::make_unique<MemoryCheckpointStore>();
}

}  // namespace ncm::eventstore
