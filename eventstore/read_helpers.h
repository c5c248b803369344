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

// An upper bound of the bytes an event takes on the wire: the variable
// fields plus 256 for the fixed ones (event id, two hashes, position,
// revision, timestamps and protobuf framing take under 200).
inline size_t ApproximateSize(const RecordedEvent& e) {
  return 256 + e.event_id.size() + e.stream_id.size() + e.event_type.size() + e.payload.size() +
         e.content_type.size() + e.actor.size() + e.correlation_id.size() +
         e.causation_id.size() + e.command_id.size();
}

// Adds `e` to a ReadStream result unless the byte cap is reached (the first
// event is always taken). Returns false, and marks the result as not at the
// end of the stream, when the cap stops the read.
inline bool TakeWithinBytes(const ReadStreamOptions& o, RecordedEvent e,
                            size_t* bytes, ReadStreamResult* out) {
  if (o.max_bytes != 0 && !out->events.empty() && *bytes >= o.max_bytes) {
    out->end_of_stream = false;
    return false;
  }
  *bytes += ApproximateSize(e);
  out->events.push_back(std::move(e));
  return true;
}

struct ScanEnd {
  uint64_t next_position = 0;
  bool end_of_log = false;
};

// Walks the log for ReadAll and ReadAllRaw. visit(position) ->
// StatusOr<size_t> examines one record and returns the bytes it took, or 0
// when the record did not match the filter; it is called with consecutive
// positions in the read direction until o.max_count records or o.max_bytes
// bytes are taken (at least one record), the log ends, or o.max_scan records
// were examined under a filter.
template <typename Visit>
absl::StatusOr<ScanEnd> ScanLog(const ReadAllOptions& o, uint64_t head,
                                Visit visit) {
  size_t scanned = 0, taken = 0, bytes = 0;
  const size_t max_scan = o.filter.Empty() ? 0 : o.max_scan;
  auto more = [&] {
    return taken < o.max_count && (max_scan == 0 || scanned < max_scan) &&
           (o.max_bytes == 0 || bytes < o.max_bytes);
  };
  ScanEnd end;
  const bool forward = o.direction == Direction::kForward;
  uint64_t pos = forward ? std::max<uint64_t>(o.from_position, 1)
                         : std::min(o.from_position, head);
  // Forward from the end reads nothing and resumes after the head.
  if (forward && o.from_position == kEndPosition) pos = head + 1;
  while ((forward ? pos <= head : pos >= 1) && more()) {
    absl::StatusOr<size_t> took = visit(pos);
    if (!took.ok()) return took.status();
    ++scanned;
    if (*took > 0) {
      ++taken;
      bytes += *took;
    }
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
  auto end = ScanLog(o, head, [&](uint64_t pos) -> absl::StatusOr<size_t> {
    RecordedEvent e;
    absl::Status s = fetch(pos, &e);
    if (!s.ok()) return s;
    if (!o.filter.Matches(e)) return 0;
    const size_t size = ApproximateSize(e);
    out->events.push_back(std::move(e));
    return size;
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
