#include "ncm/mous/service.h"

#include "ncm/mous/v1/mous.pb.h"

namespace ncm::mous {

MousService::MousService(MousHandler* h, services::WorkerPool* pool)
    : DomainService(
          pb::DraftMouRequest::descriptor()->file()->FindServiceByName("Mous"),
          pool) {
  using H = MousHandler;
  using services::Principal;
  Command("DraftMou", h, &H::DraftMou);
  Command("AmendMou", h, &H::AmendMou);
  Command("SubmitForLegalReview", h, &H::SubmitForLegalReview);
  Command("RecordLegalReview", h, &H::RecordLegalReview);
  Command("SignMou", h, &H::SignMou);
  Command("RenewMou", h, &H::RenewMou);
  Command("TerminateMou", h, &H::TerminateMou);
  // Data providers: deliveries of the datasets they provide, and reads of
  // the MOUs they are party to and of their own compliance.
  Command("RecordDelivery", h, &H::RecordDelivery,
          ScopeCheck<pb::RecordDeliveryRequest>(
              [h](const Principal& p, const pb::RecordDeliveryRequest& r) {
                return h->CheckProvides(r.mou_id(), r.dataset_code(),
                                        p.organisation_id);
              }));
  Query("GetMou", h, &H::GetMou,
        ScopeCheck<pb::GetMouRequest>(
            [h](const Principal& p, const pb::GetMouRequest& r) {
              return h->CheckParty(r.mou_id(), p.organisation_id);
            }));
  Query("GetCompliance", h, &H::GetCompliance,
        ScopeCheck<pb::GetComplianceRequest>(
            [](const Principal& p,
               const pb::GetComplianceRequest& r) -> absl::Status {
              if (r.mou_id().empty() &&
                  r.provider_organisation_id() == p.organisation_id) {
                return absl::OkStatus();
              }
              return absl::PermissionDeniedError(absl::StrCat(
                  "a data provider reads its own compliance: give "
                  "provider_organisation_id ",
                  p.organisation_id, " (and no mou_id)"));
            }));
}

}  // namespace ncm::mous
