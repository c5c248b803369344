// A resolution's state as the API shows it (ncm.resolutions.v1.Resolution)
// and back: the read model stores the view and folds the next event into
// it with the domain's own Apply.
#ifndef NCM_RESOLUTIONS_VIEW_H_
#define NCM_RESOLUTIONS_VIEW_H_

#include "ncm/resolutions/domain.h"
#include "ncm/resolutions/v1/resolutions.pb.h"

namespace ncm::resolutions {

// Everything but overdue and as_of, which depend on the day asked about.
pb::Resolution ToView(const ResolutionState& s, uint64_t revision,
                      uint64_t position);
ResolutionState FromView(const pb::Resolution& v);

// What was in force on `day` (by the day each change happened), from the
// kept history: of the entries dated on or before it, the latest by date,
// the later recorded on a tie, as a fold of the events in date order
// would give. Status UNSPECIFIED before the adoption.
struct AsOf {
  pb::ResolutionStatus status = pb::RESOLUTION_STATUS_UNSPECIFIED;
  absl::CivilDay due;
  int percent_complete = 0;
  bool overdue = false;
  // The lead change in force (null for records kept before leads were
  // versioned: the terms' organisations then).
  const pb::LeadChange* lead = nullptr;
};
AsOf StatusAsOf(const pb::Resolution& v, absl::CivilDay day);

// The lead organisation in force as of `a`.
const std::string& LeadAsOf(const pb::Resolution& v, const AsOf& a);

// The view trimmed to what was known on `day`: status, due date, progress,
// lead and supporting organisations and overdue as of then; history,
// reports and lead changes up to then.
pb::Resolution AsOfView(const pb::Resolution& v, absl::CivilDay day);

}  // namespace ncm::resolutions

#endif  // NCM_RESOLUTIONS_VIEW_H_
