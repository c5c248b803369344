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
#include "ncm/services/raw_call.h"

namespace ncm::services {

class WorkerPool;
struct SubscriptionRegistry;

// Converts a recorded event to its protobuf form.
void ToProto(const eventstore::RecordedEvent& e,
             ncm::eventstore::v1::RecordedEvent* out);

// Returns the principal id of a call; "" means anonymous.
using PrincipalResolver =
    std::function<std::string(grpc::CallbackServerContext*)>;

namespace espb = ::ncm::eventstore::v1;

// Every method is served on raw bytes (see raw_call.h).
using EventStoreRawService = espb::EventStore::WithRawCallbackMethod_Append<
    espb::EventStore::WithRawCallbackMethod_ReadStream<
        espb::EventStore::WithRawCallbackMethod_ReadAll<
            espb::EventStore::WithRawCallbackMethod_Subscribe<
                espb::EventStore::WithRawCallbackMethod_GetStreamInfo<
                    espb::EventStore::WithRawCallbackMethod_VerifyChain<
                        espb::EventStore::Service>>>>>>;

class EventStoreService final : public EventStoreRawService {
 public:
  // REQUIRES: `store` outlives the service.
  EventStoreService(eventstore::EventStore* store, eventstore::Limits limits,
                    PrincipalResolver principal = nullptr);
  ~EventStoreService() override;

  grpc::ServerUnaryReactor* Append(grpc::CallbackServerContext* ctx,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;
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

 private:
  eventstore::EventStore* const store_;
  const eventstore::Limits limits_;
  PrincipalResolver principal_;
  std::unique_ptr<WorkerPool> dispatcher_;
  std::unique_ptr<SubscriptionRegistry> subscriptions_;

  void DoAppend(grpc::CallbackServerContext* ctx,
                const espb::AppendRequest& request, espb::AppendResponse* response,
                Done done);
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
