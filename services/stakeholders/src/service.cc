#include "ncm/stakeholders/service.h"

#include "ncm/stakeholders/v1/stakeholders.pb.h"

namespace ncm::stakeholders {

namespace cpb = ::ncm::common::v1;
using grpc::CallbackServerContext;

StakeholdersService::StakeholdersService(StakeholdersHandler* h,
                                         services::WorkerPool* pool,
                                         PrincipalFn principal)
    : RawService(pb::RegisterOrganisationRequest::descriptor()
                     ->file()
                     ->FindServiceByName("Stakeholders"),
                 pool) {
  auto actor = [principal](CallbackServerContext* ctx) {
    return principal ? principal(ctx) : std::string();
  };
  // Commands answered with a CommandResult.
#define NCM_COMMAND(Name, Req)                                               \
  Unary<pb::Req, cpb::CommandResult>(                                        \
      #Name, [h, actor](CallbackServerContext* ctx, const pb::Req& r,        \
                        cpb::CommandResult* out) -> absl::Status {           \
        absl::StatusOr<Outcome> o = h->Name(r, actor(ctx));                  \
        if (!o.ok()) return o.status();                                      \
        services::ToProto(*o, out);                                          \
        return absl::OkStatus();                                             \
      })
  NCM_COMMAND(RegisterOrganisation, RegisterOrganisationRequest);
  NCM_COMMAND(AmendOrganisation, AmendOrganisationRequest);
  NCM_COMMAND(ChangeMembershipRole, ChangeMembershipRoleRequest);
  NCM_COMMAND(SuspendMembership, MembershipChangeRequest);
  NCM_COMMAND(ReinstateMembership, MembershipChangeRequest);
  NCM_COMMAND(WithdrawMembership, MembershipChangeRequest);
  NCM_COMMAND(EndFocalPointAppointment, EndFocalPointAppointmentRequest);
  NCM_COMMAND(RectifyPerson, RectifyPersonRequest);
  NCM_COMMAND(ForgetPerson, ForgetPersonRequest);
  NCM_COMMAND(CreateWorkingGroup, CreateWorkingGroupRequest);
  NCM_COMMAND(AddWorkingGroupMember, WorkingGroupMemberRequest);
  NCM_COMMAND(RemoveWorkingGroupMember, WorkingGroupMemberRequest);
#undef NCM_COMMAND

  Unary<pb::AppointFocalPointRequest, pb::AppointFocalPointResponse>(
      "AppointFocalPoint",
      [h, actor](CallbackServerContext* ctx,
                 const pb::AppointFocalPointRequest& r,
                 pb::AppointFocalPointResponse* out) -> absl::Status {
        auto resp = h->AppointFocalPoint(r, actor(ctx));
        if (!resp.ok()) return resp.status();
        *out = std::move(*resp);
        return absl::OkStatus();
      });
  Unary<pb::GetOrganisationRequest, pb::Organisation>(
      "GetOrganisation",
      [h](CallbackServerContext*, const pb::GetOrganisationRequest& r,
          pb::Organisation* out) -> absl::Status {
        auto o = h->GetOrganisation(r.organisation_id());
        if (!o.ok()) return o.status();
        *out = std::move(*o);
        return absl::OkStatus();
      });
  Unary<pb::GetPersonRequest, pb::Person>(
      "GetPerson", [h](CallbackServerContext*, const pb::GetPersonRequest& r,
                       pb::Person* out) -> absl::Status {
        auto o = h->GetPerson(r.person_id());
        if (!o.ok()) return o.status();
        *out = std::move(*o);
        return absl::OkStatus();
      });
  Unary<pb::GetWorkingGroupRequest, pb::WorkingGroup>(
      "GetWorkingGroup",
      [h](CallbackServerContext*, const pb::GetWorkingGroupRequest& r,
          pb::WorkingGroup* out) -> absl::Status {
        auto o = h->GetWorkingGroup(r.working_group_id());
        if (!o.ok()) return o.status();
        *out = std::move(*o);
        return absl::OkStatus();
      });
  Unary<pb::ListCountiesRequest, pb::ListCountiesResponse>(
      "ListCounties",
      [h](CallbackServerContext*, const pb::ListCountiesRequest&,
          pb::ListCountiesResponse* out) -> absl::Status {
        *out = h->ListCounties();
        return absl::OkStatus();
      });
}

}  // namespace ncm::stakeholders
