#include "ncm/services/eventstore_service.h"


#include <algorithm>
#include <deque>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "ncm/eventstore/status_macros.h"
#include "ncm/eventstore/subscription.h"
#include "ncm/services/raw_call.h"
#include "ncm/services/raw_service.h"

namespace ncm::services {

namespace es = ::ncm::eventstore;
namespace pb = ::ncm::eventstore::v1;

namespace {

constexpr size_t kMaxFilterEntries = 64;
constexpr uint32_t kMaxSubscribeBatch = 1000;
// Open Subscribe calls the server accepts at once, and of one principal.
constexpr size_t kMaxSubscriptions = 4096;
constexpr int kMaxSubscriptionsPerPrincipal = 64;
// How often open subscriptions' principals are checked again (revoked,
// expired, their organisation suspended or withdrawn) while idle.
constexpr absl::Duration kStandingSweep = absl::Seconds(1);
constexpr uint32_t kDefaultSubscribeBatch = 256;
// One append session's unanswered appends, and their bytes, beyond which
// the server stops reading it; answers per message; open sessions.
constexpr size_t kMaxSessionPending = 1024;
constexpr size_t kMaxSessionPendingBytes = size_t{64} << 20;
constexpr size_t kMaxSessionAnswersPerMessage = 1024;
constexpr size_t kMaxSessions = 1024;

void ToProto(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t micros = absl::ToUnixMicros(t);
  int64_t secs = micros / 1000000;
  int64_t rem = micros % 1000000;
  if (rem < 0) {
    rem += 1000000;
    --secs;
  }
  out->set_seconds(secs);
  out->set_nanos(static_cast<int32_t>(rem * 1000));
}

absl::StatusOr<absl::Time> FromProto(const google::protobuf::Timestamp& ts,
                                     absl::string_view field) {
  if (ts.nanos() < 0 || ts.nanos() > 999999999) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".nanos must be 0 to 999999999"));
  }
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

std::string HashBytes(const es::Hash& h) {
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

absl::StatusOr<es::ExpectedRevision> FromProto(const pb::ExpectedRevision& e,
                                               absl::string_view field) {
  switch (e.kind()) {
    case pb::ExpectedRevision::ANY:
      return es::ExpectedRevision::Any();
    case pb::ExpectedRevision::NO_STREAM:
      return es::ExpectedRevision::NoStream();
    case pb::ExpectedRevision::STREAM_EXISTS:
      return es::ExpectedRevision::StreamExists();
    case pb::ExpectedRevision::EXACT:
      return es::ExpectedRevision::Exact(e.revision());
    case pb::ExpectedRevision::KIND_UNSPECIFIED:
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".kind is not set; say ANY, NO_STREAM, STREAM_EXISTS or "
                 "EXACT with a revision"));
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".kind ", static_cast<int>(e.kind()),
          " is not a known expectation; use ANY, NO_STREAM, STREAM_EXISTS or "
          "EXACT"));
  }
}

absl::StatusOr<es::AppendRequest> FromProto(const pb::AppendRequest& req) {
  es::AppendRequest out;
  out.streams.reserve(req.streams_size());
  for (int s = 0; s < req.streams_size(); ++s) {
    const pb::StreamAppend& w = req.streams(s);
    es::StreamWrite sw;
    sw.stream_id = w.stream_id();
    NCM_ASSIGN_OR_RETURN(
        sw.expected,
        FromProto(w.expected(), absl::StrCat("streams[", s, "].expected")));
    sw.events.reserve(w.events_size());
    for (int i = 0; i < w.events_size(); ++i) {
      const pb::ProposedEvent& p = w.events(i);
      es::ProposedEvent e;
      e.event_id = p.event_id();
      e.event_type = p.event_type();
      e.payload = p.payload();
      e.content_type = p.content_type();
      if (p.has_occurred_at()) {
        NCM_ASSIGN_OR_RETURN(
            e.occurred_at,
            FromProto(p.occurred_at(), absl::StrCat("streams[", s, "].events[",
                                                    i, "].occurred_at")));
      }
      e.correlation_id = p.correlation_id();
      e.causation_id = p.causation_id();
      e.command_id = p.command_id();
      sw.events.push_back(std::move(e));
    }
    out.streams.push_back(std::move(sw));
  }
  return out;
}

absl::StatusOr<es::Filter> FromProto(const pb::Filter& f,
                                     const es::Limits& limits) {
  es::Filter out;
  if (f.stream_prefixes_size() > static_cast<int>(kMaxFilterEntries) ||
      f.event_types_size() > static_cast<int>(kMaxFilterEntries)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "filter lists at most ", kMaxFilterEntries,
        " stream prefixes and ", kMaxFilterEntries, " event types"));
  }
  for (const auto& p : f.stream_prefixes()) {
    if (p.empty() || p.size() > limits.max_stream_id_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "filter.stream_prefixes entries must be 1 to ",
          limits.max_stream_id_bytes, " bytes"));
    }
    out.stream_prefixes.push_back(p);
  }
  for (const auto& t : f.event_types()) {
    if (t.empty() || t.size() > limits.max_event_type_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("filter.event_types entries must be 1 to ",
                       limits.max_event_type_bytes, " bytes"));
    }
    out.event_types.push_back(t);
  }
  return out;
}

