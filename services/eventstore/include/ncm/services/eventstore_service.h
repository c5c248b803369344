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

namespace ncm::services {

class Dispatcher;
struct SubscriptionRegistry;

// Converts an absl::Status to the gRPC status with the same code.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Converts a recorded event to its protobuf form.
void ToProto(const eventstore::RecordedEvent& e,
             ncm::eventstore::v1::RecordedEvent* out);

// Returns the principal id of a call; "" means anonymous.
using PrincipalResolver =
    std::function<std::string(grpc::CallbackServerContext*)>;

class EventStoreService final
    : public ncm::eventstore::v1::EventStore::CallbackService {
 public:
  // REQUIRES: `store` outlives the service.
  EventStoreService(eventstore::EventStore* store, eventstore::Limits limits,
                    PrincipalResolver principal = nullptr);
  ~EventStoreService() override;

  grpc::ServerUnaryReactor* Append(
      grpc::CallbackServerContext* ctx,
      const ncm::eventstore::v1::AppendRequest* request,
      ncm::eventstore::v1::AppendResponse* response) override;
  grpc::ServerUnaryReactor* ReadStream(
      grpc::CallbackServerContext* ctx,
      const ncm::eventstore::v1::ReadStreamRequest* request,
      ncm::eventstore::v1::ReadStreamResponse* response) override;
  grpc::ServerUnaryReactor* ReadAll(
      grpc::CallbackServerContext* ctx,
      const ncm::eventstore::v1::ReadAllRequest* request,
      ncm::eventstore::v1::ReadAllResponse* response) override;
  grpc::ServerWriteReactor<ncm::eventstore::v1::SubscribeResponse>* Subscribe(
      grpc::CallbackServerContext* ctx,
      const ncm::eventstore::v1::SubscribeRequest* request) override;
  grpc::ServerUnaryReactor* GetStreamInfo(
      grpc::CallbackServerContext* ctx,
      const ncm::eventstore::v1::GetStreamInfoRequest* request,
      ncm::eventstore::v1::StreamInfo* response) override;
  grpc::ServerUnaryReactor* VerifyChain(
      grpc::CallbackServerContext* ctx,
      const ncm::eventstore::v1::VerifyChainRequest* request,
      ncm::eventstore::v1::VerifyChainResponse* response) override;

  // Ends every open subscription; call before shutting the server down so
  // that the shutdown need not wait for them.
  void Shutdown();

 private:
  eventstore::EventStore* const store_;
  const eventstore::Limits limits_;
  PrincipalResolver principal_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<SubscriptionRegistry> subscriptions_;
};

}  // namespace ncm::services

#endif  // NCM_SERVICES_EVENTSTORE_SERVICE_H_
