// Blocking clients of the stores the benchmark compares the event store
// with: PostgreSQL (libpq) and Redis Streams (hiredis). Each appends events
// as the event store does (an event id, a type and a payload per event, one
// atomic write per call) and returns once the peer has acknowledged the
// write; the peers' own settings make that acknowledgement durable (see
// deploy/bench.sh).
#ifndef NCM_TESTS_BENCH_PEERS_H_
#define NCM_TESTS_BENCH_PEERS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ncm::bench {

struct PeerEvent {
  std::string event_id;  // a UUID
  std::string event_type;
  std::string payload;
};

class PeerClient {
 public:
  virtual ~PeerClient() = default;
  // Appends `events` to `stream` in one atomic write.
  virtual absl::Status Append(const std::string& stream,
                              const std::vector<PeerEvent>& events) = 0;
};

// `conninfo` as libpq takes it ("host=127.0.0.1 port=5432 ..."). Prepare
// makes the events table afresh.
absl::Status PreparePostgres(const std::string& conninfo);
absl::StatusOr<std::unique_ptr<PeerClient>> ConnectPostgres(
    const std::string& conninfo);

// `address` is "host:port". Prepare empties the server.
absl::Status PrepareRedis(const std::string& address);
absl::StatusOr<std::unique_ptr<PeerClient>> ConnectRedis(
    const std::string& address);

}  // namespace ncm::bench

#endif  // NCM_TESTS_BENCH_PEERS_H_