void ToProto(const es::AppendResult& r, pb::AppendResponse* out) {
  for (const auto& s : r.streams) {
    auto* ps = out->add_streams();
    ps->set_stream_id(s.stream_id);
    ps->set_first_revision(s.first_revision);
    ps->set_last_revision(s.last_revision);
    for (uint64_t p : s.positions) ps->add_positions(p);
  }
  out->set_first_position(r.first_position);
  out->set_last_position(r.last_position);
  out->set_idempotent_replay(r.idempotent_replay);
}


}  // namespace

void ToProto(const es::RecordedEvent& e, pb::RecordedEvent* out) {
  out->set_position(e.position);
  out->set_stream_id(e.stream_id);
  out->set_revision(e.revision);
  out->set_event_id(e.event_id);
  out->set_event_type(e.event_type);
  out->set_payload(e.payload);
  out->set_content_type(e.content_type);
  ToProto(e.recorded_at, out->mutable_recorded_at());
  ToProto(e.occurred_at, out->mutable_occurred_at());
  out->set_actor(e.actor);
  out->set_correlation_id(e.correlation_id);
  out->set_causation_id(e.causation_id);
  out->set_command_id(e.command_id);
  out->set_prev_hash(HashBytes(e.prev_hash));
  out->set_hash(HashBytes(e.hash));
}

// What the server's streaming calls share: a handle that outlives the
// reactor (work finishing on other threads finds the call gone), an end
// that happens once, and the registry that counts the open calls.
template <typename Reactor>
struct CallHandle {
  absl::Mutex mu;
  Reactor* reactor ABSL_GUARDED_BY(mu) = nullptr;
  Principal principal;  // set once, when registered
};

template <typename Derived, typename Base>
class StreamingCall : public Base {
 public:
  using Handle = CallHandle<Derived>;
  // Adds (true) or removes (false) a call; a refused add ends the call.
  using Registry = std::function<absl::Status(std::shared_ptr<Handle>, bool)>;

  // Ends the call at once (shutdown, revocation, a broken stream); what
  // was not yet written is lost. REQUIRES: handle mutex held.
  void EndLocked(const grpc::Status& status) {
    if (finished_) return;
    finished_ = true;
    this->Finish(status);
  }

  void OnCancel() override {
    absl::MutexLock l(&handle_->mu);
    EndLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    {
      absl::MutexLock l(&handle_->mu);
      handle_->reactor = nullptr;
    }
    registry_(handle_, false).IgnoreError();
    delete this;
  }

 protected:
  explicit StreamingCall(Registry registry)
      : registry_(std::move(registry)), handle_(std::make_shared<Handle>()) {}

  // Makes the call reachable through its handle and registers it; false
  // (and the call ended) when refused. Called from the derived
  // constructor's body, once the reactor is whole. REQUIRES: handle mutex
  // held.
  bool RegisterLocked() {
    handle_->reactor = static_cast<Derived*>(this);
    absl::Status admitted = registry_(handle_, true);
    if (admitted.ok()) return true;
    EndLocked(ToGrpcStatus(admitted));
    return false;
  }

  Registry registry_;
  std::shared_ptr<Handle> handle_;
  bool finished_ = false;  // guarded by handle_->mu
};

// Ends `h`'s call with `status` if it is still open.
template <typename Reactor>
void EndCall(const std::shared_ptr<CallHandle<Reactor>>& h,
             const grpc::Status& status) {
  absl::MutexLock l(&h->mu);
  if (h->reactor != nullptr) h->reactor->EndLocked(status);
}

