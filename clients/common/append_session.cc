#include "clients/common/append_session.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace ncm::client {

namespace pb = ::ncm::eventstore::v1;

namespace {

absl::Status FromGrpc(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      s.error_message());
}

}  // namespace

AppendSession::AppendSession(pb::EventStore::Stub* stub,
                             std::unique_ptr<grpc::ClientContext> context,
                             size_t max_unanswered)
    : context_(std::move(context)),
      max_unanswered_(std::max<size_t>(1, max_unanswered)) {
  stub->async()->AppendSession(context_.get(), this);
  StartRead(&reading_msg_);
  StartCall();
}

AppendSession::~AppendSession() { Close().IgnoreError(); }

absl::Status AppendSession::Append(pb::AppendRequest request, Callback done) {
  absl::MutexLock l(&mu_);
  auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return ended_ || closing_ || unanswered_.size() < max_unanswered_;
  };
  mu_.Await(absl::Condition(&room));
  if (closing_ || (ended_ && final_.ok())) {
    return absl::FailedPreconditionError("the append session is closed");
  }
  if (ended_) return final_;
  const uint64_t id = next_id_++;
  unanswered_.emplace(id, std::move(done));
  pb::AppendSessionRequest& m = outgoing_.emplace_back();
  m.set_correlation_id(id);
  *m.mutable_append() = std::move(request);
  WriteNextLocked();
  return absl::OkStatus();
}

void AppendSession::WriteNextLocked() {
  if (writing_ || ended_) return;
  if (!outgoing_.empty()) {
    writing_msg_ = std::move(outgoing_.front());
    outgoing_.pop_front();
    writing_ = true;
    // With more appends queued, gRPC may hold this one to send it with
    // them (the last of a burst goes without the hint and flushes all).
    grpc::WriteOptions options;
    if (!outgoing_.empty()) options.set_buffer_hint();
    StartWrite(&writing_msg_, options);
    return;
  }
  if (closing_ && !writes_done_) {
    writes_done_ = true;
    StartWritesDone();
  }
}

void AppendSession::OnWriteDone(bool ok) {
  absl::MutexLock l(&mu_);
  writing_ = false;
  if (!ok) return;  // the call is over: OnDone follows
  WriteNextLocked();
}

void AppendSession::OnReadDone(bool ok) {
  if (!ok) return;  // OnDone follows
  std::vector<std::pair<Callback, pb::AppendOutcome*>> ready;
  {
    absl::MutexLock l(&mu_);
    for (pb::AppendOutcome& o : *reading_msg_.mutable_outcomes()) {
      auto it = unanswered_.find(o.correlation_id());
      if (it == unanswered_.end()) continue;  // not ours: ignored
      ready.emplace_back(std::move(it->second), &o);
      unanswered_.erase(it);
    }
  }
  for (auto& [cb, o] : ready) {
    cb(absl::Status(static_cast<absl::StatusCode>(o->code()), o->message()),
       o->result());
  }
  reading_msg_.Clear();
  StartRead(&reading_msg_);
}

void AppendSession::OnDone(const grpc::Status& status) {
  absl::flat_hash_map<uint64_t, Callback> left;
  absl::Status final = FromGrpc(status);
  {
    absl::MutexLock l(&mu_);
    ended_ = true;
    final_ = final;
    left.swap(unanswered_);
  }
  const absl::Status lost =
      final.ok() ? absl::UnavailableError(
                       "the append session ended before answering")
                 : final;
  const pb::AppendResponse none;
  for (auto& [id, cb] : left) cb(lost, none);
  done_.Notify();
}

absl::Status AppendSession::Close() {
  {
    absl::MutexLock l(&mu_);
    if (!closing_) {
      closing_ = true;
      WriteNextLocked();
    }
  }
  done_.WaitForNotification();
  absl::MutexLock l(&mu_);
  return final_;
}

}  // namespace ncm::client
