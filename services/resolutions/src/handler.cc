#include "ncm/resolutions/handler.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "ncm/eventstore/status_macros.h"
#include "ncm/services/ids.h"
#include "ncm/resolutions/read_model.h"
#include "ncm/resolutions/view.h"

namespace ncm::resolutions {

namespace es = ::ncm::eventstore;
using services::CheckUuid;
using services::CommandContext;
using services::Decided;
using services::Decision;
using services::Load;
using services::Loaded;
using services::NewAggregateId;
using services::StreamWriteOf;

namespace {

using MeetingDecision = Decision<pb::MeetingEvent>;
using ResolutionDecision = Decision<pb::ResolutionEvent>;

std::vector<std::string> Strings(
    const google::protobuf::RepeatedPtrField<std::string>& in) {
  return {in.begin(), in.end()};
}

// The day given, or today; INVALID_ARGUMENT naming `field` when not a day.
absl::StatusOr<absl::CivilDay> DayOr(const ncm::common::v1::Date& d,
                                     absl::CivilDay today,
                                     const std::string& field) {
  if (!services::IsSet(d)) return today;
  return services::FromProto(d, field);
}

}  // namespace

ResolutionsHandler::ResolutionsHandler(
    es::EventStore* store, stakeholders::StakeholdersHandler* stakeholders,
    const CountyList* counties, services::Clock clock, CodeLists codes)
    : store_(store),
      stakeholders_(stakeholders),
      counties_(counties),
      clock_(std::move(clock)),
      codes_(codes) {}

absl::StatusOr<Outcome> ResolutionsHandler::OnMeeting(
    const std::string& id, const CommandContext& ctx,
    const MeetingDecider& decide) {
  NCM_RETURN_IF_ERROR(CheckUuid(id, "meeting_id"));
  return services::Execute<pb::MeetingEvent, MeetingState>(
      store_, MeetingStream(id), id, ctx, services::ApplyFn(), decide);
}

absl::StatusOr<ResolutionState> ResolutionsHandler::LoadResolution(
    const std::string& id) {
  NCM_RETURN_IF_ERROR(CheckUuid(id, "resolution_id"));
  NCM_ASSIGN_OR_RETURN(auto l, (Load<pb::ResolutionEvent, ResolutionState>(
                                   store_, ResolutionStream(id), id)));
  return std::move(l.state);
}

absl::StatusOr<Outcome> ResolutionsHandler::OnResolution(
    const std::string& id, const CommandContext& ctx,
    const ResolutionDecider& decide) {
  NCM_RETURN_IF_ERROR(CheckUuid(id, "resolution_id"));
  return services::Execute<pb::ResolutionEvent, ResolutionState>(
      store_, ResolutionStream(id), id, ctx, services::ApplyFn(), decide);
}

absl::StatusOr<OrganisationState> ResolutionsHandler::Organisation(
    const std::string& id, const std::string& field) {
  NCM_RETURN_IF_ERROR(CheckUuid(id, field));
  return stakeholders_->LoadOrganisation(id);
}

// ------------------------------------------------------------- meetings

absl::StatusOr<Outcome> ResolutionsHandler::ScheduleMeeting(
    const pb::ScheduleMeetingRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  const std::string id = NewAggregateId(ctx, "meeting");
  return OnMeeting(id, ctx, [&](const Loaded<MeetingState>& l) {
    return Decided(DecideSchedule(l.state, id, r.details(), *counties_));
  });
}

absl::StatusOr<Outcome> ResolutionsHandler::RescheduleMeeting(
    const pb::RescheduleMeetingRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  return OnMeeting(r.meeting_id(), ctx, [&](const Loaded<MeetingState>& l) {
    return Decided(
        DecideReschedule(l.state, r.details(), r.reason(), *counties_));
  });
}

absl::StatusOr<Outcome> ResolutionsHandler::RecordAttendance(
    const pb::RecordAttendanceRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  NCM_RETURN_IF_ERROR(CheckUuid(r.organisation_id(), "organisation_id"));
  std::optional<PersonState> person;
  if (!r.person_id().empty()) {
    NCM_ASSIGN_OR_RETURN(person, stakeholders_->LoadPerson(r.person_id()));
  }
  const absl::CivilDay today = clock_.Today();
  return OnMeeting(
      r.meeting_id(), ctx,
      [&](const Loaded<MeetingState>& l)
          -> absl::StatusOr<services::Decision<pb::MeetingEvent>> {
        // The organisation, read in this attempt; the append depends on it.
        NCM_ASSIGN_OR_RETURN(OrganisationState org,
                             Organisation(r.organisation_id(), "organisation_id"));
        NCM_ASSIGN_OR_RETURN(
            auto d, Decided(DecideRecordAttendance(l.state, org, r.person_id(),
                                                   person ? &*person : nullptr,
                                                   today)));
        stakeholders::DependOn(org, &d);
        return d;
      });
}

absl::StatusOr<Outcome> ResolutionsHandler::CloseMeeting(
    const pb::CloseMeetingRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  return OnMeeting(r.meeting_id(), ctx, [&](const Loaded<MeetingState>& l) {
    return Decided(DecideClose(l.state, r.minutes_reference(), ctx.occurred_on));
  });
}

absl::StatusOr<Outcome> ResolutionsHandler::CancelMeeting(
    const pb::CancelMeetingRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  return OnMeeting(r.meeting_id(), ctx, [&](const Loaded<MeetingState>& l) {
    return Decided(DecideCancel(l.state, r.reason()));
  });
}

// ---------------------------------------------------------- resolutions

absl::StatusOr<Outcome> ResolutionsHandler::AdoptResolution(
    const pb::AdoptResolutionRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  NCM_RETURN_IF_ERROR(CheckUuid(r.meeting_id(), "meeting_id"));
  const pb::ResolutionTerms& t = r.terms();
  const std::string id = NewAggregateId(ctx, "resolution");
  return OnResolution(
      id, ctx,
      [&](const Loaded<ResolutionState>& l)
          -> absl::StatusOr<ResolutionDecision> {
        // The organisations named and the meeting are read in the same
        // attempt, and the append depends on the revisions read: an
        // organisation withdrawn or a meeting cancelled meanwhile makes it
        // conflict, and the retry sees the change.
        Organisations orgs;
        auto fetch = [&](const std::string& org,
                         const std::string& field) -> absl::Status {
          if (orgs.contains(org)) return absl::OkStatus();
          NCM_ASSIGN_OR_RETURN(OrganisationState o, Organisation(org, field));
          orgs.emplace(org, std::move(o));
          return absl::OkStatus();
        };
        NCM_RETURN_IF_ERROR(
            fetch(t.lead_organisation_id(), "terms.lead_organisation_id"));
        for (int i = 0; i < t.supporting_organisation_ids_size(); ++i) {
          NCM_RETURN_IF_ERROR(fetch(
              t.supporting_organisation_ids(i),
              absl::StrCat("terms.supporting_organisation_ids[", i, "]")));
        }
        const std::string meeting_stream = MeetingStream(r.meeting_id());
        NCM_ASSIGN_OR_RETURN(auto meeting, (Load<pb::MeetingEvent, MeetingState>(
                                               store_, meeting_stream,
                                               r.meeting_id())));
        NCM_ASSIGN_OR_RETURN(
            ResolutionDecision d,
            Decided(DecideAdopt(l.state, id, meeting.state, t, orgs, codes_,
                                ctx.occurred_on)));
        NCM_ASSIGN_OR_RETURN(
            MeetingEvents m,
            DecideRecordAdoption(meeting.state, id, ctx.occurred_on));
        d.others.push_back(StreamWriteOf(meeting_stream, meeting.revision, m));
        for (const auto& [org, o] : orgs) stakeholders::DependOn(o, &d);
        return d;
      });
}

absl::StatusOr<Outcome> ResolutionsHandler::Change(
    absl::string_view method, const pb::ResolutionChangeRequest& r,
    const std::string& actor, const Transition& decide) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, method, clock_, actor));
  return OnResolution(r.resolution_id(), ctx,
                      [&](const Loaded<ResolutionState>& l) {
                        return Decided(
                            decide(l.state, r.reason(), ctx.occurred_on));
                      });
}

