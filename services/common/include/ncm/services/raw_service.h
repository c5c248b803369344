// A gRPC service declared from its protobuf ServiceDescriptor whose unary
// methods are served on raw bytes (see raw_call.h) by blocking handlers that
// run on a worker pool, never on gRPC's own threads.
#ifndef NCM_SERVICES_RAW_SERVICE_H_
#define NCM_SERVICES_RAW_SERVICE_H_

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/rpc_service_method.h"
#include "grpcpp/impl/service_type.h"
#include "grpcpp/impl/codegen/server_callback_handlers.h"
#include "grpcpp/support/server_callback.h"
#include "ncm/services/raw_call.h"

namespace ncm::services {

// Runs posted work on a fixed set of threads. The destructor runs what is
// queued, then joins.
class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Post(std::function<void()> fn);

 private:
  void Run();
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

class RawService : public grpc::Service {
 public:
  // REQUIRES: `service` and `pool` outlive this object.
  RawService(const google::protobuf::ServiceDescriptor* service,
             WorkerPool* pool)
      : service_(service), pool_(pool) {}

  // The handler of a unary method: runs on the pool; may block.
  template <typename Req, typename Resp>
  using Handler = std::function<absl::Status(grpc::CallbackServerContext*,
                                             const Req&, Resp*)>;

  // Serves `method` of the service with `fn`. A method the descriptor does
  // not declare, or with other request or response types, is reported by
  // CheckComplete.
  template <typename Req, typename Resp>
  void Unary(const std::string& method, Handler<Req, Resp> fn) {
    const auto* m = service_->FindMethodByName(method);
    if (m == nullptr || m->input_type() != Req::descriptor() ||
        m->output_type() != Resp::descriptor()) {
      errors_.push_back(absl::StrCat(service_->full_name(), "/", method,
                                     " does not match the .proto"));
      return;
    }
    names_.push_back(absl::StrCat("/", service_->full_name(), "/", method));
    AddMethod(new grpc::internal::RpcServiceMethod(
        names_.back().c_str(), grpc::internal::RpcMethod::NORMAL_RPC, nullptr));
    WorkerPool* pool = pool_;
    MarkMethodRawCallback(
        count_++,
        new grpc::internal::CallbackUnaryHandler<grpc::ByteBuffer,
                                                 grpc::ByteBuffer>(
            [pool, fn](grpc::CallbackServerContext* ctx,
                       const grpc::ByteBuffer* in, grpc::ByteBuffer* out) {
              return RawUnary<Req, Resp>(
                  ctx, in, out,
                  [pool, fn, ctx](const Req& req, Resp* resp, Done done) {
                    pool->Post([fn, ctx, &req, resp, done = std::move(done)] {
                      done(fn(ctx, req, resp));
                    });
                  });
            }));
  }

  // OK when every method of the descriptor is served, once, as declared.
  absl::Status CheckComplete() const;

 private:
  const google::protobuf::ServiceDescriptor* const service_;
  WorkerPool* const pool_;
  std::deque<std::string> names_;  // stable storage for method names
  std::vector<std::string> errors_;
  int count_ = 0;
};

}  // namespace ncm::services

#endif  // NCM_SERVICES_RAW_SERVICE_H_
