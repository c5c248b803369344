// Validation of append requests and the decision of what an append writes,
// shared by every EventStore implementation so that they agree exactly.
#ifndef NCM_EVENTSTORE_APPEND_PLANNER_H_
#define NCM_EVENTSTORE_APPEND_PLANNER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ncm/eventstore/event_store.h"
#include "record_codec.h"

namespace ncm::eventstore {

// Checks every field against the rules and `limits`, and normalises the
// request in place (default content type and actor, lower-case event ids).
// INVALID_ARGUMENT naming the field and rule, or RESOURCE_EXHAUSTED naming
// the limit.
absl::Status ValidateAndNormalize(const Limits& limits, AppendRequest* request);

// Checks a stream id alone (reads use it too).
absl::Status ValidateStreamId(const Limits& limits, absl::string_view stream_id,
                              absl::string_view field = "stream_id");
absl::Status ValidateReadCount(const Limits& limits, size_t max_count);

// What the planner needs to know of the log's current state.
class AppendState {
 public:
  virtual ~AppendState() = default;
  // The stream's last revision, or nullopt when it has no events.
  virtual absl::StatusOr<std::optional<uint64_t>> LastRevision(
      const std::string& stream_id) = 0;
  // The recorded event with this id, if any.
  virtual absl::StatusOr<std::optional<RecordedEvent>> FindEvent(
      const codec::Uuid& id) = 0;
  // The position of the stream's event at `revision`.
  // REQUIRES: revision <= the stream's last revision.
  virtual absl::StatusOr<uint64_t> PositionOf(const std::string& stream_id,
                                              uint64_t revision) = 0;
};

struct PlannedRecord {
  RecordedEvent event;  // with position, revision and hashes set
  codec::Uuid id;
  std::string log_value;  // codec::EncodeLogValue
};

struct AppendPlan {
  std::vector<PlannedRecord> records;  // empty for an idempotent replay
  AppendResult result;
};

// Decides what a validated, normalised append writes when the log's head
// is (head_position, head_hash). Errors as in EventStore::AppendAsync.
// Payloads are moved out of `request` when the plan succeeds.
absl::StatusOr<AppendPlan> PlanAppend(AppendRequest* request,
                                      AppendState& state,
                                      uint64_t head_position,
                                      const Hash& head_hash,
                                      absl::Time recorded_at);

// Whether a recorded event is the same as a proposed one for `stream_id`
// (the idempotency check).
bool SameContent(const RecordedEvent& recorded, const std::string& stream_id,
                 const ProposedEvent& proposed);

// Verifies a run of decoded events that should hold consecutive positions
// starting at `from`, given the hash preceding `from`. Recomputes hashes
// from the fields. Used by stores that do not keep the raw record bytes.
void VerifyEvents(const std::vector<RecordedEvent>& events, uint64_t from,
                  Hash* prev, VerifyResult* result);

}  // namespace ncm::eventstore

#endif  // NCM_EVENTSTORE_APPEND_PLANNER_H_
