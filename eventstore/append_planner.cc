#include "append_planner.h"

#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "ncm/eventstore/status_macros.h"

namespace ncm::eventstore {
namespace {

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates).
bool IsValidUtf8(absl::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    uint8_t c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (int k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

bool HasControlOrSpace(absl::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F) return true;
  }
  return false;
}

absl::Status CheckText(absl::string_view field, absl::string_view value,
                       size_t max_bytes, bool required, bool token) {
  if (value.empty()) {
    if (required) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " is empty; it is required"));
    }
    return absl::OkStatus();
  }
  if (value.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is ", value.size(), " bytes; the limit is ",
                     max_bytes, " bytes"));
  }
  if (!IsValidUtf8(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is not valid UTF-8"));
  }
  if (token && HasControlOrSpace(value)) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " \"", value.substr(0, 64),
        "\" contains a space or control character; use visible characters "
        "only"));
  }
  return absl::OkStatus();
}

std::string RevisionText(std::optional<uint64_t> r) {
  return r ? absl::StrCat("revision ", *r) : std::string("no stream");
}

std::string ExpectedText(const ExpectedRevision& e) {
  switch (e.kind) {
    case ExpectedRevision::Kind::kAny:
      return "any";
    case ExpectedRevision::Kind::kNoStream:
      return "no stream";
    case ExpectedRevision::Kind::kStreamExists:
      return "an existing stream";
    case ExpectedRevision::Kind::kExact:
      return absl::StrCat("revision ", e.revision);
  }
  return "?";
}

bool Satisfies(const ExpectedRevision& e, std::optional<uint64_t> current) {
  switch (e.kind) {
    case ExpectedRevision::Kind::kAny:
      return true;
    case ExpectedRevision::Kind::kNoStream:
      return !current.has_value();
    case ExpectedRevision::Kind::kStreamExists:
      return current.has_value();
    case ExpectedRevision::Kind::kExact:
      return current.has_value() && *current == e.revision;
  }
  return false;
}

}  // namespace

absl::Status ValidateStreamId(const Limits& limits, absl::string_view stream_id,
                              absl::string_view field) {
  return CheckText(field, stream_id, limits.max_stream_id_bytes, true, true);
}

absl::Status ValidateReadCount(const Limits& limits, size_t max_count) {
  if (max_count == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_count is 0; ask for 1 to ", limits.max_read_count, " events"));
  }
  if (max_count > limits.max_read_count) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_count ", max_count, " exceeds the limit of ",
                     limits.max_read_count,
                     " events per read; page with the returned position"));
  }
  return absl::OkStatus();
}

