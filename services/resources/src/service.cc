#include "ncm/resources/service.h"

#include "ncm/resources/v1/resources.pb.h"

namespace ncm::resources {

ResourcesService::ResourcesService(ResourcesHandler* h,
                                   services::WorkerPool* pool,
                                   services::PrincipalFn principal)
    : DomainService(pb::OpenBudgetRequest::descriptor()->file()->FindServiceByName(
                        "Resources"),
                    pool, std::move(principal)) {
  using H = ResourcesHandler;
  Command("OpenBudget", h, &H::OpenBudget);
  Command("ReviseBudgetLine", h, &H::ReviseBudgetLine);
  Command("RecordDeclaredTotal", h, &H::RecordDeclaredTotal);
  Unary<pb::AddBudgetLineRequest, pb::AddBudgetLineResponse>(
      "AddBudgetLine",
      [h, this](grpc::CallbackServerContext* ctx,
                const pb::AddBudgetLineRequest& r,
                pb::AddBudgetLineResponse* out) -> absl::Status {
        auto v = h->AddBudgetLine(r, ActorOf(ctx));
        if (!v.ok()) return v.status();
        *out = std::move(*v);
        return absl::OkStatus();
      });
  Unary<pb::RecordTransactionRequest, pb::RecordTransactionResponse>(
      "RecordTransaction",
      [h, this](grpc::CallbackServerContext* ctx,
                const pb::RecordTransactionRequest& r,
                pb::RecordTransactionResponse* out) -> absl::Status {
        auto v = h->RecordTransaction(r, ActorOf(ctx));
        if (!v.ok()) return v.status();
        *out = std::move(*v);
        return absl::OkStatus();
      });
  Query("GetBudget", h, &H::GetBudget);
  Query("GetFundingPosition", h, &H::GetFundingPosition);
}

}  // namespace ncm::resources
