// The "budgets" read model: the budgets of each fiscal year and the kind
// of every organisation (to tell government funders from donors).
//
// Keys: fy/<yyyy>/<budget id> -> ""; o/<organisation id> -> the
// organisation's kind (ncm.stakeholders.v1.OrganisationKind number).
#ifndef NCM_RESOURCES_READ_MODEL_H_
#define NCM_RESOURCES_READ_MODEL_H_

#include <memory>

#include "ncm/readside/projection.h"

namespace ncm::resources {

inline constexpr char kBudgetsModel[] = "budgets";

std::unique_ptr<readside::Projection> NewBudgetsProjection();

}  // namespace ncm::resources

#endif  // NCM_RESOURCES_READ_MODEL_H_
