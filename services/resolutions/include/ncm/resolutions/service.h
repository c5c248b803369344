// The ncm.resolutions.v1.Resolutions gRPC service: a thin adapter from the
// protobuf API to ResolutionsHandler.
#ifndef NCM_RESOLUTIONS_SERVICE_H_
#define NCM_RESOLUTIONS_SERVICE_H_

#include "ncm/resolutions/handler.h"
#include "ncm/services/domain_service.h"

namespace ncm::resolutions {

class ResolutionsService final : public services::DomainService {
 public:
  // REQUIRES: `handler` and `pool` outlive the service.
  ResolutionsService(ResolutionsHandler* handler, services::WorkerPool* pool);
};

}  // namespace ncm::resolutions

#endif  // NCM_RESOLUTIONS_SERVICE_H_
