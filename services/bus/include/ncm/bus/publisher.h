// The publisher: carries the committed log to the JetStream stream, in
// position order, so that the stream's sequence equals the global position.
//
// The log is the outbox: an append never waits for the broker. One thread
// reads the log from the stream's last sequence + 1 and publishes each log
// value with JetStream's expected-last-sequence check set to position - 1
// (0 for position 1: the stream must be empty) and the record's hash as
// message id, keeping a window of publishes in flight. On start, on
// reconnection and after any refused or unanswered publish it abandons what
// is in flight, reads the stream's state, checks that the message at its
// last sequence is this log's event at that position (same bytes), and
// resumes after it. A stream that holds another event at a position, more
// events than the log, or a hole, stops the publisher (DIVERGED) and nothing
// is overwritten; it checks again every few seconds, so that it resumes
// once an operator has put the stream right.
#ifndef NCM_BUS_PUBLISHER_H_
#define NCM_BUS_PUBLISHER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ncm/bus/broker.h"
#include "ncm/eventstore/event_store.h"

namespace ncm::bus {

enum class BusState {
  kConnecting,         // no connection yet
  kBrokerUnavailable,  // servers away or not answering; appends go on
  kMisconfigured,      // the stream or the servers' limits are not as needed
  kDiverged,           // the stream holds what the log does not
  kCatchingUp,         // publishing a backlog
  kLive,               // everything committed is published or in flight
  kStopped,
};
const char* BusStateName(BusState s);  // e.g. "LIVE"
// The level its changes are logged at: error for the states an operator
// must fix, warn while the broker is away, info otherwise.
const char* LogLevelOf(BusState s);
// The log fields of a change to `state`: msg="<who> <STATE>", the
// positions given, and reason="<detail>" when there is one.
std::string StateChangeFields(absl::string_view who, BusState state,
                              absl::string_view positions,
                              absl::string_view detail);

// Sets a status's state, detail and since (any struct with those three
// fields); false when it already was in that state for that reason.
template <typename S>
bool ChangeState(S* status, BusState state, const std::string& detail) {
  if (status->state == state && status->detail == detail) return false;
  status->state = state;
  status->detail = detail;
  status->since = absl::Now();
  return true;
}

// What the publisher and a read node's copy log with: a level and the
// line's key=value fields.
using BusLogFn =
    std::function<void(absl::string_view level, const std::string& fields)>;

// Changes `status` (guarded by `mu`) to `state`; when that is a change,
// logs it through `log` (when set) as `who`, with the positions that
// `positions` gives (asked outside `mu`). True when it changed.
template <typename S>
bool ChangeStateAndLog(absl::Mutex* mu, S* status, BusState state,
                       const std::string& detail, const BusLogFn& log,
                       absl::string_view who,
                       const std::function<std::string()>& positions) {
  {
    absl::MutexLock l(mu);
    if (!ChangeState(status, state, detail)) return false;
  }
  if (log) log(LogLevelOf(state), StateChangeFields(who, state, positions(), detail));
  return true;
}

struct PublisherStatus {
  BusState state = BusState::kConnecting;
  std::string detail;  // why, for every state but LIVE
  absl::Time since;    // when the state was entered
  uint64_t head_position = 0;
  uint64_t acked_position = 0;  // the broker holds 1..acked_position
  uint64_t lag = 0;             // head_position - acked_position
  uint64_t published = 0;       // messages acknowledged since start
  uint64_t resyncs = 0;         // times the stream's state was read back
  std::string server;           // URL connected to
  std::string stream;
  // From a commit to the broker's acknowledgement of its last event, over
  // the last few thousand commits; 0 when none was measured.
  double commit_to_ack_p50_ms = 0;
  double commit_to_ack_p99_ms = 0;
  uint64_t latency_samples = 0;
};

struct PublisherOptions {
  BrokerOptions broker;
  eventstore::Limits limits;
  // Publishes in flight at most, and their bytes.
  size_t window_messages = 8192;
  size_t window_bytes = 64 << 20;
  // Receives log lines (level, key=value fields).
  BusLogFn log;
  // Called on every change of state, from the publisher's thread.
  std::function<void(BusState, const std::string& detail)> on_state;
};

class Publisher {
 public:
  virtual ~Publisher() = default;
  virtual PublisherStatus Status() const = 0;
  // Ends publishing (what is in flight is left to the broker). Idempotent.
  virtual void Stop() = 0;
};

// Starts the publisher's thread; it connects in the background, so that a
// broker that is away never stops ncmd from starting. INVALID_ARGUMENT for
// options that can never work (no URL, replicas other than 1..5).
// REQUIRES: `store` outlives the publisher.
absl::StatusOr<std::unique_ptr<Publisher>> StartPublisher(
    eventstore::EventStore* store, PublisherOptions options);

}  // namespace ncm::bus

#endif  // NCM_BUS_PUBLISHER_H_
