#include "ncm/bus/replica.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "record_codec.h"

namespace ncm::bus {
namespace es = ::ncm::eventstore;
namespace codec = ::ncm::eventstore::codec;

namespace {

class JetStreamMessageSource final : public MessageSource {
 public:
  JetStreamMessageSource(std::unique_ptr<Broker> broker,
                         std::unique_ptr<StreamReader> reader)
      : broker_(std::move(broker)), reader_(std::move(reader)) {}
  ~JetStreamMessageSource() override {
    reader_.reset();
    broker_.reset();
  }
  absl::StatusOr<StoredMessage> Next(absl::Duration timeout) override {
    return reader_->Next(timeout);
  }
  absl::StatusOr<uint64_t> LastSequence() override {
    absl::StatusOr<StreamState> s = broker_->State();
    if (!s.ok()) return s.status();
    return s->last_seq;
  }
  std::string Server() const override { return broker_->ConnectedUrl(); }

 private:
  std::unique_ptr<Broker> broker_;
  std::unique_ptr<StreamReader> reader_;
};


class ReplicaImpl final : public Replica {
 public:
  ReplicaImpl(es::EventStore* copy, ReplicaOptions options)
      : copy_(copy), options_(std::move(options)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~ReplicaImpl() override { Stop(); }

  ReplicaStatus Status() const override {
    absl::MutexLock l(&mu_);
    ReplicaStatus s = status_;
    s.head_position = copy_->HeadPosition();
    s.lag = s.stream_last_seq > s.head_position
                ? s.stream_last_seq - s.head_position
                : 0;
    return s;
  }

  void Stop() override {
    {
      absl::MutexLock l(&mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    if (thread_.joinable()) thread_.join();
    absl::MutexLock l(&mu_);
    ChangeState(&status_, BusState::kStopped, "");
  }

 private:
  void Log(absl::string_view level, const std::string& fields) {
    if (options_.log) options_.log(level, fields);
  }

  void SetState(BusState state, const std::string& detail) {
    ChangeStateAndLog(&mu_, &status_, state, detail, options_.log,
                      "read node copy", [&] {
                        return absl::StrCat("head_position=",
                                            copy_->HeadPosition());
                      });
  }

  bool Stopping() const {
    absl::MutexLock l(&mu_);
    return stopping_;
  }

  void Pause(absl::Duration d) {
    absl::MutexLock l(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), d);
  }

  // Appends what `batch_` holds; false (with the state set) on a refusal.
  bool Flush() {
    if (batch_count_ == 0) return true;
    absl::Status st = copy_->AppendCopied(batch_);
    const size_t n = batch_count_;
    batch_.clear();
    batch_count_ = 0;
    if (!st.ok()) {
      // What was planned no longer holds: start again from the copy's head.
      planned_head_ = copy_->HeadPosition();
      planned_hash_ = copy_->HeadHash();
      SetState(absl::IsDataLoss(st) ? BusState::kDiverged
                                    : BusState::kBrokerUnavailable,
               std::string(st.message()));
      return false;
    }
    {
      absl::MutexLock l(&mu_);
      status_.copied += n;
    }
    if (options_.appended) options_.appended(copy_->HeadPosition());
    return true;
  }

  void Add(absl::string_view value, uint64_t position, const es::Hash& hash) {
    codec::AppendFrame(value, &batch_);
    ++batch_count_;
    planned_head_ = position;
    planned_hash_ = hash;
  }

  // Takes positions [from, to] from the write node. False when it cannot.
  bool Fill(uint64_t from, uint64_t to, absl::string_view why) {
    Log("warn", absl::StrCat("msg=\"read node filling from the write node\" "
                             "from_position=",
                             from, " to_position=", to, " reason=", QuoteForLog(why)));
    if (!Flush()) return false;
    if (!options_.fill) {
      SetState(BusState::kDiverged,
               absl::StrCat(why, " at position ", from,
                            ", and no write node is configured to fill it from"));
      return false;
    }
    for (uint64_t p = from; p <= to;) {
      const uint64_t last = std::min<uint64_t>(to, p + 999);
      absl::StatusOr<std::string> frames = options_.fill(p, last);
      if (!frames.ok()) {
        SetState(BusState::kBrokerUnavailable,
                 absl::StrCat(why, " at position ", p,
                              "; the write node cannot be read: ",
                              frames.status().message()));
        return false;
      }
      absl::string_view rest = *frames, value;
      uint64_t got = 0;
      while (codec::NextFrame(&rest, &value)) {
        absl::StatusOr<uint64_t> pos = codec::PeekPosition(value);
        if (!pos.ok() || *pos != planned_head_ + 1 || *pos > last) break;
        Add(value, *pos, codec::HashOf(value));
        ++got;
      }
      const size_t n = batch_count_;
      if (got == 0 || !Flush()) {
        if (got == 0) {
          SetState(BusState::kDiverged,
                   absl::StrCat("the write node has no record at position ", p));
        }
        return false;
      }
      {
        absl::MutexLock l(&mu_);
        status_.filled += n;
      }
      p = planned_head_ + 1;
    }
    return true;
  }

  // One message from the stream.
  bool Take(const StoredMessage& m) {
    const uint64_t want = planned_head_ + 1;
    if (m.sequence < want) return true;  // already copied
    if (m.sequence > want) {
      if (!Fill(want, m.sequence - 1,
                absl::StrCat("the stream has no message for positions ", want,
                             "..", m.sequence - 1))) {
        return false;
      }
    }
    const absl::string_view v = m.data;
    absl::StatusOr<uint64_t> pos = codec::PeekPosition(v);
    const bool verifies = v.size() >= 64 && codec::CheckLogValueHash(v);
    const bool links = verifies && codec::PrevHashOf(v) == planned_hash_;
    if (!pos.ok() || *pos != m.sequence || !verifies || !links) {
      {
        absl::MutexLock l(&mu_);
        ++status_.refused;
      }
      const std::string why =
          !verifies ? "the stream's message does not verify"
          : !links  ? "the stream's message does not link to the record before it"
                    : "the stream's message holds another position";
      Log("warn", absl::StrCat("msg=\"read node refused a message\" sequence=",
                               m.sequence, " reason=", QuoteForLog(why)));
      return Fill(m.sequence, m.sequence, why);
    }
    Add(v, m.sequence, codec::HashOf(v));
    return true;
  }

  void Run() {
    absl::Duration backoff = absl::Milliseconds(100);
    absl::Time last_lag_check;
    std::unique_ptr<MessageSource> source;
    while (!Stopping()) {
      planned_head_ = copy_->HeadPosition();
      planned_hash_ = copy_->HeadHash();
      if (source == nullptr) {
        absl::StatusOr<std::unique_ptr<MessageSource>> s =
            options_.source(planned_head_ + 1);
        if (!s.ok()) {
          SetState(BusState::kBrokerUnavailable, std::string(s.status().message()));
          Pause(backoff);
          backoff = std::min(backoff * 2, absl::Seconds(2));
          continue;
        }
        source = std::move(*s);
        backoff = absl::Milliseconds(100);
        absl::MutexLock l(&mu_);
        status_.server = source->Server();
      }
      bool ok = true;
      absl::StatusOr<StoredMessage> m = source->Next(absl::Milliseconds(250));
      while (ok && m.ok()) {
        ok = Take(*m);
        if (!ok || batch_count_ >= options_.batch_messages ||
            batch_.size() >= options_.batch_bytes) {
          break;
        }
        m = source->Next(absl::Milliseconds(1));
      }
      if (ok) ok = Flush();
      if (!ok) {
        source.reset();  // resume from the copy's head
        Pause(absl::Seconds(1));
        continue;
      }
      if (!m.ok() && !absl::IsDeadlineExceeded(m.status())) {
        SetState(BusState::kBrokerUnavailable, std::string(m.status().message()));
        source.reset();
        continue;
      }
      if (absl::Now() - last_lag_check > absl::Milliseconds(500)) {
        last_lag_check = absl::Now();
        absl::StatusOr<uint64_t> last = source->LastSequence();
        if (last.ok()) {
          absl::MutexLock l(&mu_);
          status_.stream_last_seq = *last;
        }
      }
      const uint64_t head = copy_->HeadPosition();
      uint64_t stream_last;
      {
        absl::MutexLock l(&mu_);
        stream_last = std::max(status_.stream_last_seq, head);
        status_.stream_last_seq = stream_last;
      }
      SetState(stream_last - head > options_.batch_messages
                   ? BusState::kCatchingUp
                   : BusState::kLive,
               "");
    }
    Flush();
  }

  es::EventStore* const copy_;
  const ReplicaOptions options_;
  std::thread thread_;
  // The replica thread's own.
  std::string batch_;
  size_t batch_count_ = 0;
  uint64_t planned_head_ = 0;
  es::Hash planned_hash_{};

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  ReplicaStatus status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

SourceFactory JetStreamSource(BrokerOptions options) {
  return [options](uint64_t from)
             -> absl::StatusOr<std::unique_ptr<MessageSource>> {
    absl::StatusOr<std::unique_ptr<Broker>> b = Broker::Connect(options, {});
    if (!b.ok()) return b.status();
    absl::StatusOr<StreamState> st = (*b)->State();
    if (!st.ok()) return st.status();
    absl::StatusOr<std::unique_ptr<StreamReader>> r =
        StreamReader::Open(b->get(), from);
    if (!r.ok()) return r.status();
    return std::unique_ptr<MessageSource>(
        new JetStreamMessageSource(std::move(*b), std::move(*r)));
  };
}

std::unique_ptr<Replica> StartReplica(es::EventStore* copy,
                                      ReplicaOptions options) {
  return std::make_unique<ReplicaImpl>(copy, std::move(options));
}

}  // namespace ncm::bus
