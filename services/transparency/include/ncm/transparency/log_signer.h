// The write node's side of the transparency log: its signing key, the
// checkpoints it signs (on demand and every interval while the log grows)
// and the witnesses' cosignatures it keeps.
#ifndef NCM_TRANSPARENCY_LOG_SIGNER_H_
#define NCM_TRANSPARENCY_LOG_SIGNER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ncm/eventstore/event_store.h"
#include "ncm/eventstore/note.h"

namespace ncm::transparency {

namespace note = ::ncm::eventstore::note;
namespace merkle = ::ncm::eventstore::merkle;

// Reads the signing key at `path`, or makes one named `name` there
// (owner-only, written to a temporary file then renamed) when the file is
// missing. FAILED_PRECONDITION when the file is readable by others or
// holds a key of another name.
absl::StatusOr<note::SigningKey> LoadOrCreateSigningKey(const std::string& path,
                                                        const std::string& name,
                                                        bool* created = nullptr);

// The tree root at `size` from the store's nodes.
absl::StatusOr<merkle::Hash> TreeRoot(eventstore::EventStore* store, uint64_t size);
merkle::NodeReader NodesOf(eventstore::EventStore* store);

struct SignerOptions {
  std::string origin;           // the checkpoints' first line
  absl::Duration interval = absl::Seconds(60);  // 0: only on demand
  size_t keep = 10000;          // checkpoints kept (0: all)
  std::vector<note::VerifierKey> witnesses;
  // Structured log lines: level, then `msg="..." key=value ...`.
  std::function<void(absl::string_view level, const std::string& fields)> log;
};

struct SignedCheckpoint {
  std::string note;
  note::Checkpoint checkpoint;
};

class LogSigner {
 public:
  // REQUIRES: `store` outlives the signer.
  LogSigner(eventstore::EventStore* store, note::SigningKey key, SignerOptions options);
  ~LogSigner();  // stops the interval thread

  // Starts signing every interval while the log grows.
  void Start();

  const std::string& origin() const { return options_.origin; }
  note::VerifierKey verifier() const { return note::VerifierOf(key_); }
  const std::vector<note::VerifierKey>& witnesses() const { return options_.witnesses; }

  // The kept checkpoint of the head, made and kept now if the log has
  // grown since the last one.
  absl::StatusOr<SignedCheckpoint> Latest();
  // The checkpoint of tree `size` (made and kept when none is).
  // OUT_OF_RANGE beyond the head.
  absl::StatusOr<SignedCheckpoint> At(uint64_t size);
  // The newest kept checkpoint cosigned by every witness; NOT_FOUND when
  // none is (or no witness is configured).
  absl::StatusOr<SignedCheckpoint> LatestCosigned(size_t scan = 1000);
  // See Transparency/AddCosignature.
  absl::StatusOr<SignedCheckpoint> AddCosignature(const std::string& signed_note);

 private:
  absl::StatusOr<SignedCheckpoint> MakeLocked(uint64_t size)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<SignedCheckpoint> Open(const std::string& signed_note) const;
  // DATA_LOSS when a kept checkpoint's root is not the tree's any more.
  absl::Status CheckKept(const SignedCheckpoint& kept) const;
  void Loop();
  void Log(absl::string_view level, const std::string& fields) const;

  eventstore::EventStore* const store_;
  const note::SigningKey key_;
  const SignerOptions options_;
  absl::Mutex mu_;  // serialises making and changing checkpoints
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace ncm::transparency

#endif  // NCM_TRANSPARENCY_LOG_SIGNER_H_
