#include "ncm/resolutions/service.h"

#include "ncm/resolutions/v1/resolutions.pb.h"

namespace ncm::resolutions {

ResolutionsService::ResolutionsService(ResolutionsHandler* h,
                                       services::WorkerPool* pool,
                                       services::PrincipalFn principal)
    : DomainService(pb::ScheduleMeetingRequest::descriptor()
                        ->file()
                        ->FindServiceByName("Resolutions"),
                    pool, std::move(principal)) {
  using H = ResolutionsHandler;
  Command("ScheduleMeeting", h, &H::ScheduleMeeting);
  Command("RescheduleMeeting", h, &H::RescheduleMeeting);
  Command("RecordAttendance", h, &H::RecordAttendance);
  Command("CloseMeeting", h, &H::CloseMeeting);
  Command("CancelMeeting", h, &H::CancelMeeting);
  Command("AdoptResolution", h, &H::AdoptResolution);
  Command("StartImplementation", h, &H::StartImplementation);
  Command("ReportProgress", h, &H::ReportProgress);
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
