// A gRPC service declared from its protobuf ServiceDescriptor whose unary
// methods are served on raw bytes (see raw_call.h) by blocking handlers that
// run on a worker pool, never on gRPC's own threads. Every call passes the
// gate (gate.h) first.
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
#include "ncm/services/gate.h"
#include "ncm/services/limits.h"
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
  using Handler =
      std::function<absl::Status(const Admission&, const Req&, Resp*)>;

  // Decides whether a principal admitted only within its organisation's
  // scope may make this call: OK, or PERMISSION_DENIED saying why. Runs on
  // the pool after the request is validated; may load aggregates.
  template <typename Req>
  using ScopeCheck = std::function<absl::Status(const Principal&, const Req&)>;

  // REQUIRES: called before the server starts; `gate` outlives the service.
  void set_gate(const Gate* gate) { gate_ = gate; }

  // Serves `method` of the service with `fn`. A method the descriptor does
  // not declare, or with other request or response types, is reported by
  // CheckComplete. A caller the gate admits only within its scope gets
  // PERMISSION_DENIED unless `scope` passes it. Requests over the field
  // limits (limits.h) are refused before `fn` runs; answers to principals
  // that may not read personal data have it withheld.
  template <typename Req, typename Resp>
  void Unary(const std::string& method, Handler<Req, Resp> fn,
             ScopeCheck<Req> scope = nullptr) {
    const auto* m = service_->FindMethodByName(method);
    if (m == nullptr || m->input_type() != Req::descriptor() ||
        m->output_type() != Resp::descriptor()) {
      errors_.push_back(absl::StrCat(service_->full_name(), "/", method,
                                     " does not match the .proto"));
      return;
    }
    names_.push_back(absl::StrCat("/", service_->full_name(), "/", method));
    const std::string* name = &names_.back();
    if (scope) scoped_.push_back(*name);
    AddMethod(new grpc::internal::RpcServiceMethod(
        name->c_str(), grpc::internal::RpcMethod::NORMAL_RPC, nullptr));
    WorkerPool* pool = pool_;
    MarkMethodRawCallback(
        count_++,
        new grpc::internal::CallbackUnaryHandler<grpc::ByteBuffer,
                                                 grpc::ByteBuffer>(
            [this, pool, fn, scope, name](grpc::CallbackServerContext* ctx,
                                          const grpc::ByteBuffer* in,
                                          grpc::ByteBuffer* out) {
              absl::StatusOr<Admission> admitted =
                  gate_ == nullptr
                      ? absl::StatusOr<Admission>(absl::InternalError(
                            "the server has no access gate"))
                      : gate_->Admit(ctx, *name);
              if (!admitted.ok()) {
                auto* reactor = ctx->DefaultReactor();
                reactor->Finish(ToGrpcStatus(admitted.status()));
                return reactor;
              }
              return RawUnary<Req, Resp>(
                  ctx, in, out,
                  [this, pool, fn, scope, name, a = std::move(*admitted)](
                      const Req& req, Resp* resp, Done done) {
                    pool->Post([this, fn, scope, name, a, &req, resp,
                                done = std::move(done)] {
                      done(Serve<Req, Resp>(*name, a, fn, scope, req, resp));
                    });
                  });
            }));
  }

  // The methods served with a scope check.
  const std::vector<std::string>& scoped_methods() const { return scoped_; }
  // Every method served, as "/package.Service/Method".
  std::vector<std::string> methods() const {
    return {names_.begin(), names_.end()};
  }

  // OK when every method of the descriptor is served, once, as declared.
  absl::Status CheckComplete() const;

 private:
  template <typename Req, typename Resp>
  absl::Status Serve(const std::string& method, const Admission& a,
                     const Handler<Req, Resp>& fn, const ScopeCheck<Req>& scope,
                     const Req& req, Resp* resp) const {
    absl::Status s = gate_->CheckStanding(a.principal);
    if (!s.ok()) {
      gate_->LogRefusal(a.principal, method, s, Refusal::kStanding);
      return s;
    }
    s = CheckFieldLimits(req);
    if (!s.ok()) return s;
    if (a.scoped) {
      s = scope ? scope(a.principal, req)
                : absl::PermissionDeniedError(absl::StrCat(
                      method, " has no scope rule for role ",
                      ncm::access::v1::Role_Name(a.principal.role)));
      if (!s.ok()) {
        gate_->LogRefusal(a.principal, method, s, Refusal::kScope);
        return s;
      }
    }
    s = fn(a, req, resp);
    if (!s.ok()) return s;
    if (!a.clear_personal_data) WithholdPersonalData(resp);
    return CheckAnswerSize(method, *resp);
  }

  const google::protobuf::ServiceDescriptor* const service_;
  WorkerPool* const pool_;
  const Gate* gate_ = nullptr;
  std::deque<std::string> names_;  // stable storage for method names
  std::vector<std::string> scoped_;
  std::vector<std::string> errors_;
  int count_ = 0;
};

}  // namespace ncm::services

#endif  // NCM_SERVICES_RAW_SERVICE_H_
