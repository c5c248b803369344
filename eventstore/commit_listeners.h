// A registry of commit listeners, shared by the EventStore implementations.
#ifndef NCM_EVENTSTORE_COMMIT_LISTENERS_H_
#define NCM_EVENTSTORE_COMMIT_LISTENERS_H_

#include <cstdint>
#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "ncm/eventstore/event_store.h"

namespace ncm::eventstore {

class CommitListeners {
 public:
  uint64_t Add(CommitListener listener) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock l(&mu_);
    uint64_t id = ++next_id_;
    listeners_.emplace(id, std::move(listener));
    return id;
  }

  // After this returns, the listener is neither running nor called again.
  // REQUIRES: not called from a listener.
  void Remove(uint64_t id) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock l(&mu_);
    listeners_.erase(id);
  }

  void Notify(uint64_t head) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock l(&mu_);
    for (auto& [id, fn] : listeners_) fn(head);
  }

 private:
  absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<uint64_t, CommitListener> listeners_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ncm::eventstore

#endif  // NCM_EVENTSTORE_COMMIT_LISTENERS_H_