// One Subscribe call. Writes one message at a time: the next batch is read
// from the log only after the previous write completed, so a slow client
// holds at most one message in the server.
class SubscribeReactor final
    : public StreamingCall<SubscribeReactor,
                           grpc::ServerWriteReactor<grpc::ByteBuffer>> {
 public:
  // `standing` is asked before each message is written: a principal that
  // lost its standing (revoked, expired, organisation suspended or
  // withdrawn) gets no more events, and the call ends with its status.
  SubscribeReactor(es::EventStore* store, es::SubscriptionOptions options,
                   WorkerPool* dispatcher, Registry registry,
                   std::function<absl::Status()> standing)
      : StreamingCall(std::move(registry)),
        dispatcher_(dispatcher),
        standing_(std::move(standing)),
        sub_(store, std::move(options)) {
    std::weak_ptr<Handle> weak = handle_;
    sub_.SetWakeup([weak, dispatcher] {
      dispatcher->Post([weak] { Pump(weak); });
    });
    {
      absl::MutexLock l(&handle_->mu);
      if (!RegisterLocked()) return;
    }
    Post();
  }

  // Runs on the dispatcher.
  static void Pump(const std::weak_ptr<Handle>& weak) {
    std::shared_ptr<Handle> h = weak.lock();
    if (!h) return;
    absl::MutexLock l(&h->mu);
    if (h->reactor != nullptr) h->reactor->PumpLocked();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock l(&handle_->mu);
    writing_ = false;
    wire_.Clear();  // an idle subscriber holds no message
    if (!ok) {
      EndLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                             "the subscription stream broke"));
      return;
    }
    Post();
  }

 private:
  void Post() {
    std::weak_ptr<Handle> weak = handle_;
    dispatcher_->Post([weak] { Pump(weak); });
  }

  void PumpLocked() {
    if (writing_ || finished_) return;
    auto item = sub_.Poll();
    if (!item.ok()) {
      EndLocked(ToGrpcStatus(item.status()));
      return;
    }
    if (!item->has_value()) return;  // the wake-up will post again
    if (absl::Status s = standing_(); !s.ok()) {
      EndLocked(ToGrpcStatus(s));
      return;
    }
    const es::SubscriptionItem& it = **item;
    pb::SubscribeResponse response;
    switch (it.kind) {
      case es::SubscriptionItem::Kind::kEvents: {
        auto* events = response.mutable_events();
        for (const auto& e : it.events) ToProto(e, events->add_events());
        break;
      }
      case es::SubscriptionItem::Kind::kCaughtUp:
        response.mutable_caught_up()->set_position(it.checkpoint);
        break;
      case es::SubscriptionItem::Kind::kFellBehind:
        response.mutable_fell_behind()->set_position(it.checkpoint);
        response.mutable_fell_behind()->set_head_position(it.head_position);
        break;
    }
    response.set_checkpoint(it.checkpoint);
    SerializeResponse(response, &wire_);
    writing_ = true;
    StartWrite(&wire_);
  }

  WorkerPool* const dispatcher_;
  std::function<absl::Status()> standing_;
  es::Subscription sub_;
  grpc::ByteBuffer wire_;
  bool writing_ = false;  // guarded by handle_->mu
};

