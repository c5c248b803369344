#include "ncm/stakeholders/handler.h"

#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "ncm/eventstore/status_macros.h"
#include "ncm/services/ids.h"
#include "ncm/services/personal_data.h"
#include "ncm/stakeholders/read_model.h"

namespace ncm::stakeholders {

namespace es = ::ncm::eventstore;
using services::CheckUuid;
using services::CommandContext;
using services::Decision;
using services::DeriveUuid;
using services::EncodeEvent;
using services::Execute;
using services::LoadAggregate;
using services::Loaded;
using services::NewUuid;
using services::Load;
using services::ApplyFn;
using services::Decided;
using services::NewAggregateId;
using services::StreamWriteOf;

namespace {

using OrganisationDecision = Decision<pb::OrganisationEvent>;

enum class AcronymChange { kClaim, kRelease };

// Adds to `d` the write on `acronym`'s claim stream that claims it for, or
// releases it from, `org` (none when there is nothing to change).
// ALREADY_EXISTS when claiming an acronym another organisation holds.
absl::Status ChangeAcronym(es::EventStore* store, AcronymChange change,
                           const std::string& acronym, const std::string& org,
                           OrganisationDecision* d) {
  const std::string stream = AcronymStream(acronym);
  NCM_ASSIGN_OR_RETURN(auto loaded,
                       (Load<pb::AcronymEvent, AcronymState>(store, stream, "")));
  NCM_ASSIGN_OR_RETURN(
      std::vector<pb::AcronymEvent> events,
      change == AcronymChange::kClaim
          ? DecideClaimAcronym(loaded.state, acronym, org)
          : DecideReleaseAcronym(loaded.state, acronym, org));
  if (!events.empty()) d->others.push_back(StreamWriteOf(stream, loaded.revision, events));
  return absl::OkStatus();
}

}  // namespace

StakeholdersHandler::StakeholdersHandler(es::EventStore* store,
                                         const CountyList* counties,
                                         services::Clock clock)
    : store_(store), counties_(counties), clock_(std::move(clock)) {}

absl::StatusOr<Outcome> StakeholdersHandler::OnOrganisation(
    const std::string& id, const CommandContext& ctx,
    const OrganisationDecider& decide) {
  NCM_RETURN_IF_ERROR(CheckUuid(id, "organisation_id"));
  return Execute<pb::OrganisationEvent, OrganisationState>(
      store_, OrganisationStream(id), id, ctx, ApplyFn(), decide);
}

absl::StatusOr<Outcome> StakeholdersHandler::RegisterOrganisation(
    const pb::RegisterOrganisationRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  const std::string id = NewAggregateId(ctx, "organisation");
  return OnOrganisation(
      id, ctx,
      [&](const Loaded<OrganisationState>& l)
          -> absl::StatusOr<OrganisationDecision> {
        NCM_ASSIGN_OR_RETURN(
            auto d, Decided(DecideRegister(l.state, id, r.profile(), r.role(),
                                           *counties_)));
        NCM_RETURN_IF_ERROR(ChangeAcronym(
            store_, AcronymChange::kClaim,
            d.events[0].registered().profile().acronym(), id, &d));
        return d;
      });
}

absl::StatusOr<Outcome> StakeholdersHandler::AmendOrganisation(
    const pb::AmendOrganisationRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  const std::string& id = r.organisation_id();
  std::vector<std::string> mask(r.update_mask().begin(), r.update_mask().end());
  return OnOrganisation(
      id, ctx,
      [&](const Loaded<OrganisationState>& l)
          -> absl::StatusOr<OrganisationDecision> {
        NCM_ASSIGN_OR_RETURN(auto d, Decided(DecideAmend(l.state, r.profile(),
                                                         mask, *counties_)));
        if (d.events.empty()) return d;
        const std::string& before = l.state.profile.acronym();
        const std::string& after = d.events[0].amended().profile().acronym();
        if (AcronymStream(before) != AcronymStream(after)) {
          NCM_RETURN_IF_ERROR(
              ChangeAcronym(store_, AcronymChange::kClaim, after, id, &d));
          NCM_RETURN_IF_ERROR(
              ChangeAcronym(store_, AcronymChange::kRelease, before, id, &d));
        }
        return d;
      });
}

absl::StatusOr<Outcome> StakeholdersHandler::ChangeMembershipRole(
    const pb::ChangeMembershipRoleRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  return OnOrganisation(r.organisation_id(), ctx,
                        [&](const Loaded<OrganisationState>& l) {
                          return Decided(DecideChangeRole(l.state, r.role(),
                                                          ctx.occurred_on));
                        });
}

absl::StatusOr<Outcome> StakeholdersHandler::SuspendMembership(
    const pb::MembershipChangeRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  return OnOrganisation(r.organisation_id(), ctx,
                        [&](const Loaded<OrganisationState>& l) {
                          return Decided(DecideSuspend(l.state, r.reason(),
                                                       ctx.occurred_on));
                        });
}

absl::StatusOr<Outcome> StakeholdersHandler::ReinstateMembership(
    const pb::MembershipChangeRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  const std::string& id = r.organisation_id();
  return OnOrganisation(
      id, ctx,
      [&](const Loaded<OrganisationState>& l)
          -> absl::StatusOr<OrganisationDecision> {
        NCM_ASSIGN_OR_RETURN(
            auto d,
            Decided(DecideReinstate(l.state, r.reason(), ctx.occurred_on)));
        if (l.state.status == pb::WITHDRAWN) {  // re-admitted: reclaim
          NCM_RETURN_IF_ERROR(ChangeAcronym(store_, AcronymChange::kClaim,
                                            l.state.profile.acronym(), id, &d));
        }
        return d;
      });
}

absl::StatusOr<Outcome> StakeholdersHandler::WithdrawMembership(
    const pb::MembershipChangeRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  const std::string& id = r.organisation_id();
  return OnOrganisation(
      id, ctx,
      [&](const Loaded<OrganisationState>& l)
          -> absl::StatusOr<OrganisationDecision> {
        NCM_ASSIGN_OR_RETURN(
            auto d,
            Decided(DecideWithdraw(l.state, r.reason(), ctx.occurred_on)));
        NCM_RETURN_IF_ERROR(ChangeAcronym(store_, AcronymChange::kRelease,
                                          l.state.profile.acronym(), id, &d));
        return d;
      });
}

absl::StatusOr<pb::AppointFocalPointResponse>
StakeholdersHandler::AppointFocalPoint(const pb::AppointFocalPointRequest& r,
                                       const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  const std::string& org = r.organisation_id();
  std::string person_id;
  std::optional<pb::PersonDetails> details;
  switch (r.person_case()) {
    case pb::AppointFocalPointRequest::kPersonId:
      person_id = r.person_id();
      NCM_RETURN_IF_ERROR(CheckUuid(person_id, "person_id"));
      break;
    case pb::AppointFocalPointRequest::kNewPerson: {
      NCM_ASSIGN_OR_RETURN(details,
                           ValidatePersonDetails(r.new_person(), "new_person"));
      person_id = NewAggregateId(ctx, "person", org);
      break;
    }
    default:
      return absl::InvalidArgumentError(
          "say who is appointed: person_id of a registered person, or "
          "new_person with their details");
  }
  const std::string appointment_id = NewAggregateId(ctx, "appointment", org);
  std::optional<ncm::common::v1::Sealed> sealed;  // sealed once, if needed
  NCM_ASSIGN_OR_RETURN(
      Outcome out,
      OnOrganisation(
          org, ctx,
          [&](const Loaded<OrganisationState>& l)
              -> absl::StatusOr<OrganisationDecision> {
            OrganisationDecision d;
            PersonState person;
            if (details.has_value()) {
              person.exists = true;
              person.person_id = person_id;
            } else {
              NCM_ASSIGN_OR_RETURN(auto p, (Load<pb::PersonEvent, PersonState>(
                                               store_, PersonStream(person_id),
                                               person_id)));
              person = std::move(p.state);
              person.person_id = person_id;
            }
            NCM_ASSIGN_OR_RETURN(d.events,
                                 DecideAppoint(l.state, appointment_id, person,
                                               r.kind(), ctx.occurred_on));
            if (details.has_value()) {
              if (!sealed.has_value()) {
                NCM_ASSIGN_OR_RETURN(
                    sealed, services::Seal(store_->subject_keys(), person_id,
                                           details->SerializeAsString()));
              }
              NCM_ASSIGN_OR_RETURN(
                  auto reg, DecideRegisterPerson(PersonState{}, person_id,
                                                 *sealed));
              d.others.push_back(
                  StreamWriteOf(PersonStream(person_id), std::nullopt, reg));
            }
            return d;
          }));
  pb::AppointFocalPointResponse resp;
  ToProto(out, resp.mutable_result());
  resp.set_appointment_id(appointment_id);
  resp.set_person_id(person_id);
  return resp;
}

absl::StatusOr<Outcome> StakeholdersHandler::EndFocalPointAppointment(
    const pb::EndFocalPointAppointmentRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  NCM_RETURN_IF_ERROR(CheckUuid(r.appointment_id(), "appointment_id"));
  return OnOrganisation(r.organisation_id(), ctx,
                        [&](const Loaded<OrganisationState>& l) {
                          return Decided(DecideEndAppointment(
                              l.state, r.appointment_id(), r.reason(),
                              ctx.occurred_on));
                        });
}

absl::StatusOr<Outcome> StakeholdersHandler::RectifyPerson(
    const pb::RectifyPersonRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  const std::string& id = r.person_id();
  NCM_RETURN_IF_ERROR(CheckUuid(id, "person_id"));
  NCM_ASSIGN_OR_RETURN(pb::PersonDetails details,
                       ValidatePersonDetails(r.details(), "details"));
  return Execute<pb::PersonEvent, PersonState>(
      store_, PersonStream(id), id, ctx, ApplyFn(),
      [&](const Loaded<PersonState>& l)
          -> absl::StatusOr<Decision<pb::PersonEvent>> {
        // Refusals first, so that nothing is sealed for a refused command.
        NCM_RETURN_IF_ERROR(DecideRectifyPerson(l.state, {}).status());
        NCM_ASSIGN_OR_RETURN(
            auto sealed, services::Seal(store_->subject_keys(), id,
                                        details.SerializeAsString()));
        return Decided(DecideRectifyPerson(l.state, sealed));
      });
}

absl::StatusOr<Outcome> StakeholdersHandler::ForgetPerson(
    const pb::ForgetPersonRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  const std::string& id = r.person_id();
  NCM_RETURN_IF_ERROR(CheckUuid(id, "person_id"));
  return Execute<pb::PersonEvent, PersonState>(
      store_, PersonStream(id), id, ctx, ApplyFn(),
      [&](const Loaded<PersonState>& l)
          -> absl::StatusOr<Decision<pb::PersonEvent>> {
        NCM_ASSIGN_OR_RETURN(auto d,
                             Decided(DecideForgetPerson(l.state, r.reason())));
        // The key goes first: should the append then fail, the details are
        // already unreadable, and a retry records the erasure.
        NCM_RETURN_IF_ERROR(store_->subject_keys()->Destroy(id));
        return d;
      });
}

absl::StatusOr<Outcome> StakeholdersHandler::CreateWorkingGroup(
    const pb::CreateWorkingGroupRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  const std::string id = NewAggregateId(ctx, "workinggroup");
  std::vector<std::string> areas(r.thematic_areas().begin(),
                                 r.thematic_areas().end());
  return Execute<pb::WorkingGroupEvent, WorkingGroupState>(
      store_, WorkingGroupStream(id), id, ctx, ApplyFn(),
      [&](const Loaded<WorkingGroupState>& l) {
        return Decided(
            DecideCreateWorkingGroup(l.state, id, r.name(), r.mandate(), areas));
      });
}

absl::StatusOr<Outcome> StakeholdersHandler::AddWorkingGroupMember(
    const pb::WorkingGroupMemberRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  const std::string& id = r.working_group_id();
  NCM_RETURN_IF_ERROR(CheckUuid(id, "working_group_id"));
  NCM_RETURN_IF_ERROR(CheckUuid(r.organisation_id(), "organisation_id"));
  return Execute<pb::WorkingGroupEvent, WorkingGroupState>(
      store_, WorkingGroupStream(id), id, ctx, ApplyFn(),
      [&](const Loaded<WorkingGroupState>& l)
          -> absl::StatusOr<Decision<pb::WorkingGroupEvent>> {
        NCM_ASSIGN_OR_RETURN(OrganisationState org,
                             LoadOrganisation(r.organisation_id()));
        return Decided(DecideAddMember(l.state, org));
      });
}

absl::StatusOr<Outcome> StakeholdersHandler::RemoveWorkingGroupMember(
    const pb::WorkingGroupMemberRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  const std::string& id = r.working_group_id();
  NCM_RETURN_IF_ERROR(CheckUuid(id, "working_group_id"));
  NCM_RETURN_IF_ERROR(CheckUuid(r.organisation_id(), "organisation_id"));
  return Execute<pb::WorkingGroupEvent, WorkingGroupState>(
      store_, WorkingGroupStream(id), id, ctx, ApplyFn(),
      [&](const Loaded<WorkingGroupState>& l) {
        return Decided(
            DecideRemoveMember(l.state, r.organisation_id(), r.reason()));
      });
}

// ------------------------------------------------------------------ reads

absl::StatusOr<OrganisationState> StakeholdersHandler::LoadOrganisation(
    const std::string& id) {
  NCM_RETURN_IF_ERROR(CheckUuid(id, "organisation_id"));
  NCM_ASSIGN_OR_RETURN(auto l, (Load<pb::OrganisationEvent, OrganisationState>(
                                   store_, OrganisationStream(id), id)));
  l.state.organisation_id = id;
  l.state.revision = l.revision.value_or(0);
  return std::move(l.state);
}

absl::StatusOr<PersonState> StakeholdersHandler::LoadPerson(
    const std::string& id) {
  NCM_RETURN_IF_ERROR(CheckUuid(id, "person_id"));
  NCM_ASSIGN_OR_RETURN(auto l, (Load<pb::PersonEvent, PersonState>(
                                   store_, PersonStream(id), id)));
  l.state.person_id = id;
  return std::move(l.state);
}

absl::StatusOr<pb::Person> StakeholdersHandler::PersonView(
    const std::string& id) {
  NCM_ASSIGN_OR_RETURN(auto l, (Load<pb::PersonEvent, PersonState>(
                                   store_, PersonStream(id), id)));
  if (!l.state.exists) {
    return absl::NotFoundError(absl::StrCat("no person ", id));
  }
  pb::Person out;
  out.set_person_id(id);
  out.set_revision(l.revision.value_or(0));
  if (l.state.forgotten) {
    out.set_erased(true);
    *out.mutable_forgotten_on() = services::ToProto(l.state.forgotten_on);
    return out;
  }
  if (!personal_data_at_.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "a read node holds no personal details; ask the write node at ",
        personal_data_at_, " for person ", id));
  }
  NCM_ASSIGN_OR_RETURN(std::optional<std::string> plain,
                       services::Unseal(store_->subject_keys(), l.state.details));
  if (!plain.has_value() || !out.mutable_details()->ParseFromString(*plain)) {
    out.clear_details();
    out.set_erased(true);
  }
  return out;
}

