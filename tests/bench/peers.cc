#include "tests/bench/peers.h"

#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ncm::bench {
namespace {

// The events table: a global order (position), the stream, a unique event
// id, the type and the payload, as the event store keeps them.
constexpr char kSchema[] =
    "DROP TABLE IF EXISTS events;"
    "CREATE TABLE events ("
    "  position bigserial PRIMARY KEY,"
    "  stream_id text NOT NULL,"
    "  event_id uuid NOT NULL UNIQUE,"
    "  event_type text NOT NULL,"
    "  payload bytea NOT NULL);"
    "CREATE INDEX events_stream ON events (stream_id, position);";

absl::StatusOr<PGconn*> Open(const std::string& conninfo) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string why = PQerrorMessage(c);
    PQfinish(c);
    return absl::UnavailableError(
        absl::StrCat("cannot connect to PostgreSQL (", conninfo, "): ", why));
  }
  return c;
}

absl::Status Check(PGresult* r, ExecStatusType want, const char* what) {
  absl::Status s = absl::OkStatus();
  if (PQresultStatus(r) != want) {
    s = absl::InternalError(
        absl::StrCat(what, ": ", PQresultErrorMessage(r)));
  }
  PQclear(r);
  return s;
}

class PostgresClient final : public PeerClient {
 public:
  explicit PostgresClient(PGconn* c) : conn_(c) {}
  ~PostgresClient() override { PQfinish(conn_); }

  absl::Status Append(const std::string& stream,
                      const std::vector<PeerEvent>& events) override {
    const int n = static_cast<int>(events.size());
    const std::string name = absl::StrCat("append_", n);
    if (!prepared_.contains(n)) {
      std::string sql =
          "INSERT INTO events (stream_id, event_id, event_type, payload) "
          "VALUES ";
      for (int i = 0; i < n; ++i) {
        absl::StrAppend(&sql, i == 0 ? "" : ",", "($", 4 * i + 1, ",$",
                        4 * i + 2, "::uuid,$", 4 * i + 3, ",$", 4 * i + 4,
                        ")");
      }
      absl::Status s =
          Check(PQprepare(conn_, name.c_str(), sql.c_str(), 4 * n, nullptr),
                PGRES_COMMAND_OK, "prepare");
      if (!s.ok()) return s;
      prepared_.insert(n);
    }
    values_.clear();
    lengths_.clear();
    formats_.clear();
    for (const PeerEvent& e : events) {
      for (const std::string* v :
           {&stream, &e.event_id, &e.event_type, &e.payload}) {
        values_.push_back(v->data());
        lengths_.push_back(static_cast<int>(v->size()));
      }
      formats_.insert(formats_.end(), {0, 0, 0, 1});  // the payload binary
    }
    // Autocommit: the statement is its transaction, and with
    // synchronous_commit on it returns once the WAL is flushed.
    return Check(PQexecPrepared(conn_, name.c_str(), 4 * n, values_.data(),
                                lengths_.data(), formats_.data(), 0),
                 PGRES_COMMAND_OK, "insert");
  }

 private:
  PGconn* const conn_;
  absl::flat_hash_set<int> prepared_;
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

absl::StatusOr<redisContext*> OpenRedis(const std::string& address) {
  std::pair<std::string, std::string> hp =
      absl::StrSplit(address, absl::MaxSplits(':', 1));
  int port = 0;
  if (!absl::SimpleAtoi(hp.second, &port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--redis wants host:port, got \"", address, "\""));
  }
  redisContext* c = redisConnect(hp.first.c_str(), port);
  if (c == nullptr || c->err != 0) {
    std::string why = c == nullptr ? "out of memory" : c->errstr;
    if (c != nullptr) redisFree(c);
    return absl::UnavailableError(
        absl::StrCat("cannot connect to Redis at ", address, ": ", why));
  }
  return c;
}

absl::Status ReplyError(redisContext* c, redisReply* r, const char* what) {
  if (r == nullptr) {
    return absl::UnavailableError(absl::StrCat(what, ": ", c->errstr));
  }
  absl::Status s = absl::OkStatus();
  if (r->type == REDIS_REPLY_ERROR) {
    s = absl::InternalError(absl::StrCat(what, ": ", r->str));
  }
  freeReplyObject(r);
  return s;
}

