// The stakeholder directory read model and its queries.
//
// Keys: o/<organisation id> -> ncm.stakeholders.v1.Organisation (focal
// points with person ids only: no personal details are kept here);
// n/<ACRONYM>/<organisation id> -> "" (order by acronym);
// m/<meeting id> -> "<yyyymmdd> <status number>" of every meeting;
// a/<organisation id>/<meeting id> -> "" for each attendance.
#ifndef NCM_STAKEHOLDERS_READ_MODEL_H_
#define NCM_STAKEHOLDERS_READ_MODEL_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "ncm/readside/projection.h"
#include "ncm/stakeholders/domain.h"
#include "ncm/stakeholders/v1/stakeholders.pb.h"

namespace ncm::stakeholders {

inline constexpr char kDirectoryModel[] = "directory";

std::unique_ptr<readside::Projection> NewDirectoryProjection();

// The organisation as the API shows it, focal points with person ids only.
pb::Organisation ToView(const OrganisationState& s, uint64_t revision);
OrganisationState FromView(const pb::Organisation& v);

absl::StatusOr<pb::ListOrganisationsResponse> ListOrganisations(
    const readside::ReadModelView& view, const pb::ListOrganisationsRequest& r);
absl::StatusOr<pb::GetAttendanceRatesResponse> AttendanceRates(
    const readside::ReadModelView& view, const pb::GetAttendanceRatesRequest& r,
    absl::CivilDay today);

}  // namespace ncm::stakeholders

#endif  // NCM_STAKEHOLDERS_READ_MODEL_H_