absl::StatusOr<Outcome> ResolutionsHandler::StartImplementation(
    const pb::ResolutionChangeRequest& r, const std::string& actor) {
  return Change(__func__, r, actor, DecideStart);
}
absl::StatusOr<Outcome> ResolutionsHandler::RejectVerification(
    const pb::ResolutionChangeRequest& r, const std::string& actor) {
  return Change(__func__, r, actor, DecideRejectVerification);
}
absl::StatusOr<Outcome> ResolutionsHandler::ResumeImplementation(
    const pb::ResolutionChangeRequest& r, const std::string& actor) {
  return Change(__func__, r, actor, DecideResume);
}
absl::StatusOr<Outcome> ResolutionsHandler::BlockResolution(
    const pb::ResolutionChangeRequest& r, const std::string& actor) {
  return Change(__func__, r, actor, DecideBlock);
}
absl::StatusOr<Outcome> ResolutionsHandler::UnblockResolution(
    const pb::ResolutionChangeRequest& r, const std::string& actor) {
  return Change(__func__, r, actor, DecideUnblock);
}
absl::StatusOr<Outcome> ResolutionsHandler::RescindResolution(
    const pb::ResolutionChangeRequest& r, const std::string& actor) {
  return Change(__func__, r, actor, DecideRescind);
}

