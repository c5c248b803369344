// The ncm.resources.v1.Resources gRPC service: a thin adapter to
// ResourcesHandler.
#ifndef NCM_RESOURCES_SERVICE_H_
#define NCM_RESOURCES_SERVICE_H_

#include "ncm/resources/handler.h"
#include "ncm/services/domain_service.h"

namespace ncm::resources {

class ResourcesService final : public services::DomainService {
 public:
  // REQUIRES: `handler` and `pool` outlive the service.
  ResourcesService(ResourcesHandler* handler, services::WorkerPool* pool);
};

}  // namespace ncm::resources

#endif  // NCM_RESOURCES_SERVICE_H_
