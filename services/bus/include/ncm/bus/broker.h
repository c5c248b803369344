// The log's JetStream stream: how ncmd names, configures and reaches it.
//
// Every committed event becomes one message of one stream (default
// NCM_LOG) whose sequence number is the event's global position. The body
// is the log value byte for byte (eventstore/FORMAT.md); headers carry what
// consumers route on; the subject is <prefix>.<category>.<stream id>, each
// token escaped (see SubjectFor).
#ifndef NCM_BUS_BROKER_H_
#define NCM_BUS_BROKER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ncm/eventstore/event_store.h"

struct __natsConnection;
struct __jsCtx;
struct __natsMsg;
struct __natsSubscription;

namespace ncm::bus {

// Header names of every message.
inline constexpr char kPositionHeader[] = "Ncm-Position";
inline constexpr char kStreamHeader[] = "Ncm-Stream";
inline constexpr char kRevisionHeader[] = "Ncm-Revision";
inline constexpr char kEventTypeHeader[] = "Ncm-Event-Type";
inline constexpr char kOccurredAtHeader[] = "Ncm-Occurred-At";
inline constexpr char kHashHeader[] = "Ncm-Hash";
// JetStream's own.
inline constexpr char kMsgIdHeader[] = "Nats-Msg-Id";
inline constexpr char kExpectedLastSeqHeader[] = "Nats-Expected-Last-Sequence";

struct BrokerOptions {
  // nats://host:port URLs of one server or of a cluster's members
  // (user:password@ may be given in a URL).
  std::vector<std::string> urls;
  std::string stream = "NCM_LOG";
  std::string subject_prefix = "ncm.log";
  int replicas = 1;  // 1, or 3 on a cluster
  std::string creds_file;  // NATS credentials (JWT and seed); optional
  std::string ca_file;     // PEM CA of the servers' TLS certificates
  std::string cert_file;   // client certificate for TLS; optional
  std::string key_file;
  // What the connection calls itself in the servers' monitoring.
  std::string client_name = "ncmd";
  // How long a JetStream request or a publish acknowledgement is waited for.
  absl::Duration request_timeout = absl::Seconds(5);
};

// Escapes a subject token: A-Z a-z 0-9 '_' '-' stay; every other byte is
// %XX (upper-case hex), so a token never holds '.', '*', '>', a space or
// a '%' of its own.
std::string EscapeToken(absl::string_view text);
// The category of a stream: its id up to the first '-' (all of it when
// there is none).
absl::string_view CategoryOf(absl::string_view stream_id);
// <prefix>.<escaped category>.<escaped stream id>
std::string SubjectFor(absl::string_view prefix, absl::string_view stream_id);
// The message id that JetStream deduplicates on: the record's hash in hex,
// so that the same id is the same content.
std::string MessageIdFor(const eventstore::Hash& hash);
// The largest log value the store can produce under `limits`, with room for
// the headers: what the servers' max_payload must allow.
size_t LargestMessage(const eventstore::Limits& limits);

// `text` in double quotes for a key=value log line (quotes and
// backslashes escaped, line breaks as spaces).
std::string QuoteForLog(absl::string_view text);

// Owns a natsMsg.
struct MsgDeleter {
  void operator()(__natsMsg* m) const;
};
using MsgPtr = std::unique_ptr<__natsMsg, MsgDeleter>;

// A message built from one log value: subject, headers, body.
absl::StatusOr<MsgPtr> MessageFor(const BrokerOptions& options,
                                  absl::string_view log_value);

// The stream's state as the broker reports it.
struct StreamState {
  uint64_t messages = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  uint64_t deleted = 0;
};

// A message read back from the stream by sequence.
struct StoredMessage {
  uint64_t sequence = 0;
  std::string subject;
  std::string data;
};

// Connection events, called from the client library's threads.
struct BrokerCallbacks {
  std::function<void()> disconnected;
  std::function<void()> reconnected;
  std::function<void(const std::string&)> error;
  // The answer to an asynchronous publish: the broker stored the message
  // of `position` as `sequence` (ok), or refused it / timed out.
  std::function<void(uint64_t position, uint64_t sequence, bool duplicate,
                     const absl::Status& status)>
      ack;
};

// A connection to the servers (reconnecting for ever) and its JetStream
// context.
class Broker {
 public:
  // UNAVAILABLE when no server answers.
  static absl::StatusOr<std::unique_ptr<Broker>> Connect(
      const BrokerOptions& options, BrokerCallbacks callbacks);
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Creates the stream, or checks an existing one: file storage, the
  // configured replicas, deletes and purges denied, rollups refused, no
  // limit that would drop a message, and the subject prefix.
  // FAILED_PRECONDITION naming every difference; UNAVAILABLE when the
  // servers do not answer.
  absl::Status EnsureStream(const eventstore::Limits& limits);
  absl::StatusOr<StreamState> State();
  // NOT_FOUND when there is no message at `sequence`.
  absl::StatusOr<StoredMessage> Get(uint64_t sequence);
  // Publishes without waiting; the answer comes to callbacks.ack. Takes
  // the message. UNAVAILABLE when the client refuses it at once.
  absl::Status PublishAsync(MsgPtr msg);
  // Forgets every publish still waiting for its answer: no callback comes
  // for them any more.
  void AbandonPending();

  // The name of the server leading the stream's replicas (empty for a
  // single server or when unknown).
  absl::StatusOr<std::string> StreamLeader();

  // The largest message the servers accept.
  int64_t MaxPayload() const;
  // The URL of the server connected to; empty while disconnected.
  std::string ConnectedUrl() const;
  bool Connected() const;

  __natsConnection* connection() { return nc_; }
  __jsCtx* jetstream() { return js_; }
  const BrokerOptions& options() const { return options_; }

 private:
  struct Hooks;
  Broker(BrokerOptions options, Hooks* hooks)
      : options_(std::move(options)), hooks_(hooks) {}
  BrokerOptions options_;
  // Outlives the connection: the client library may call it while closing.
  Hooks* hooks_;
  __natsConnection* nc_ = nullptr;
  __jsCtx* js_ = nullptr;
  bool published_any_ = false;  // PublishAsync and AbandonPending: one thread
};

// Reads the stream in sequence order from a starting sequence, through an
// ordered consumer (no acknowledgements, no state kept on the servers; the
// client library restarts it after any gap in what it receives).
class StreamReader {
 public:
  // REQUIRES: `broker` outlives the reader.
  static absl::StatusOr<std::unique_ptr<StreamReader>> Open(Broker* broker,
                                                            uint64_t from_seq);
  ~StreamReader();
  // The next message; DEADLINE_EXCEEDED when none came within `timeout`.
  absl::StatusOr<StoredMessage> Next(absl::Duration timeout);

 private:
  explicit StreamReader(__natsSubscription* sub) : sub_(sub) {}
  __natsSubscription* sub_;
};

}  // namespace ncm::bus

#endif  // NCM_BUS_BROKER_H_
