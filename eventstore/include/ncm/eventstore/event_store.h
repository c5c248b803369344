// The event store: an append-only, hash-chained log of immutable events.
//
// Positions are global, start at 1, dense and strictly increasing; position 0
// means "before the first event". Revisions count per stream from 0. An
// append is atomic over all its streams and acknowledged only once durable.
//
// Thread safety: every method of EventStore may be called concurrently.
#ifndef NCM_EVENTSTORE_EVENT_STORE_H_
#define NCM_EVENTSTORE_EVENT_STORE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ncm/eventstore/checkpoints.h"
#include "ncm/eventstore/subject_keys.h"

namespace ncm::eventstore {

using Hash = std::array<uint8_t, 32>;

inline constexpr uint64_t kEndPosition = std::numeric_limits<uint64_t>::max();
inline constexpr uint64_t kEndRevision = std::numeric_limits<uint64_t>::max();
inline constexpr char kDefaultContentType[] = "application/x-protobuf";
// The actor recorded when a request carries no authenticated principal.
inline constexpr char kAnonymousActor[] = "anonymous";

// What an append expects of a stream's current state.
struct ExpectedRevision {
  enum class Kind { kAny, kNoStream, kStreamExists, kExact };
  Kind kind = Kind::kAny;
  uint64_t revision = 0;  // for kExact: the stream's last revision

  static ExpectedRevision Any() { return {Kind::kAny, 0}; }
  static ExpectedRevision NoStream() { return {Kind::kNoStream, 0}; }
  static ExpectedRevision StreamExists() { return {Kind::kStreamExists, 0}; }
  static ExpectedRevision Exact(uint64_t r) { return {Kind::kExact, r}; }
};

// An event as proposed by a client.
struct ProposedEvent {
  std::string event_id;  // UUID, 8-4-4-4-12 hex digits (any case)
  std::string event_type;
  std::string payload;
  std::string content_type;  // empty means kDefaultContentType
  std::optional<absl::Time> occurred_at;  // empty means the recording time
  std::string correlation_id;
  std::string causation_id;
  std::string command_id;
};

struct StreamWrite {
  std::string stream_id;
  ExpectedRevision expected;
  std::vector<ProposedEvent> events;
};

struct AppendRequest {
  std::vector<StreamWrite> streams;
  std::string actor;  // principal id; empty means kAnonymousActor
};

struct StreamAppendResult {
  std::string stream_id;
  uint64_t first_revision = 0;
  uint64_t last_revision = 0;
  std::vector<uint64_t> positions;  // one per event, request order
};

struct AppendResult {
  std::vector<StreamAppendResult> streams;  // request order
  uint64_t first_position = 0;
  uint64_t last_position = 0;
  bool idempotent_replay = false;  // every event was already recorded
};

// An event as recorded in the log.
struct RecordedEvent {
  uint64_t position = 0;
  std::string stream_id;
  uint64_t revision = 0;
  std::string event_id;  // canonical lower-case UUID text
  std::string event_type;
  std::string payload;
  std::string content_type;
  absl::Time recorded_at;
  absl::Time occurred_at;
  std::string actor;
  std::string correlation_id;
  std::string causation_id;
  std::string command_id;
  Hash prev_hash{};
  Hash hash{};

  bool operator==(const RecordedEvent& o) const;
};

enum class Direction { kForward, kBackward };

struct ReadStreamOptions {
  std::string stream_id;
  // Forward: first revision returned. Backward: highest revision returned
  // (kEndRevision = the stream's last event).
  uint64_t from_revision = 0;
  Direction direction = Direction::kForward;
  size_t max_count = 100;
  // The read stops once its events reach about this many bytes (it always
  // returns at least one). 0 = no cap.
  size_t max_bytes = 0;
};

struct ReadStreamResult {
  std::vector<RecordedEvent> events;
  uint64_t last_revision = 0;  // the stream's current last revision
  bool end_of_stream = false;  // nothing more in the read direction
};

// Selects events of the whole log. An empty list matches everything.
struct Filter {
  std::vector<std::string> stream_prefixes;
  std::vector<std::string> event_types;