// One AppendSession call. Reads while fewer than kMaxSessionPending
// appends (kMaxSessionPendingBytes) are unanswered; answers are gathered
// and written one message at a time, the first of a burst from the
// dispatcher, so that the event store's writer thread never serialises.
class AppendSessionReactor final
    : public StreamingCall<
          AppendSessionReactor,
          grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>> {
 public:
  // Runs one append; `done` runs once with its status, on any thread,
  // possibly before `append` returns.
  using AppendFn = std::function<void(const pb::AppendRequest&,
                                      pb::AppendResponse*, Done)>;

  AppendSessionReactor(WorkerPool* dispatcher, Registry registry,
                       std::function<absl::Status()> standing,
                       AppendFn append)
      : StreamingCall(std::move(registry)),
        dispatcher_(dispatcher),
        standing_(std::move(standing)),
        append_(std::move(append)) {
    absl::MutexLock l(&handle_->mu);
    if (!RegisterLocked()) return;
    reading_ = true;
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    // `reading_` stays set until the append is handed to the store, so
    // that no later read overtakes it: appends apply in the order sent.
    {
      absl::MutexLock l(&handle_->mu);
      if (finished_ || !ok) {  // !ok: the client closed its side
        reading_ = false;
        read_closed_ = read_closed_ || !ok;
        MaybeFinishLocked();
        return;
      }
    }
    // `in_` is this read's alone until the next StartRead; the standing
    // check may read the log: both outside the lock.
    pb::AppendSessionRequest request;
    absl::Status parsed = ParseRequest(in_, &request);
    in_.Clear();
    if (parsed.ok()) parsed = standing_();
    const uint64_t id = request.correlation_id();
    const size_t bytes = request.ByteSizeLong();
    {
      absl::MutexLock l(&handle_->mu);
      if (!parsed.ok()) {
        reading_ = false;
        StopLocked(ToGrpcStatus(parsed));
        return;
      }
      if (!pending_ids_.insert(id).second) {
        AnswerLocked(id,
                     absl::InvalidArgumentError(absl::StrCat(
                         "correlation_id ", id,
                         " is already unanswered in this session; give "
                         "each pending append its own")),
                     nullptr);
        reading_ = false;
        ResumeLocked();
        return;
      }
      ++pending_;
      pending_bytes_ += bytes;
    }
    // Outside the lock: a refusal may answer before Append returns.
    auto response = std::make_shared<pb::AppendResponse>();
    std::weak_ptr<Handle> weak = handle_;
    append_(request.append(), response.get(),
            [weak, id, bytes, response](absl::Status st) {
              std::shared_ptr<Handle> h = weak.lock();
              if (!h) return;
              absl::MutexLock l(&h->mu);
              if (h->reactor != nullptr) {
                h->reactor->CompleteLocked(id, bytes, st, response.get());
              }
            });
    absl::MutexLock l(&handle_->mu);
    reading_ = false;
    ResumeLocked();
    MaybeFinishLocked();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock l(&handle_->mu);
    writing_ = false;
    wire_.Clear();
    if (!ok) {
      EndLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                             "the append session's stream broke"));
      return;
    }
    WriteLocked();  // on a gRPC thread: serialise here
    MaybeFinishLocked();
  }

 private:
  // Stops reading after a bad message or a lost standing: what was taken
  // is answered, then the call ends with `status`.
  void StopLocked(const grpc::Status& status) {
    read_closed_ = true;
    end_status_ = status;
    MaybeFinishLocked();
  }

  void CompleteLocked(uint64_t id, size_t bytes, const absl::Status& st,
                      pb::AppendResponse* response) {
    --pending_;
    pending_bytes_ -= bytes;
    pending_ids_.erase(id);
    AnswerLocked(id, st, st.ok() ? response : nullptr);
    ResumeLocked();
    MaybeFinishLocked();
  }

  void AnswerLocked(uint64_t id, const absl::Status& st,
                    pb::AppendResponse* response) {
    pb::AppendOutcome& o = answers_.emplace_back();
    o.set_correlation_id(id);
    o.set_code(static_cast<int32_t>(st.code()));
    o.set_message(std::string(st.message()));
    if (response != nullptr) o.mutable_result()->Swap(response);
    if (writing_ || finished_) return;
    // The first answer of a burst: written from the dispatcher, not from
    // the thread that completed the append (the store's writer).
    writing_ = true;
    std::weak_ptr<Handle> weak = handle_;
    dispatcher_->Post([weak] {
      std::shared_ptr<Handle> h = weak.lock();
      if (!h) return;
      absl::MutexLock l(&h->mu);
      if (h->reactor == nullptr) return;
      h->reactor->writing_ = false;
      h->reactor->WriteLocked();
      h->reactor->MaybeFinishLocked();
    });
  }

  void WriteLocked() {
    if (writing_ || finished_ || answers_.empty()) return;
    pb::AppendSessionResponse out;
    const size_t n = std::min(answers_.size(), kMaxSessionAnswersPerMessage);
    out.mutable_outcomes()->Reserve(static_cast<int>(n));
    for (size_t i = 0; i < n; ++i) {
      out.add_outcomes()->Swap(&answers_.front());
      answers_.pop_front();
    }
    SerializeResponse(out, &wire_);
    writing_ = true;
    StartWrite(&wire_);
  }

  // Reads the next append when there is room for it.
  void ResumeLocked() {
    if (reading_ || read_closed_ || finished_ ||
        pending_ >= kMaxSessionPending ||
        pending_bytes_ >= kMaxSessionPendingBytes) {
      return;
    }
    reading_ = true;
    StartRead(&in_);
  }

  void MaybeFinishLocked() {
    if (finished_ || !read_closed_ || reading_ || pending_ > 0 || writing_ ||
        !answers_.empty()) {
      return;
    }
    EndLocked(end_status_);
  }

  WorkerPool* const dispatcher_;
  std::function<absl::Status()> standing_;
  AppendFn append_;
  // All guarded by handle_->mu.
  grpc::ByteBuffer in_;
  grpc::ByteBuffer wire_;
  bool reading_ = false;
  bool read_closed_ = false;
  bool writing_ = false;
  grpc::Status end_status_;
  size_t pending_ = 0;
  size_t pending_bytes_ = 0;
  absl::flat_hash_set<uint64_t> pending_ids_;
  std::deque<pb::AppendOutcome> answers_;
};

struct SessionRegistry {
  absl::Mutex mu;
  absl::flat_hash_set<std::shared_ptr<AppendSessionReactor::Handle>> open
      ABSL_GUARDED_BY(mu);
  bool closed ABSL_GUARDED_BY(mu) = false;
};

struct SubscriptionRegistry {
  absl::Mutex mu;
  absl::flat_hash_set<std::shared_ptr<SubscribeReactor::Handle>> open
      ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::string, int> per_principal ABSL_GUARDED_BY(mu);
  bool closed ABSL_GUARDED_BY(mu) = false;
  // The sweeper: wakes every kStandingSweep until closed.
  absl::CondVar wake;
  std::thread sweeper;
};

// The open append sessions (of one principal; all when empty); `close`
// refuses new ones from now on.
std::vector<std::shared_ptr<AppendSessionReactor::Handle>> OpenSessions(
    SessionRegistry* reg, const std::string& principal_id, bool close = false) {
  std::vector<std::shared_ptr<AppendSessionReactor::Handle>> out;
  absl::MutexLock l(&reg->mu);
  if (close) reg->closed = true;
  for (const auto& h : reg->open) {
    if (principal_id.empty() || h->principal.id == principal_id) {
      out.push_back(h);
    }
  }
  return out;
}


