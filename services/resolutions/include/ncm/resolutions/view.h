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

// The status in force on `day` (by the day each change happened), from
// the kept history; UNSPECIFIED before the adoption.
struct AsOf {
  pb::ResolutionStatus status = pb::RESOLUTION_STATUS_UNSPECIFIED;
  absl::CivilDay due;
  int percent_complete = 0;
  bool overdue = false;
};
AsOf StatusAsOf(const pb::Resolution& v, absl::CivilDay day);

}  // namespace ncm::resolutions

#endif  // NCM_RESOLUTIONS_VIEW_H_
