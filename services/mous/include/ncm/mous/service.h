// The ncm.mous.v1.Mous gRPC service: a thin adapter to MousHandler.
#ifndef NCM_MOUS_SERVICE_H_
#define NCM_MOUS_SERVICE_H_

#include "ncm/mous/handler.h"
#include "ncm/services/domain_service.h"

namespace ncm::mous {

class MousService final : public services::DomainService {
 public:
  // REQUIRES: `handler` and `pool` outlive the service.
  MousService(MousHandler* handler, services::WorkerPool* pool);
};

}  // namespace ncm::mous

#endif  // NCM_MOUS_SERVICE_H_
