// The resource mobilisation domain, pure: a budget's state, how an event
// changes it (Apply), what a command records (Decide*) and the totals read
// from it (ComputeTotals). Money is integer minor units throughout.
#ifndef NCM_RESOURCES_DOMAIN_H_
#define NCM_RESOURCES_DOMAIN_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "ncm/resources/v1/events.pb.h"
#include "ncm/resources/v1/resources.pb.h"
#include "ncm/services/command.h"
#include "ncm/stakeholders/domain.h"

namespace ncm::resources {

namespace pb = ::ncm::resources::v1;
using services::EventMeta;
using stakeholders::OrganisationState;

std::string BudgetStream(const std::string& id);

struct Line {
  pb::BudgetLineAdded added;
  std::optional<pb::LineFigures> revised;
  std::string revision_reason;

  const pb::LineFigures& Current() const {
    return revised ? *revised : added.figures();
  }
};

struct TransactionEntry {
  pb::TransactionRecorded transaction;
  absl::Time recorded_at;
};

struct BudgetState {
  bool exists = false;
  pb::BudgetOpened opened;
  std::vector<Line> lines;
  std::map<std::pair<pb::TotalScope, std::string>, pb::DeclaredTotalRecorded>
      declared;
  std::vector<TransactionEntry> transactions;
  int exponent = 2;  // of the budget currency

  const Line* FindLine(const std::string& line_id) const;
  bool HasActivity(const std::string& activity_code) const;
  // The fiscal year's first and last day.
  absl::CivilDay StartsOn() const;
  absl::CivilDay EndsOn() const;
};
void Apply(const pb::BudgetEvent& e, const EventMeta& m, BudgetState* s);

using BudgetEvents = std::vector<pb::BudgetEvent>;

absl::StatusOr<BudgetEvents> DecideOpen(const BudgetState& s,
                                        const std::string& budget_id,
                                        const pb::OpenBudgetRequest& r,
                                        const OrganisationState& owner);
// Computes the line's total; the declared total, when given, is kept even
// when it differs (read back as a mismatch).
absl::StatusOr<BudgetEvents> DecideAddLine(const BudgetState& s,
                                           const std::string& line_id,
                                           const pb::AddBudgetLineRequest& r);
absl::StatusOr<BudgetEvents> DecideReviseLine(
    const BudgetState& s, const pb::ReviseBudgetLineRequest& r);
absl::StatusOr<BudgetEvents> DecideDeclareTotal(
    const BudgetState& s, const pb::RecordDeclaredTotalRequest& r);
// `org` is the funder (or the source of spent funds), folded by the caller.
absl::StatusOr<BudgetEvents> DecideTransaction(
    const BudgetState& s, const std::string& transaction_id,
    const pb::RecordTransactionRequest& r, const OrganisationState& org);

// Per activity (in code order), per pillar and for the whole budget.
struct AllTotals {
  std::vector<pb::Totals> activities;
  std::vector<pb::Totals> pillars;
  pb::Totals budget;
  // The first total whose sum went past 64-bit minor units, e.g.
  // "pillar 2's pledged"; empty when every sum fits. Such a total is capped
  // and marked `overflowed`: reads never fail on data already stored.
  std::string overflowed;
};
// Flows earmarked to several activities count toward each activity's
// figures once per activity but once only in pillar and budget totals;
// unearmarked flows count in the budget total only.
AllTotals ComputeTotals(const BudgetState& s);

// The action plan's pillars, numbered from 1.
inline constexpr int kPlanPillars = 4;

}  // namespace ncm::resources

#endif  // NCM_RESOURCES_DOMAIN_H_
