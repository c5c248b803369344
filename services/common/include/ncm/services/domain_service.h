// The gRPC face of a domain handler: commands answered with a
// CommandResult, queries answered with the handler's view, all run on the
// worker pool behind the gate (see raw_service.h).
#ifndef NCM_SERVICES_DOMAIN_SERVICE_H_
#define NCM_SERVICES_DOMAIN_SERVICE_H_

#include <string>
#include <utility>

#include "ncm/common/v1/common.pb.h"
#include "ncm/services/command.h"
#include "ncm/services/raw_service.h"

namespace ncm::services {

class DomainService : public RawService {
 protected:
  // REQUIRES: `service` and `pool` outlive this object.
  DomainService(const google::protobuf::ServiceDescriptor* service,
                WorkerPool* pool)
      : RawService(service, pool) {}

  // Serves `method` with handler->*fn(request, principal id).
  template <typename H, typename Req>
  void Command(const std::string& method, H* handler,
               absl::StatusOr<Outcome> (H::*fn)(const Req&,
                                                 const std::string&),
               ScopeCheck<Req> scope = nullptr) {
    Unary<Req, ncm::common::v1::CommandResult>(
        method,
        [handler, fn](const Admission& a, const Req& r,
                      ncm::common::v1::CommandResult* out) -> absl::Status {
          absl::StatusOr<Outcome> o = (handler->*fn)(r, a.principal.id);
          if (!o.ok()) return o.status();
          ToProto(*o, out);
          return absl::OkStatus();
        },
        std::move(scope));
  }

  // Serves `method` with handler->*fn(request, principal id) answering a
  // response of its own.
  template <typename H, typename Req, typename Resp>
  void Command(const std::string& method, H* handler,
               absl::StatusOr<Resp> (H::*fn)(const Req&, const std::string&),
               ScopeCheck<Req> scope = nullptr) {
    Unary<Req, Resp>(
        method,
        [handler, fn](const Admission& a, const Req& r,
                      Resp* out) -> absl::Status {
          absl::StatusOr<Resp> v = (handler->*fn)(r, a.principal.id);
          if (!v.ok()) return v.status();
          *out = std::move(*v);
          return absl::OkStatus();
        },
        std::move(scope));
  }

  // Serves `method` with handler->*fn(request).
  template <typename H, typename Req, typename Resp>
  void Query(const std::string& method, H* handler,
             absl::StatusOr<Resp> (H::*fn)(const Req&),
             ScopeCheck<Req> scope = nullptr) {
    Unary<Req, Resp>(
        method,
        [handler, fn](const Admission&, const Req& r,
                      Resp* out) -> absl::Status {
          absl::StatusOr<Resp> v = (handler->*fn)(r);
          if (!v.ok()) return v.status();
          *out = std::move(*v);
          return absl::OkStatus();
        },
        std::move(scope));
  }
};

}  // namespace ncm::services

#endif  // NCM_SERVICES_DOMAIN_SERVICE_H_