absl::StatusOr<pb::Person> StakeholdersHandler::GetPerson(
    const std::string& id) {
  NCM_RETURN_IF_ERROR(CheckUuid(id, "person_id"));
  return PersonView(id);
}

absl::StatusOr<pb::Organisation> StakeholdersHandler::GetOrganisation(
    const std::string& id) {
  NCM_RETURN_IF_ERROR(CheckUuid(id, "organisation_id"));
  NCM_ASSIGN_OR_RETURN(auto l, (Load<pb::OrganisationEvent, OrganisationState>(
                                   store_, OrganisationStream(id), id)));
  const OrganisationState& s = l.state;
  if (!s.exists) {
    return absl::NotFoundError(absl::StrCat("no organisation ", id));
  }
  pb::Organisation out = ToView(s, l.revision.value_or(0));
  for (auto& f : *out.mutable_focal_points()) {
    absl::StatusOr<pb::Person> p = PersonView(f.person().person_id());
    if (p.ok()) *f.mutable_person() = std::move(*p);
  }
  return out;
}

absl::Status StakeholdersHandler::CheckMinPosition(uint64_t min_position) const {
  return services::CheckMinPosition(store_, min_position);
}

absl::StatusOr<pb::GetFocalPointsAsOfResponse>
StakeholdersHandler::GetFocalPointsAsOf(const pb::GetFocalPointsAsOfRequest& r) {
  if (!services::IsSet(r.as_of())) {
    return absl::InvalidArgumentError("as_of is required");
  }
  NCM_ASSIGN_OR_RETURN(absl::CivilDay day,
                       services::FromProto(r.as_of(), "as_of"));
  NCM_ASSIGN_OR_RETURN(pb::Organisation org, GetOrganisation(r.organisation_id()));
  pb::GetFocalPointsAsOfResponse out;
  for (const auto& f : org.focal_points()) {
    const absl::CivilDay from = services::FromProto(f.from(), "from").value();
    const bool ended = services::IsSet(f.until()) &&
                       services::FromProto(f.until(), "until").value() <= day;
    if (from <= day && !ended) *out.add_focal_points() = f;
  }
  return out;
}

