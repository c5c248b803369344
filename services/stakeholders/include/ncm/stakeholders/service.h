// The ncm.stakeholders.v1.Stakeholders gRPC service: a thin adapter from
// the protobuf API to StakeholdersHandler.
#ifndef NCM_STAKEHOLDERS_SERVICE_H_
#define NCM_STAKEHOLDERS_SERVICE_H_

#include <functional>
#include <string>

#include "ncm/services/domain_service.h"
#include "ncm/stakeholders/handler.h"

namespace ncm::stakeholders {

class StakeholdersService final : public services::DomainService {
 public:
  // REQUIRES: `handler` and `pool` outlive the service.
  StakeholdersService(StakeholdersHandler* handler, services::WorkerPool* pool);
};

}  // namespace ncm::stakeholders

#endif  // NCM_STAKEHOLDERS_SERVICE_H_
