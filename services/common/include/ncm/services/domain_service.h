// The gRPC face of a domain handler: commands answered with a
// CommandResult, queries answered with the handler's view, all run on the
// worker pool (see raw_service.h).
#ifndef NCM_SERVICES_DOMAIN_SERVICE_H_
#define NCM_SERVICES_DOMAIN_SERVICE_H_

#include <functional>
#include <string>
#include <utility>

#include "ncm/common/v1/common.pb.h"
#include "ncm/services/command.h"
#include "ncm/services/raw_service.h"

namespace ncm::services {

// Returns the principal id of a call; "" means anonymous.
using PrincipalFn = std::function<std::string(grpc::CallbackServerContext*)>;

class DomainService : public RawService {
 protected:
  // REQUIRES: `service` and `pool` outlive this object.
  DomainService(const google::protobuf::ServiceDescriptor* service,
                WorkerPool* pool, PrincipalFn principal)
      : RawService(service, pool), principal_(std::move(principal)) {}

  // The principal making a call; "" for anonymous.
  std::string ActorOf(grpc::CallbackServerContext* ctx) const {
    return principal_ ? principal_(ctx) : std::string();
  }

  // Serves `method` with handler->*fn(request, principal).
  template <typename H, typename Req>
  void Command(const std::string& method, H* handler,
               absl::StatusOr<Outcome> (H::*fn)(const Req&,
                                                 const std::string&)) {
    PrincipalFn principal = principal_;
    Unary<Req, ncm::common::v1::CommandResult>(
        method, [handler, fn, principal](grpc::CallbackServerContext* ctx,
                                         const Req& r,
                                         ncm::common::v1::CommandResult* out)
                    -> absl::Status {
          absl::StatusOr<Outcome> o =
              (handler->*fn)(r, principal ? principal(ctx) : std::string());
          if (!o.ok()) return o.status();
          ToProto(*o, out);
          return absl::OkStatus();
        });
  }

  // Serves `method` with handler->*fn(request).
  template <typename H, typename Req, typename Resp>
  void Query(const std::string& method, H* handler,
             absl::StatusOr<Resp> (H::*fn)(const Req&)) {
    Unary<Req, Resp>(method,
                     [handler, fn](grpc::CallbackServerContext*, const Req& r,
                                   Resp* out) -> absl::Status {
                       absl::StatusOr<Resp> v = (handler->*fn)(r);
                       if (!v.ok()) return v.status();
                       *out = std::move(*v);
                       return absl::OkStatus();
                     });
  }

 private:
  const PrincipalFn principal_;
};

}  // namespace ncm::services

#endif  // NCM_SERVICES_DOMAIN_SERVICE_H_
