#include "ncm/transparency/service.h"

#include "absl/strings/str_cat.h"
#include "ncm/eventstore/status_macros.h"

namespace ncm::transparency {
namespace {

std::string Bytes(const merkle::Hash& h) {
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

tpb::SignedCheckpoint ToProto(const SignedCheckpoint& c) {
  tpb::SignedCheckpoint out;
  out.set_note(c.note);
  out.set_tree_size(c.checkpoint.size);
  out.set_root_hash(Bytes(c.checkpoint.root));
  return out;
}

// Reads a record's stored value: prev_hash || record || hash.
absl::StatusOr<std::string> LogValue(eventstore::EventStore* store, uint64_t position) {
  eventstore::ReadAllOptions o;
  o.from_position = position;
  o.max_count = 1;
  NCM_ASSIGN_OR_RETURN(eventstore::ReadAllRawResult r, store->ReadAllRaw(o));
  absl::string_view frames = r.frames;
  // The frame: a u32 big-endian length, then the value.
  if (r.count != 1 || frames.size() < 4 + 64) {
    return absl::DataLossError(absl::StrCat("the log has no record at position ", position));
  }
  return std::string(frames.substr(4));
}

}  // namespace

absl::Status TransparencyHandler::NeedSigner() const {
  if (signer_ != nullptr) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "this is a read node: it holds no signing key; ask the write node at ",
      write_node_, " for checkpoints (its proofs are served here too)"));
}

absl::StatusOr<uint64_t> TransparencyHandler::SizeOrHead(uint64_t size,
                                                         absl::string_view field) const {
  const uint64_t head = store_->HeadPosition();
  if (size == 0) return head;
  if (size > head) {
    return absl::OutOfRangeError(absl::StrCat(
        field, ": tree size ", size, " is beyond the head ", head,
        store_->IsCopy() ? " of this read node's copy" : ""));
  }
  return size;
}

absl::StatusOr<tpb::SignedCheckpoint> TransparencyHandler::GetCheckpoint(
    const tpb::GetCheckpointRequest& r) {
  NCM_RETURN_IF_ERROR(NeedSigner());
  if (r.cosigned() && r.tree_size() != 0) {
    return absl::InvalidArgumentError("cosigned asks for the newest cosigned "
                                      "checkpoint: give no tree_size with it");
  }
  absl::StatusOr<SignedCheckpoint> c =
      r.cosigned() ? signer_->LatestCosigned()
                   : r.tree_size() == 0 ? signer_->Latest() : signer_->At(r.tree_size());
  NCM_RETURN_IF_ERROR(c.status());
  return ToProto(*c);
}

absl::StatusOr<tpb::ListCheckpointsResponse> TransparencyHandler::ListCheckpoints(
    const tpb::ListCheckpointsRequest& r) {
  NCM_RETURN_IF_ERROR(NeedSigner());
  if (r.max_count() > 10000) {
    return absl::InvalidArgumentError("max_count: at most 10000");
  }
  NCM_ASSIGN_OR_RETURN(std::vector<uint64_t> sizes,
                       store_->checkpoints()->Sizes(r.max_count() == 0 ? 100 : r.max_count()));
  tpb::ListCheckpointsResponse out;
  for (uint64_t s : sizes) out.add_tree_sizes(s);
  return out;
}

absl::StatusOr<tpb::InclusionProof> TransparencyHandler::GetInclusionProof(
    const tpb::GetInclusionProofRequest& r) {
  NCM_ASSIGN_OR_RETURN(uint64_t size, SizeOrHead(r.tree_size(), "tree_size"));
  if (r.position() == 0) {
    return absl::InvalidArgumentError("position: positions start at 1");
  }
  if (r.position() > size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "position: ", r.position(), " is not in the tree of ", size, " records"));
  }
  NCM_ASSIGN_OR_RETURN(std::vector<merkle::Hash> path,
                       merkle::InclusionProof(NodesOf(store_), r.position() - 1, size));
  NCM_ASSIGN_OR_RETURN(std::string value, LogValue(store_, r.position()));
  tpb::InclusionProof out;
  out.set_position(r.position());
  out.set_leaf_index(r.position() - 1);
  out.set_tree_size(size);
  for (const merkle::Hash& h : path) out.add_hashes(Bytes(h));
  out.set_record(std::string(merkle::RecordOf(value)));
  return out;
}

absl::StatusOr<tpb::ConsistencyProof> TransparencyHandler::GetConsistencyProof(
    const tpb::GetConsistencyProofRequest& r) {
  NCM_ASSIGN_OR_RETURN(uint64_t second, SizeOrHead(r.second_size(), "second_size"));
  if (r.first_size() > second) {
    return absl::InvalidArgumentError(absl::StrCat(
        "first_size: ", r.first_size(), " is larger than second_size ", second));
  }
  NCM_ASSIGN_OR_RETURN(std::vector<merkle::Hash> path,
                       merkle::ConsistencyProof(NodesOf(store_), r.first_size(), second));
  tpb::ConsistencyProof out;
  out.set_first_size(r.first_size());
  out.set_second_size(second);
  for (const merkle::Hash& h : path) out.add_hashes(Bytes(h));
  return out;
}

absl::StatusOr<tpb::LogKey> TransparencyHandler::GetLogKey(const tpb::GetLogKeyRequest&) {
  NCM_RETURN_IF_ERROR(NeedSigner());
  tpb::LogKey out;
  out.set_origin(signer_->origin());
  out.set_verifier_key(note::FormatVerifierKey(signer_->verifier()));
  for (const auto& w : signer_->witnesses()) {
    out.add_witness_keys(note::FormatVerifierKey(w));
  }
  return out;
}

absl::StatusOr<tpb::SignedCheckpoint> TransparencyHandler::AddCosignature(
    const tpb::AddCosignatureRequest& r) {
  NCM_RETURN_IF_ERROR(NeedSigner());
  if (r.note().size() > 64 * 1024) {
    return absl::InvalidArgumentError("note: at most 64 KiB");
  }
  NCM_ASSIGN_OR_RETURN(SignedCheckpoint c, signer_->AddCosignature(r.note()));
  return ToProto(c);
}

TransparencyService::TransparencyService(TransparencyHandler* h,
                                         services::WorkerPool* pool)
    : DomainService(tpb::GetCheckpointRequest::descriptor()->file()->FindServiceByName(
                        "Transparency"),
                    pool) {
  Query("GetCheckpoint", h, &TransparencyHandler::GetCheckpoint);
  Query("ListCheckpoints", h, &TransparencyHandler::ListCheckpoints);
  Query("GetInclusionProof", h, &TransparencyHandler::GetInclusionProof);
  Query("GetConsistencyProof", h, &TransparencyHandler::GetConsistencyProof);
  Query("GetLogKey", h, &TransparencyHandler::GetLogKey);
  Query("AddCosignature", h, &TransparencyHandler::AddCosignature);
}

}  // namespace ncm::transparency
