// The command side shared by every domain service: a command's context,
// events encoded as protobuf messages, aggregates loaded by folding their
// stream, and the validate -> load -> decide -> append loop with
// optimistic concurrency and command-id idempotency.
#ifndef NCM_SERVICES_COMMAND_H_
#define NCM_SERVICES_COMMAND_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "ncm/common/v1/common.pb.h"
#include "ncm/eventstore/event_store.h"
#include "ncm/eventstore/status_macros.h"
#include "ncm/services/dates.h"

namespace ncm::services {

namespace es = ::ncm::eventstore;

// What every command carries besides its own fields, checked.
struct CommandContext {
  std::string command_id;   // may be empty
  absl::CivilDay occurred_on;
  std::string correlation_id;
  std::string actor;        // principal id; empty means anonymous
  // What the command is: "sha256:" and the hex SHA-256 of the method's
  // name and the request's bytes (CommandDigest). Recorded as the
  // causation id of every event the command records, so that a retry under
  // the same command id is told from another command.
  std::string digest;
};

// The digest of a command: "sha256:" followed by the lower-case hex SHA-256
// of the length-prefixed parts "ncm.command.v1", the method's name, the
// request type's full name and the request's deterministic protobuf bytes.
std::string CommandDigest(absl::string_view method,
                          const google::protobuf::Message& request);

// Checks a command request's `options` (ncm.common.v1.CommandOptions): the
// command id's form, and occurred_on a real day not after today (unset:
// today); INVALID_ARGUMENT naming the field. `method` is the RPC's name;
// with the request it makes the command's digest.
absl::StatusOr<CommandContext> MakeContext(
    const google::protobuf::Message& request, absl::string_view method,
    const Clock& clock, std::string actor);

// Reads that fold a stream from the log itself reflect every committed
// position: OK unless min_position lies beyond the head (OUT_OF_RANGE).
absl::Status CheckMinPosition(es::EventStore* store, uint64_t min_position);

// The envelope fields an aggregate may look at while folding.
struct EventMeta {
  uint64_t revision = 0;
  uint64_t position = 0;
  absl::CivilDay occurred_on;
  absl::Time recorded_at;
  std::string actor;
  std::string command_id;
};

// The result of a command.
struct Outcome {
  std::string aggregate_id;
  uint64_t revision = 0;
  uint64_t position = 0;
  bool replayed = false;
};
void ToProto(const Outcome& o, ncm::common::v1::CommandResult* out);

// Events of an aggregate are the members of a oneof in a wrapper message
// (e.g. OrganisationEvent). An event is recorded with the member message's
// full name as its type and the member's bytes as its payload.
//
// Encodes the wrapper's set member. REQUIRES: exactly one member is set.
es::ProposedEvent EncodeEvent(const google::protobuf::Message& wrapper);
// Sets the member of `wrapper` whose message type is e.event_type.
// DATA_LOSS when the type is not one of the wrapper's or the payload does
// not parse.
absl::Status DecodeEvent(const es::RecordedEvent& e,
                         google::protobuf::Message* wrapper);

// Every event of `stream_id` in order; empty when the stream has none.
absl::StatusOr<std::vector<es::RecordedEvent>> ReadWholeStream(
    es::EventStore* store, const std::string& stream_id);

// A command recorded on a stream, as found when folding it.
struct RecordedCommand {
  Outcome outcome;     // of its last event on the stream, replayed = true
  std::string digest;  // the events' causation id; empty before digests
};

// Command ids are the principal's own: the key of (actor, command id).
std::string CommandKey(absl::string_view actor, absl::string_view command_id);

template <typename State>
struct Loaded {
  State state;
  std::optional<uint64_t> revision;  // nullopt: the stream does not exist
  uint64_t position = 0;             // of the last event
  // CommandKey(actor, command id) -> the command that recorded it here.
  absl::flat_hash_map<std::string, RecordedCommand> commands;
};

// The first result of the command that `ctx` repeats, when `loaded` holds
// it: its outcome if it is the same command (same digest; commands recorded
// before digests count as the same), ALREADY_EXISTS naming the command id
// if the principal used it for another command. nullopt when the stream
// does not hold the command id.
template <typename State>
std::optional<absl::StatusOr<Outcome>> FindReplay(const Loaded<State>& loaded,
                                                  const CommandContext& ctx);
absl::Status CommandIdReused(const CommandContext& ctx,
                             absl::string_view where);

// Folds a stream with apply(const Wrapper&, const EventMeta&, State*).
template <typename Wrapper, typename State, typename Apply>
absl::StatusOr<Loaded<State>> LoadAggregate(es::EventStore* store,
                                            const std::string& stream_id,
                                            const std::string& aggregate_id,
                                            Apply apply) {
  NCM_ASSIGN_OR_RETURN(std::vector<es::RecordedEvent> events,
                       ReadWholeStream(store, stream_id));
  Loaded<State> out;
  Wrapper w;
  for (const es::RecordedEvent& e : events) {
    w.Clear();
    NCM_RETURN_IF_ERROR(DecodeEvent(e, &w));
    EventMeta meta{e.revision, e.position, TimeToDay(e.occurred_at),
                   e.recorded_at, e.actor, e.command_id};
    apply(w, meta, &out.state);
    out.revision = e.revision;
    out.position = e.position;
    if (!e.command_id.empty()) {
      out.commands[CommandKey(e.actor, e.command_id)] = RecordedCommand{
          Outcome{aggregate_id, e.revision, e.position, true}, e.causation_id};
    }
  }
  return out;
}

// Folds with the Apply(const Wrapper&, const EventMeta&, State*) overload
// found next to the State type.
struct ApplyFn {
  template <typename E, typename S>
  void operator()(const E& e, const EventMeta& m, S* s) const {
    Apply(e, m, s);
  }
};

template <typename Wrapper, typename State>
absl::StatusOr<Loaded<State>> Load(es::EventStore* store,
                                   const std::string& stream_id,
                                   const std::string& aggregate_id) {
  return LoadAggregate<Wrapper, State>(store, stream_id, aggregate_id,
                                       ApplyFn());
}

// What a decision records: events for the aggregate's own stream, and
// events for other streams (e.g. a uniqueness claim) with their own
// expectations, all in one atomic append.
template <typename Wrapper>
struct Decision {
  std::vector<Wrapper> events;
  std::vector<es::StreamWrite> others;  // ids and envelope filled in later
};

// A decision recording `events` on the aggregate's own stream only.
template <typename W>
absl::StatusOr<Decision<W>> Decided(absl::StatusOr<std::vector<W>> events) {
  if (!events.ok()) return events.status();
  Decision<W> d;
  d.events = std::move(*events);
  return d;
}

// A write of `events` on another stream, expecting the revision read
// (nullopt: the stream must not exist yet).
template <typename W>
es::StreamWrite StreamWriteOf(const std::string& stream_id,
                              std::optional<uint64_t> revision,
                              const std::vector<W>& events);

// A write of no events that only holds `stream_id` at `revision`: the
// append fails (ABORTED) if the stream moved on meanwhile. For decisions
// that depend on another aggregate's state (e.g. an organisation still
// registered and not withdrawn).
inline es::StreamWrite StreamCheck(const std::string& stream_id,
                                   uint64_t revision) {
  es::StreamWrite w;
  w.stream_id = stream_id;
  w.expected = es::ExpectedRevision::Exact(revision);
  return w;
}

// A new aggregate's id: derived from the command id (so that a retry names
// the same aggregate) within `kind` and `scope`, or random without one.
std::string NewAggregateId(const CommandContext& ctx, absl::string_view kind,
                           absl::string_view scope = "");

// Fills the envelope of a command's events: ids derived from the command
// id (so that a retry proposes the very same events) or random, the
// domain date, the command and correlation ids.
void StampEvents(const CommandContext& ctx, es::AppendRequest* request);

// Appends and maps the store's answer for the aggregate's stream (the last
// in `request`) to an Outcome.
// An event id already recorded with other content under the command's id
// is ALREADY_EXISTS naming the command id.
absl::StatusOr<Outcome> AppendDecision(const CommandContext& ctx,
                                       es::EventStore* store,
                                       const std::string& aggregate_id,
                                       es::AppendRequest request);

template <typename W>
es::StreamWrite StreamWriteOf(const std::string& stream_id,
                              std::optional<uint64_t> revision,
                              const std::vector<W>& events) {
  es::StreamWrite w;
  w.stream_id = stream_id;
  w.expected = revision.has_value() ? es::ExpectedRevision::Exact(*revision)
                                    : es::ExpectedRevision::NoStream();
  for (const W& e : events) w.events.push_back(EncodeEvent(e));
  return w;
}

template <typename State>
std::optional<absl::StatusOr<Outcome>> FindReplay(const Loaded<State>& loaded,
                                                  const CommandContext& ctx) {
  if (ctx.command_id.empty()) return std::nullopt;
  auto it = loaded.commands.find(CommandKey(ctx.actor, ctx.command_id));
  if (it == loaded.commands.end()) return std::nullopt;
  const RecordedCommand& c = it->second;
  if (!c.digest.empty() && c.digest != ctx.digest) {
    return CommandIdReused(ctx, absl::StrCat(c.outcome.aggregate_id,
                                             " at position ",
                                             c.outcome.position));
  }
  return c.outcome;
}

inline constexpr int kMaxCommandAttempts = 5;

// Runs a command on one aggregate: load by folding, decide, append with the
// exact revision read; on a concurrency conflict (ABORTED) load and decide
// again, at most kMaxCommandAttempts times. A command id already recorded
// in the stream returns its first result without deciding again.
// decide(const Loaded<State>&) -> absl::StatusOr<Decision<Wrapper>>.
// A decision without events writes nothing and returns the current revision.
template <typename Wrapper, typename State, typename Apply, typename Decide>
absl::StatusOr<Outcome> Execute(es::EventStore* store,
                                const std::string& stream_id,
                                const std::string& aggregate_id,
                                const CommandContext& ctx, Apply apply,
                                Decide decide) {
  absl::Status last;
  for (int attempt = 0; attempt < kMaxCommandAttempts; ++attempt) {
    NCM_ASSIGN_OR_RETURN(
        Loaded<State> loaded,
        (LoadAggregate<Wrapper, State>(store, stream_id, aggregate_id, apply)));
    if (auto replay = FindReplay(loaded, ctx)) return *replay;
    NCM_ASSIGN_OR_RETURN(Decision<Wrapper> d, decide(loaded));
    if (d.events.empty()) {
      return Outcome{aggregate_id, loaded.revision.value_or(0),
                     loaded.position, false};
    }
    // The aggregate's own stream goes last, so that its last event is the
    // append's last position, which a retry can read back from the stream.
    es::AppendRequest req;
    req.actor = ctx.actor;
    for (es::StreamWrite& o : d.others) req.streams.push_back(std::move(o));
    es::StreamWrite& mine = req.streams.emplace_back();
    mine.stream_id = stream_id;
    mine.expected = loaded.revision.has_value()
                        ? es::ExpectedRevision::Exact(*loaded.revision)
                        : es::ExpectedRevision::NoStream();
    for (const Wrapper& w : d.events) mine.events.push_back(EncodeEvent(w));
    StampEvents(ctx, &req);
    absl::StatusOr<Outcome> r =
        AppendDecision(ctx, store, aggregate_id, std::move(req));
    if (r.ok() || r.status().code() != absl::StatusCode::kAborted) return r;
    last = r.status();
  }
  return absl::AbortedError(absl::StrCat(
      "the ", aggregate_id, " record kept changing while this command ran (",
      kMaxCommandAttempts, " attempts; last: ", last.message(),
      "); retry the command"));
}

}  // namespace ncm::services

#endif  // NCM_SERVICES_COMMAND_H_
