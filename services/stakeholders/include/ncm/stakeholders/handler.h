// The stakeholders command handler: validate -> load the aggregate by
// folding its stream -> decide (domain.h) -> append with the revision read,
// plus reads of the current state. Thread-safe; blocking (each command
// waits for its append to be durable).
#ifndef NCM_STAKEHOLDERS_HANDLER_H_
#define NCM_STAKEHOLDERS_HANDLER_H_

#include <string>

#include "absl/status/statusor.h"
#include "ncm/eventstore/event_store.h"
#include "ncm/readside/runner.h"
#include "ncm/services/command.h"
#include "ncm/services/dates.h"
#include "ncm/stakeholders/counties.h"
#include "ncm/stakeholders/domain.h"
#include "ncm/stakeholders/v1/stakeholders.pb.h"

namespace ncm::stakeholders {

using services::Outcome;

class StakeholdersHandler {
 public:
  // REQUIRES: `store` and `counties` outlive the handler.
  StakeholdersHandler(eventstore::EventStore* store, const CountyList* counties,
                      services::Clock clock = {});

  // `actor` is the principal making the change ("" = anonymous).
  absl::StatusOr<Outcome> RegisterOrganisation(
      const pb::RegisterOrganisationRequest& r, const std::string& actor);
  absl::StatusOr<Outcome> AmendOrganisation(
      const pb::AmendOrganisationRequest& r, const std::string& actor);
  absl::StatusOr<Outcome> ChangeMembershipRole(
      const pb::ChangeMembershipRoleRequest& r, const std::string& actor);
  absl::StatusOr<Outcome> SuspendMembership(const pb::MembershipChangeRequest& r,
                                            const std::string& actor);
  absl::StatusOr<Outcome> ReinstateMembership(
      const pb::MembershipChangeRequest& r, const std::string& actor);
  absl::StatusOr<Outcome> WithdrawMembership(
      const pb::MembershipChangeRequest& r, const std::string& actor);
  absl::StatusOr<pb::AppointFocalPointResponse> AppointFocalPoint(
      const pb::AppointFocalPointRequest& r, const std::string& actor);
  absl::StatusOr<Outcome> EndFocalPointAppointment(
      const pb::EndFocalPointAppointmentRequest& r, const std::string& actor);
  absl::StatusOr<Outcome> RectifyPerson(const pb::RectifyPersonRequest& r,
                                        const std::string& actor);
  absl::StatusOr<Outcome> ForgetPerson(const pb::ForgetPersonRequest& r,
                                       const std::string& actor);
  absl::StatusOr<Outcome> CreateWorkingGroup(
      const pb::CreateWorkingGroupRequest& r, const std::string& actor);
  absl::StatusOr<Outcome> AddWorkingGroupMember(
      const pb::WorkingGroupMemberRequest& r, const std::string& actor);
  absl::StatusOr<Outcome> RemoveWorkingGroupMember(
      const pb::WorkingGroupMemberRequest& r, const std::string& actor);

  absl::StatusOr<pb::Organisation> GetOrganisation(const std::string& id);
  absl::StatusOr<pb::Person> GetPerson(const std::string& id);
  absl::StatusOr<pb::WorkingGroup> GetWorkingGroup(const std::string& id);
  pb::ListCountiesResponse ListCounties() const;
  // OUT_OF_RANGE when min_position lies beyond the log's head (the Get*
  // reads fold the log itself, so they reflect every committed position).
  absl::Status CheckMinPosition(uint64_t min_position) const;
  absl::StatusOr<pb::GetFocalPointsAsOfResponse> GetFocalPointsAsOf(
      const pb::GetFocalPointsAsOfRequest& r);

  // Queries answered from the "directory" read model; UNAVAILABLE without
  // a read side.
  void SetReadSide(readside::ReadSide* read_side, absl::Duration default_wait);
  // On a read node: the personal-data keys stay with the write node at
  // `write_node`, so a person's details are asked of it.
  // REQUIRES: called before serving.
  void SetPersonalDataAt(std::string write_node) {
    personal_data_at_ = std::move(write_node);
  }
  absl::StatusOr<pb::ListOrganisationsResponse> ListOrganisations(
      const pb::ListOrganisationsRequest& r);
  absl::StatusOr<pb::GetAttendanceRatesResponse> GetAttendanceRates(
      const pb::GetAttendanceRatesRequest& r);

  // Folded states, for other services' checks (e.g. a resolution's lead
  // organisation must be registered and not withdrawn).
  // A missing organisation or person has exists == false (and its id set).
  absl::StatusOr<OrganisationState> LoadOrganisation(const std::string& id);
  absl::StatusOr<PersonState> LoadPerson(const std::string& id);

 private:
  using OrganisationDecider =
      std::function<absl::StatusOr<services::Decision<pb::OrganisationEvent>>(
          const services::Loaded<OrganisationState>&)>;
  // Runs a command on organisation `id` (checked to be an id).
  absl::StatusOr<Outcome> OnOrganisation(const std::string& id,
                                         const services::CommandContext& ctx,
                                         const OrganisationDecider& decide);
  absl::StatusOr<pb::Person> PersonView(const std::string& id);
  std::string personal_data_at_;

  eventstore::EventStore* const store_;
  const CountyList* const counties_;
  // Waits for min_position; returns the directory and its position.
  absl::StatusOr<std::pair<const readside::ReadModelView*, uint64_t>>
  Directory(uint64_t min_position, int32_t wait_ms);

  const services::Clock clock_;
  readside::ReadSide* read_side_ = nullptr;
  absl::Duration default_wait_ = absl::Seconds(2);
};

}  // namespace ncm::stakeholders

#endif  // NCM_STAKEHOLDERS_HANDLER_H_
