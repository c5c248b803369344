#include "ncm/resolutions/service.h"

#include "ncm/resolutions/v1/resolutions.pb.h"

namespace ncm::resolutions {

namespace cpb = ::ncm::common::v1;
using grpc::CallbackServerContext;

ResolutionsService::ResolutionsService(ResolutionsHandler* h,
                                       services::WorkerPool* pool,
                                       stakeholders::PrincipalFn principal)
    : RawService(pb::ScheduleMeetingRequest::descriptor()
                     ->file()
                     ->FindServiceByName("Resolutions"),
                 pool) {
  auto actor = [principal](CallbackServerContext* ctx) {
    return principal ? principal(ctx) : std::string();
  };
#define NCM_COMMAND(Name, Req)                                               \
  Unary<pb::Req, cpb::CommandResult>(                                        \
      #Name, [h, actor](CallbackServerContext* ctx, const pb::Req& r,        \
                        cpb::CommandResult* out) -> absl::Status {           \
        absl::StatusOr<Outcome> o = h->Name(r, actor(ctx));                  \
        if (!o.ok()) return o.status();                                      \
        services::ToProto(*o, out);                                          \
        return absl::OkStatus();                                             \
      })
  NCM_COMMAND(ScheduleMeeting, ScheduleMeetingRequest);
  NCM_COMMAND(RescheduleMeeting, RescheduleMeetingRequest);
  NCM_COMMAND(RecordAttendance, RecordAttendanceRequest);
  NCM_COMMAND(CloseMeeting, CloseMeetingRequest);
  NCM_COMMAND(CancelMeeting, CancelMeetingRequest);
  NCM_COMMAND(AdoptResolution, AdoptResolutionRequest);
  NCM_COMMAND(StartImplementation, ResolutionChangeRequest);
  NCM_COMMAND(ReportProgress, ReportProgressRequest);
  NCM_COMMAND(MarkImplemented, MarkImplementedRequest);
  NCM_COMMAND(VerifyImplementation, VerifyImplementationRequest);
  NCM_COMMAND(RejectVerification, ResolutionChangeRequest);
  NCM_COMMAND(DeferResolution, DeferResolutionRequest);
  NCM_COMMAND(ResumeImplementation, ResolutionChangeRequest);
  NCM_COMMAND(BlockResolution, ResolutionChangeRequest);
  NCM_COMMAND(UnblockResolution, ResolutionChangeRequest);
  NCM_COMMAND(RescindResolution, ResolutionChangeRequest);
  NCM_COMMAND(SupersedeResolution, SupersedeResolutionRequest);
  NCM_COMMAND(ReassignLead, ReassignLeadRequest);
#undef NCM_COMMAND

  Unary<pb::GetMeetingRequest, pb::Meeting>(
      "GetMeeting", [h](CallbackServerContext*, const pb::GetMeetingRequest& r,
                        pb::Meeting* out) -> absl::Status {
        auto m = h->GetMeeting(r);
        if (!m.ok()) return m.status();
        *out = std::move(*m);
        return absl::OkStatus();
      });
  Unary<pb::GetResolutionRequest, pb::Resolution>(
      "GetResolution",
      [h](CallbackServerContext*, const pb::GetResolutionRequest& r,
          pb::Resolution* out) -> absl::Status {
        auto m = h->GetResolution(r);
        if (!m.ok()) return m.status();
        *out = std::move(*m);
        return absl::OkStatus();
      });
}

}  // namespace ncm::resolutions