class RedisClient final : public PeerClient {
 public:
  explicit RedisClient(redisContext* c) : c_(c) {}
  ~RedisClient() override { redisFree(c_); }

  absl::Status Append(const std::string& stream,
                      const std::vector<PeerEvent>& events) override {
    // One event: XADD. Several: MULTI, the XADDs, EXEC, pipelined, so
    // that they apply atomically and are fsynced before EXEC is answered
    // (appendfsync always).
    const bool multi = events.size() > 1;
    if (multi) redisAppendCommand(c_, "MULTI");
    for (const PeerEvent& e : events) {
      redisAppendCommand(c_, "XADD %b * id %b type %b data %b", stream.data(),
                         stream.size(), e.event_id.data(), e.event_id.size(),
                         e.event_type.data(), e.event_type.size(),
                         e.payload.data(), e.payload.size());
    }
    if (multi) redisAppendCommand(c_, "EXEC");
    const size_t replies = events.size() + (multi ? 2 : 0);
    absl::Status first = absl::OkStatus();
    for (size_t i = 0; i < replies; ++i) {
      void* r = nullptr;
      if (redisGetReply(c_, &r) != REDIS_OK) {
        return absl::UnavailableError(absl::StrCat("XADD: ", c_->errstr));
      }
      redisReply* reply = static_cast<redisReply*>(r);
      if (multi && i + 1 == replies &&
          (reply->type != REDIS_REPLY_ARRAY || reply->elements != events.size())) {
        freeReplyObject(reply);
        return absl::InternalError("EXEC did not apply the transaction");
      }
      absl::Status s = ReplyError(c_, reply, "XADD");
      if (first.ok()) first = s;
    }
    return first;
  }

 private:
  redisContext* const c_;
};

}  // namespace

absl::Status PreparePostgres(const std::string& conninfo) {
  absl::StatusOr<PGconn*> c = Open(conninfo);
  if (!c.ok()) return c.status();
  absl::Status s = absl::OkStatus();
  // The benchmark is fair only with every commit flushed before its answer.
  for (const char* setting : {"fsync", "synchronous_commit"}) {
    PGresult* r = PQexec(*c, absl::StrCat("SHOW ", setting).c_str());
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 ||
        std::string(PQgetvalue(r, 0, 0)) != "on") {
      s = absl::FailedPreconditionError(
          absl::StrCat("PostgreSQL must run with ", setting, " = on"));
    }
    PQclear(r);
  }
  if (s.ok()) s = Check(PQexec(*c, kSchema), PGRES_COMMAND_OK, "schema");
  PQfinish(*c);
  return s;
}

absl::StatusOr<std::unique_ptr<PeerClient>> ConnectPostgres(
    const std::string& conninfo) {
  absl::StatusOr<PGconn*> c = Open(conninfo);
  if (!c.ok()) return c.status();
  return std::unique_ptr<PeerClient>(new PostgresClient(*c));
}

absl::Status PrepareRedis(const std::string& address) {
  absl::StatusOr<redisContext*> c = OpenRedis(address);
  if (!c.ok()) return c.status();
  absl::Status s = ReplyError(
      *c, static_cast<redisReply*>(redisCommand(*c, "FLUSHALL")), "FLUSHALL");
  if (s.ok()) {
    // The benchmark is fair only with every write fsynced before its reply.
    auto* r = static_cast<redisReply*>(
        redisCommand(*c, "CONFIG GET appendfsync"));
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        std::string(r->element[1]->str) != "always") {
      s = absl::FailedPreconditionError(
          "Redis must run with appendonly yes and appendfsync always");
    }
    if (r != nullptr) freeReplyObject(r);
  }
  redisFree(*c);
  return s;
}

absl::StatusOr<std::unique_ptr<PeerClient>> ConnectRedis(
    const std::string& address) {
  absl::StatusOr<redisContext*> c = OpenRedis(address);
  if (!c.ok()) return c.status();
  return std::unique_ptr<PeerClient>(new RedisClient(*c));
}

}  // namespace ncm::bench