EventStoreService::EventStoreService(es::EventStore* store, es::Limits limits,
                                     const Gate* gate, Scope scope)
    : store_(store),
      limits_(limits),
      gate_(gate),
      scope_(std::move(scope)),
      // One thread, so that wake-ups from the event store's writer never
      // do reads on the writer thread or block a gRPC thread.
      dispatcher_(std::make_unique<WorkerPool>(1)),
      subscriptions_(std::make_unique<SubscriptionRegistry>()),
      sessions_(std::make_unique<SessionRegistry>()) {
  subscriptions_->sweeper = std::thread([this] { SweepStanding(); });
}

EventStoreService::~EventStoreService() { Shutdown(); }

void EventStoreService::SweepStanding() {
  SubscriptionRegistry& reg = *subscriptions_;
  for (;;) {
    std::vector<std::shared_ptr<SubscribeReactor::Handle>> open;
    {
      absl::MutexLock l(&reg.mu);
      if (reg.closed) return;
      reg.wake.WaitWithTimeout(&reg.mu, kStandingSweep);
      if (reg.closed) return;
      open.assign(reg.open.begin(), reg.open.end());
    }
    // Each principal once per sweep; outside the registry's lock, since
    // the check may read the log.
    absl::flat_hash_map<std::string, absl::Status> standing;
    for (const auto& h : open) {
      auto [it, fresh] = standing.try_emplace(h->principal.id);
      if (fresh) it->second = gate_->CheckStanding(h->principal);
      if (!it->second.ok()) EndCall(h, ToGrpcStatus(it->second));
    }
  }
}

void EventStoreService::EndSubscriptionsOf(const std::string& principal_id) {
  SubscriptionRegistry& reg = *subscriptions_;
  std::vector<std::shared_ptr<SubscribeReactor::Handle>> theirs;
  {
    absl::MutexLock l(&reg.mu);
    for (const auto& h : reg.open) {
      if (h->principal.id == principal_id) theirs.push_back(h);
    }
  }
  const grpc::Status revoked(
      grpc::StatusCode::UNAUTHENTICATED,
      absl::StrCat("principal \"", principal_id, "\" was revoked"));
  for (auto& h : theirs) EndCall(h, revoked);
  for (auto& h : OpenSessions(sessions_.get(), principal_id)) {
    EndCall(h, revoked);
  }
}


void EventStoreService::Shutdown() {
  SubscriptionRegistry& reg = *subscriptions_;
  std::vector<std::shared_ptr<SubscribeReactor::Handle>> open;
  {
    absl::MutexLock l(&reg.mu);
    reg.closed = true;
    reg.wake.SignalAll();
    open.assign(reg.open.begin(), reg.open.end());
  }
  if (reg.sweeper.joinable()) reg.sweeper.join();
  for (auto& h : open) {
    EndCall(h, grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "the server is shutting down; resubscribe "
                              "after your checkpoint"));
  }
  for (auto& h : OpenSessions(sessions_.get(), "", /*close=*/true)) {
    EndCall(h, grpc::Status(grpc::StatusCode::UNAVAILABLE,
                               "the server is shutting down; send the "
                               "unanswered appends again, with the same "
                               "event ids, to a running server"));
  }
}

namespace {

absl::string_view CategoryOf(absl::string_view stream_or_prefix) {
  const size_t dash = stream_or_prefix.find('-');
  return dash == absl::string_view::npos ? absl::string_view()
                                         : stream_or_prefix.substr(0, dash);
}

}  // namespace

template <typename Req, typename Resp, typename Fn>
grpc::ServerUnaryReactor* EventStoreService::Serve(
    grpc::CallbackServerContext* ctx, const char* method,
    const grpc::ByteBuffer* request, grpc::ByteBuffer* response, Fn fn) {
  absl::StatusOr<Admission> a = gate_->Admit(ctx, method);
  if (!a.ok()) {
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(ToGrpcStatus(a.status()));
    return reactor;
  }
  return RawUnary<Req, Resp>(
      ctx, request, response,
      [this, method, fn, a = std::move(*a)](const Req& req, Resp* resp,
                                            Done done) {
        if (absl::Status standing = gate_->CheckStanding(a.principal);
            !standing.ok()) {
          gate_->LogRefusal(a.principal, method, standing, Refusal::kStanding);
          return done(standing);
        }
        if (a.scoped) {
          absl::Status s = CheckScope(req);
          if (!s.ok()) {
            gate_->LogRefusal(a.principal, method, s, Refusal::kScope);
            return done(s);
          }
        }
        fn(a, req, resp, std::move(done));
      });
}

