// The meetings and resolutions domain, pure: each aggregate's state, how an
// event changes it (Apply) and what a command records given the state
// (Decide*, which return the events or the reason for refusing). No I/O:
// the organisations and persons a command names are passed in, folded by
// the caller.
#ifndef NCM_RESOLUTIONS_DOMAIN_H_
#define NCM_RESOLUTIONS_DOMAIN_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "ncm/resolutions/v1/events.pb.h"
#include "ncm/services/command.h"
#include "ncm/stakeholders/counties.h"
#include "ncm/stakeholders/domain.h"

namespace ncm::resolutions {

namespace pb = ::ncm::resolutions::v1;
using services::EventMeta;
using stakeholders::CountyList;
using stakeholders::OrganisationState;
using stakeholders::PersonState;

std::string MeetingStream(const std::string& id);
std::string ResolutionStream(const std::string& id);

// The code lists a resolution is classified by. Kenya's strategic plan has
// six strategic priorities and four pillars; the GCM has 23 objectives.
struct CodeLists {
  int strategic_priorities = 6;
  int pillars = 4;
  int gcm_objectives = 23;
};

// The organisations a command names, by id, as folded from their streams
// (a missing one has exists == false).
using Organisations = absl::flat_hash_map<std::string, OrganisationState>;

struct MeetingState {
  bool exists = false;
  std::string meeting_id;
  pb::MeetingDetails details;
  pb::MeetingStatus status = pb::MEETING_STATUS_UNSPECIFIED;
  std::vector<pb::AttendanceRecorded> attendance;
  std::vector<std::string> resolution_ids;
  std::string minutes_reference;
  std::string cancel_reason;
  absl::CivilDay scheduled_on;
  std::optional<absl::CivilDay> closed_on;

  absl::CivilDay Date() const;
};
void Apply(const pb::MeetingEvent& e, const EventMeta& m, MeetingState* s);

struct Report {
  pb::ProgressReported report;
  absl::CivilDay occurred_on;
  absl::Time recorded_at;
  std::string actor;
};

struct StatusEntry {
  absl::CivilDay on;
  pb::ResolutionStatus status = pb::RESOLUTION_STATUS_UNSPECIFIED;
  std::string reason;
  absl::Time recorded_at;
  std::string actor;
  absl::CivilDay due;  // the due date in force from this change on
};

// The lead and supporting organisations in force from a day on.
struct LeadEntry {
  absl::CivilDay on;
  std::string lead;
  std::vector<std::string> supporting;
  std::string reason;
  absl::Time recorded_at;
  std::string actor;
};

struct ResolutionState {
  bool exists = false;
  std::string resolution_id;
  std::string meeting_id;
  absl::CivilDay meeting_date;
  pb::ResolutionTerms terms;
  pb::ResolutionStatus status = pb::RESOLUTION_STATUS_UNSPECIFIED;
  pb::ResolutionStatus status_before_block = pb::RESOLUTION_STATUS_UNSPECIFIED;
  absl::CivilDay adopted_on;
  absl::CivilDay last_change_on;  // of the last status change
  std::vector<Report> reports;
  std::vector<StatusEntry> history;
  std::vector<LeadEntry> leads;  // from the adoption on, in date order
  std::vector<std::string> evidence_references;  // of the implementation
  std::string superseded_by;