void StakeholdersHandler::SetReadSide(readside::ReadSide* read_side,
                                      absl::Duration default_wait) {
  read_side_ = read_side;
  default_wait_ = default_wait;
}

absl::StatusOr<std::pair<const readside::ReadModelView*, uint64_t>>
StakeholdersHandler::Directory(uint64_t min_position, int32_t wait_ms) {
  if (read_side_ == nullptr) {
    return absl::UnavailableError("this server keeps no read models");
  }
  if (wait_ms < 0 || wait_ms > 60000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "wait_ms must be 0 to 60000 (0: the server's default); got ",
        wait_ms));
  }
  if (min_position > 0) {
    NCM_RETURN_IF_ERROR(read_side_->WaitFor(
        kDirectoryModel, min_position,
        wait_ms == 0 ? default_wait_ : absl::Milliseconds(wait_ms)));
  }
  NCM_ASSIGN_OR_RETURN(readside::ModelStatus st,
                       read_side_->Status(kDirectoryModel));
  NCM_ASSIGN_OR_RETURN(const readside::ReadModelView* view,
                       read_side_->View(kDirectoryModel));
  return std::make_pair(view, st.applied_position);
}

absl::StatusOr<pb::ListOrganisationsResponse>
StakeholdersHandler::ListOrganisations(const pb::ListOrganisationsRequest& r) {
  NCM_ASSIGN_OR_RETURN(auto dir, Directory(r.min_position(), r.wait_ms()));
  NCM_ASSIGN_OR_RETURN(pb::ListOrganisationsResponse out,
                       stakeholders::ListOrganisations(*dir.first, r));
  out.set_position(dir.second);
  return out;
}