absl::StatusOr<Outcome> ResolutionsHandler::ReportProgress(
    const pb::ReportProgressRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  const std::string report_id =
      NewAggregateId(ctx, "progress-report", r.resolution_id());
  const std::vector<std::string> evidence = Strings(r.evidence_references());
  return OnResolution(
      r.resolution_id(), ctx, [&](const Loaded<ResolutionState>& l) {
        return Decided(DecideReportProgress(
            l.state, report_id, r.reporting_organisation_id(),
            r.percent_complete(), r.narrative(), evidence, ctx.occurred_on));
      });
}

absl::StatusOr<Outcome> ResolutionsHandler::MarkImplemented(
    const pb::MarkImplementedRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  const std::vector<std::string> evidence = Strings(r.evidence_references());
  return OnResolution(
      r.resolution_id(), ctx, [&](const Loaded<ResolutionState>& l) {
        return Decided(DecideMarkImplemented(l.state, r.narrative(), evidence,
                                             ctx.occurred_on));
      });
}

absl::StatusOr<Outcome> ResolutionsHandler::VerifyImplementation(
    const pb::VerifyImplementationRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  std::optional<OrganisationState> verifier;
  if (!r.verified_by_organisation_id().empty()) {
    NCM_ASSIGN_OR_RETURN(verifier,
                         Organisation(r.verified_by_organisation_id(),
                                      "verified_by_organisation_id"));
  }
  return OnResolution(
      r.resolution_id(), ctx, [&](const Loaded<ResolutionState>& l) {
        return Decided(DecideVerify(l.state, verifier ? &*verifier : nullptr,
                                    r.note(), ctx.occurred_on));
      });
}

absl::StatusOr<Outcome> ResolutionsHandler::DeferResolution(
    const pb::DeferResolutionRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  if (!services::IsSet(r.new_due_date())) {
    return absl::InvalidArgumentError("new_due_date is required");
  }
  NCM_ASSIGN_OR_RETURN(absl::CivilDay due,
                       services::FromProto(r.new_due_date(), "new_due_date"));
  return OnResolution(
      r.resolution_id(), ctx, [&](const Loaded<ResolutionState>& l) {
        return Decided(DecideDefer(l.state, due, r.reason(), ctx.occurred_on));
      });
}

absl::StatusOr<Outcome> ResolutionsHandler::SupersedeResolution(
    const pb::SupersedeResolutionRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  const std::string& by_id = r.superseded_by_resolution_id();
  NCM_RETURN_IF_ERROR(CheckUuid(by_id, "superseded_by_resolution_id"));
  return OnResolution(
      r.resolution_id(), ctx,
      [&](const Loaded<ResolutionState>& l)
          -> absl::StatusOr<ResolutionDecision> {
        NCM_ASSIGN_OR_RETURN(auto by, (Load<pb::ResolutionEvent, ResolutionState>(
                                          store_, ResolutionStream(by_id),
                                          by_id)));
        by.state.resolution_id = by_id;
        return Decided(
            DecideSupersede(l.state, by.state, r.reason(), ctx.occurred_on));
      });
}

absl::StatusOr<Outcome> ResolutionsHandler::ReassignLead(
    const pb::ReassignLeadRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  return OnResolution(
      r.resolution_id(), ctx,
      [&](const Loaded<ResolutionState>& l)
          -> absl::StatusOr<ResolutionDecision> {
        // The new lead, read in this attempt; the append depends on it.
        NCM_ASSIGN_OR_RETURN(
            OrganisationState lead,
            Organisation(r.lead_organisation_id(), "lead_organisation_id"));
        NCM_ASSIGN_OR_RETURN(
            ResolutionDecision d,
            Decided(DecideReassignLead(l.state, lead,
                                       r.keep_previous_as_supporting(),
                                       r.reason(), ctx.occurred_on)));
        stakeholders::DependOn(lead, &d);
        return d;
      });
}

// ------------------------------------------------------------------ reads