absl::Status ValidateAndNormalize(const Limits& limits, AppendRequest* req) {
  if (req->streams.empty()) {
    return absl::InvalidArgumentError(
        "streams is empty; an append names at least one stream");
  }
  if (req->streams.size() > limits.max_streams_per_append) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the append names ", req->streams.size(),
                     " streams; the limit is ", limits.max_streams_per_append,
                     " streams per append"));
  }
  if (req->actor.empty()) req->actor = kAnonymousActor;
  NCM_RETURN_IF_ERROR(
      CheckText("actor", req->actor, limits.max_actor_bytes, true, false));
  size_t total_events = 0, total_bytes = 0;
  absl::flat_hash_set<std::string> streams_seen;
  absl::flat_hash_set<std::string> ids_seen;
  for (size_t s = 0; s < req->streams.size(); ++s) {
    StreamWrite& w = req->streams[s];
    const std::string sf = absl::StrCat("streams[", s, "]");
    NCM_RETURN_IF_ERROR(
        ValidateStreamId(limits, w.stream_id, absl::StrCat(sf, ".stream_id")));
    if (!streams_seen.insert(w.stream_id).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          sf, ".stream_id \"", w.stream_id,
          "\" appears twice in one append; put all its events in one entry"));
    }
    // A stream without events only checks its expectation: a condition on
    // another aggregate, kept in the same atomic step.
    if (w.events.empty() &&
        w.expected.kind != ExpectedRevision::Kind::kExact &&
        w.expected.kind != ExpectedRevision::Kind::kStreamExists) {
      return absl::InvalidArgumentError(absl::StrCat(
          sf, ".events is empty; a stream without events only checks its "
              "expectation, which must then be EXACT or STREAM_EXISTS"));
    }
    total_events += w.events.size();
    if (total_events > limits.max_events_per_append) {
      return absl::ResourceExhaustedError(
          absl::StrCat("the append holds more than ",
                       limits.max_events_per_append,
                       " events, the limit per append; split it"));
    }
    for (size_t i = 0; i < w.events.size(); ++i) {
      ProposedEvent& e = w.events[i];
      const std::string f = absl::StrCat(sf, ".events[", i, "]");
      auto id = codec::ParseUuid(e.event_id);
      if (!id.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(f, ".", id.status().message()));
      }
      e.event_id = codec::FormatUuid(*id);
      if (!ids_seen.insert(e.event_id).second) {
        return absl::InvalidArgumentError(
            absl::StrCat(f, ".event_id ", e.event_id,
                         " appears twice in one append; ids must be unique"));
      }
      NCM_RETURN_IF_ERROR(CheckText(absl::StrCat(f, ".event_type"),
                                    e.event_type, limits.max_event_type_bytes,
                                    true, true));
      if (e.content_type.empty()) e.content_type = kDefaultContentType;
      NCM_RETURN_IF_ERROR(CheckText(absl::StrCat(f, ".content_type"),
                                    e.content_type,
                                    limits.max_content_type_bytes, true, true));
      NCM_RETURN_IF_ERROR(CheckText(absl::StrCat(f, ".correlation_id"),
                                    e.correlation_id, limits.max_id_bytes,
                                    false, true));
      NCM_RETURN_IF_ERROR(CheckText(absl::StrCat(f, ".causation_id"),
                                    e.causation_id, limits.max_id_bytes, false,
                                    true));
      NCM_RETURN_IF_ERROR(CheckText(absl::StrCat(f, ".command_id"),
                                    e.command_id, limits.max_id_bytes, false,
                                    true));
      if (e.payload.size() > limits.max_payload_bytes) {
        return absl::ResourceExhaustedError(
            absl::StrCat(f, ".payload is ", e.payload.size(),
                         " bytes; the limit is ", limits.max_payload_bytes,
                         " bytes per event"));
      }
      if (e.occurred_at.has_value()) {
        if (*e.occurred_at < absl::FromUnixSeconds(-62135596800) ||
            *e.occurred_at > absl::FromUnixSeconds(253402300799)) {
          return absl::InvalidArgumentError(absl::StrCat(
              f, ".occurred_at is outside the years 0001 to 9999"));
        }
        e.occurred_at = codec::TruncateToMicros(*e.occurred_at);
      }
      total_bytes += e.payload.size() + e.event_type.size() +
                     e.content_type.size() + w.stream_id.size() + 128;
      if (total_bytes > limits.max_append_bytes) {
        return absl::ResourceExhaustedError(
            absl::StrCat("the append exceeds ", limits.max_append_bytes,
                         " bytes, the limit per append; split it"));
      }
    }
  }
  if (total_events == 0) {
    return absl::InvalidArgumentError(
        "the append holds no events; append at least one event");
  }
  return absl::OkStatus();
}

bool SameContent(const RecordedEvent& r, const std::string& stream_id,
                 const ProposedEvent& p) {
  if (r.stream_id != stream_id || r.event_type != p.event_type ||
      r.payload != p.payload || r.content_type != p.content_type ||
      r.correlation_id != p.correlation_id ||
      r.causation_id != p.causation_id || r.command_id != p.command_id) {
    return false;
  }
  return !p.occurred_at.has_value() || *p.occurred_at == r.occurred_at;
}

// The stream's last revision among its events before `position`.
absl::StatusOr<std::optional<uint64_t>> RevisionBefore(
    AppendState& state, const std::string& stream_id, uint64_t position) {
  NCM_ASSIGN_OR_RETURN(std::optional<uint64_t> last,
                       state.LastRevision(stream_id));
  if (!last.has_value()) return std::nullopt;
  // Positions grow with revisions: find the last revision before it.
  uint64_t lo = 0, hi = *last + 1;  // answer in [lo - 1, hi - 1]
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    NCM_ASSIGN_OR_RETURN(uint64_t p, state.PositionOf(stream_id, mid));
    if (p < position) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == 0) return std::nullopt;
  return lo - 1;
}