absl::StatusOr<pb::GetAttendanceRatesResponse>
StakeholdersHandler::GetAttendanceRates(const pb::GetAttendanceRatesRequest& r) {
  NCM_ASSIGN_OR_RETURN(auto dir, Directory(r.min_position(), r.wait_ms()));
  NCM_ASSIGN_OR_RETURN(pb::GetAttendanceRatesResponse out,
                       AttendanceRates(*dir.first, r, clock_.Today()));
  out.set_position(dir.second);
  return out;
}

absl::StatusOr<pb::WorkingGroup> StakeholdersHandler::GetWorkingGroup(
    const std::string& id) {
  NCM_RETURN_IF_ERROR(CheckUuid(id, "working_group_id"));
  NCM_ASSIGN_OR_RETURN(auto l, (Load<pb::WorkingGroupEvent, WorkingGroupState>(
                                   store_, WorkingGroupStream(id), id)));
  if (!l.state.exists) {
    return absl::NotFoundError(absl::StrCat("no working group ", id));
  }
  pb::WorkingGroup out;
  out.set_working_group_id(id);
  out.set_name(l.state.name);
  out.set_mandate(l.state.mandate);
  for (const auto& t : l.state.thematic_areas) out.add_thematic_areas(t);
  for (const auto& m : l.state.members) out.add_member_organisation_ids(m);
  *out.mutable_created_on() = services::ToProto(l.state.created_on);
  out.set_revision(l.revision.value_or(0));
  return out;
}

pb::ListCountiesResponse StakeholdersHandler::ListCounties() const {
  pb::ListCountiesResponse out;
  for (const auto& [code, name] : counties_->entries()) {
    auto* c = out.add_counties();
    c->set_code(code);
    c->set_name(name);
  }
  return out;
}

}  // namespace ncm::stakeholders
