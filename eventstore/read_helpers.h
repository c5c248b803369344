// Read-path rules shared by the EventStore implementations, so that paging,
// bounds and end markers mean exactly the same everywhere.
#ifndef NCM_EVENTSTORE_READ_HELPERS_H_
#define NCM_EVENTSTORE_READ_HELPERS_H_

#include <algorithm>
#include "absl/strings/string_view.h"
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "ncm/eventstore/event_store.h"

namespace ncm::eventstore {

inline absl::Status StreamNotFound(absl::string_view stream_id) {
  return absl::NotFoundError(absl::StrCat(
      "stream \"", stream_id, "\" has no events; check the stream id"));
}

// Calls visit(revision) for the revisions a ReadStream returns, given the
// stream's last revision, and sets out->end_of_stream.
template <typename Visit>
void ForEachRevision(const ReadStreamOptions& o, uint64_t last,
                     ReadStreamResult* out, Visit visit) {
  size_t n = 0;
  if (o.direction == Direction::kForward) {
    uint64_t rev = o.from_revision;
    for (; rev <= last && n < o.max_count; ++rev, ++n) visit(rev);
    out->end_of_stream = rev > last;
  } else {
    // kEndRevision, or any revision past the end, starts at the last event.
    uint64_t start = std::min(o.from_revision, last);
    uint64_t rev = start;
    bool done = false;
    while (n < o.max_count) {
      visit(rev);
      ++n;
      if (rev == 0) {
        done = true;
        break;
      }
      --rev;
    }
    out->end_of_stream = done;
  }
}

struct ScanEnd {
  uint64_t next_position = 0;
  bool end_of_log = false;
};

// Walks the log for ReadAll and ReadAllRaw. visit(position) -> StatusOr<bool>
// examines one record and says whether it was taken (matched the filter); it
// is called with consecutive positions in the read direction until
// o.max_count records are taken, the log ends, or o.max_scan records were
// examined under a filter.
template <typename Visit>
absl::StatusOr<ScanEnd> ScanLog(const ReadAllOptions& o, uint64_t head,
                                Visit visit) {
  size_t scanned = 0, taken = 0;
  const size_t max_scan = o.filter.Empty() ? 0 : o.max_scan;
  auto more = [&] {
    return taken < o.max_count && (max_scan == 0 || scanned < max_scan);
  };
  ScanEnd end;
  const bool forward = o.direction == Direction::kForward;
  uint64_t pos = forward ? std::max<uint64_t>(o.from_position, 1)
                         : std::min(o.from_position, head);
  while ((forward ? pos <= head : pos >= 1) && more()) {
    absl::StatusOr<bool> took = visit(pos);
    if (!took.ok()) return took.status();
    ++scanned;
    if (*took) ++taken;
    pos = forward ? pos + 1 : pos - 1;
  }
  end.next_position = pos;
  end.end_of_log = forward ? pos > head : pos == 0;
  return end;
}

// ReadAll over a store that fetches one decoded record at a time:
// fetch(position, RecordedEvent*) -> absl::Status.
template <typename Fetch>
absl::Status ScanAll(const ReadAllOptions& o, uint64_t head,
                     ReadAllResult* out, Fetch fetch) {
  auto end = ScanLog(o, head, [&](uint64_t pos) -> absl::StatusOr<bool> {
    RecordedEvent e;
    absl::Status s = fetch(pos, &e);
    if (!s.ok()) return s;
    if (!o.filter.Matches(e)) return false;
    out->events.push_back(std::move(e));
    return true;
  });
  if (!end.ok()) return end.status();
  out->next_position = end->next_position;
  out->end_of_log = end->end_of_log;
  return absl::OkStatus();
}

// Resolves a VerifyChain range: from 0 means 1, to 0 means the head.
// OUT_OF_RANGE when the range lies beyond the head or is reversed.
inline absl::StatusOr<std::pair<uint64_t, uint64_t>> VerifyRange(
    uint64_t from, uint64_t to, uint64_t head) {
  if (from == 0) from = 1;
  if (to == 0) to = head;
  if (to > head) {
    return absl::OutOfRangeError(absl::StrCat(
        "to_position ", to, " is beyond the head at ", head,
        "; use 0 to verify up to the head"));
  }
  if (head > 0 && from > to) {
    return absl::OutOfRangeError(absl::StrCat(
        "from_position ", from, " is after to_position ", to));
  }
  return std::make_pair(from, to);
}

}  // namespace ncm::eventstore

#endif  // NCM_EVENTSTORE_READ_HELPERS_H_
