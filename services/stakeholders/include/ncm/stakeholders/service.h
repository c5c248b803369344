// The ncm.stakeholders.v1.Stakeholders gRPC service: a thin adapter from
// the protobuf API to StakeholdersHandler.
#ifndef NCM_STAKEHOLDERS_SERVICE_H_
#define NCM_STAKEHOLDERS_SERVICE_H_

#include <functional>
#include <string>

#include "ncm/services/raw_service.h"
#include "ncm/stakeholders/handler.h"

namespace ncm::stakeholders {

// Returns the principal id of a call; "" means anonymous.
using PrincipalFn = std::function<std::string(grpc::CallbackServerContext*)>;

class StakeholdersService final : public services::RawService {
 public:
  // REQUIRES: `handler` and `pool` outlive the service.
  StakeholdersService(StakeholdersHandler* handler, services::WorkerPool* pool,
                      PrincipalFn principal = nullptr);
};

}  // namespace ncm::stakeholders

#endif  // NCM_STAKEHOLDERS_SERVICE_H_
