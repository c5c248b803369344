// The "resolutions" read model: each resolution's view (view.h) kept by a
// projection of the log, with indices by due date and by adoption date,
// and the ListResolutions query answered from it.
//
// Keys: r/<id> -> ncm.resolutions.v1.Resolution; d/<yyyymmdd>/<id> and
// a/<yyyymmdd>/<id> -> "" (due date and adoption date indices).
#ifndef NCM_RESOLUTIONS_READ_MODEL_H_
#define NCM_RESOLUTIONS_READ_MODEL_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "ncm/readside/projection.h"
#include "ncm/resolutions/v1/resolutions.pb.h"

namespace ncm::resolutions {

inline constexpr char kResolutionsModel[] = "resolutions";

std::unique_ptr<readside::Projection> NewResolutionsProjection();

// Answers `r` from `view` (filters, order, page). `today` fills an unset
// as_of. INVALID_ARGUMENT naming a bad filter or page token.
absl::StatusOr<ncm::resolutions::v1::ListResolutionsResponse> ListResolutions(
    const readside::ReadModelView& view,
    const ncm::resolutions::v1::ListResolutionsRequest& r,
    absl::CivilDay today);

// The implementation report as of r.as_of (default `today`) from `view`.
absl::StatusOr<ncm::resolutions::v1::ImplementationReportResponse>
ImplementationReport(const readside::ReadModelView& view,
                     const ncm::resolutions::v1::ImplementationReportRequest& r,
                     absl::CivilDay today);

}  // namespace ncm::resolutions

#endif  // NCM_RESOLUTIONS_READ_MODEL_H_
