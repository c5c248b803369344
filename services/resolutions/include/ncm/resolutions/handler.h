// The meetings and resolutions command handler: validate -> load the
// aggregate by folding its stream -> decide (domain.h) -> append with the
// revision read, plus reads of the current state. Organisations and
// persons are checked through the stakeholders handler. Thread-safe;
// blocking.
#ifndef NCM_RESOLUTIONS_HANDLER_H_
#define NCM_RESOLUTIONS_HANDLER_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "ncm/eventstore/event_store.h"
#include "ncm/readside/runner.h"
#include "ncm/resolutions/domain.h"
#include "ncm/resolutions/v1/resolutions.pb.h"
#include "ncm/services/command.h"
#include "ncm/services/dates.h"
#include "ncm/stakeholders/handler.h"

namespace ncm::resolutions {

using services::Outcome;

class ResolutionsHandler {
 public:
  // REQUIRES: every pointer outlives the handler.
  ResolutionsHandler(eventstore::EventStore* store,
                     stakeholders::StakeholdersHandler* stakeholders,
                     const CountyList* counties, services::Clock clock = {},
                     CodeLists codes = {});

  absl::StatusOr<Outcome> ScheduleMeeting(const pb::ScheduleMeetingRequest& r,
                                          const std::string& actor);
  absl::StatusOr<Outcome> RescheduleMeeting(
      const pb::RescheduleMeetingRequest& r, const std::string& actor);
  absl::StatusOr<Outcome> RecordAttendance(const pb::RecordAttendanceRequest& r,
                                           const std::string& actor);
  absl::StatusOr<Outcome> CloseMeeting(const pb::CloseMeetingRequest& r,
                                       const std::string& actor);
  absl::StatusOr<Outcome> CancelMeeting(const pb::CancelMeetingRequest& r,
                                        const std::string& actor);

  absl::StatusOr<Outcome> AdoptResolution(const pb::AdoptResolutionRequest& r,
                                          const std::string& actor);
  absl::StatusOr<Outcome> StartImplementation(
      const pb::ResolutionChangeRequest& r, const std::string& actor);
  absl::StatusOr<Outcome> ReportProgress(const pb::ReportProgressRequest& r,
                                         const std::string& actor);
  absl::StatusOr<Outcome> MarkImplemented(const pb::MarkImplementedRequest& r,
                                          const std::string& actor);
  absl::StatusOr<Outcome> VerifyImplementation(
      const pb::VerifyImplementationRequest& r, const std::string& actor);
  absl::StatusOr<Outcome> RejectVerification(
      const pb::ResolutionChangeRequest& r, const std::string& actor);
  absl::StatusOr<Outcome> DeferResolution(const pb::DeferResolutionRequest& r,
                                          const std::string& actor);
  absl::StatusOr<Outcome> ResumeImplementation(
      const pb::ResolutionChangeRequest& r, const std::string& actor);
  absl::StatusOr<Outcome> BlockResolution(const pb::ResolutionChangeRequest& r,
                                          const std::string& actor);
  absl::StatusOr<Outcome> UnblockResolution(
      const pb::ResolutionChangeRequest& r, const std::string& actor);
  absl::StatusOr<Outcome> RescindResolution(
      const pb::ResolutionChangeRequest& r, const std::string& actor);
  absl::StatusOr<Outcome> SupersedeResolution(
      const pb::SupersedeResolutionRequest& r, const std::string& actor);
  absl::StatusOr<Outcome> ReassignLead(const pb::ReassignLeadRequest& r,
                                       const std::string& actor);

  absl::StatusOr<pb::Meeting> GetMeeting(const pb::GetMeetingRequest& r);
  absl::StatusOr<pb::Resolution> GetResolution(
      const pb::GetResolutionRequest& r);

  // Queries answered from the "resolutions" read model. Without a read
  // side they are UNAVAILABLE. `default_wait` bounds a min_position wait
  // that names no wait_ms.
  void SetReadSide(readside::ReadSide* read_side, absl::Duration default_wait);
  absl::StatusOr<pb::ListResolutionsResponse> ListResolutions(
      const pb::ListResolutionsRequest& r);
  // The resolution folded from its stream (exists == false when unknown).
  absl::StatusOr<ResolutionState> LoadResolution(const std::string& id);

  absl::StatusOr<pb::ImplementationReportResponse> ImplementationReport(
      const pb::ImplementationReportRequest& r);

 private:
  using MeetingDecider =
      std::function<absl::StatusOr<services::Decision<pb::MeetingEvent>>(
          const services::Loaded<MeetingState>&)>;
  using ResolutionDecider =
      std::function<absl::StatusOr<services::Decision<pb::ResolutionEvent>>(
          const services::Loaded<ResolutionState>&)>;
  absl::StatusOr<Outcome> OnMeeting(const std::string& id,
                                    const services::CommandContext& ctx,
                                    const MeetingDecider& decide);
  absl::StatusOr<Outcome> OnResolution(const std::string& id,
                                       const services::CommandContext& ctx,
                                       const ResolutionDecider& decide);
  // A change that takes the resolution id, a reason and the day.
  using Transition = std::function<absl::StatusOr<ResolutionEvents>(
      const ResolutionState&, const std::string&, absl::CivilDay)>;
  absl::StatusOr<Outcome> Change(absl::string_view method,
                                 const pb::ResolutionChangeRequest& r,
                                 const std::string& actor,
                                 const Transition& decide);
  // Waits for min_position (bounded) and returns the read model's view
  // and the position it reflects at least.
  absl::StatusOr<std::pair<const readside::ReadModelView*, uint64_t>>
  ReadModel(uint64_t min_position, int32_t wait_ms);
  absl::StatusOr<OrganisationState> Organisation(const std::string& id,
                                                 const std::string& field);

  eventstore::EventStore* const store_;
  stakeholders::StakeholdersHandler* const stakeholders_;
  const CountyList* const counties_;
  const services::Clock clock_;
  const CodeLists codes_;
  readside::ReadSide* read_side_ = nullptr;
  absl::Duration default_wait_ = absl::Seconds(2);
};

}  // namespace ncm::resolutions

#endif  // NCM_RESOLUTIONS_HANDLER_H_