absl::Status EventStoreService::CheckReadable(
    absl::string_view stream_or_prefix) const {
  const absl::string_view category = CategoryOf(stream_or_prefix);
  for (const std::string& c : scope_.readable_categories) {
    if (!category.empty() && category == c) return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "\"", stream_or_prefix, "\" is not in a category this principal may "
      "read (", absl::StrJoin(scope_.readable_categories, ", "),
      "); name a stream or prefix such as \"resolution-\""));
}

absl::Status EventStoreService::CheckScopedPrefixes(const pb::Filter& f) const {
  if (f.stream_prefixes().empty()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "this principal reads only some categories of the log: filter by "
        "stream prefix (",
        absl::StrJoin(scope_.readable_categories, "-, "), "-)"));
  }
  for (const std::string& p : f.stream_prefixes()) {
    NCM_RETURN_IF_ERROR(CheckReadable(p));
  }
  return absl::OkStatus();
}

absl::Status EventStoreService::CheckScope(const pb::ReadStreamRequest& r) const {
  return CheckReadable(r.stream_id());
}
absl::Status EventStoreService::CheckScope(
    const pb::GetStreamInfoRequest& r) const {
  return CheckReadable(r.stream_id());
}
absl::Status EventStoreService::CheckScope(const pb::ReadAllRequest& r) const {
  return CheckScopedPrefixes(r.filter());
}
absl::Status EventStoreService::CheckScope(const pb::SubscribeRequest& r) const {
  return CheckScopedPrefixes(r.filter());
}
absl::Status EventStoreService::CheckScope(const pb::AppendRequest&) const {
  return absl::PermissionDeniedError("appends have no scoped form");
}
absl::Status EventStoreService::CheckScope(const pb::VerifyChainRequest&) const {
  return absl::PermissionDeniedError("verification has no scoped form");
}

void EventStoreService::DoAppend(const Admission& a,
                                 const pb::AppendRequest& request,
                                 pb::AppendResponse* response, Done done) {
  for (const auto& w : request.streams()) {
    const absl::string_view category = CategoryOf(w.stream_id());
    for (const std::string& reserved : scope_.reserved_categories) {
      if (category == reserved) {
        return done(absl::PermissionDeniedError(absl::StrCat(
            "stream \"", w.stream_id(), "\" is in the ", reserved,
            " category, which only its own service writes")));
      }
    }
  }
  auto req = FromProto(request);
  if (!req.ok()) return done(req.status());
  req->actor = a.principal.id;
  store_->AppendAsync(std::move(*req), [response, done = std::move(done)](
                                           absl::StatusOr<es::AppendResult> r) {
    if (r.ok()) ToProto(*r, response);
    done(r.status());
  });
}

absl::Status EventStoreService::DoReadStream(const pb::ReadStreamRequest& request,
                                             pb::ReadStreamResponse* response) {
  es::ReadStreamOptions o;
  o.stream_id = request.stream_id();
  o.from_revision = request.from_end() ? es::kEndRevision
                                        : request.from_revision();
  o.direction = request.direction() == pb::BACKWARD ? es::Direction::kBackward
                                                     : es::Direction::kForward;
  if (request.direction() != pb::FORWARD &&
      request.direction() != pb::BACKWARD) {
    return (absl::InvalidArgumentError(
                             "direction must be FORWARD or BACKWARD"));
  }
  o.max_count = request.max_count();
  o.max_bytes = limits_.max_read_bytes;
  auto r = store_->ReadStream(o);
  if (!r.ok()) return (r.status());
  for (const auto& e : r->events) ToProto(e, response->add_events());
  response->set_last_revision(r->last_revision);
  response->set_end_of_stream(r->end_of_stream);
  return (absl::OkStatus());
}