absl::StatusOr<pb::Meeting> ResolutionsHandler::GetMeeting(
    const pb::GetMeetingRequest& r) {
  NCM_RETURN_IF_ERROR(CheckUuid(r.meeting_id(), "meeting_id"));
  NCM_RETURN_IF_ERROR(services::CheckMinPosition(store_, r.min_position()));
  NCM_ASSIGN_OR_RETURN(auto l, (Load<pb::MeetingEvent, MeetingState>(
                                   store_, MeetingStream(r.meeting_id()),
                                   r.meeting_id())));
  if (!l.state.exists) {
    return absl::NotFoundError(absl::StrCat("no meeting ", r.meeting_id()));
  }
  const MeetingState& s = l.state;
  pb::Meeting out;
  out.set_meeting_id(s.meeting_id);
  *out.mutable_details() = s.details;
  out.set_status(s.status);
  for (const auto& a : s.attendance) {
    auto* o = out.add_attendance();
    o->set_organisation_id(a.organisation_id());
    o->set_person_id(a.person_id());
  }
  for (const auto& id : s.resolution_ids) out.add_resolution_ids(id);
  out.set_minutes_reference(s.minutes_reference);
  out.set_cancel_reason(s.cancel_reason);
  *out.mutable_scheduled_on() = services::ToProto(s.scheduled_on);
  if (s.closed_on) *out.mutable_closed_on() = services::ToProto(*s.closed_on);
  out.set_revision(l.revision.value_or(0));
  return out;
}

absl::StatusOr<pb::Resolution> ResolutionsHandler::GetResolution(
    const pb::GetResolutionRequest& r) {
  NCM_RETURN_IF_ERROR(CheckUuid(r.resolution_id(), "resolution_id"));
  NCM_RETURN_IF_ERROR(services::CheckMinPosition(store_, r.min_position()));
  NCM_ASSIGN_OR_RETURN(absl::CivilDay as_of,
                       DayOr(r.as_of(), clock_.Today(), "as_of"));
  NCM_ASSIGN_OR_RETURN(auto l, (Load<pb::ResolutionEvent, ResolutionState>(
                                   store_, ResolutionStream(r.resolution_id()),
                                   r.resolution_id())));
  if (!l.state.exists) {
    return absl::NotFoundError(
        absl::StrCat("no resolution ", r.resolution_id()));
  }
  const ResolutionState& s = l.state;
  if (as_of < s.adopted_on) {
    return absl::NotFoundError(absl::StrCat(
        "resolution ", r.resolution_id(), " was adopted on ",
        services::FormatDay(s.adopted_on), ", after as_of ",
        services::FormatDay(as_of)));
  }
  // As it stood on as_of: the same answer ListResolutions gives that day.
  return AsOfView(ToView(s, l.revision.value_or(0), l.position), as_of);
}

void ResolutionsHandler::SetReadSide(readside::ReadSide* read_side,
                                     absl::Duration default_wait) {
  read_side_ = read_side;
  default_wait_ = default_wait;
}

absl::StatusOr<std::pair<const readside::ReadModelView*, uint64_t>>
ResolutionsHandler::ReadModel(uint64_t min_position, int32_t wait_ms) {
  if (read_side_ == nullptr) {
    return absl::UnavailableError(
        "this server keeps no read models (it runs on an in-memory store)");
  }
  if (wait_ms < 0 || wait_ms > 60000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "wait_ms must be 0 to 60000 (0: the server's default); got ",
        wait_ms));
  }
  if (min_position > 0) {
    NCM_RETURN_IF_ERROR(read_side_->WaitFor(
        kResolutionsModel, min_position,
        wait_ms == 0 ? default_wait_ : absl::Milliseconds(wait_ms)));
  }
  // Read the position first: the view reflects at least it.
  NCM_ASSIGN_OR_RETURN(readside::ModelStatus status,
                       read_side_->Status(kResolutionsModel));
  NCM_ASSIGN_OR_RETURN(const readside::ReadModelView* view,
                       read_side_->View(kResolutionsModel));
  return std::make_pair(view, status.applied_position);
}

absl::StatusOr<pb::ListResolutionsResponse> ResolutionsHandler::ListResolutions(
    const pb::ListResolutionsRequest& r) {
  NCM_ASSIGN_OR_RETURN(auto model, ReadModel(r.min_position(), r.wait_ms()));
  NCM_ASSIGN_OR_RETURN(
      pb::ListResolutionsResponse out,
      resolutions::ListResolutions(*model.first, r, clock_.Today()));
  out.set_position(model.second);
  return out;
}

absl::StatusOr<pb::ImplementationReportResponse>
ResolutionsHandler::ImplementationReport(
    const pb::ImplementationReportRequest& r) {
  NCM_ASSIGN_OR_RETURN(auto model, ReadModel(r.min_position(), r.wait_ms()));
  NCM_ASSIGN_OR_RETURN(
      pb::ImplementationReportResponse out,
      resolutions::ImplementationReport(*model.first, r, clock_.Today()));
  out.set_position(model.second);
  return out;
}

}  // namespace ncm::resolutions
