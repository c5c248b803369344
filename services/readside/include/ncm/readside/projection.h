// Read models built from the log. A projection applies events in log order
// to its own keys; the runner (runner.h) feeds it and stores what it wrote
// together with the position it reached, in one RocksDB write batch.
#ifndef NCM_READSIDE_PROJECTION_H_
#define NCM_READSIDE_PROJECTION_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ncm/eventstore/event_store.h"

namespace ncm::readside {

// The keys of one read model while a page of events is applied: reads see
// the page's own earlier writes, and nothing reaches the disk until the
// page and its checkpoint are written together.
class ProjectionTxn {
 public:
  virtual ~ProjectionTxn() = default;
  // nullopt when the key is absent.
  virtual absl::StatusOr<std::optional<std::string>> Get(
      absl::string_view key) = 0;
  virtual void Put(absl::string_view key, absl::string_view value) = 0;
  virtual void Delete(absl::string_view key) = 0;
};

// The read-only view of a read model that queries use.
class ReadModelView {
 public:
  virtual ~ReadModelView() = default;
  virtual absl::StatusOr<std::optional<std::string>> Get(
      absl::string_view key) const = 0;
  // Calls fn(key, value) for keys starting with `prefix`, in key order,
  // from `start` (inclusive; empty: the prefix's first key) until fn
  // returns false.
  virtual absl::Status Scan(
      absl::string_view prefix, absl::string_view start,
      const std::function<bool(absl::string_view, absl::string_view)>& fn)
      const = 0;
};

class Projection {
 public:
  virtual ~Projection() = default;
  // The read model's name: its column family. Lower case, digits, '_'.
  virtual std::string name() const = 0;
  // Applies one event (any type: a projection skips what it ignores). Keys
  // starting with '\0' are reserved for the runner.
  virtual absl::Status Apply(const eventstore::RecordedEvent& e,
                             ProjectionTxn* txn) = 0;
  // The stream prefixes ("resolution-") of every event Apply uses; empty:
  // all. The runner reads only those: the store skips the others without
  // decoding them, and the checkpoint moves past them.
  virtual std::vector<std::string> StreamPrefixes() const { return {}; }
  // Called after the last Apply of a page, before the page and its
  // checkpoint are written: a projection that keeps decoded records in
  // memory during a page writes them here. Also called (and must drop its
  // cache) when the page is abandoned, with `txn` null.
  virtual absl::Status EndPage(ProjectionTxn* txn) {
    (void)txn;
    return absl::OkStatus();
  }
};

}  // namespace ncm::readside

#endif  // NCM_READSIDE_PROJECTION_H_
