#include "ncm/bus/publisher.h"

#include <algorithm>
#include <deque>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "record_codec.h"

namespace ncm::bus {
namespace es = ::ncm::eventstore;
namespace codec = ::ncm::eventstore::codec;

const char* BusStateName(BusState s) {
  switch (s) {
    case BusState::kConnecting:
      return "CONNECTING";
    case BusState::kBrokerUnavailable:
      return "BROKER_UNAVAILABLE";
    case BusState::kMisconfigured:
      return "MISCONFIGURED";
    case BusState::kDiverged:
      return "DIVERGED";
    case BusState::kCatchingUp:
      return "CATCHING_UP";
    case BusState::kLive:
      return "LIVE";
    case BusState::kStopped:
      return "STOPPED";
  }
  return "?";
}

const char* LogLevelOf(BusState s) {
  switch (s) {
    case BusState::kDiverged:
    case BusState::kMisconfigured:
      return "error";
    case BusState::kBrokerUnavailable:
      return "warn";
    default:
      return "info";
  }
}

std::string StateChangeFields(absl::string_view who, BusState state,
                              absl::string_view positions,
                              absl::string_view detail) {
  return absl::StrCat("msg=\"", who, " ", BusStateName(state), "\" ", positions,
                      detail.empty() ? "" : " reason=",
                      detail.empty() ? "" : QuoteForLog(detail));
}

namespace {

constexpr size_t kLatencySamples = 4096;
constexpr size_t kMaxCommitMarks = 1 << 16;

class PublisherImpl final : public Publisher {
 public:
  PublisherImpl(es::EventStore* store, PublisherOptions options)
      : store_(store), options_(std::move(options)) {}

  ~PublisherImpl() override { Stop(); }

  void Begin() {
    listener_ = store_->AddCommitListener([this](uint64_t head) {
      absl::MutexLock l(&mu_);
      if (marks_.size() >= kMaxCommitMarks) marks_.pop_front();
      marks_.push_back({head, absl::Now()});
      MeasureLocked();
      wake_ = true;
    });
    thread_ = std::thread([this] { Run(); });
  }

  PublisherStatus Status() const override {
    absl::MutexLock l(&mu_);
    PublisherStatus s = status_;
    s.head_position = store_->HeadPosition();
    s.acked_position = acked_;
    s.lag = s.head_position > acked_ ? s.head_position - acked_ : 0;
    s.stream = options_.broker.stream;
    if (!latencies_.empty()) {
      std::vector<double> v(latencies_.begin(), latencies_.end());
      auto pct = [&v](double q) {
        const size_t i = std::min(v.size() - 1,
                                  static_cast<size_t>(q * (v.size() - 1) + 0.5));
        std::nth_element(v.begin(), v.begin() + i, v.end());
        return v[i];
      };
      s.commit_to_ack_p50_ms = pct(0.50);
      s.commit_to_ack_p99_ms = pct(0.99);
    }
    s.latency_samples = latency_count_;
    return s;
  }

  void Stop() override {
    {
      absl::MutexLock l(&mu_);
      if (stopping_) return;
      stopping_ = true;
      wake_ = true;
    }
    store_->RemoveCommitListener(listener_);
    if (thread_.joinable()) thread_.join();
    broker_.reset();
    absl::MutexLock l(&mu_);
    ChangeState(&status_, BusState::kStopped, "");
  }

 private:
  struct Mark {
    uint64_t head;
    absl::Time at;
  };

  void Log(absl::string_view level, const std::string& fields) {
    if (options_.log) options_.log(level, fields);
  }

  void SetState(BusState state, const std::string& detail) {
    const bool changed = ChangeStateAndLog(
        &mu_, &status_, state, detail, options_.log, "bus publisher", [&] {
          return absl::StrCat("stream=", options_.broker.stream,
                              " acked_position=", Acked(),
                              " head_position=", store_->HeadPosition());
        });
    if (changed && options_.on_state) options_.on_state(state, detail);
  }

  uint64_t Acked() const {
    absl::MutexLock l(&mu_);
    return acked_;
  }

  // Latency of every commit whose last event the broker now holds.
  void MeasureLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const absl::Time now = absl::Now();
    while (!marks_.empty() && marks_.front().head <= acked_) {
      if (latencies_.size() >= kLatencySamples) latencies_.pop_front();
      latencies_.push_back(absl::ToDoubleMilliseconds(now - marks_.front().at));
      ++latency_count_;
      marks_.pop_front();
    }
  }

