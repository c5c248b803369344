// A catch-up-then-live subscription to the whole log of an EventStore.
//
// The subscription keeps only a checkpoint: every delivery is read from the
// log by position, so there is no gap and no duplicate when it switches from
// catching up to live, and a slow consumer costs the server no buffer at
// all. The consumer is told when it is caught up (it has every committed
// event) and when, while live, it fell more than `live_lag_limit` events
// behind the head (it then catches up from the log again).
//
// Thread safety: Poll and Next must not be called concurrently with each
// other; the wake-up callback may run on any thread.
#ifndef NCM_EVENTSTORE_SUBSCRIPTION_H_
#define NCM_EVENTSTORE_SUBSCRIPTION_H_

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ncm/eventstore/event_store.h"

namespace ncm::eventstore {

struct SubscriptionOptions {
  // Deliver events with position > after_position (0: from the start) ...
  uint64_t after_position = 0;
  // ... or only events committed after the subscription starts.
  bool from_end = false;
  Filter filter;
  size_t max_batch = 256;
  // A batch stops at about this many bytes (it always holds one event).
  size_t max_batch_bytes = 8 << 20;
  // While live, falling further behind than this switches to catch-up.
  uint64_t live_lag_limit = 10000;
};

struct SubscriptionItem {
  enum class Kind { kEvents, kCaughtUp, kFellBehind };
  Kind kind = Kind::kEvents;
  std::vector<RecordedEvent> events;  // kEvents: in position order
  // Every event up to here has been delivered or filtered out.
  uint64_t checkpoint = 0;
  uint64_t head_position = 0;  // kFellBehind: the head at that moment
};

class Subscription {
 public:
  // REQUIRES: `store` outlives the subscription.
  Subscription(EventStore* store, SubscriptionOptions options);
  ~Subscription();

  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // Returns the next item without waiting, or nullopt when the consumer has
  // every committed event. After a nullopt, the wake-up callback (if set)
  // runs once when more events are committed.
  absl::StatusOr<std::optional<SubscriptionItem>> Poll();

  // Waits up to `timeout` for the next item; nullopt on timeout.
  absl::StatusOr<std::optional<SubscriptionItem>> Next(absl::Duration timeout);

  // The callback must be quick and must not call Poll or Next.
  void SetWakeup(std::function<void()> wakeup);

  uint64_t checkpoint() const { return checkpoint_; }
  bool live() const { return live_; }

 private:
  void OnCommit(uint64_t head);
  // A kCaughtUp or kFellBehind item at the current checkpoint.
  SubscriptionItem Marker(SubscriptionItem::Kind kind, uint64_t head) const;

  EventStore* const store_;
  const SubscriptionOptions options_;
  uint64_t checkpoint_ = 0;
  bool live_ = false;
  bool announced_start_ = false;
  uint64_t listener_id_ = 0;

  absl::Mutex mu_;
  bool armed_ ABSL_GUARDED_BY(mu_) = false;
  bool signalled_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> wakeup_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ncm::eventstore

#endif  // NCM_EVENTSTORE_SUBSCRIPTION_H_
