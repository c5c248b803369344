// The ncm.resolutions.v1.Resolutions gRPC service: a thin adapter from the
// protobuf API to ResolutionsHandler.
#ifndef NCM_RESOLUTIONS_SERVICE_H_
#define NCM_RESOLUTIONS_SERVICE_H_

#include "ncm/resolutions/handler.h"
#include "ncm/services/raw_service.h"
#include "ncm/stakeholders/service.h"

namespace ncm::resolutions {

class ResolutionsService final : public services::RawService {
 public:
  // REQUIRES: `handler` and `pool` outlive the service.
  ResolutionsService(ResolutionsHandler* handler, services::WorkerPool* pool,
                     stakeholders::PrincipalFn principal = nullptr);
};

}  // namespace ncm::resolutions

#endif  // NCM_RESOLUTIONS_SERVICE_H_
