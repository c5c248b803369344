#include "ncm/eventstore/subscription.h"

#include <algorithm>

namespace ncm::eventstore {
namespace {
// Reads that examine this many batches without a match return an empty
// batch with the advanced checkpoint, so that one Poll stays short.
constexpr int kMaxEmptyScans = 64;
}  // namespace

Subscription::Subscription(EventStore* store, SubscriptionOptions options)
    : store_(store), options_(std::move(options)) {
  listener_id_ =
      store_->AddCommitListener([this](uint64_t head) { OnCommit(head); });
  checkpoint_ =
      options_.from_end ? store_->HeadPosition() : options_.after_position;
}

Subscription::~Subscription() { store_->RemoveCommitListener(listener_id_); }

void Subscription::SetWakeup(std::function<void()> wakeup) {
  absl::MutexLock l(&mu_);
  wakeup_ = std::move(wakeup);
}

void Subscription::OnCommit(uint64_t head) {
  std::function<void()> fn;
  {
    absl::MutexLock l(&mu_);
    signalled_ = true;
    if (armed_) {
      armed_ = false;
      fn = wakeup_;
    }
  }
  if (fn) fn();
}

SubscriptionItem Subscription::Marker(SubscriptionItem::Kind kind,
                                      uint64_t head) const {
  SubscriptionItem item;
  item.kind = kind;
  item.checkpoint = checkpoint_;
  item.head_position = head;
  return item;
}

absl::StatusOr<std::optional<SubscriptionItem>> Subscription::Poll() {
  const size_t batch = std::max<size_t>(1, options_.max_batch);
  for (int scans = 0;; ++scans) {
    const uint64_t head = store_->HeadPosition();
    if (checkpoint_ >= head) {
      if (!live_) {
        live_ = true;
        return Marker(SubscriptionItem::Kind::kCaughtUp, head);
      }
      {
        absl::MutexLock l(&mu_);
        armed_ = true;
        signalled_ = false;
      }
      // A commit between the head check and arming would be missed: look
      // again now that the wake-up is armed.
      if (store_->HeadPosition() > checkpoint_) {
        absl::MutexLock l(&mu_);
        armed_ = false;
        continue;
      }
      return std::nullopt;
    }
    if (live_ && head - checkpoint_ > options_.live_lag_limit) {
      live_ = false;
      return Marker(SubscriptionItem::Kind::kFellBehind, head);
    }
    ReadAllOptions ro;
    ro.from_position = checkpoint_ + 1;
    ro.direction = Direction::kForward;
    ro.max_count = batch;
    ro.filter = options_.filter;
    ro.max_scan = batch * 16;
    ro.max_bytes = options_.max_batch_bytes;
    auto read = store_->ReadAll(ro);
    if (!read.ok()) return read.status();
    checkpoint_ = read->next_position - 1;
    if (!read->events.empty() || scans >= kMaxEmptyScans) {
      SubscriptionItem item;
      item.kind = SubscriptionItem::Kind::kEvents;
      item.events = std::move(read->events);
      item.checkpoint = checkpoint_;
      item.head_position = read->head_position;
      return item;
    }
  }
}

absl::StatusOr<std::optional<SubscriptionItem>> Subscription::Next(
    absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    auto item = Poll();
    if (!item.ok() || item->has_value()) return item;
    absl::MutexLock l(&mu_);
    if (!mu_.AwaitWithDeadline(absl::Condition(&signalled_), deadline)) {
      return std::nullopt;
    }
    signalled_ = false;
  }
}

}  // namespace ncm::eventstore