absl::Status EventStoreService::DoReadAll(const pb::ReadAllRequest& request,
                                          pb::ReadAllResponse* response) {
  es::ReadAllOptions o;
  if (request.direction() != pb::FORWARD &&
      request.direction() != pb::BACKWARD) {
    return (absl::InvalidArgumentError(
                             "direction must be FORWARD or BACKWARD"));
  }
  o.direction = request.direction() == pb::BACKWARD ? es::Direction::kBackward
                                                     : es::Direction::kForward;
  o.from_position = request.from_end() ? es::kEndPosition
                                        : request.from_position();
  o.max_count = request.max_count();
  auto filter = FromProto(request.filter(), limits_);
  if (!filter.ok()) return (filter.status());
  o.filter = std::move(*filter);
  o.max_scan = 100000;
  o.max_bytes = limits_.max_read_bytes;
  if (request.raw()) {
    auto raw = store_->ReadAllRaw(o);
    if (!raw.ok()) return (raw.status());
    response->set_raw_records(std::move(raw->frames));
    response->set_raw_count(static_cast<uint32_t>(raw->count));
    response->set_next_position(raw->next_position);
    response->set_end_of_log(raw->end_of_log);
    response->set_head_position(raw->head_position);
    return (absl::OkStatus());
  }
  auto r = store_->ReadAll(o);
  if (!r.ok()) return (r.status());
  response->mutable_events()->Reserve(static_cast<int>(r->events.size()));
  for (const auto& e : r->events) ToProto(e, response->add_events());
  response->set_next_position(r->next_position);
  response->set_end_of_log(r->end_of_log);
  response->set_head_position(r->head_position);
  return (absl::OkStatus());
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* EventStoreService::Subscribe(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* raw_request) {
  auto refuse = [](const absl::Status& s) {
    class Refused final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
     public:
      explicit Refused(const absl::Status& s) { Finish(ToGrpcStatus(s)); }
      void OnDone() override { delete this; }
    };
    return new Refused(s);
  };
  constexpr char kMethod[] = "/ncm.eventstore.v1.EventStore/Subscribe";
  absl::StatusOr<Admission> admitted = gate_->Admit(ctx, kMethod);
  if (!admitted.ok()) return refuse(admitted.status());
  pb::SubscribeRequest parsed;
  absl::Status valid = ParseRequest(*raw_request, &parsed);
  if (!valid.ok()) return refuse(valid);
  if (absl::Status standing = gate_->CheckStanding(admitted->principal);
      !standing.ok()) {
    gate_->LogRefusal(admitted->principal, kMethod, standing, Refusal::kStanding);
    return refuse(standing);
  }
  if (admitted->scoped) {
    absl::Status in_scope = CheckScope(parsed);
    if (!in_scope.ok()) {
      gate_->LogRefusal(admitted->principal, kMethod, in_scope, Refusal::kScope);
      return refuse(in_scope);
    }
  }
  const pb::SubscribeRequest* request = &parsed;
  es::SubscriptionOptions o;
  o.from_end = request->start_case() == pb::SubscribeRequest::kFromEnd &&
               request->from_end();
  o.after_position = request->after_position();
  uint32_t batch = request->max_batch();
  if (batch == 0) batch = kDefaultSubscribeBatch;
  if (batch > kMaxSubscribeBatch) {
    return refuse(absl::InvalidArgumentError(
        absl::StrCat("max_batch ", batch, " exceeds the limit of ",
                     kMaxSubscribeBatch, " events per message")));
  }
  o.max_batch = batch;
  o.max_batch_bytes = limits_.max_read_bytes;
  auto filter = FromProto(request->filter(), limits_);
  if (!filter.ok()) return refuse(filter.status());
  o.filter = std::move(*filter);
  if (!o.from_end) {
    const uint64_t head = store_->HeadPosition();
    if (o.after_position > head) {
      return refuse(absl::OutOfRangeError(absl::StrCat(
          "after_position ", o.after_position, " is beyond the head at ", head,
          "; subscribe from a position already written, or from the end")));
    }
  }
  SubscriptionRegistry& reg = *subscriptions_;
  // Admission and shutdown take the same lock, so a subscription either
  // is refused or is seen (and ended) by Shutdown.
  return new SubscribeReactor(
      store_, std::move(o), dispatcher_.get(),
      [&reg, principal = admitted->principal](
          std::shared_ptr<SubscribeReactor::Handle> h,
          bool add) -> absl::Status {
        absl::MutexLock l(&reg.mu);
        if (!add) {
          if (reg.open.erase(h) > 0 &&
              --reg.per_principal[principal.id] == 0) {
            reg.per_principal.erase(principal.id);
          }
          return absl::OkStatus();
        }
        h->principal = principal;
        if (reg.closed) {
          return absl::UnavailableError("the server is shutting down");
        }
        if (reg.open.size() >= kMaxSubscriptions) {
          return absl::ResourceExhaustedError(absl::StrCat(
              "the server already serves ", kMaxSubscriptions,
              " subscriptions, its limit; close one or retry later"));
        }
        int& mine = reg.per_principal[principal.id];
        if (mine >= kMaxSubscriptionsPerPrincipal) {
          return absl::ResourceExhaustedError(absl::StrCat(
              "principal \"", principal.id, "\" already has ", mine,
              " open subscriptions, the limit per principal (",
              kMaxSubscriptionsPerPrincipal, "); close one first"));
        }
        ++mine;
        reg.open.insert(std::move(h));
        return absl::OkStatus();
      },
      [gate = gate_, principal = admitted->principal] {
        return gate->CheckStanding(principal);
      });
}

absl::Status EventStoreService::DoGetStreamInfo(const pb::GetStreamInfoRequest& request,
                                                pb::StreamInfo* response) {
  auto r = store_->GetStreamInfo(request.stream_id());
  if (!r.ok()) return (r.status());
  response->set_stream_id(r->stream_id);
  response->set_last_revision(r->last_revision);
  response->set_event_count(r->event_count);
  response->set_first_position(r->first_position);
  response->set_last_position(r->last_position);
  ToProto(r->last_recorded_at, response->mutable_last_recorded_at());
  return (absl::OkStatus());
}

