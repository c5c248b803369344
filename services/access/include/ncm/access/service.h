// ncm.access.v1.Access over a PrincipalRegistry.
#ifndef NCM_ACCESS_SERVICE_H_
#define NCM_ACCESS_SERVICE_H_

#include "ncm/access/registry.h"
#include "ncm/services/domain_service.h"

namespace ncm::access {

class AccessService final : public services::DomainService {
 public:
  // REQUIRES: `registry` and `pool` outlive the service.
  AccessService(PrincipalRegistry* registry, services::WorkerPool* pool);
};

}  // namespace ncm::access

#endif  // NCM_ACCESS_SERVICE_H_
