// The ncmd server: every service of the backend over one event store,
// behind one gRPC listener. Used by the ncmd binary and by tests.
#ifndef NCM_NCMD_SERVER_H_
#define NCM_NCMD_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "ncm/bus/publisher.h"
#include "ncm/bus/replica.h"
#include "ncm/eventstore/event_store.h"
#include "ncm/readside/runner.h"

namespace ncm::ncmd {

// TLS on the listener: PEM files. With client_ca_file, clients must show a
// certificate signed by that CA (mutual TLS).
struct TlsOptions {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

// A read node: keeps a copy of the write node's log taken from the
// JetStream stream (ServerOptions::nats), builds the read models from it and
// serves every read; commands are refused with FAILED_PRECONDITION naming
// the write node.
struct ReadNodeOptions {
  std::string write_node;  // host:port of the write node; empty: a write node
  // A token of an auditor (or admin) principal on the write node: gaps in
  // the stream are filled from its ReadAll.
  std::string token_file;
  std::string ca_file;  // TLS to the write node
  std::string cert_file;
  std::string key_file;
  bool enabled() const { return !write_node.empty(); }
};

// Signed checkpoints of the log (transparency.proto).
struct CheckpointOptions {
  // The checkpoints' origin line, naming this log: the secretariat's
  // domain and /log, say. Also the signing key's name when it is made.
  std::string origin = "ncm.localhost/log";
  // The Ed25519 signing key (owner-only; made at the first start); empty:
  // <data_dir>.checkpoint.key beside the folder. With the in-memory store
  // and no file, a key that lives as long as the process.
  std::string key_file;
  // A checkpoint is made at least this often while the log grows; 0: only
  // when asked for.
  absl::Duration interval = absl::Seconds(60);
  // Checkpoints kept (0: all).
  size_t keep = 10000;
  // Verifier keys of the witnesses whose cosignatures are taken.
  std::vector<std::string> witness_keys;
};

struct ServerOptions {
  // host:port; port 0 picks a free port. Without TLS, only a loopback
  // address (127.0.0.0/8, ::1, localhost) is accepted.
  std::string listen_address = "127.0.0.1:50051";
  TlsOptions tls;
  // RocksDB data folder; empty means an in-memory store (tests only). It
  // and the read-model folder are made owner-only (0700; the server sets
  // its umask to 077, so its files are 0600), and a folder other users can
  // read is refused at start.
  std::string data_dir;
  // The key-encryption key that wraps the personal-data keys (see
  // eventstore::RocksDbOptions); empty: <data_dir>.kek beside the folder.
  std::string key_encryption_key_file;
  eventstore::Limits limits;
  // Largest gRPC message accepted, in bytes.
  int max_message_bytes = 32 << 20;
  // County list (code,name CSV); empty means Kenya's 47 counties.
  std::string counties_file;
  // Time zone in which "today" is reckoned for domain dates.
  absl::TimeZone time_zone = absl::UTCTimeZone();
  // Threads that run the domain services' commands and queries.
  int worker_threads = 16;
  // The read models' RocksDB folder; empty: <data_dir>/readmodels. With the
  // in-memory store there are no read models.
  std::string read_model_dir;
  // Runs the read models (RocksDB store only). Off: the read-model queries
  // answer UNAVAILABLE (benchmarks of the write path alone).
  bool read_models = true;
  // How long a query's min_position waits when it names no wait.
  absl::Duration query_wait = absl::Seconds(2);
  // Where the first start writes the admin principal's token (readable by
  // its owner only); empty: <data_dir>/admin.token. Required with the
  // in-memory store, which starts afresh every time.
  std::string admin_token_file;
  // The message bus: with URLs, every committed event is published to this
  // JetStream stream (see ncm/bus/publisher.h); without, the in-process
  // bus only. Needs the RocksDB store.
  bus::BrokerOptions nats;
  ReadNodeOptions read_node;
  CheckpointOptions checkpoints;
  // Prometheus metrics over HTTP (GET /metrics) on this host:port (port 0
  // picks a free one); empty: no metrics are kept. UNAVAILABLE at start
  // when it cannot listen there.
  std::string metrics_listen;
  // Receives log lines' level and key=value fields; unset: stderr.
  std::function<void(absl::string_view level, const std::string& fields)> log;
};

class Server {
 public:
  virtual ~Server() = default;
  // The port actually bound.
  virtual int port() const = 0;
  // host:port a client can dial.
  virtual std::string address() const = 0;
  virtual eventstore::EventStore* store() = 0;
  // nullptr with the in-memory store.
  virtual readside::ReadSide* read_side() = 0;
  // The JetStream publisher; nullptr without ServerOptions::nats.
  virtual bus::Publisher* publisher() = 0;
  // A read node's copy; nullptr on a write node.
  virtual bus::Replica* replica() = 0;
  // host:port of the metrics listener; empty without one.
  virtual std::string metrics_address() const = 0;
  // The admin token file this start wrote; empty when principals existed.
  virtual std::string admin_token_file() const = 0;
  // Stops accepting calls, ends subscriptions, waits up to `grace` for
  // in-flight calls, then closes the store. Idempotent.
  virtual void Shutdown(absl::Duration grace) = 0;
  // Blocks until Shutdown has completed.
  virtual void Wait() = 0;
};

// Opens the store and starts serving. At the first start (no principal in
// the log) it registers the principal "admin" and writes its token to
// admin_token_file. FAILED_PRECONDITION when the data
// folder is held by another process or a plaintext listener is asked for on
// a non-loopback address; UNAVAILABLE when the address cannot be bound.
absl::StatusOr<std::unique_ptr<Server>> StartServer(const ServerOptions& options);

// True for 127.0.0.0/8, ::1 and localhost.
bool IsLoopbackHost(const std::string& listen_address);

}  // namespace ncm::ncmd

#endif  // NCM_NCMD_SERVER_H_
