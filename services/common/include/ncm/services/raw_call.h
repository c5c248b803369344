// Serving gRPC methods on raw bytes, so that a request protobuf cannot parse
// (malformed bytes, or invalid UTF-8 in a text field) is answered with
// INVALID_ARGUMENT and a message, rather than the transport's bare
// UNIMPLEMENTED.
#ifndef NCM_SERVICES_RAW_CALL_H_
#define NCM_SERVICES_RAW_CALL_H_

#include <functional>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "ncm/services/limits.h"

namespace ncm::services {

// Finishes a call: runs once with the call's outcome.
using Done = std::function<void(absl::Status)>;

// Converts an absl::Status to the gRPC status with the same code.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Parses `in` as a Req. INVALID_ARGUMENT when it is not one, or when it
// carries fields that Req does not define, at any depth.
template <typename Req>
absl::Status ParseRequest(const grpc::ByteBuffer& in, Req* out) {
  grpc::ByteBuffer copy(in);  // shares the slices
  grpc::ProtoBufferReader reader(&copy);
  if (!out->ParseFromZeroCopyStream(&reader)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the request is not a valid ", Req::descriptor()->full_name(),
        ": a text field holds bytes that are not UTF-8, or the message is "
        "malformed; send text as UTF-8"));
  }
  return CheckKnownFields(*out);
}

// Replaces `out` with the serialized `resp`.
template <typename Resp>
void SerializeResponse(const Resp& resp, grpc::ByteBuffer* out) {
  out->Clear();
  bool own = false;
  grpc::Status s = grpc::SerializationTraits<Resp>::Serialize(resp, out, &own);
  (void)s;  // serializing a well-formed message into memory cannot fail
}

// Serves one raw unary call with handler(const Req&, Resp*, Done): the
// handler may finish at once or later from any thread; Done serializes the
// response when the status is OK.
template <typename Req, typename Resp, typename Handler>
grpc::ServerUnaryReactor* RawUnary(grpc::CallbackServerContext* ctx,
                                   const grpc::ByteBuffer* in,
                                   grpc::ByteBuffer* out, Handler handler) {
  struct Call {
    Req request;
    Resp response;
  };
  auto* reactor = ctx->DefaultReactor();
  auto call = std::make_shared<Call>();
  absl::Status parsed = ParseRequest(*in, &call->request);
  if (!parsed.ok()) {
    reactor->Finish(ToGrpcStatus(parsed));
    return reactor;
  }
  const Req& request = call->request;
  Resp* response = &call->response;
  handler(request, response,
          [reactor, out, call = std::move(call)](absl::Status s) {
            if (s.ok()) SerializeResponse(call->response, out);
            reactor->Finish(ToGrpcStatus(s));
          });
  return reactor;
}

}  // namespace ncm::services

#endif  // NCM_SERVICES_RAW_CALL_H_