  bool Empty() const { return stream_prefixes.empty() && event_types.empty(); }
  bool Matches(const RecordedEvent& e) const;
  bool Matches(absl::string_view stream_id, absl::string_view event_type) const;
};

struct ReadAllOptions {
  // Forward: first position returned (0 = the start). Backward: highest
  // position returned (kEndPosition = the head).
  uint64_t from_position = 0;
  Direction direction = Direction::kForward;
  size_t max_count = 100;
  Filter filter;
  // With a filter, at most this many records are examined per call so that
  // a sparse filter cannot turn one read into a full scan; next_position
  // tells where to go on. 0 = no cap.
  size_t max_scan = 0;
  // The read stops once its events reach about this many bytes (it always
  // returns at least one); next_position tells where to go on. 0 = no cap.
  size_t max_bytes = 0;
};

struct ReadAllResult {
  std::vector<RecordedEvent> events;
  // Where to continue in the same direction (forward: the next position to
  // read; backward: the next position to read downwards, 0 when done).
  uint64_t next_position = 0;
  bool end_of_log = false;
  uint64_t head_position = 0;  // the head when the read started
};

// ReadAll's result as stored bytes: `frames` holds, per record, a 4-byte
// big-endian length and the log value (eventstore/FORMAT.md).
struct ReadAllRawResult {
  std::string frames;
  size_t count = 0;
  uint64_t next_position = 0;
  bool end_of_log = false;
  uint64_t head_position = 0;
};

struct StreamInfo {
  std::string stream_id;
  uint64_t last_revision = 0;
  uint64_t event_count = 0;
  uint64_t first_position = 0;
  uint64_t last_position = 0;
  absl::Time last_recorded_at;
};

struct VerifyResult {
  bool ok = true;
  uint64_t from_position = 0;
  uint64_t to_position = 0;
  uint64_t verified_count = 0;
  uint64_t first_bad_position = 0;  // when !ok
  std::string reason;               // when !ok
  Hash head_hash{};                 // hash at to_position, when ok
};

using AppendCallback = std::function<void(absl::StatusOr<AppendResult>)>;
// Called with the new head position after each commit. Runs on the store's
// writer thread: it must be quick and must not call back into the store.
using CommitListener = std::function<void(uint64_t head_position)>;

// A backup the store took (EventStore::Backup).
struct BackupResult {
  uint32_t backup_id = 0;
  // The log as the backup holds it: every append acknowledged before the
  // backup began, and those committed until its files were linked.
  uint64_t head_position = 0;
  Hash head_hash{};
  uint64_t added_bytes = 0;   // what this backup copied into the folder
  uint64_t folder_bytes = 0;  // the folder, every backup in it
  absl::Duration took;        // the whole backup
  absl::Duration paused;      // how long appends waited
};

// What the storage engine holds and how it copes (EventStore::Storage).
struct StorageStats {
  uint64_t live_data_bytes = 0;           // estimated, every column family
  uint64_t sst_files_bytes = 0;           // table files on disk
  uint64_t memtable_bytes = 0;            // in memory, not flushed yet
  uint64_t pending_compaction_bytes = 0;  // estimated
  uint64_t write_slowdowns = 0;           // since the store opened
  uint64_t write_stops = 0;
  bool writes_stopped = false;            // stopped now
};

class EventStore {
 public:
  virtual ~EventStore() = default;

  // Appends atomically and durably. `done` runs exactly once, possibly on
  // another thread, after the append is durable or refused:
  //  - INVALID_ARGUMENT: malformed request (the field and rule are named);
  //  - RESOURCE_EXHAUSTED: over a size limit (the limit is named);
  //  - ABORTED: an expectation failed (the stream and its current revision
  //    are named); nothing of the append is written;
  //  - ALREADY_EXISTS: an event id is recorded with other content, or a
  //    request mixes recorded and new events;
  //  - UNAVAILABLE: storage fault or store shutting down.
  // When every event is already recorded with the same content, succeeds
  // with the original positions and idempotent_replay set.
  virtual void AppendAsync(AppendRequest request, AppendCallback done) = 0;

  // Blocking form of AppendAsync.
  absl::StatusOr<AppendResult> Append(AppendRequest request);

  // NOT_FOUND when the stream has no events.
  virtual absl::StatusOr<ReadStreamResult> ReadStream(
      const ReadStreamOptions& options) = 0;

  virtual absl::StatusOr<ReadAllResult> ReadAll(
      const ReadAllOptions& options) = 0;

