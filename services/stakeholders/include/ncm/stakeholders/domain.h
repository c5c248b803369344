// The stakeholders domain, pure: the state of each aggregate, how an event
// changes it (Apply), and what a command records given the state (Decide*,
// which return the events or the reason for refusing). No I/O here.
#ifndef NCM_STAKEHOLDERS_DOMAIN_H_
#define NCM_STAKEHOLDERS_DOMAIN_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "ncm/services/command.h"
#include "ncm/stakeholders/counties.h"
#include "ncm/stakeholders/v1/events.pb.h"

namespace ncm::stakeholders {

namespace pb = ::ncm::stakeholders::v1;
using services::EventMeta;

std::string OrganisationStream(const std::string& id);
std::string PersonStream(const std::string& id);
std::string WorkingGroupStream(const std::string& id);
// Acronyms are unique regardless of case: the stream uses the upper case.
std::string AcronymStream(const std::string& acronym);

struct Appointment {
  std::string appointment_id;
  std::string person_id;
  pb::FocalPointKind kind = pb::FOCAL_POINT_KIND_UNSPECIFIED;
  absl::CivilDay from;
  std::optional<absl::CivilDay> until;
  std::string end_reason;
};

struct MembershipEntry {
  absl::CivilDay on;
  pb::MembershipStatus status = pb::MEMBERSHIP_STATUS_UNSPECIFIED;
  pb::MembershipRole role = pb::MEMBERSHIP_ROLE_UNSPECIFIED;
  std::string reason;
};

struct OrganisationState {
  bool exists = false;
  std::string organisation_id;
  pb::OrganisationProfile profile;
  pb::MembershipRole role = pb::MEMBERSHIP_ROLE_UNSPECIFIED;
  pb::MembershipStatus status = pb::MEMBERSHIP_STATUS_UNSPECIFIED;
  absl::CivilDay registered_on;
  std::vector<MembershipEntry> history;
  std::vector<Appointment> appointments;
  // The stream's revision when loaded (LoadOrganisation), so that another
  // aggregate's command can make its append depend on it.
  uint64_t revision = 0;