absl::StatusOr<AppendPlan> PlanAppend(AppendRequest* request,
                                      AppendState& state,
                                      uint64_t head_position,
                                      const Hash& head_hash,
                                      absl::Time recorded_at) {
  AppendRequest& req = *request;
  AppendPlan plan;
  recorded_at = codec::TruncateToMicros(recorded_at);

  // Idempotency: look every id up first.
  size_t known = 0, total = 0;
  const ProposedEvent* first_new = nullptr;
  std::vector<std::vector<std::optional<RecordedEvent>>> found(
      req.streams.size());
  std::vector<codec::Uuid> ids;
  for (size_t s = 0; s < req.streams.size(); ++s) {
    const StreamWrite& w = req.streams[s];
    for (const ProposedEvent& e : w.events) {
      ++total;
      NCM_ASSIGN_OR_RETURN(codec::Uuid id, codec::ParseUuid(e.event_id));
      ids.push_back(id);
      NCM_ASSIGN_OR_RETURN(std::optional<RecordedEvent> rec,
                           state.FindEvent(id));
      if (rec.has_value()) {
        ++known;
        if (!SameContent(*rec, w.stream_id, e)) {
          return absl::AlreadyExistsError(absl::StrCat(
              "event ", e.event_id, " is already recorded at position ",
              rec->position, " in stream \"", rec->stream_id,
              "\" with other content; use a new event id for a new event"));
        }
      } else if (first_new == nullptr) {
        first_new = &e;
      }
      found[s].push_back(std::move(rec));
    }
  }
  if (known > 0 && known < total) {
    const RecordedEvent* some_known = nullptr;
    for (auto& v : found) {
      for (auto& r : v) {
        if (r.has_value() && some_known == nullptr) some_known = &*r;
      }
    }
    return absl::AlreadyExistsError(absl::StrCat(
        "event ", some_known->event_id, " is already recorded at position ",
        some_known->position, " but event ", first_new->event_id,
        " is new; retry the original append unchanged, or append new events "
        "with new ids"));
  }
  if (known == total) {
    plan.result.idempotent_replay = true;
    uint64_t lo = kEndPosition, hi = 0;
    for (size_t s = 0; s < req.streams.size(); ++s) {
      StreamAppendResult sr;
      sr.stream_id = req.streams[s].stream_id;
      for (size_t i = 0; i < found[s].size(); ++i) {
        const RecordedEvent& r = *found[s][i];
        if (i > 0 && r.revision <= sr.last_revision) {
          return absl::AlreadyExistsError(absl::StrCat(
              "events of stream \"", sr.stream_id,
              "\" are recorded in another order (event ", r.event_id,
              " is at revision ", r.revision, ", before revision ",
              sr.last_revision, "); retry the original append unchanged"));
        }
        if (i == 0) sr.first_revision = r.revision;
        sr.last_revision = r.revision;
        sr.positions.push_back(r.position);
        lo = std::min(lo, r.position);
        hi = std::max(hi, r.position);
      }
      plan.result.streams.push_back(std::move(sr));
    }
    plan.result.first_position = lo;
    plan.result.last_position = hi;
    // A stream that was only checked: the revision it had when the
    // original append was recorded.
    for (size_t s = 0; s < req.streams.size(); ++s) {
      if (!req.streams[s].events.empty()) continue;
      NCM_ASSIGN_OR_RETURN(
          std::optional<uint64_t> r,
          RevisionBefore(state, req.streams[s].stream_id, lo));
      plan.result.streams[s].first_revision = r.value_or(0);
      plan.result.streams[s].last_revision = r.value_or(0);
    }
    return plan;
  }

  // Expectations: all are checked before anything is planned.
  std::vector<std::optional<uint64_t>> current(req.streams.size());
  for (size_t s = 0; s < req.streams.size(); ++s) {
    const StreamWrite& w = req.streams[s];
    NCM_ASSIGN_OR_RETURN(current[s], state.LastRevision(w.stream_id));
    if (!Satisfies(w.expected, current[s])) {
      return absl::AbortedError(absl::StrCat(
          "stream \"", w.stream_id, "\" is at ", RevisionText(current[s]),
          " but the append expected ", ExpectedText(w.expected),
          "; read the stream again and retry"));
    }
  }

  Hash prev = head_hash;
  uint64_t pos = head_position;
  size_t next_id = 0;
  plan.records.reserve(total);
  for (size_t s = 0; s < req.streams.size(); ++s) {
    StreamWrite& w = req.streams[s];
    StreamAppendResult sr;
    sr.stream_id = w.stream_id;
    uint64_t rev = current[s].has_value() ? *current[s] + 1 : 0;
    sr.first_revision = rev;
    if (w.events.empty()) {
      // Only checked: the revision it holds.
      sr.first_revision = sr.last_revision = current[s].value_or(0);
      plan.result.streams.push_back(std::move(sr));
      continue;
    }
    for (ProposedEvent& e : w.events) {
      PlannedRecord pr;
      RecordedEvent& r = pr.event;
      r.position = ++pos;
      r.stream_id = w.stream_id;
      r.revision = rev++;
      r.event_id = e.event_id;
      r.event_type = e.event_type;
      r.payload = std::move(e.payload);
      r.content_type = e.content_type;
      r.recorded_at = recorded_at;
      r.occurred_at = e.occurred_at.value_or(recorded_at);
      r.actor = req.actor;
      r.correlation_id = e.correlation_id;
      r.causation_id = e.causation_id;
      r.command_id = e.command_id;
      r.prev_hash = prev;
      pr.id = ids[next_id++];
      pr.log_value = codec::EncodeLogValue(&r, pr.id);
      prev = r.hash;
      sr.positions.push_back(r.position);
      plan.records.push_back(std::move(pr));
    }
    sr.last_revision = rev - 1;
    plan.result.streams.push_back(std::move(sr));
  }
  plan.result.first_position = head_position + 1;
  plan.result.last_position = pos;
  return plan;
}

