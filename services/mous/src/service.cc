#include "ncm/mous/service.h"

#include "ncm/mous/v1/mous.pb.h"

namespace ncm::mous {

MousService::MousService(MousHandler* h, services::WorkerPool* pool,
                         services::PrincipalFn principal)
    : DomainService(
          pb::DraftMouRequest::descriptor()->file()->FindServiceByName("Mous"),
          pool, std::move(principal)) {
  using H = MousHandler;
  Command("DraftMou", h, &H::DraftMou);
  Command("AmendMou", h, &H::AmendMou);
  Command("SubmitForLegalReview", h, &H::SubmitForLegalReview);
  Command("RecordLegalReview", h, &H::RecordLegalReview);
  Command("SignMou", h, &H::SignMou);
  Command("RenewMou", h, &H::RenewMou);
  Command("TerminateMou", h, &H::TerminateMou);
  Command("RecordDelivery", h, &H::RecordDelivery);
  Query("GetMou", h, &H::GetMou);
  Query("GetCompliance", h, &H::GetCompliance);
}

}  // namespace ncm::mous