  const Appointment* FindAppointment(const std::string& id) const;
};
void Apply(const pb::OrganisationEvent& e, const EventMeta& m,
           OrganisationState* s);

// Makes another aggregate's decision depend on an organisation as it was
// read (LoadOrganisation): should the organisation change before the
// append, the append conflicts and the command is decided again. Nothing
// for a decision without events or an organisation that does not exist.
template <typename W>
void DependOn(const OrganisationState& o, services::Decision<W>* d) {
  if (d->events.empty() || !o.exists) return;
  d->others.push_back(services::StreamCheck(
      OrganisationStream(o.organisation_id), o.revision));
}

struct PersonState {
  bool exists = false;
  std::string person_id;
  ncm::common::v1::Sealed details;
  bool forgotten = false;
  absl::CivilDay forgotten_on;
};
void Apply(const pb::PersonEvent& e, const EventMeta& m, PersonState* s);

struct WorkingGroupState {
  bool exists = false;
  std::string working_group_id;
  std::string name;
  std::string mandate;
  std::vector<std::string> thematic_areas;
  std::vector<std::string> members;  // organisation ids, in order added
  absl::CivilDay created_on;
};
void Apply(const pb::WorkingGroupEvent& e, const EventMeta& m,
           WorkingGroupState* s);

struct AcronymState {
  std::string holder;  // organisation id; empty when free
};
void Apply(const pb::AcronymEvent& e, const EventMeta& m, AcronymState* s);

// Profile rules. Returns the profile normalised (text trimmed, thematic
// areas de-duplicated); INVALID_ARGUMENT naming `field`.<member> otherwise.
absl::StatusOr<pb::OrganisationProfile> ValidateProfile(
    const pb::OrganisationProfile& p, const CountyList& counties,
    const std::string& field);
// Trims white space and characters that show nothing (U+00A0, U+200B and
// the other zero-width and direction marks, U+FEFF, ...) from both ends;
// INVALID_ARGUMENT naming `field` when nothing visible is left (and
// `required`), when longer than `max` characters, or when it holds control
// characters (C0 or C1; line breaks allowed in texts over 200 characters).
absl::StatusOr<std::string> CleanText(const std::string& text,
                                      const std::string& field, size_t max,
                                      bool required);

using OrganisationEvents = std::vector<pb::OrganisationEvent>;

absl::StatusOr<OrganisationEvents> DecideRegister(
    const OrganisationState& s, const std::string& organisation_id,
    const pb::OrganisationProfile& profile, pb::MembershipRole role,
    const CountyList& counties);
absl::StatusOr<OrganisationEvents> DecideAmend(
    const OrganisationState& s, const pb::OrganisationProfile& changes,
    const std::vector<std::string>& update_mask, const CountyList& counties);
absl::StatusOr<OrganisationEvents> DecideChangeRole(const OrganisationState& s,
                                                    pb::MembershipRole role,
                                                    absl::CivilDay on);
absl::StatusOr<OrganisationEvents> DecideSuspend(const OrganisationState& s,
                                                 const std::string& reason,
                                                 absl::CivilDay on);
absl::StatusOr<OrganisationEvents> DecideReinstate(const OrganisationState& s,
                                                   const std::string& reason,
                                                   absl::CivilDay on);
absl::StatusOr<OrganisationEvents> DecideWithdraw(const OrganisationState& s,
                                                  const std::string& reason,
                                                  absl::CivilDay on);
// `person` is the appointed person's state (it must exist, not forgotten).
absl::StatusOr<OrganisationEvents> DecideAppoint(
    const OrganisationState& s, const std::string& appointment_id,
    const PersonState& person, pb::FocalPointKind kind, absl::CivilDay on);
absl::StatusOr<OrganisationEvents> DecideEndAppointment(
    const OrganisationState& s, const std::string& appointment_id,
    const std::string& reason, absl::CivilDay on);

using PersonEvents = std::vector<pb::PersonEvent>;
absl::StatusOr<PersonEvents> DecideRegisterPerson(
    const PersonState& s, const std::string& person_id,
    const ncm::common::v1::Sealed& details);
absl::StatusOr<PersonEvents> DecideRectifyPerson(
    const PersonState& s, const ncm::common::v1::Sealed& details);
absl::StatusOr<PersonEvents> DecideForgetPerson(const PersonState& s,
                                                const std::string& reason);
// Checks PersonDetails before sealing: a full name is required; e-mail and
// phone, when given, must look like one.
absl::StatusOr<pb::PersonDetails> ValidatePersonDetails(
    const pb::PersonDetails& d, const std::string& field);

using WorkingGroupEvents = std::vector<pb::WorkingGroupEvent>;
absl::StatusOr<WorkingGroupEvents> DecideCreateWorkingGroup(
    const WorkingGroupState& s, const std::string& id, const std::string& name,
    const std::string& mandate, const std::vector<std::string>& areas);
// `org` is the organisation's state: it must exist and not be withdrawn.
absl::StatusOr<WorkingGroupEvents> DecideAddMember(const WorkingGroupState& s,
                                                   const OrganisationState& org);
absl::StatusOr<WorkingGroupEvents> DecideRemoveMember(
    const WorkingGroupState& s, const std::string& organisation_id,
    const std::string& reason);

// Claims `acronym` for `organisation_id`. ALREADY_EXISTS when another
// organisation holds it. No events when this organisation already does.
absl::StatusOr<std::vector<pb::AcronymEvent>> DecideClaimAcronym(
    const AcronymState& s, const std::string& acronym,
    const std::string& organisation_id);

// Releases `acronym` when `organisation_id` holds it; no events otherwise.
absl::StatusOr<std::vector<pb::AcronymEvent>> DecideReleaseAcronym(
    const AcronymState& s, const std::string& acronym,
    const std::string& organisation_id);

// For other services naming an organisation in `field`: NOT_FOUND when it
// was never registered, FAILED_PRECONDITION when it has withdrawn.
absl::Status CheckUsable(const OrganisationState& o, absl::string_view field,
                         const std::string& id);

// Text of enum values for messages, e.g. "SUSPENDED".
std::string StatusName(pb::MembershipStatus s);

}  // namespace ncm::stakeholders

#endif  // NCM_STAKEHOLDERS_DOMAIN_H_
