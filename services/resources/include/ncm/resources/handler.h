// The resource mobilisation command handler: validate -> load the budget
// by folding its stream -> decide (domain.h) -> append with the revision
// read, plus the budget read with its computed totals. Thread-safe;
// blocking.
#ifndef NCM_RESOURCES_HANDLER_H_
#define NCM_RESOURCES_HANDLER_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "ncm/eventstore/event_store.h"
#include "ncm/readside/runner.h"
#include "ncm/resources/domain.h"
#include "ncm/resources/v1/resources.pb.h"
#include "ncm/services/command.h"
#include "ncm/stakeholders/handler.h"

namespace ncm::resources {

using services::Outcome;

class ResourcesHandler {
 public:
  // REQUIRES: every pointer outlives the handler.
  ResourcesHandler(eventstore::EventStore* store,
                   stakeholders::StakeholdersHandler* stakeholders,
                   services::Clock clock = {});

  absl::StatusOr<Outcome> OpenBudget(const pb::OpenBudgetRequest& r,
                                     const std::string& actor);
  absl::StatusOr<pb::AddBudgetLineResponse> AddBudgetLine(
      const pb::AddBudgetLineRequest& r, const std::string& actor);
  absl::StatusOr<Outcome> ReviseBudgetLine(const pb::ReviseBudgetLineRequest& r,
                                           const std::string& actor);
  absl::StatusOr<Outcome> RecordDeclaredTotal(
      const pb::RecordDeclaredTotalRequest& r, const std::string& actor);
  absl::StatusOr<pb::RecordTransactionResponse> RecordTransaction(
      const pb::RecordTransactionRequest& r, const std::string& actor);

  absl::StatusOr<pb::Budget> GetBudget(const pb::GetBudgetRequest& r);
  absl::StatusOr<pb::GetFundingPositionResponse> GetFundingPosition(
      const pb::GetFundingPositionRequest& r);

  // The "budgets" read model; without it GetFundingPosition is
  // UNAVAILABLE.
  void SetReadSide(readside::ReadSide* read_side, absl::Duration default_wait);

  // The id of the budget of `owner` for `fiscal_year` in `currency`.
  static std::string BudgetId(const std::string& owner, int fiscal_year,
                              const std::string& currency);

 private:
  using Decider = std::function<absl::StatusOr<BudgetEvents>(
      const services::Loaded<BudgetState>&, const services::CommandContext&)>;
  template <typename Req>
  absl::StatusOr<Outcome> OnBudget(absl::string_view method, const Req& r,
                                   const std::string& actor,
                                   const Decider& decide);
  absl::StatusOr<services::Loaded<BudgetState>> LoadBudget(
      const std::string& id);

  eventstore::EventStore* const store_;
  stakeholders::StakeholdersHandler* const stakeholders_;
  const services::Clock clock_;
  readside::ReadSide* read_side_ = nullptr;
  absl::Duration default_wait_ = absl::Seconds(2);
};

}  // namespace ncm::resources

#endif  // NCM_RESOURCES_HANDLER_H_