  absl::CivilDay DueDate() const;
  // The latest report's percentage by the day the work happened (ties: the
  // later recorded); 100 once implemented or verified.
  int PercentComplete() const;
  // Open: not implemented, verified, rescinded or superseded.
  bool Open() const;
  bool Overdue(absl::CivilDay as_of) const;
  bool Involves(const std::string& organisation_id) const;
};
void Apply(const pb::ResolutionEvent& e, const EventMeta& m,
           ResolutionState* s);

// "ADOPTED".
std::string StatusName(pb::ResolutionStatus s);
// The statuses a resolution may move to from `s`, for error messages.
std::string AllowedFrom(pb::ResolutionStatus s);

using MeetingEvents = std::vector<pb::MeetingEvent>;

// Checks details: kind, title, a real date, venue and county (from
// `counties`; required for a county outreach forum). Returns them trimmed.
absl::StatusOr<pb::MeetingDetails> ValidateMeetingDetails(
    const pb::MeetingDetails& d, const CountyList& counties,
    const std::string& field);

absl::StatusOr<MeetingEvents> DecideSchedule(const MeetingState& s,
                                             const std::string& meeting_id,
                                             const pb::MeetingDetails& details,
                                             const CountyList& counties);
// Only a scheduled meeting with no attendance and no resolutions yet.
absl::StatusOr<MeetingEvents> DecideReschedule(
    const MeetingState& s, const pb::MeetingDetails& details,
    const std::string& reason, const CountyList& counties);
// `org` must be registered and not withdrawn; `person` (when a person id is
// given) registered and not forgotten. The meeting must have been held by
// `today`. A repeated attendance records nothing.
absl::StatusOr<MeetingEvents> DecideRecordAttendance(
    const MeetingState& s, const OrganisationState& org,
    const std::string& person_id, const PersonState* person,
    absl::CivilDay today);
absl::StatusOr<MeetingEvents> DecideClose(const MeetingState& s,
                                          const std::string& minutes_reference,
                                          absl::CivilDay on);
absl::StatusOr<MeetingEvents> DecideCancel(const MeetingState& s,
                                           const std::string& reason);
// The meeting's side of an adoption.
absl::StatusOr<MeetingEvents> DecideRecordAdoption(
    const MeetingState& s, const std::string& resolution_id, absl::CivilDay on);

using ResolutionEvents = std::vector<pb::ResolutionEvent>;

// Checks the terms: text, reference, the lead and supporting organisations
// (in `orgs`: registered, not withdrawn, no repeats, the lead not among the
// supporting), the due date (not before `meeting_date`), the codes.
absl::StatusOr<pb::ResolutionTerms> ValidateTerms(
    const pb::ResolutionTerms& t, const Organisations& orgs,
    absl::CivilDay meeting_date, const CodeLists& codes,
    const std::string& field);

absl::StatusOr<ResolutionEvents> DecideAdopt(
    const ResolutionState& s, const std::string& resolution_id,
    const MeetingState& meeting, const pb::ResolutionTerms& terms,
    const Organisations& orgs, const CodeLists& codes, absl::CivilDay on);
absl::StatusOr<ResolutionEvents> DecideStart(const ResolutionState& s,
                                             const std::string& note,
                                             absl::CivilDay on);
absl::StatusOr<ResolutionEvents> DecideReportProgress(
    const ResolutionState& s, const std::string& report_id,
    const std::string& reporting_organisation_id, int percent_complete,
    const std::string& narrative, const std::vector<std::string>& evidence,
    absl::CivilDay on);
absl::StatusOr<ResolutionEvents> DecideMarkImplemented(
    const ResolutionState& s, const std::string& narrative,
    const std::vector<std::string>& evidence, absl::CivilDay on);
// `verifier` is null when no verifying organisation is named.
absl::StatusOr<ResolutionEvents> DecideVerify(const ResolutionState& s,
                                              const OrganisationState* verifier,
                                              const std::string& note,
                                              absl::CivilDay on);
absl::StatusOr<ResolutionEvents> DecideRejectVerification(
    const ResolutionState& s, const std::string& reason, absl::CivilDay on);
absl::StatusOr<ResolutionEvents> DecideDefer(const ResolutionState& s,
                                             absl::CivilDay new_due_date,
                                             const std::string& reason,
                                             absl::CivilDay on);
absl::StatusOr<ResolutionEvents> DecideResume(const ResolutionState& s,
                                              const std::string& note,
                                              absl::CivilDay on);
absl::StatusOr<ResolutionEvents> DecideBlock(const ResolutionState& s,
                                             const std::string& reason,
                                             absl::CivilDay on);
absl::StatusOr<ResolutionEvents> DecideUnblock(const ResolutionState& s,
                                               const std::string& note,
                                               absl::CivilDay on);
absl::StatusOr<ResolutionEvents> DecideRescind(const ResolutionState& s,
                                               const std::string& reason,
                                               absl::CivilDay on);
absl::StatusOr<ResolutionEvents> DecideSupersede(const ResolutionState& s,
                                                 const ResolutionState& by,
                                                 const std::string& reason,
                                                 absl::CivilDay on);
absl::StatusOr<ResolutionEvents> DecideReassignLead(
    const ResolutionState& s, const OrganisationState& lead,
    bool keep_previous_as_supporting, const std::string& reason,
    absl::CivilDay on);

}  // namespace ncm::resolutions

#endif  // NCM_RESOLUTIONS_DOMAIN_H_
