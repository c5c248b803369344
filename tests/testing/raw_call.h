// Calling any method of the server with a request given as bytes, so that
// tests can send what a generated stub would not (an empty request to every
// method, fields the request type does not define).
#ifndef NCM_TESTING_RAW_CALL_H_
#define NCM_TESTING_RAW_CALL_H_

#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/client_unary_call.h"
#include "grpcpp/impl/codegen/sync_stream.h"

namespace ncm::testing {

// Calls `m` with `request` as its bytes and returns the status: for a
// server-streaming method, the status the stream ends with, or OK once a
// first message arrived (the call is then cancelled).
inline grpc::Status CallRaw(grpc::Channel* channel,
                            const google::protobuf::MethodDescriptor* m,
                            const std::string& request_bytes) {
  const std::string name =
      absl::StrCat("/", m->service()->full_name(), "/", m->name());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1), response;
  if (m->server_streaming()) {
    std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
        grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(
            channel,
            grpc::internal::RpcMethod(
                name.c_str(), grpc::internal::RpcMethod::SERVER_STREAMING),
            &ctx, request));
    const bool got = reader->Read(&response);
    if (!got) return reader->Finish();
    ctx.TryCancel();
    reader->Finish().IgnoreError();
    return grpc::Status::OK;
  }
  return grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
      channel,
      grpc::internal::RpcMethod(name.c_str(),
                                grpc::internal::RpcMethod::NORMAL_RPC),
      &ctx, request, &response);
}

}  // namespace ncm::testing

#endif  // NCM_TESTING_RAW_CALL_H_
