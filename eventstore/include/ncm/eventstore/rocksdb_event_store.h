// The durable EventStore: a RocksDB database in one folder.
//
// One writer thread group-commits: it takes every waiting append, checks
// expectations, assigns positions and hashes, writes one WriteBatch with one
// fsync (WAL, sync=true), then answers all of them. The layout on disk is
// described at the top of record_codec.cc.
#ifndef NCM_EVENTSTORE_ROCKSDB_EVENT_STORE_H_
#define NCM_EVENTSTORE_ROCKSDB_EVENT_STORE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ncm/eventstore/event_store.h"

namespace ncm::eventstore {

// What one group commit wrote (RocksDbOptions::on_commit).
struct CommitStats {
  size_t appends = 0;  // appends (and copied frames) it committed
  size_t events = 0;   // records it added to the log
  size_t bytes = 0;    // their log values' bytes
  absl::Duration write;  // the synced RocksDB write, fsync included
};

struct RocksDbOptions {
  std::string path;  // created when missing
  // The key-encryption key (32 random bytes, owner-only): every subject key
  // is stored wrapped under it (AES-256-GCM), so that a copy of the folder
  // alone reveals no personal details. Empty: `path` + ".kek", beside the
  // folder. Made at the first start; a store whose keys are wrapped will
  // not open without it, nor with another one. Keys stored in clear by
  // earlier versions are wrapped when the store opens.
  std::string key_encryption_key_file;
  Limits limits;
  // Most appends taken into one group commit.
  size_t max_group_appends = 4096;
  size_t block_cache_bytes = 128 << 20;
  // Threads used by VerifyChain.
  int verify_threads = 2;
  // Appends waiting for the writer hold at most about this many bytes;
  // beyond it AppendAsync answers RESOURCE_EXHAUSTED.
  size_t max_queued_bytes = 256 << 20;
  // Non-empty: the store is a read node's copy of the log of this write
  // node (its address): appends are refused with FAILED_PRECONDITION naming
  // it, and only AppendCopied adds to the log.
  std::string copy_of;
  // Keep the log's Merkle tree (merkle.h): a thread of the store adds each
  // committed group's leaves (FORMAT.md, "In the RocksDB folder"). Off only
  // to measure its cost; a store opened with it on again adds the leaves it
  // lacks from the log.
  bool merkle_tree = true;
  // Called once, from the writer thread, when a write to RocksDB fails;
  // from then on every append is refused with UNAVAILABLE.
  std::function<void(const absl::Status&)> on_write_failure;
  // Called from the writer thread after each group commit that wrote to
  // the log; must be quick.
  std::function<void(const CommitStats&)> on_commit;
};

// A backup restored (RestoreRocksDbBackup).
struct RestoreResult {
  uint32_t backup_id = 0;
  uint64_t head_position = 0;
  Hash head_hash{};
  uint64_t verified_count = 0;  // records whose chain was checked
};

// Restores backup `backup_id` (0: the newest) of the backup folder
// `backup_dir` into options.path, which must not hold anything yet; then
// opens the store there (with options.key_encryption_key_file: the KEK is
// not in backups) and checks the whole hash chain, and that the head and
// its hash are those the backup recorded. NOT_FOUND for an unknown backup,
// FAILED_PRECONDITION when options.path is not empty, DATA_LOSS when the
// restored log does not verify.
absl::StatusOr<RestoreResult> RestoreRocksDbBackup(const std::string& backup_dir,
                                                   uint32_t backup_id,
                                                   const RocksDbOptions& options);

// Opens (or creates) the store at options.path.
// FAILED_PRECONDITION when another process holds the folder; UNAVAILABLE
// or DATA_LOSS for storage faults.
absl::StatusOr<std::unique_ptr<EventStore>> OpenRocksDbEventStore(
    const RocksDbOptions& options);

}  // namespace ncm::eventstore

#endif  // NCM_EVENTSTORE_ROCKSDB_EVENT_STORE_H_
