// Signed checkpoints kept beside the log (outside its hash chain: each is
// a signed statement about the log, checked against it, never part of it).
#ifndef NCM_EVENTSTORE_CHECKPOINTS_H_
#define NCM_EVENTSTORE_CHECKPOINTS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ncm::eventstore {

// Thread safety: every method may be called concurrently.
class CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;
  // Stores, durably, the signed note of the checkpoint of the tree of
  // `size` leaves, replacing the one kept for that size (with more
  // cosignatures, say). Then keeps only the newest `keep` (0: all).
  virtual absl::Status Put(uint64_t size, absl::string_view signed_note,
                           size_t keep) = 0;
  // NOT_FOUND when none is kept for that size.
  virtual absl::StatusOr<std::string> Get(uint64_t size) = 0;
  // The kept checkpoint of the largest size; NOT_FOUND when none is kept.
  virtual absl::StatusOr<std::pair<uint64_t, std::string>> Latest() = 0;
  // The sizes kept, largest first, at most `limit` of them.
  virtual absl::StatusOr<std::vector<uint64_t>> Sizes(size_t limit) = 0;
};

// Checkpoints in memory, for the in-memory store.
std::unique_ptr<CheckpointStore> NewMemoryCheckpointStore();

}  // namespace ncm::eventstore

#endif  // NCM_EVENTSTORE_CHECKPOINTS_H_
