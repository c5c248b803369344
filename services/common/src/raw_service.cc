#include "ncm/services/raw_service.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_join.h"

namespace ncm::services {

WorkerPool::WorkerPool(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

WorkerPool::~WorkerPool() {
  {
    absl::MutexLock l(&mu_);
    stop_ = true;
  }
  for (auto& t : threads_) t.join();
}

void WorkerPool::Post(std::function<void()> fn) {
  absl::MutexLock l(&mu_);
  queue_.push_back(std::move(fn));
}

void WorkerPool::Run() {
  for (;;) {
    std::function<void()> fn;
    {
      absl::MutexLock l(&mu_);
      mu_.Await(absl::Condition(
          +[](WorkerPool* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
            return p->stop_ || !p->queue_.empty();
          },
          this));
      if (queue_.empty()) return;
      fn = std::move(queue_.front());
      queue_.pop_front();
    }
    fn();
  }
}

absl::Status RawService::CheckComplete() const {
  std::vector<std::string> problems = errors_;
  absl::flat_hash_set<std::string> served(names_.begin(), names_.end());
  if (served.size() != names_.size()) {
    problems.push_back("a method is served twice");
  }
  for (int i = 0; i < service_->method_count(); ++i) {
    const std::string name = absl::StrCat("/", service_->full_name(), "/",
                                          service_->method(i)->name());
    if (!served.contains(name)) problems.push_back(name + " is not served");
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::InternalError(absl::StrJoin(problems, "; "));
}

}  // namespace ncm::services
