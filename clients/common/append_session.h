// The client's side of EventStore/AppendSession: appends sent one after
// another without waiting for earlier answers, each answered by its own
// callback once durable (or refused). For bulk work; a single write is
// simpler with the unary Append.
#ifndef NCM_CLIENTS_COMMON_APPEND_SESSION_H_
#define NCM_CLIENTS_COMMON_APPEND_SESSION_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/grpcpp.h"
#include "ncm/eventstore/v1/eventstore.grpc.pb.h"

namespace ncm::client {

class AppendSession final
    : private grpc::ClientBidiReactor<ncm::eventstore::v1::AppendSessionRequest,
                                      ncm::eventstore::v1::AppendSessionResponse> {
 public:
  // The append's status (Append's codes) and, when OK, its result. Runs on
  // a gRPC thread: it must not block on this session.
  using Callback =
      std::function<void(const absl::Status&,
                         const ncm::eventstore::v1::AppendResponse&)>;

  // Opens the call. `context` carries the deadline and metadata (the
  // channel's credentials apply). Append blocks while `max_unanswered`
  // appends wait for their answers (beyond the server's 1,024 it gains
  // nothing).
  AppendSession(ncm::eventstore::v1::EventStore::Stub* stub,
                std::unique_ptr<grpc::ClientContext> context,
                size_t max_unanswered = 256);
  // Close()s.
  ~AppendSession() override;
  AppendSession(const AppendSession&) = delete;
  AppendSession& operator=(const AppendSession&) = delete;

  // Sends `request`; `done` runs once with its answer. Blocks while the
  // session is full. Once the call has ended (or Close was called), `done`
  // is not run and the call's status (FAILED_PRECONDITION after Close) is
  // returned.
  absl::Status Append(ncm::eventstore::v1::AppendRequest request,
                      Callback done);

  // Sends nothing more, waits for every answer and the end of the call,
  // and returns the call's status. Appends unanswered when the call ended
  // (server shut down, stream broken) get that status in their callbacks:
  // send them again with the same event ids.
  absl::Status Close();

 private:
  void OnWriteDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;
  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::unique_ptr<grpc::ClientContext> context_;
  const size_t max_unanswered_;
  absl::Mutex mu_;
  std::deque<ncm::eventstore::v1::AppendSessionRequest> outgoing_
      ABSL_GUARDED_BY(mu_);
  ncm::eventstore::v1::AppendSessionRequest writing_msg_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool writes_done_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status final_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<uint64_t, Callback> unanswered_ ABSL_GUARDED_BY(mu_);
  ncm::eventstore::v1::AppendSessionResponse reading_msg_;  // the reader's
  absl::Notification done_;
};

}  // namespace ncm::client

#endif  // NCM_CLIENTS_COMMON_APPEND_SESSION_H_
