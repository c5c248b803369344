#include "ncm/stakeholders/service.h"

#include "ncm/eventstore/status_macros.h"
#include "ncm/stakeholders/v1/stakeholders.pb.h"

namespace ncm::stakeholders {

using grpc::CallbackServerContext;

StakeholdersService::StakeholdersService(StakeholdersHandler* h,
                                         services::WorkerPool* pool)
    : DomainService(pb::RegisterOrganisationRequest::descriptor()
                        ->file()
                        ->FindServiceByName("Stakeholders"),
                    pool) {
  Command("RegisterOrganisation", h, &StakeholdersHandler::RegisterOrganisation);
  Command("AmendOrganisation", h, &StakeholdersHandler::AmendOrganisation);
  Command("ChangeMembershipRole", h, &StakeholdersHandler::ChangeMembershipRole);
  Command("SuspendMembership", h, &StakeholdersHandler::SuspendMembership);
  Command("ReinstateMembership", h, &StakeholdersHandler::ReinstateMembership);
  Command("WithdrawMembership", h, &StakeholdersHandler::WithdrawMembership);
  Command("EndFocalPointAppointment", h, &StakeholdersHandler::EndFocalPointAppointment);
  Command("RectifyPerson", h, &StakeholdersHandler::RectifyPerson);
  Command("ForgetPerson", h, &StakeholdersHandler::ForgetPerson);
  Command("CreateWorkingGroup", h, &StakeholdersHandler::CreateWorkingGroup);
  Command("AddWorkingGroupMember", h, &StakeholdersHandler::AddWorkingGroupMember);
  Command("RemoveWorkingGroupMember", h, &StakeholdersHandler::RemoveWorkingGroupMember);

  Command("AppointFocalPoint", h, &StakeholdersHandler::AppointFocalPoint);
  Unary<pb::GetOrganisationRequest, pb::Organisation>(
      "GetOrganisation",
      [h](const services::Admission&, const pb::GetOrganisationRequest& r,
          pb::Organisation* out) -> absl::Status {
        NCM_RETURN_IF_ERROR(h->CheckMinPosition(r.min_position()));
        auto o = h->GetOrganisation(r.organisation_id());
        if (!o.ok()) return o.status();
        *out = std::move(*o);
        return absl::OkStatus();
      });
  Unary<pb::GetPersonRequest, pb::Person>(
      "GetPerson", [h](const services::Admission&, const pb::GetPersonRequest& r,
                       pb::Person* out) -> absl::Status {
        NCM_RETURN_IF_ERROR(h->CheckMinPosition(r.min_position()));
        auto o = h->GetPerson(r.person_id());
        if (!o.ok()) return o.status();
        *out = std::move(*o);
        return absl::OkStatus();
      });
  Unary<pb::GetWorkingGroupRequest, pb::WorkingGroup>(
      "GetWorkingGroup",
      [h](const services::Admission&, const pb::GetWorkingGroupRequest& r,
          pb::WorkingGroup* out) -> absl::Status {
        NCM_RETURN_IF_ERROR(h->CheckMinPosition(r.min_position()));
        auto o = h->GetWorkingGroup(r.working_group_id());
        if (!o.ok()) return o.status();
        *out = std::move(*o);
        return absl::OkStatus();
      });
  Query("GetFocalPointsAsOf", h, &StakeholdersHandler::GetFocalPointsAsOf);
  Query("ListOrganisations", h, &StakeholdersHandler::ListOrganisations);
  Query("GetAttendanceRates", h, &StakeholdersHandler::GetAttendanceRates);
  Unary<pb::ListCountiesRequest, pb::ListCountiesResponse>(
      "ListCounties",
      [h](const services::Admission&, const pb::ListCountiesRequest&,
          pb::ListCountiesResponse* out) -> absl::Status {
        *out = h->ListCounties();
        return absl::OkStatus();
      });
}

}  // namespace ncm::stakeholders