absl::Status EventStoreService::DoVerifyChain(const pb::VerifyChainRequest& request,
                                              pb::VerifyChainResponse* response) {
  auto r = store_->VerifyChain(request.from_position(),
                               request.to_position());
  if (!r.ok()) return (r.status());
  response->set_ok(r->ok);
  response->set_from_position(r->from_position);
  response->set_to_position(r->to_position);
  response->set_verified_count(r->verified_count);
  response->set_first_bad_position(r->first_bad_position);
  response->set_reason(r->reason);
  if (r->ok) response->set_head_hash(HashBytes(r->head_hash));
  return (absl::OkStatus());
}

grpc::ServerUnaryReactor* EventStoreService::Append(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve<pb::AppendRequest, pb::AppendResponse>(
      ctx, "/ncm.eventstore.v1.EventStore/Append", request, response,
      [this](const Admission& a, const auto& req, auto* resp, Done done) {
        DoAppend(a, req, resp, std::move(done));
      });
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>*
EventStoreService::AppendSession(grpc::CallbackServerContext* ctx) {
  using Reactor = grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>;
  constexpr char kMethod[] = "/ncm.eventstore.v1.EventStore/AppendSession";
  absl::StatusOr<Admission> admitted = gate_->Admit(ctx, kMethod);
  if (admitted.ok()) {
    absl::Status standing = gate_->CheckStanding(admitted->principal);
    if (!standing.ok()) {
      gate_->LogRefusal(admitted->principal, kMethod, standing, Refusal::kStanding);
      admitted = standing;
    }
  }
  if (!admitted.ok()) {
    class Refused final : public Reactor {
     public:
      explicit Refused(const absl::Status& s) { Finish(ToGrpcStatus(s)); }
      void OnDone() override { delete this; }
    };
    return new Refused(admitted.status());
  }
  SessionRegistry& reg = *sessions_;
  const Admission a = std::move(*admitted);
  return new AppendSessionReactor(
      dispatcher_.get(),
      [&reg, principal = a.principal](
          std::shared_ptr<AppendSessionReactor::Handle> h,
          bool add) -> absl::Status {
        absl::MutexLock l(&reg.mu);
        if (!add) {
          reg.open.erase(h);
          return absl::OkStatus();
        }
        h->principal = principal;
        if (reg.closed) {
          return absl::UnavailableError("the server is shutting down");
        }
        if (reg.open.size() >= kMaxSessions) {
          return absl::ResourceExhaustedError(absl::StrCat(
              "the server already serves ", kMaxSessions,
              " append sessions, its limit; close one or retry later"));
        }
        reg.open.insert(std::move(h));
        return absl::OkStatus();
      },
      [this, a, kMethod] {
        absl::Status s = gate_->CheckStanding(a.principal);
        if (!s.ok()) gate_->LogRefusal(a.principal, kMethod, s, Refusal::kStanding);
        return s;
      },
      [this, a](const pb::AppendRequest& request, pb::AppendResponse* response,
                Done done) { DoAppend(a, request, response, std::move(done)); });
}

grpc::ServerUnaryReactor* EventStoreService::ReadStream(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve<pb::ReadStreamRequest, pb::ReadStreamResponse>(
      ctx, "/ncm.eventstore.v1.EventStore/ReadStream", request, response,
      [this](const Admission&, const auto& req, auto* resp, Done done) {
        done(DoReadStream(req, resp));
      });
}

grpc::ServerUnaryReactor* EventStoreService::ReadAll(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve<pb::ReadAllRequest, pb::ReadAllResponse>(
      ctx, "/ncm.eventstore.v1.EventStore/ReadAll", request, response,
      [this](const Admission&, const auto& req, auto* resp, Done done) {
        done(DoReadAll(req, resp));
      });
}

grpc::ServerUnaryReactor* EventStoreService::GetStreamInfo(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve<pb::GetStreamInfoRequest, pb::StreamInfo>(
      ctx, "/ncm.eventstore.v1.EventStore/GetStreamInfo", request, response,
      [this](const Admission&, const auto& req, auto* resp, Done done) {
        done(DoGetStreamInfo(req, resp));
      });
}

grpc::ServerUnaryReactor* EventStoreService::VerifyChain(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve<pb::VerifyChainRequest, pb::VerifyChainResponse>(
      ctx, "/ncm.eventstore.v1.EventStore/VerifyChain", request, response,
      [this](const Admission&, const auto& req, auto* resp, Done done) {
        done(DoVerifyChain(req, resp));
      });
}

size_t EventStoreService::open_subscriptions() const {
  absl::MutexLock l(&subscriptions_->mu);
  return subscriptions_->open.size();
}

size_t EventStoreService::open_append_sessions() const {
  absl::MutexLock l(&sessions_->mu);
  return sessions_->open.size();
}

}  // namespace ncm::services