void VerifyEvents(const std::vector<RecordedEvent>& events, uint64_t from,
                  Hash* prev, VerifyResult* result) {
  uint64_t expect = from;
  for (const RecordedEvent& e : events) {
    auto fail = [&](std::string reason) {
      result->ok = false;
      result->first_bad_position = expect;
      result->reason = std::move(reason);
    };
    if (e.position != expect) {
      fail(absl::StrCat("expected position ", expect, " but found ",
                        e.position));
      return;
    }
    if (e.prev_hash != *prev) {
      fail("prev_hash does not equal the previous record's hash");
      return;
    }
    Hash h = codec::ChainHash(e.prev_hash, codec::EncodeCanonical(e));
    if (h != e.hash) {
      fail("hash does not match the record's content");
      return;
    }
    *prev = e.hash;
    ++result->verified_count;
    ++expect;
  }
}

bool RecordedEvent::operator==(const RecordedEvent& o) const {
  return position == o.position && stream_id == o.stream_id &&
         revision == o.revision && event_id == o.event_id &&
         event_type == o.event_type && payload == o.payload &&
         content_type == o.content_type && recorded_at == o.recorded_at &&
         occurred_at == o.occurred_at && actor == o.actor &&
         correlation_id == o.correlation_id &&
         causation_id == o.causation_id && command_id == o.command_id &&
         prev_hash == o.prev_hash && hash == o.hash;
}

bool Filter::Matches(absl::string_view stream_id,
                     absl::string_view event_type) const {
  if (!stream_prefixes.empty()) {
    bool any = false;
    for (const auto& p : stream_prefixes) {
      if (stream_id.substr(0, p.size()) == p) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  if (!event_types.empty()) {
    bool any = false;
    for (const auto& t : event_types) {
      if (event_type == t) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

bool Filter::Matches(const RecordedEvent& e) const {
  return Matches(e.stream_id, e.event_type);
}

absl::StatusOr<ReadAllRawResult> EventStore::ReadAllRaw(
    const ReadAllOptions& options) {
  NCM_ASSIGN_OR_RETURN(ReadAllResult read, ReadAll(options));
  ReadAllRawResult out;
  for (RecordedEvent& e : read.events) {
    NCM_ASSIGN_OR_RETURN(codec::Uuid id, codec::ParseUuid(e.event_id));
    Hash stored = e.hash;
    codec::AppendFrame(codec::EncodeLogValue(&e, id), &out.frames);
    if (stored != e.hash) {
      return absl::DataLossError(absl::StrCat(
          "record ", e.position, " does not match its hash; run VerifyChain"));
    }
    ++out.count;
  }
  out.next_position = read.next_position;
  out.end_of_log = read.end_of_log;
  out.head_position = read.head_position;
  return out;
}

absl::StatusOr<AppendResult> EventStore::Append(AppendRequest request) {
  struct Waiter {
    absl::Mutex mu;
    bool done = false;
    absl::StatusOr<AppendResult> result{absl::UnknownError("not run")};
  };
  auto w = std::make_shared<Waiter>();
  AppendAsync(std::move(request), [w](absl::StatusOr<AppendResult> r) {
    absl::MutexLock l(&w->mu);
    w->result = std::move(r);
    w->done = true;
  });
  absl::MutexLock l(&w->mu);
  w->mu.Await(absl::Condition(&w->done));
  return std::move(w->result);
}

}  // namespace ncm::eventstore
