#include "ncm/resources/service.h"

#include "ncm/resources/v1/resources.pb.h"

namespace ncm::resources {

ResourcesService::ResourcesService(ResourcesHandler* h,
                                   services::WorkerPool* pool)
    : DomainService(pb::OpenBudgetRequest::descriptor()->file()->FindServiceByName(
                        "Resources"),
                    pool) {
  using H = ResourcesHandler;
  Command("OpenBudget", h, &H::OpenBudget);
  Command("ReviseBudgetLine", h, &H::ReviseBudgetLine);
  Command("RecordDeclaredTotal", h, &H::RecordDeclaredTotal);
  Command("AddBudgetLine", h, &H::AddBudgetLine);
  // Partners record their own pledges, commitments and receipts; spending
  // is the budget holder's.
  Command("RecordTransaction", h, &H::RecordTransaction,
          ScopeCheck<pb::RecordTransactionRequest>(
              [](const services::Principal& p,
                 const pb::RecordTransactionRequest& r) -> absl::Status {
                if (r.type() != pb::INCOMING_PLEDGE &&
                    r.type() != pb::INCOMING_COMMITMENT &&
                    r.type() != pb::INCOMING_FUNDS) {
                  return absl::PermissionDeniedError(
                      "a partner records pledges, commitments and funds "
                      "received, not expenditure");
                }
                if (r.organisation_id() != p.organisation_id) {
                  return absl::PermissionDeniedError(absl::StrCat(
                      "a partner records its own funding: organisation_id "
                      "must be ",
                      p.organisation_id));
                }
                return absl::OkStatus();
              }));
  Query("GetBudget", h, &H::GetBudget);
  Query("GetFundingPosition", h, &H::GetFundingPosition);
}

}  // namespace ncm::resources
