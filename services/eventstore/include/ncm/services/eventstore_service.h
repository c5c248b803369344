// The ncm.eventstore.v1.EventStore gRPC service: a thin adapter from the
// protobuf API to an eventstore::EventStore.
#ifndef NCM_SERVICES_EVENTSTORE_SERVICE_H_
#define NCM_SERVICES_EVENTSTORE_SERVICE_H_

#include <functional>
#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"
#include "ncm/eventstore/event_store.h"
#include "ncm/eventstore/v1/eventstore.grpc.pb.h"
#include "ncm/services/gate.h"
#include "ncm/services/raw_call.h"

namespace ncm::services {

class WorkerPool;
struct SubscriptionRegistry;
struct SessionRegistry;

// Converts a recorded event to its protobuf form.
void ToProto(const eventstore::RecordedEvent& e,
             ncm::eventstore::v1::RecordedEvent* out);

namespace espb = ::ncm::eventstore::v1;

// Every method is served on raw bytes (see raw_call.h).
using EventStoreRawService = espb::EventStore::WithRawCallbackMethod_Append<
    espb::EventStore::WithRawCallbackMethod_AppendSession<
    espb::EventStore::WithRawCallbackMethod_ReadStream<
        espb::EventStore::WithRawCallbackMethod_ReadAll<
            espb::EventStore::WithRawCallbackMethod_Subscribe<
                espb::EventStore::WithRawCallbackMethod_GetStreamInfo<
                    espb::EventStore::WithRawCallbackMethod_VerifyChain<
                        espb::EventStore::Service>>>>>>>;

class EventStoreService final : public EventStoreRawService {
 public:
  // What principals admitted only within their scope may read, and which
  // stream categories raw appends may not touch.
  struct Scope {
    // Stream categories a scoped principal may read ("resolution", ...):
    // ReadStream and GetStreamInfo on such a stream, ReadAll and Subscribe
    // filtered to such prefixes.
    std::vector<std::string> readable_categories;
    // Categories written only by their own service (e.g. "principal").
    std::vector<std::string> reserved_categories;
  };

  // REQUIRES: `store` and `gate` outlive the service.
  EventStoreService(eventstore::EventStore* store, eventstore::Limits limits,
                    const Gate* gate, Scope scope);
  ~EventStoreService() override;

  grpc::ServerUnaryReactor* Append(grpc::CallbackServerContext* ctx,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* AppendSession(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* ReadStream(grpc::CallbackServerContext* ctx,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ReadAll(grpc::CallbackServerContext* ctx,
                                    const grpc::ByteBuffer* request,
                                    grpc::ByteBuffer* response) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Subscribe(
      grpc::CallbackServerContext* ctx,
      const grpc::ByteBuffer* request) override;
  grpc::ServerUnaryReactor* GetStreamInfo(grpc::CallbackServerContext* ctx,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* VerifyChain(grpc::CallbackServerContext* ctx,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;

  // Ends every open subscription; call before shutting the server down so
  // that the shutdown need not wait for them.
  void Shutdown();

  // Ends the open subscriptions and append sessions of a principal (once
  // it is revoked).
  // Subscriptions of principals that lose their standing otherwise (token
  // expired, organisation suspended or withdrawn) end at their next
  // message, and within a second while idle.
  void EndSubscriptionsOf(const std::string& principal_id);

  // Open Subscribe streams and append sessions now.
  size_t open_subscriptions() const;
  size_t open_append_sessions() const;

 private:
  void SweepStanding();
  eventstore::EventStore* const store_;
  const eventstore::Limits limits_;
  const Gate* const gate_;
  const Scope scope_;
  std::unique_ptr<WorkerPool> dispatcher_;
  std::unique_ptr<SubscriptionRegistry> subscriptions_;
  std::unique_ptr<SessionRegistry> sessions_;

  template <typename Req, typename Resp, typename Fn>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* ctx,
                                  const char* method,
                                  const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response, Fn fn);
  absl::Status CheckReadable(absl::string_view stream_or_prefix) const;
  absl::Status CheckScope(const espb::ReadStreamRequest& r) const;
  absl::Status CheckScope(const espb::ReadAllRequest& r) const;
  absl::Status CheckScope(const espb::SubscribeRequest& r) const;
  absl::Status CheckScope(const espb::GetStreamInfoRequest& r) const;
  absl::Status CheckScope(const espb::AppendRequest& r) const;
  absl::Status CheckScope(const espb::VerifyChainRequest& r) const;
  absl::Status CheckScopedPrefixes(const espb::Filter& f) const;

  void DoAppend(const Admission& a, const espb::AppendRequest& request,
                espb::AppendResponse* response, Done done);
  absl::Status DoReadStream(const espb::ReadStreamRequest& request,
                            espb::ReadStreamResponse* response);
  absl::Status DoReadAll(const espb::ReadAllRequest& request,
                         espb::ReadAllResponse* response);
  absl::Status DoGetStreamInfo(const espb::GetStreamInfoRequest& request,
                               espb::StreamInfo* response);
  absl::Status DoVerifyChain(const espb::VerifyChainRequest& request,
                             espb::VerifyChainResponse* response);
};

}  // namespace ncm::services

#endif  // NCM_SERVICES_EVENTSTORE_SERVICE_H_
