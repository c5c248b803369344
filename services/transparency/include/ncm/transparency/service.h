// The ncm.eventstore.v1.Transparency gRPC service: checkpoints, proofs
// and cosignatures (transparency.proto).
#ifndef NCM_TRANSPARENCY_SERVICE_H_
#define NCM_TRANSPARENCY_SERVICE_H_

#include <string>

#include "ncm/eventstore/event_store.h"
#include "ncm/eventstore/v1/transparency.pb.h"
#include "ncm/services/domain_service.h"
#include "ncm/transparency/log_signer.h"

namespace ncm::transparency {

namespace tpb = ::ncm::eventstore::v1;

class TransparencyHandler {
 public:
  // `signer` is null on a read node, whose write node is `write_node`:
  // proofs are served from its copy, checkpoints only by the write node.
  // REQUIRES: `store` and `signer` outlive the handler.
  TransparencyHandler(eventstore::EventStore* store, LogSigner* signer,
                      std::string write_node)
      : store_(store), signer_(signer), write_node_(std::move(write_node)) {}

  absl::StatusOr<tpb::SignedCheckpoint> GetCheckpoint(const tpb::GetCheckpointRequest& r);
  absl::StatusOr<tpb::ListCheckpointsResponse> ListCheckpoints(
      const tpb::ListCheckpointsRequest& r);
  absl::StatusOr<tpb::InclusionProof> GetInclusionProof(
      const tpb::GetInclusionProofRequest& r);
  absl::StatusOr<tpb::ConsistencyProof> GetConsistencyProof(
      const tpb::GetConsistencyProofRequest& r);
  absl::StatusOr<tpb::LogKey> GetLogKey(const tpb::GetLogKeyRequest& r);
  absl::StatusOr<tpb::SignedCheckpoint> AddCosignature(const tpb::AddCosignatureRequest& r);

 private:
  absl::Status NeedSigner() const;
  absl::StatusOr<uint64_t> SizeOrHead(uint64_t size, absl::string_view field) const;

  eventstore::EventStore* const store_;
  LogSigner* const signer_;
  const std::string write_node_;
};

class TransparencyService final : public services::DomainService {
 public:
  // REQUIRES: `handler` and `pool` outlive the service.
  TransparencyService(TransparencyHandler* handler, services::WorkerPool* pool);
};

}  // namespace ncm::transparency

#endif  // NCM_TRANSPARENCY_SERVICE_H_