  void OnAck(uint64_t position, uint64_t sequence, bool duplicate,
             const absl::Status& st) {
    absl::MutexLock l(&mu_);
    if (!st.ok()) {
      wake_ = true;
      if (!resync_) {
        resync_ = true;
        first_error_ = absl::StrCat("publish of position ", position,
                                    " refused: ", st.message());
      }
      return;
    }
    if (sequence != position) {
      wake_ = true;
      resync_ = true;
      first_error_ = absl::StrCat("the broker stored position ", position,
                                  " as sequence ", sequence);
      return;
    }
    if (position > acked_) {
      acked_ = position;
      ++status_.published;
      (void)duplicate;  // the same bytes were already there: a success
      MeasureLocked();
    }
    // The publisher thread sleeps until a commit, not on every answer:
    // only a full window waits for answers (a wake per answer would read
    // the log once per event).
    if (wake_at_ != 0 && acked_ >= wake_at_) {
      wake_at_ = 0;
      wake_ = true;
    }
  }

  // Waits for a wake-up (commit, answer, connection event, stop) or the
  // timeout. False when stopping.
  bool Sleep(absl::Duration d) {
    absl::MutexLock l(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&wake_), d);
    wake_ = false;
    return !stopping_;
  }

  bool Stopping() const {
    absl::MutexLock l(&mu_);
    return stopping_;
  }

