#include "ncm/resolutions/service.h"

#include "ncm/resolutions/v1/resolutions.pb.h"

namespace ncm::resolutions {

ResolutionsService::ResolutionsService(ResolutionsHandler* h,
                                       services::WorkerPool* pool)
    : DomainService(pb::ScheduleMeetingRequest::descriptor()
                        ->file()
                        ->FindServiceByName("Resolutions"),
                    pool) {
  using H = ResolutionsHandler;
  Command("ScheduleMeeting", h, &H::ScheduleMeeting);
  Command("RescheduleMeeting", h, &H::RescheduleMeeting);
  Command("RecordAttendance", h, &H::RecordAttendance);
  Command("CloseMeeting", h, &H::CloseMeeting);
  Command("CancelMeeting", h, &H::CancelMeeting);
  Command("AdoptResolution", h, &H::AdoptResolution);
  Command("StartImplementation", h, &H::StartImplementation);
  // Partners report progress for their own organisation, on resolutions
  // it leads or supports (the domain holds every reporter to the latter
  // too; for a partner it is a question of permission).
  Command("ReportProgress", h, &H::ReportProgress,
          ScopeCheck<pb::ReportProgressRequest>(
              [h](const services::Principal& p,
                  const pb::ReportProgressRequest& r) -> absl::Status {
                if (r.reporting_organisation_id() != p.organisation_id) {
                  return absl::PermissionDeniedError(absl::StrCat(
                      "a partner reports progress for its own organisation: "
                      "reporting_organisation_id must be ",
                      p.organisation_id));
                }
                absl::StatusOr<ResolutionState> s =
                    h->LoadResolution(r.resolution_id());
                // An unknown or malformed id is the handler's to answer.
                if (!s.ok() || !s->exists) return absl::OkStatus();
                if (!s->Involves(p.organisation_id)) {
                  return absl::PermissionDeniedError(absl::StrCat(
                      "organisation ", p.organisation_id,
                      " neither leads nor supports resolution ",
                      r.resolution_id(),
                      "; a partner reports only on resolutions its "
                      "organisation takes part in"));
                }
                return absl::OkStatus();
              }));
  Command("MarkImplemented", h, &H::MarkImplemented);
  Command("VerifyImplementation", h, &H::VerifyImplementation);
  Command("RejectVerification", h, &H::RejectVerification);
  Command("DeferResolution", h, &H::DeferResolution);
  Command("ResumeImplementation", h, &H::ResumeImplementation);
  Command("BlockResolution", h, &H::BlockResolution);
  Command("UnblockResolution", h, &H::UnblockResolution);
  Command("RescindResolution", h, &H::RescindResolution);
  Command("SupersedeResolution", h, &H::SupersedeResolution);
  Command("ReassignLead", h, &H::ReassignLead);
  Query("GetMeeting", h, &H::GetMeeting);
  Query("GetResolution", h, &H::GetResolution);
  Query("ListResolutions", h, &H::ListResolutions);
  Query("ImplementationReport", h, &H::ImplementationReport);
}

}  // namespace ncm::resolutions
