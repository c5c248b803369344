#include "ncm/services/command.h"

#include <algorithm>
#include <memory>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "ncm/services/ids.h"

namespace ncm::services {

namespace pbc = ::ncm::common::v1;

std::string CommandDigest(absl::string_view method,
                          const google::protobuf::Message& request) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream raw(&bytes);
    google::protobuf::io::CodedOutputStream out(&raw);
    out.SetSerializationDeterministic(true);
    request.SerializeToCodedStream(&out);
  }
  const std::string type = request.GetDescriptor()->full_name();
  return absl::StrCat("sha256:",
                      HexSha256({"ncm.command.v1", method, type, bytes}));
}

std::string CommandKey(absl::string_view actor, absl::string_view command_id) {
  // Principal ids and command ids are printable ASCII: a NUL separates.
  return absl::StrCat(actor, std::string(1, '\0'), command_id);
}

absl::Status CommandIdReused(const CommandContext& ctx,
                             absl::string_view where) {
  return absl::AlreadyExistsError(absl::StrCat(
      "command id \"", ctx.command_id,
      "\" was already used by this principal for another command (recorded on ",
      where,
      "); a retry must repeat the same request unchanged: give a new command "
      "a new command id"));
}

absl::StatusOr<CommandContext> MakeContext(
    const google::protobuf::Message& request, absl::string_view method,
    const Clock& clock, std::string actor) {
  const google::protobuf::FieldDescriptor* f =
      request.GetDescriptor()->FindFieldByName("options");
  if (f == nullptr || f->message_type() != pbc::CommandOptions::descriptor()) {
    return absl::InternalError(absl::StrCat(
        request.GetDescriptor()->full_name(), " has no command options"));
  }
  const auto& options = static_cast<const pbc::CommandOptions&>(
      request.GetReflection()->GetMessage(request, f));
  if (method.empty() || method == "operator()") {
    return absl::InternalError(
        absl::StrCat("a command of ", request.GetDescriptor()->full_name(),
                     " was given no method name"));
  }
  CommandContext ctx;
  ctx.digest = CommandDigest(method, request);
  NCM_RETURN_IF_ERROR(
      CheckCommandId(options.command_id(), "options.command_id"));
  NCM_RETURN_IF_ERROR(
      CheckCommandId(options.correlation_id(), "options.correlation_id"));
  ctx.command_id = options.command_id();
  ctx.correlation_id = options.correlation_id();
  const absl::CivilDay today = clock.Today();
  if (IsSet(options.occurred_on())) {
    NCM_ASSIGN_OR_RETURN(ctx.occurred_on,
                         FromProto(options.occurred_on(), "options.occurred_on"));
    if (ctx.occurred_on > today) {
      return absl::InvalidArgumentError(absl::StrCat(
          "options.occurred_on ", FormatDay(ctx.occurred_on),
          " is in the future (today is ", FormatDay(today),
          "); record what has happened, on or before today"));
    }
  } else {
    ctx.occurred_on = today;
  }
  // The store records an empty actor as anonymous: the command's key must
  // name the actor as recorded.
  ctx.actor = actor.empty() ? std::string(es::kAnonymousActor) : std::move(actor);
  return ctx;
}

absl::Status CheckMinPosition(es::EventStore* store, uint64_t min_position) {
  uint64_t head = store->HeadPosition();
  if (min_position > head && store->IsCopy()) {
    // A read node: the position was written on the write node and is on
    // its way here. Woken by the copy's commits, not by polling.
    constexpr absl::Duration kCopyWait = absl::Seconds(5);
    struct Waiter {
      absl::Mutex mu;
      uint64_t head ABSL_GUARDED_BY(mu) = 0;
    };
    auto w = std::make_shared<Waiter>();
    const uint64_t id = store->AddCommitListener([w](uint64_t h) {
      absl::MutexLock l(&w->mu);
      w->head = std::max(w->head, h);
    });
    {
      absl::MutexLock l(&w->mu);
      // A commit between the first look and the listener is seen here.
      w->head = std::max(w->head, store->HeadPosition());
      auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->mu) {
        return w->head >= min_position;
      };
      w->mu.AwaitWithTimeout(absl::Condition(&reached), kCopyWait);
      head = w->head;
    }
    store->RemoveCommitListener(id);
    if (head < min_position) {
      return absl::DeadlineExceededError(absl::StrCat(
          "this read node's copy of the log is at position ", head,
          ", short of min_position ", min_position, " after waiting ",
          absl::FormatDuration(kCopyWait), "; retry, or ask the write node"));
    }
  }
  if (min_position > head) {
    return absl::OutOfRangeError(absl::StrCat(
        "min_position ", min_position, " is beyond the log's head (", head,
        ")"));
  }
  return absl::OkStatus();
}

void ToProto(const Outcome& o, pbc::CommandResult* out) {
  out->set_aggregate_id(o.aggregate_id);
  out->set_revision(o.revision);
  out->set_position(o.position);
  out->set_replayed(o.replayed);
}