  // Connects, checks the servers' message size and the stream.
  absl::Status Setup() {
    if (broker_ == nullptr) {
      BrokerCallbacks cb;
      cb.disconnected = [this] {
        absl::MutexLock l(&mu_);
        disconnected_ = true;
        wake_ = true;
      };
      cb.reconnected = [this] {
        absl::MutexLock l(&mu_);
        disconnected_ = false;
        resync_ = true;
        if (first_error_.empty()) first_error_ = "reconnected";
        wake_ = true;
      };
      cb.error = [this](const std::string& e) {
        Log("warn", absl::StrCat("msg=\"NATS client error\" reason=", QuoteForLog(e)));
      };
      cb.ack = [this](uint64_t p, uint64_t s, bool d, const absl::Status& st) {
        OnAck(p, s, d, st);
      };
      absl::StatusOr<std::unique_ptr<Broker>> b =
          Broker::Connect(options_.broker, std::move(cb));
      if (!b.ok()) return b.status();
      broker_ = std::move(*b);
      {
        absl::MutexLock l(&mu_);
        disconnected_ = false;
      }
    }
    const size_t need = LargestMessage(options_.limits);
    if (broker_->MaxPayload() < static_cast<int64_t>(need)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the NATS servers accept messages of at most ", broker_->MaxPayload(),
          " bytes, and an event can take ", need,
          ": set max_payload: 8MB in every nats-server's configuration"));
    }
    return broker_->EnsureStream(options_.limits);
  }

  // Reads the stream's state and checks it against the log. On success,
  // publishing resumes after the stream's last sequence.
  absl::Status Resync() {
    broker_->AbandonPending();
    {
      absl::MutexLock l(&mu_);
      resync_ = false;
      first_error_.clear();
      ++status_.resyncs;
    }
    absl::StatusOr<StreamState> st = broker_->State();
    if (!st.ok()) {
      if (absl::IsNotFound(st.status())) {
        need_setup_ = true;  // someone removed it: create it again
      }
      return st.status();
    }
    const uint64_t head = store_->HeadPosition();
    if (st->last_seq > head) {
      return absl::DataLossError(absl::StrCat(
          "the stream holds ", st->last_seq, " messages and this log only ",
          head, " events: it was written by another log (or this log was "
          "restored from an older copy)"));
    }
    if (st->last_seq > 0) {
      if (st->first_seq != 1 || st->messages != st->last_seq ||
          st->deleted != 0) {
        return absl::DataLossError(absl::StrCat(
            "the stream has holes: sequences ", st->first_seq, "..",
            st->last_seq, " hold ", st->messages, " messages"));
      }
      absl::StatusOr<StoredMessage> m = broker_->Get(st->last_seq);
      if (!m.ok()) return m.status();
      es::ReadAllOptions o;
      o.from_position = st->last_seq;
      o.max_count = 1;
      absl::StatusOr<es::ReadAllRawResult> r = store_->ReadAllRaw(o);
      if (!r.ok()) return r.status();
      absl::string_view frames = r->frames, value;
      if (!codec::NextFrame(&frames, &value)) {
        return absl::InternalError(absl::StrCat(
            "cannot read position ", st->last_seq, " from the log"));
      }
      if (value != m->data) {
        return absl::DataLossError(absl::StrCat(
            "the stream's message ", st->last_seq,
            " is not this log's event at that position (the bytes differ): "
            "the stream was written by someone else"));
      }
    }
    absl::MutexLock l(&mu_);
    if (st->last_seq < acked_) {
      // The stream was removed and made again: publish it all again.
      Log("warn", absl::StrCat("msg=\"bus stream went back; republishing\" "
                               "from_sequence=",
                               acked_, " to_sequence=", st->last_seq));
    }
    acked_ = st->last_seq;
    wake_at_ = 0;
    next_ = st->last_seq + 1;
    in_flight_bytes_.clear();
    MeasureLocked();
    return absl::OkStatus();
  }

  // Publishes what fits in the window. False when nothing could be sent.
  bool PublishSome() {
    uint64_t acked;
    {
      absl::MutexLock l(&mu_);
      acked = acked_;
      while (!in_flight_bytes_.empty() && in_flight_bytes_.front().first <= acked) {
        window_bytes_used_ -= in_flight_bytes_.front().second;
        in_flight_bytes_.pop_front();
      }
    }
    const uint64_t head = store_->HeadPosition();
    if (next_ > head) return false;
    const uint64_t in_flight = next_ - 1 - std::min(acked, next_ - 1);
    if (in_flight >= options_.window_messages ||
        window_bytes_used_ >= options_.window_bytes) {
      // Sleep until an eighth of the window is answered (or all of what is
      // in flight, when large events fill the window's bytes).
      absl::MutexLock l(&mu_);
      wake_at_ = acked + std::max<uint64_t>(
                             1, std::min<uint64_t>(in_flight,
                                                   options_.window_messages / 8));
      if (acked_ >= wake_at_) {  // answered meanwhile
        wake_at_ = 0;
        wake_ = true;
      }
      return false;
    }
    es::ReadAllOptions o;
    o.from_position = next_;
    o.max_count = std::min<uint64_t>(
        {options_.window_messages - in_flight, 1000, head - next_ + 1});
    o.max_bytes = std::min<size_t>(8 << 20, options_.window_bytes);
    absl::StatusOr<es::ReadAllRawResult> r = store_->ReadAllRaw(o);
    if (!r.ok()) {
      Log("error", absl::StrCat("msg=\"bus publisher cannot read the log\" "
                                "reason=",
                                QuoteForLog(r.status().message())));
      return false;
    }
    absl::string_view frames = r->frames, value;
    bool sent = false;
    while (codec::NextFrame(&frames, &value)) {
      absl::StatusOr<uint64_t> p = codec::PeekPosition(value);
      if (!p.ok() || *p != next_) {
        Log("error", absl::StrCat("msg=\"bus publisher read an unexpected "
                                  "record\" expected_position=",
                                  next_));
        return sent;
      }
      absl::StatusOr<MsgPtr> m = MessageFor(options_.broker, value);
      absl::Status st = m.ok() ? broker_->PublishAsync(std::move(*m)) : m.status();
      if (!st.ok()) {
        absl::MutexLock l(&mu_);
        if (!resync_) {
          resync_ = true;
          first_error_ = absl::StrCat("publish of position ", next_,
                                      " failed: ", st.message());
        }
        return sent;
      }
      in_flight_bytes_.push_back({next_, value.size()});
      window_bytes_used_ += value.size();
      ++next_;
      sent = true;
    }
    return sent;
  }

  void Run() {
    absl::Duration backoff = absl::Milliseconds(100);
    absl::Time last_progress = absl::Now();
    uint64_t last_acked = 0;
    while (!Stopping()) {
      if (need_setup_) {
        absl::Status st = Setup();
        if (!st.ok()) {
          SetState(absl::IsFailedPrecondition(st) ? BusState::kMisconfigured
                                                  : BusState::kBrokerUnavailable,
                   std::string(st.message()));
          if (!Sleep(absl::IsFailedPrecondition(st) ? absl::Seconds(5)
                                                    : backoff)) {
            break;
          }
          backoff = std::min(backoff * 2, absl::Seconds(2));
          continue;
        }
        need_setup_ = false;
        need_resync_ = true;
      }
      bool resync, disconnected;
      std::string why;
      {
        absl::MutexLock l(&mu_);
        resync = resync_;
        disconnected = disconnected_;
        why = first_error_;
      }
      if (disconnected) {
        SetState(BusState::kBrokerUnavailable,
                 "disconnected from the NATS servers; reconnecting");
        Sleep(absl::Seconds(1));
        continue;
      }
      if (resync || need_resync_) {
        if (!why.empty() && why != "reconnected") {
          Log("warn", absl::StrCat("msg=\"bus publisher resynchronising\" "
                                   "reason=",
                                   QuoteForLog(why)));
        }
        absl::Status st = Resync();
        if (!st.ok()) {
          const bool diverged = absl::IsDataLoss(st);
          SetState(diverged ? BusState::kDiverged : BusState::kBrokerUnavailable,
                   std::string(st.message()));
          if (!Sleep(diverged ? absl::Seconds(5) : backoff)) break;
          backoff = std::min(backoff * 2, absl::Seconds(2));
          absl::MutexLock l(&mu_);
          resync_ = true;  // the cause is still there
          continue;
        }
        need_resync_ = false;
        backoff = absl::Milliseconds(100);
        last_progress = absl::Now();
        {
          absl::MutexLock l(&mu_);
          status_.server = broker_->ConnectedUrl();
        }
      }
      {
        absl::MutexLock l(&mu_);
        // Nothing in flight: the wait for an answer starts with the next
        // publish.
        if (acked_ + 1 >= next_) last_progress = absl::Now();
      }
      const bool sent = PublishSome();
      const uint64_t head = store_->HeadPosition();
      uint64_t acked;
      {
        absl::MutexLock l(&mu_);
        acked = acked_;
      }
      if (acked != last_acked) {
        last_acked = acked;
        last_progress = absl::Now();
      }
      SetState(head - acked > options_.window_messages ? BusState::kCatchingUp
                                                        : BusState::kLive,
               "");
      if (acked < next_ - 1 &&
          absl::Now() - last_progress >
              options_.broker.request_timeout + absl::Seconds(1)) {
        // In flight and unanswered for longer than an answer may take.
        absl::MutexLock l(&mu_);
        if (!resync_) {
          resync_ = true;
          first_error_ = absl::StrCat("no answer for position ", acked + 1);
        }
        continue;
      }
      if (!sent && !Sleep(absl::Milliseconds(250))) break;
    }
  }

  es::EventStore* const store_;
  const PublisherOptions options_;
  uint64_t listener_ = 0;
  std::thread thread_;
  std::unique_ptr<Broker> broker_;  // the publisher thread's
  // The publisher thread's own.
  bool need_setup_ = true;
  bool need_resync_ = true;
  uint64_t next_ = 1;  // the next position to publish
  std::deque<std::pair<uint64_t, size_t>> in_flight_bytes_;
  size_t window_bytes_used_ = 0;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  // With the window full: the acknowledged position that wakes the
  // publisher thread (0: none).
  uint64_t wake_at_ ABSL_GUARDED_BY(mu_) = 0;
  bool resync_ ABSL_GUARDED_BY(mu_) = false;
  bool disconnected_ ABSL_GUARDED_BY(mu_) = false;
  std::string first_error_ ABSL_GUARDED_BY(mu_);
  uint64_t acked_ ABSL_GUARDED_BY(mu_) = 0;
  PublisherStatus status_ ABSL_GUARDED_BY(mu_);
  std::deque<Mark> marks_ ABSL_GUARDED_BY(mu_);
  std::deque<double> latencies_ ABSL_GUARDED_BY(mu_);
  uint64_t latency_count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Publisher>> StartPublisher(
    es::EventStore* store, PublisherOptions options) {
  if (options.broker.urls.empty()) {
    return absl::InvalidArgumentError("--nats_url names no server");
  }
  if (options.broker.replicas < 1 || options.broker.replicas > 5) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--nats_replicas is ", options.broker.replicas, "; give 1 or 3"));
  }
  if (options.broker.stream.empty() || options.broker.subject_prefix.empty()) {
    return absl::InvalidArgumentError(
        "the JetStream stream and subject prefix must be named");
  }
  auto p = std::make_unique<PublisherImpl>(store, std::move(options));
  p->Begin();
  return std::unique_ptr<Publisher>(std::move(p));
}

}  // namespace ncm::bus
