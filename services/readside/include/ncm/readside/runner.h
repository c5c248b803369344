// Keeps read models up to date with the log. One RocksDB database (the
// read-model folder) holds a column family per read model; each runner
// thread reads the log from its model's checkpoint, applies a page of
// events and writes the model's changes and the new checkpoint in one
// write batch, so that across a crash no event is skipped and none is
// applied twice. New commits wake the runner (the in-process bus). An event
// the projection cannot apply does not stop it: it is recorded as a poison
// event (logged, counted in Status) and the runner goes on after it; its
// storage failing does stop it.
#ifndef NCM_READSIDE_RUNNER_H_
#define NCM_READSIDE_RUNNER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ncm/eventstore/event_store.h"
#include "ncm/readside/projection.h"

namespace ncm::readside {

struct ReadSideOptions {
  std::string path;            // the read-model folder; created when missing
  size_t page_events = 1000;   // events applied per write batch at most
  size_t page_bytes = 4 << 20; // and about this many bytes
};

// An event a projection could not apply: skipped, and kept with the
// model (key "\0poison/" and its position) until the model is rebuilt.
struct PoisonEvent {
  uint64_t position = 0;
  std::string stream_id;
  std::string event_type;
  std::string reason;
};

struct ModelStatus {
  std::string name;
  uint64_t applied_position = 0;  // the last position applied
  uint64_t head_position = 0;     // the log's head when asked
  std::string error;              // why the runner stopped, if it did
  uint64_t poison_count = 0;      // events skipped, as PoisonEvent
  std::optional<PoisonEvent> last_poison;
};

class ReadSide {
 public:
  virtual ~ReadSide() = default;

  // Starts a runner per projection. REQUIRES: not started.
  virtual absl::Status Start() = 0;
  // Stops every runner (what was written stays). Idempotent.
  virtual void Stop() = 0;

  // Waits until `model` has applied `position`, at most `timeout`.
  // DEADLINE_EXCEEDED saying how far behind it is; NOT_FOUND for an
  // unknown model; UNAVAILABLE when its runner stopped on an error.
  virtual absl::Status WaitFor(const std::string& model, uint64_t position,
                               absl::Duration timeout) = 0;
  virtual absl::StatusOr<ModelStatus> Status(const std::string& model) = 0;
  // The read model's keys as of its last written batch.
  virtual absl::StatusOr<const ReadModelView*> View(
      const std::string& model) = 0;
  // Drops the model's keys and checkpoint and builds it again from position
  // 0; returns once the rebuild has caught up with the head as it was when
  // called, or `timeout` passed (the rebuild goes on).
  virtual absl::Status Rebuild(const std::string& model,
                               absl::Duration timeout) = 0;
};

// REQUIRES: `store` outlives the result. The projections' names are unique.
absl::StatusOr<std::unique_ptr<ReadSide>> OpenReadSide(
    eventstore::EventStore* store,
    std::vector<std::unique_ptr<Projection>> projections,
    const ReadSideOptions& options);

}  // namespace ncm::readside

#endif  // NCM_READSIDE_RUNNER_H_
