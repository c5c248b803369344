#include "ncm/services/command.h"

#include "ncm/services/ids.h"

namespace ncm::services {

namespace pbc = ::ncm::common::v1;

absl::StatusOr<CommandContext> MakeContext(const pbc::CommandOptions& options,
                                           const Clock& clock,
                                           std::string actor) {
  CommandContext ctx;
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
  ctx.actor = std::move(actor);
  return ctx;
}

absl::Status CheckMinPosition(es::EventStore* store, uint64_t min_position) {
  const uint64_t head = store->HeadPosition();
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
  return ctx.command_id.empty() ? NewUuid()
                                : DeriveUuid({kind, scope, ctx.command_id});
}

void StampEvents(const CommandContext& ctx, es::AppendRequest* request) {
  const absl::Time occurred = DayToTime(ctx.occurred_on);
  for (es::StreamWrite& w : request->streams) {
    for (size_t i = 0; i < w.events.size(); ++i) {
      es::ProposedEvent& e = w.events[i];
      e.event_id = ctx.command_id.empty()
                       ? NewUuid()
                       : DeriveUuid({"event", w.stream_id, ctx.command_id,
                                     absl::StrCat(i)});
      e.occurred_at = occurred;
      e.command_id = ctx.command_id;
      e.correlation_id = ctx.correlation_id;
    }
  }
}

absl::StatusOr<Outcome> AppendDecision(es::EventStore* store,
                                       const std::string& aggregate_id,
                                       es::AppendRequest request) {
  NCM_ASSIGN_OR_RETURN(es::AppendResult r, store->Append(std::move(request)));
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