  // ReadAll returning the stored records byte for byte. The default
  // implementation re-encodes the result of ReadAll.
  virtual absl::StatusOr<ReadAllRawResult> ReadAllRaw(
      const ReadAllOptions& options);

  // NOT_FOUND when the stream has no events.
  virtual absl::StatusOr<StreamInfo> GetStreamInfo(
      absl::string_view stream_id) = 0;

  // Checks positions [from, to] (to = 0: the head): density, each record's
  // prev_hash equal to its predecessor's hash, and each hash recomputed.
  // A failed check is reported in the result, not as an error status.
  // OUT_OF_RANGE when the range lies beyond the head.
  virtual absl::StatusOr<VerifyResult> VerifyChain(uint64_t from,
                                                   uint64_t to) = 0;

  // The last committed position (0 when empty).
  virtual uint64_t HeadPosition() const = 0;

  // Registers a listener; returns an id for RemoveCommitListener. After
  // RemoveCommitListener returns, the listener is no longer running or
  // called.
  virtual uint64_t AddCommitListener(CommitListener listener) = 0;
  virtual void RemoveCommitListener(uint64_t id) = 0;

  // A read node's copy: appends log values made by the write node's store
  // (`frames` as ReadAllRaw returns them), durably and in one batch, after
  // checking that each is the next position, links to the hash before it,
  // verifies, continues its stream's revisions and repeats no event id.
  // Commit listeners run as after an append. FAILED_PRECONDITION when the
  // store is not a copy (see RocksDbOptions::copy_of); DATA_LOSS naming the
  // first value that does not fit, and then nothing is written.
  virtual absl::Status AppendCopied(absl::string_view frames) {
    return absl::UnimplementedError("this store keeps no copy of another log");
  }

  // True for a read node's copy: positions beyond the head exist on the
  // write node and are on their way, so a read asking for one waits.
  virtual bool IsCopy() const { return false; }

  // The hash of the head record (zeros when empty).
  virtual Hash HeadHash() const { return Hash{}; }

  // The per-subject keys kept beside this log, outside its hash chain.
  // Lives as long as the store.
  virtual SubjectKeyStore* subject_keys() = 0;

  // The log's Merkle tree (merkle.h): the hash of the complete subtree at
  // `level` and `index`, i.e. of leaves [index << level, (index + 1) <<
  // level), leaf i being position i + 1. NOT_FOUND when that subtree is not
  // complete at the head; FAILED_PRECONDITION when the store keeps no tree.
  virtual absl::StatusOr<Hash> TreeNode(int level, uint64_t index) = 0;

  // The signed checkpoints kept beside this log. Lives as long as the store.
  virtual CheckpointStore* checkpoints() = 0;

  // A consistent backup into `dir` (made when missing) while appends go
  // on: they wait only while the store's files are flushed and linked;
  // the copy runs beside them. Backups into one folder share the table
  // files they have in common, so each after the first copies only what
  // is new. UNIMPLEMENTED for a store that has no files.
  virtual absl::StatusOr<BackupResult> Backup(const std::string& dir) {
    return absl::UnimplementedError("this store keeps nothing on disk to back up");
  }

  // The storage engine's state, for monitoring. UNIMPLEMENTED for a store
  // that has none (in memory).
  virtual absl::StatusOr<StorageStats> Storage() {
    return absl::UnimplementedError("this store keeps nothing on disk");
  }
};

// Limits enforced on every append and read.
struct Limits {
  size_t max_stream_id_bytes = 256;
  size_t max_event_type_bytes = 256;
  size_t max_content_type_bytes = 128;
  size_t max_id_bytes = 128;  // correlation, causation, command ids
  size_t max_actor_bytes = 256;
  size_t max_payload_bytes = 1 << 20;
  size_t max_events_per_append = 10000;
  size_t max_streams_per_append = 100;
  size_t max_append_bytes = 16 << 20;
  size_t max_read_count = 10000;
  // A read or subscription message stops taking events once it holds this
  // many bytes; with one more event of the largest size it stays under the
  // 4 MiB that gRPC clients accept by default.
  size_t max_read_bytes = 2 << 20;
};

}  // namespace ncm::eventstore

#endif  // NCM_EVENTSTORE_EVENT_STORE_H_
