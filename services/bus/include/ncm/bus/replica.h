// A read node's copy of the log, taken from the JetStream stream.
//
// One thread consumes the stream from the copy's head + 1, checks every
// message (its sequence is the next position; its record verifies and links
// to the head's hash) and appends batches to the copy durably
// (EventStore::AppendCopied). The copy's head is the checkpoint: after a
// kill -9 consumption resumes from it, so no event is skipped or applied
// twice. A gap (the stream lacks positions) or a message that does not
// verify or link is logged at level=warn with its position and filled from
// the write node's ReadAll, never passed over silently.
#ifndef NCM_BUS_REPLICA_H_
#define NCM_BUS_REPLICA_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ncm/bus/broker.h"
#include "ncm/bus/publisher.h"
#include "ncm/eventstore/event_store.h"

namespace ncm::bus {

// Where a replica's messages come from: the stream, or a test's fake.
class MessageSource {
 public:
  virtual ~MessageSource() = default;
  // The next message; DEADLINE_EXCEEDED when none came in `timeout`;
  // another error drops the source (a new one is made).
  virtual absl::StatusOr<StoredMessage> Next(absl::Duration timeout) = 0;
  // The stream's last sequence, for the lag.
  virtual absl::StatusOr<uint64_t> LastSequence() = 0;
  virtual std::string Server() const { return ""; }
};
using SourceFactory = std::function<absl::StatusOr<std::unique_ptr<MessageSource>>(
    uint64_t from_sequence)>;
// Reads the stream through BrokerOptions (never creates it).
SourceFactory JetStreamSource(BrokerOptions options);

struct ReplicaStatus {
  BusState state = BusState::kConnecting;
  std::string detail;
  absl::Time since;
  uint64_t head_position = 0;    // the copy's head
  uint64_t stream_last_seq = 0;  // as last read from the broker
  uint64_t lag = 0;              // stream_last_seq - head_position
  uint64_t copied = 0;           // records appended since start
  uint64_t filled = 0;           // of them taken from the write node
  uint64_t refused = 0;          // messages that did not verify or link
  std::string server;
};

struct ReplicaOptions {
  SourceFactory source;
  // Positions [from, to] of the write node's log as ReadAllRaw frames
  // (its ReadAll RPC); unset: gaps cannot be filled and stop the copy.
  std::function<absl::StatusOr<std::string>(uint64_t from, uint64_t to)> fill;
  size_t batch_messages = 2000;
  size_t batch_bytes = 8 << 20;
  BusLogFn log;
  // Called from the replica's thread after each batch is durable.
  std::function<void(uint64_t head)> appended;
};

class Replica {
 public:
  virtual ~Replica() = default;
  virtual ReplicaStatus Status() const = 0;
  virtual void Stop() = 0;  // idempotent
};

// REQUIRES: `copy` is a store opened as a copy (RocksDbOptions::copy_of)
// and outlives the replica.
std::unique_ptr<Replica> StartReplica(eventstore::EventStore* copy,
                                      ReplicaOptions options);

}  // namespace ncm::bus

#endif  // NCM_BUS_REPLICA_H_