namespace {

const google::protobuf::OneofDescriptor* EventOneof(
    const google::protobuf::Descriptor* d) {
  return d->oneof_decl_count() == 1 ? d->oneof_decl(0) : nullptr;
}

}  // namespace

es::ProposedEvent EncodeEvent(const google::protobuf::Message& wrapper) {
  const auto* refl = wrapper.GetReflection();
  const auto* oneof = EventOneof(wrapper.GetDescriptor());
  es::ProposedEvent e;
  const google::protobuf::FieldDescriptor* f =
      oneof == nullptr ? nullptr : refl->GetOneofFieldDescriptor(wrapper, oneof);
  if (f == nullptr) return e;  // caught by the store: no type
  const google::protobuf::Message& m = refl->GetMessage(wrapper, f);
  e.event_type = m.GetDescriptor()->full_name();
  m.SerializeToString(&e.payload);
  return e;
}

absl::Status DecodeEvent(const es::RecordedEvent& e,
                         google::protobuf::Message* wrapper) {
  const auto* oneof = EventOneof(wrapper->GetDescriptor());
  for (int i = 0; oneof != nullptr && i < oneof->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = oneof->field(i);
    if (f->message_type() == nullptr ||
        f->message_type()->full_name() != e.event_type) {
      continue;
    }
    google::protobuf::Message* m =
        wrapper->GetReflection()->MutableMessage(wrapper, f);
    if (!m->ParseFromString(e.payload)) {
      return absl::DataLossError(absl::StrCat(
          "the ", e.event_type, " event at position ", e.position,
          " does not parse"));
    }
    // Fields this server does not define (recorded before requests were
    // held to known fields) are not shown again.
    m->DiscardUnknownFields();
    return absl::OkStatus();
  }
  return absl::DataLossError(absl::StrCat(
      "stream \"", e.stream_id, "\" holds an event of type ", e.event_type,
      " at position ", e.position, " that ",
      wrapper->GetDescriptor()->full_name(),
      " does not know; is the server older than the data?"));
}

absl::StatusOr<std::vector<es::RecordedEvent>> ReadWholeStream(
    es::EventStore* store, const std::string& stream_id) {
  std::vector<es::RecordedEvent> out;
  es::ReadStreamOptions o;
  o.stream_id = stream_id;
  o.max_count = 1000;
  for (;;) {
    absl::StatusOr<es::ReadStreamResult> r = store->ReadStream(o);
    if (!r.ok()) {
      if (r.status().code() == absl::StatusCode::kNotFound && out.empty()) {
        return out;
      }
      return r.status();
    }
    for (auto& e : r->events) out.push_back(std::move(e));
    if (r->end_of_stream || out.empty()) return out;
    o.from_revision = out.back().revision + 1;
  }
}

std::string NewAggregateId(const CommandContext& ctx, absl::string_view kind,
                           absl::string_view scope) {
  return ctx.command_id.empty()
             ? NewUuid()
             : DeriveUuid({kind, scope, ctx.actor, ctx.command_id});
}

void StampEvents(const CommandContext& ctx, es::AppendRequest* request) {
  const absl::Time occurred = DayToTime(ctx.occurred_on);
  // With a command id, the n-th event of the command has an id of the
  // principal's command id and n alone, whatever its stream: another
  // command under the same id, on any stream, proposes an event id already
  // recorded with other content, and the store refuses it.
  size_t n = 0;
  for (es::StreamWrite& w : request->streams) {
    for (es::ProposedEvent& e : w.events) {
      e.event_id = ctx.command_id.empty()
                       ? NewUuid()
                       : DeriveUuid({"event", ctx.actor, ctx.command_id,
                                     absl::StrCat(n)});
      ++n;
      e.occurred_at = occurred;
      e.command_id = ctx.command_id;
      e.correlation_id = ctx.correlation_id;
      e.causation_id = ctx.digest;
    }
  }
}

absl::StatusOr<Outcome> AppendDecision(const CommandContext& ctx,
                                       es::EventStore* store,
                                       const std::string& aggregate_id,
                                       es::AppendRequest request) {
  absl::StatusOr<es::AppendResult> appended = store->Append(std::move(request));
  if (!appended.ok() &&
      appended.status().code() == absl::StatusCode::kAlreadyExists &&
      !ctx.command_id.empty()) {
    // The command's event ids are taken: the principal used the command id
    // for another command, recorded elsewhere.
    return CommandIdReused(ctx, appended.status().message());
  }
  NCM_ASSIGN_OR_RETURN(es::AppendResult r, std::move(appended));
  Outcome o;
  o.aggregate_id = aggregate_id;
  o.replayed = r.idempotent_replay;
  if (!r.streams.empty()) {
    const es::StreamAppendResult& mine = r.streams.back();
    o.revision = mine.last_revision;
    o.position = mine.positions.empty() ? r.last_position : mine.positions.back();
  }
  return o;
}

}  // namespace ncm::services
