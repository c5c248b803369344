// grpc.health.v1.Health/Check by hand (Debian ships no generated client
// for it): the request is field 1 (the service name), the answer field 1.
#ifndef NCM_TESTING_GRPC_HEALTH_H_
#define NCM_TESTING_GRPC_HEALTH_H_

#include <memory>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/client_unary_call.h"

namespace ncm::testing {

// The serving status of `service` ("" for the server as a whole):
// 1 SERVING, 2 NOT_SERVING; -1 when the call fails (NOT_FOUND for a
// service the server does not know).
inline int HealthStatus(const std::shared_ptr<grpc::Channel>& channel,
                        const std::string& service,
                        grpc::StatusCode* failed_with = nullptr) {
  std::string req;
  if (!service.empty()) {
    req = std::string("\x0a", 1) + static_cast<char>(service.size()) + service;
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Slice slice(req);
  grpc::ByteBuffer request(&slice, 1), response;
  grpc::Status s = grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
      channel.get(),
      grpc::internal::RpcMethod("/grpc.health.v1.Health/Check",
                                grpc::internal::RpcMethod::NORMAL_RPC),
      &ctx, request, &response);
  if (failed_with != nullptr) *failed_with = s.error_code();
  if (!s.ok()) return -1;
  std::vector<grpc::Slice> slices;
  (void)response.Dump(&slices);
  std::string bytes;
  for (const auto& sl : slices) bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
  if (bytes.empty()) return 0;  // UNKNOWN (the default, not sent)
  return bytes.size() == 2 && bytes[0] == 0x08 ? bytes[1] : -1;
}

}  // namespace ncm::testing

#endif  // NCM_TESTING_GRPC_HEALTH_H_
