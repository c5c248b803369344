// Reads a budget written out line by line as CSV (see
// data/ncm-budget-2020.csv): "line" rows become AddBudgetLine requests,
// "total" rows RecordDeclaredTotal requests. Amounts are whole units of
// the budget currency, scaled here to minor units.
#ifndef NCM_RESOURCES_BUDGET_CSV_H_
#define NCM_RESOURCES_BUDGET_CSV_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ncm/resources/v1/resources.pb.h"

namespace ncm::resources {

struct BudgetSheet {
  std::vector<ncm::resources::v1::AddBudgetLineRequest> lines;
  std::vector<ncm::resources::v1::RecordDeclaredTotalRequest> totals;
};

// `exponent` is the currency's minor-unit exponent. INVALID_ARGUMENT
// naming the line for a malformed row. Budget ids are left empty.
absl::StatusOr<BudgetSheet> ParseBudgetCsv(absl::string_view csv, int exponent);
absl::StatusOr<BudgetSheet> LoadBudgetCsv(const std::string& path,
                                          int exponent);

}  // namespace ncm::resources

#endif  // NCM_RESOURCES_BUDGET_CSV_H_
