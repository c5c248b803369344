// Figures for the event store: the disk's sync latency, durable appends and
// log replay over gRPC on loopback, chain verification, and the same work
// done in-process on the RocksDB store. Prints figures; checks no thresholds.
//
//   eventstore_bench [--seconds=5] [--replay_events=500000]
//                    [--only=fsync,append,batch,inproc,replay,verify]
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "ncm/eventstore/event_store.h"
#include "ncm/eventstore/v1/eventstore.grpc.pb.h"
#include "clients/common/append_session.h"
#include "clients/common/connect.h"
#include "ncm/ncmd/server.h"
#include "record_codec.h"
#include "tests/bench/bench_util.h"
#ifdef NCM_BENCH_PEERS
#include "tests/bench/peers.h"
#endif

ABSL_FLAG(std::string, data_dir, "/tmp",
          "Folder in which a fresh working folder is made for the store and "
          "the sync probe (removed at exit); put it on the disk to measure.");
ABSL_FLAG(int32_t, seconds, 5, "Measured duration of each timed run.");
ABSL_FLAG(bool, read_models, true,
          "Run the server's read models (projections) while appending, as "
          "ncmd does; false measures the write path alone.");
ABSL_FLAG(int64_t, replay_events, 500000,
          "Least number of events in the log before the read and verify "
          "figures; topped up with 1000-event appends.");
ABSL_FLAG(std::string, only, "",
          "Comma list of sections to run (default all): fsync, append, "
          "batch, inproc, replay, verify, peers.");
ABSL_FLAG(std::string, postgres, "",
          "libpq connection string of a PostgreSQL to compare with (section "
          "peers; deploy/bench.sh starts one).");
ABSL_FLAG(std::string, redis, "",
          "host:port of a Redis to compare with (section peers; "
          "deploy/bench.sh starts one).");

namespace {

namespace es = ::ncm::eventstore;
namespace pb = ::ncm::eventstore::v1;
using Clock = std::chrono::steady_clock;
using ncm::bench::ComputePercentiles;
using ncm::bench::Percentiles;

constexpr char kEventType[] = "ncm.bench.v1.Sample";
constexpr size_t kPayloadBytes = 300;
constexpr int kStreams = 1000;
constexpr int kChannels = 4;
constexpr uint64_t kPageSize = 10000;
constexpr int kTopUpBatch = 1000;
constexpr int kReadStreamEvents = 10000;
constexpr int kReadStreamPage = 1000;
constexpr std::chrono::milliseconds kWarmup(500);
constexpr std::chrono::seconds kCallDeadline(60);
constexpr std::chrono::minutes kLongCallDeadline(10);
constexpr int kFsyncSamples = 200;
constexpr std::chrono::seconds kFsyncBudget(3);
constexpr std::chrono::minutes kTopUpBudget(10);
const char* const kSections[] = {"fsync",  "append", "batch", "inproc",
                                 "replay", "verify", "peers"};
// The workloads every store runs: events per call and concurrent clients.
struct Workload {
  int events;
  int clients;
};
constexpr Workload kWorkloads[] = {{1, 1}, {1, 16}, {1, 64}, {100, 1}, {100, 8}};

double Micros(Clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// Bench events: random v4 UUIDs, streams "bench-<k>", a random payload.
class EventFactory {
 public:
  explicit EventFactory(uint64_t seed) : rng_(seed) {
    payload_.resize(kPayloadBytes);
    for (char& c : payload_) c = static_cast<char>(rng_());
  }

  std::string Uuid() {
    uint64_t hi = rng_();
    uint64_t lo = rng_();
    hi = (hi & ~uint64_t{0xF000}) | uint64_t{0x4000};  // version 4
    lo = (lo & (~uint64_t{0} >> 2)) | (uint64_t{1} << 63);  // variant 10
    return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32,
                           (hi >> 16) & 0xFFFF, hi & 0xFFFF, lo >> 48,
                           lo & 0xFFFFFFFFFFFF);
  }

  std::string StreamId() { return absl::StrCat("bench-", rng_() % kStreams); }
  const std::string& payload() const { return payload_; }

  void Fill(int count, pb::AppendRequest* request) {
    request->Clear();
    pb::StreamAppend* stream = request->add_streams();
    stream->set_stream_id(StreamId());
    stream->mutable_expected()->set_kind(pb::ExpectedRevision::ANY);
    for (int i = 0; i < count; ++i) {
      pb::ProposedEvent* e = stream->add_events();
      e->set_event_id(Uuid());
      e->set_event_type(kEventType);
      e->set_payload(payload_);
    }
  }

  es::AppendRequest Make(int count, const std::string& stream_id) {
    es::StreamWrite write;
    write.stream_id = stream_id;
    write.expected = es::ExpectedRevision::Any();
    write.events.reserve(count);
    for (int i = 0; i < count; ++i) {
      es::ProposedEvent e;
      e.event_id = Uuid();
      e.event_type = kEventType;
      e.payload = payload_;
      write.events.push_back(std::move(e));
    }
    es::AppendRequest request;
    request.streams.push_back(std::move(write));
    return request;
  }

  es::AppendRequest Make(int count) { return Make(count, StreamId()); }

 private:
  std::mt19937_64 rng_;
  std::string payload_;
};

// A distinct seed per call, so that no two factories make the same ids.
uint64_t Seed() {
  static const uint64_t base =
      (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  static std::atomic<uint64_t> counter{0};
  return base + 0x9E3779B97F4A7C15ull * (counter.fetch_add(1) + 1);
}

// One printed figure, also kept for the summary table.
struct Row {
  std::string name;
  double rate = 0;
  std::string unit;
  std::optional<Percentiles> latency_us;
  std::string detail;
};

class Report {
 public:
  void Section(const std::string& title) {
    std::printf("\n%s\n", title.c_str());
    std::fflush(stdout);
  }

  void Note(const std::string& text) {
    std::printf("  %s\n", text.c_str());
    std::fflush(stdout);
  }

  void Add(Row row) {
    std::string line =
        absl::StrFormat("  %-38s %12.0f %-8s", row.name, row.rate, row.unit);
    if (row.latency_us.has_value()) {
      absl::StrAppendFormat(&line, "  p50 %10.1f us  p99 %10.1f us",
                            row.latency_us->p50, row.latency_us->p99);
    }
    if (!row.detail.empty()) absl::StrAppend(&line, "  (", row.detail, ")");
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
    rows_.push_back(std::move(row));
  }

  const Row* Find(const std::string& name) const {
    for (const Row& r : rows_) {
      if (r.name == name) return &r;
    }
    return nullptr;
  }

  void PrintSummary() const {
    std::printf("\nSummary\n");
    std::printf("  %-38s %12s %-8s  %10s  %10s\n", "measure", "rate", "unit",
                "p50 us", "p99 us");
    std::printf("  %s\n", std::string(86, '-').c_str());
    for (const Row& r : rows_) {
      std::string p50 = "-";
      std::string p99 = "-";
      if (r.latency_us.has_value()) {
        p50 = absl::StrFormat("%.1f", r.latency_us->p50);
        p99 = absl::StrFormat("%.1f", r.latency_us->p99);
      }
      std::printf("  %-38s %12.0f %-8s  %10s  %10s\n", r.name.c_str(), r.rate,
                  r.unit.c_str(), p50.c_str(), p99.c_str());
    }
    std::fflush(stdout);
  }

 private:
  std::vector<Row> rows_;
};

// Per-caller counts of a timed load; merged at the end.
struct LoadStats {
  std::vector<double> latencies_us;
  int64_t calls = 0;
  int64_t errors = 0;
  std::string first_error;

  void Merge(LoadStats&& o) {
    latencies_us.insert(latencies_us.end(), o.latencies_us.begin(),
                        o.latencies_us.end());
    calls += o.calls;
    errors += o.errors;
    if (first_error.empty()) first_error = std::move(o.first_error);
  }
};

// A timed run: a warm-up, then a measured window; a call counts when it
// completes inside the window.
struct Window {
  Clock::time_point measure_start;
  Clock::time_point end;

  static Window Start(std::chrono::seconds measure) {
    Window w;
    w.measure_start = Clock::now() + kWarmup;
    w.end = w.measure_start + measure;
    return w;
  }
  bool Counts(Clock::time_point t) const {
    return t >= measure_start && t < end;
  }
  double seconds() const { return Seconds(end - measure_start); }
};

Row LoadRow(const std::string& name, const Window& window, LoadStats stats,
            int events_per_call) {
  Row row;
  row.name = name;
  row.rate = static_cast<double>(stats.calls) * events_per_call /
             window.seconds();
  row.unit = "events/s";
  row.latency_us = ComputePercentiles(std::move(stats.latencies_us));
  row.detail = absl::StrCat(stats.calls, " calls");
  if (stats.errors > 0) {
    absl::StrAppend(&row.detail, ", ", stats.errors,
                    " errors, first: ", stats.first_error);
  }
  return row;
}

// ---------------------------------------------------------------------------
// Disk

std::optional<Row> MeasureFdatasync(const std::string& dir, std::string* error) {
  const std::string path = dir + "/fsync_probe";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = absl::StrCat("cannot create ", path);
    return std::nullopt;
  }
  std::vector<char> block(4096);
  std::mt19937_64 rng(Seed());
  for (char& c : block) c = static_cast<char>(rng());
  std::vector<double> latencies;
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < kFsyncSamples && Clock::now() - start < kFsyncBudget;
       ++i) {
    const Clock::time_point t0 = Clock::now();
    if (::write(fd, block.data(), block.size()) !=
            static_cast<ssize_t>(block.size()) ||
        ::fdatasync(fd) != 0) {
      *error = absl::StrCat("write or fdatasync failed on ", path);
      break;
    }
    latencies.push_back(Micros(Clock::now() - t0));
  }
  const double elapsed = Seconds(Clock::now() - start);
  ::close(fd);
  ::unlink(path.c_str());
  if (latencies.empty()) return std::nullopt;
  Row row;
  row.name = "fdatasync, 4 KiB appended";
  row.rate = static_cast<double>(latencies.size()) / elapsed;
  row.unit = "syncs/s";
  row.detail = absl::StrCat(latencies.size(), " samples");
  row.latency_us = ComputePercentiles(std::move(latencies));
  return row;
}

// ---------------------------------------------------------------------------
// gRPC client side

using Stubs = std::vector<std::unique_ptr<pb::EventStore::Stub>>;

// Keeps `in_flight` Append calls outstanding (callback API), spread over the
// stubs, until the window ends.
class GrpcAppendLoad {
 public:
  // events_per_call 0: no append; each call is a GetStreamInfo, the
  // baseline cost of a unary gRPC round trip on this machine.
  GrpcAppendLoad(const Stubs& stubs, int in_flight, int events_per_call)
      : events_per_call_(events_per_call) {
    for (int i = 0; i < in_flight; ++i) {
      slots_.push_back(std::make_unique<Slot>(
          stubs[static_cast<size_t>(i) % stubs.size()].get(), Seed()));
    }
  }

  LoadStats Run(const Window& window) {
    window_ = window;
    {
      absl::MutexLock l(&mu_);
      active_ = static_cast<int>(slots_.size());
    }
    for (auto& slot : slots_) Issue(slot.get());
    absl::MutexLock l(&mu_);
    mu_.Await(absl::Condition(
        +[](int* active) { return *active == 0; }, &active_));
    LoadStats total;
    for (auto& slot : slots_) total.Merge(std::move(slot->stats));
    return total;
  }

 private:
  struct Slot {
    Slot(pb::EventStore::Stub* s, uint64_t seed) : stub(s), factory(seed) {}
    pb::EventStore::Stub* stub;
    EventFactory factory;
    LoadStats stats;
  };
  struct Call {
    grpc::ClientContext context;
    pb::AppendRequest request;
    pb::AppendResponse response;
    pb::GetStreamInfoRequest info_request;
    pb::StreamInfo info;
    Clock::time_point start;
  };

  void Issue(Slot* slot) {
    if (Clock::now() >= window_.end) {
      SlotDone();
      return;
    }
    auto* call = new Call;
    call->context.set_deadline(std::chrono::system_clock::now() +
                               kCallDeadline);
    auto done = [this, slot, call](grpc::Status status) {
      Finished(slot, call, status);
    };
    if (events_per_call_ == 0) {
      call->info_request.set_stream_id(slot->factory.StreamId());
      call->start = Clock::now();
      slot->stub->async()->GetStreamInfo(&call->context, &call->info_request,
                                         &call->info, done);
      return;
    }
    slot->factory.Fill(events_per_call_, &call->request);
    call->start = Clock::now();
    slot->stub->async()->Append(&call->context, &call->request,
                                &call->response, done);
  }

  void Finished(Slot* slot, Call* call, const grpc::Status& status) {
    const Clock::time_point done = Clock::now();
    std::unique_ptr<Call> owned(call);
    if (!status.ok()) {
      if (++slot->stats.errors == 1) {
        slot->stats.first_error = status.error_message();
      }
      SlotDone();
      return;
    }
    if (window_.Counts(done)) {
      slot->stats.latencies_us.push_back(Micros(done - owned->start));
      ++slot->stats.calls;
    }
    owned.reset();
    Issue(slot);
  }

  void SlotDone() {
    absl::MutexLock l(&mu_);
    --active_;
  }

  const int events_per_call_;
  std::vector<std::unique_ptr<Slot>> slots_;
  Window window_;
  absl::Mutex mu_;
  int active_ ABSL_GUARDED_BY(mu_) = 0;
};

// Keeps `in_flight` appends outstanding over one AppendSession per stub:
// each answer sends the next append on its session.
class SessionAppendLoad {
 public:
  SessionAppendLoad(const Stubs& stubs, int in_flight, int events_per_call)
      : stubs_(stubs), in_flight_(in_flight), events_(events_per_call) {}

  LoadStats Run(const Window& window) {
    window_ = window;
    std::vector<std::unique_ptr<ncm::client::AppendSession>> sessions;
    for (const auto& stub : stubs_) {
      auto ctx = std::make_unique<grpc::ClientContext>();
      ctx->set_deadline(std::chrono::system_clock::now() + kLongCallDeadline);
      sessions.push_back(std::make_unique<ncm::client::AppendSession>(
          stub.get(), std::move(ctx), 1024));
    }
    {
      absl::MutexLock l(&mu_);
      active_ = in_flight_;
    }
    for (int i = 0; i < in_flight_; ++i) {
      slots_.push_back(std::make_unique<Slot>(
          sessions[static_cast<size_t>(i) % sessions.size()].get(), Seed()));
    }
    for (auto& slot : slots_) Issue(slot.get());
    {
      absl::MutexLock l(&mu_);
      mu_.Await(absl::Condition(
          +[](int* active) { return *active == 0; }, &active_));
    }
    for (auto& s : sessions) s->Close().IgnoreError();
    LoadStats total;
    for (auto& slot : slots_) total.Merge(std::move(slot->stats));
    return total;
  }

 private:
  struct Slot {
    Slot(ncm::client::AppendSession* s, uint64_t seed) : session(s), factory(seed) {}
    ncm::client::AppendSession* session;
    EventFactory factory;
    LoadStats stats;
    Clock::time_point start;
  };

  void Issue(Slot* slot) {
    if (Clock::now() >= window_.end) return Done();
    pb::AppendRequest request;
    slot->factory.Fill(events_, &request);
    slot->start = Clock::now();
    absl::Status sent = slot->session->Append(
        std::move(request),
        [this, slot](const absl::Status& st, const pb::AppendResponse&) {
          const Clock::time_point done = Clock::now();
          if (!st.ok()) {
            if (++slot->stats.errors == 1) slot->stats.first_error = st.ToString();
            return Done();
          }
          if (window_.Counts(done)) {
            slot->stats.latencies_us.push_back(Micros(done - slot->start));
            ++slot->stats.calls;
          }
          Issue(slot);
        });
    if (!sent.ok()) {
      if (++slot->stats.errors == 1) slot->stats.first_error = sent.ToString();
      Done();
    }
  }

  void Done() {
    absl::MutexLock l(&mu_);
    --active_;
  }

  const Stubs& stubs_;
  const int in_flight_;
  const int events_;
  Window window_;
  std::vector<std::unique_ptr<Slot>> slots_;
  absl::Mutex mu_;
  int active_ ABSL_GUARDED_BY(mu_) = 0;
};

struct ReadStats {
  int64_t events = 0;
  int64_t bytes = 0;
  int64_t calls = 0;
  double seconds = 0;
  std::string error;
};

// Reads positions [1, head] forward in pages of kPageSize, keeping
// `in_flight` pages outstanding (callback API).
class GrpcReplay {
 public:
  // raw: ask for stored records (frames) and walk them on the client,
  // checking every record's position.
  GrpcReplay(const Stubs& stubs, uint64_t head, int in_flight, bool raw)
      : stubs_(stubs),
        head_(head),
        pages_((head + kPageSize - 1) / kPageSize),
        in_flight_(in_flight),
        raw_(raw) {}

  ReadStats Run() {
    {
      absl::MutexLock l(&mu_);
      active_ = in_flight_;
    }
    const Clock::time_point start = Clock::now();
    for (int lane = 0; lane < in_flight_; ++lane) IssueNext(lane);
    absl::MutexLock l(&mu_);
    mu_.Await(absl::Condition(
        +[](int* active) { return *active == 0; }, &active_));
    stats_.seconds = Seconds(Clock::now() - start);
    return stats_;
  }

 private:
  struct Call {
    grpc::ClientContext context;
    pb::ReadAllRequest request;
    pb::ReadAllResponse response;
  };

  void IssueNext(int lane) {
    const uint64_t page = next_page_.fetch_add(1);
    if (page >= pages_) {
      LaneDone("");
      return;
    }
    const uint64_t from = 1 + page * kPageSize;
    IssueRange(lane, from, std::min(kPageSize, head_ - from + 1));
  }

  // Reads [from, from + count); the server may return fewer records (it
  // caps a response's bytes), and the rest is read by the next call.
  void IssueRange(int lane, uint64_t from, uint64_t count) {
    auto* call = new Call;
    call->request.set_from_position(from);
    call->request.set_direction(pb::FORWARD);
    call->request.set_max_count(static_cast<uint32_t>(count));
    call->request.set_raw(raw_);
    call->context.set_deadline(std::chrono::system_clock::now() +
                               kCallDeadline);
    pb::EventStore::Stub* stub =
        stubs_[static_cast<size_t>(lane) % stubs_.size()].get();
    stub->async()->ReadAll(
        &call->context, &call->request, &call->response,
        [this, lane, call, from, count](grpc::Status status) {
          std::unique_ptr<Call> owned(call);
          const pb::ReadAllResponse& r = owned->response;
          if (!status.ok()) {
            LaneDone(absl::StrCat("ReadAll from ", from, ": ",
                                  status.error_message()));
            return;
          }
          const uint64_t got = raw_ ? CheckFrames(r.raw_records(), from)
                                    : CheckEvents(r, from);
          const uint64_t returned =
              raw_ ? r.raw_count() : static_cast<uint64_t>(r.events_size());
          if (got == 0 || got != returned || got > count ||
              r.next_position() != from + got) {
            LaneDone(absl::StrCat("ReadAll from ", from, " returned ",
                                  returned, " records, ", got,
                                  " of them consecutive"));
            return;
          }
          {
            absl::MutexLock l(&mu_);
            stats_.events += static_cast<int64_t>(got);
            stats_.bytes += static_cast<int64_t>(r.ByteSizeLong());
            ++stats_.calls;
          }
          owned.reset();
          if (got < count) {
            IssueRange(lane, from + got, count - got);
          } else {
            IssueNext(lane);
          }
        });
  }

  // The number of leading records that hold consecutive positions from
  // `from`.
  static uint64_t CheckEvents(const pb::ReadAllResponse& r, uint64_t from) {
    uint64_t n = 0;
    for (const auto& e : r.events()) {
      if (e.position() != from + n) break;
      ++n;
    }
    return n;
  }
  static uint64_t CheckFrames(absl::string_view frames, uint64_t from) {
    uint64_t n = 0;
    absl::string_view value;
    while (es::codec::NextFrame(&frames, &value)) {
      auto pos = es::codec::PeekPosition(value);
      if (!pos.ok() || *pos != from + n) break;
      ++n;
    }
    return n;
  }

  void LaneDone(const std::string& error) {
    absl::MutexLock l(&mu_);
    if (!error.empty() && stats_.error.empty()) stats_.error = error;
    --active_;
  }

  const Stubs& stubs_;
  const uint64_t head_;
  const uint64_t pages_;
  const int in_flight_;
  const bool raw_;
  std::atomic<uint64_t> next_page_{0};
  absl::Mutex mu_;
  int active_ ABSL_GUARDED_BY(mu_) = 0;
  ReadStats stats_ ABSL_GUARDED_BY(mu_);
};

Row ReadRow(const std::string& name, const ReadStats& s) {
  Row row;
  row.name = name;
  row.rate = s.seconds > 0 ? static_cast<double>(s.events) / s.seconds : 0;
  row.unit = "events/s";
  row.detail = absl::StrFormat("%d events in %.2f s", s.events, s.seconds);
  if (s.bytes > 0) {
    absl::StrAppendFormat(&row.detail, ", %.0f MB/s",
                          static_cast<double>(s.bytes) / 1e6 / s.seconds);
  }
  if (!s.error.empty()) absl::StrAppend(&row.detail, ", error: ", s.error);
  return row;
}

// ---------------------------------------------------------------------------
// In-process

// `threads` callers each doing blocking appends until the window ends.
LoadStats RunStoreAppendLoad(es::EventStore* store, int threads,
                             int events_per_call, const Window& window) {
  std::vector<LoadStats> per_thread(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      EventFactory factory(Seed());
      LoadStats& stats = per_thread[t];
      while (Clock::now() < window.end) {
        es::AppendRequest request = factory.Make(events_per_call);
        const Clock::time_point start = Clock::now();
        absl::StatusOr<es::AppendResult> r = store->Append(std::move(request));
        const Clock::time_point done = Clock::now();
        if (!r.ok()) {
          ++stats.errors;
          stats.first_error = std::string(r.status().message());
          break;
        }
        if (window.Counts(done)) {
          stats.latencies_us.push_back(Micros(done - start));
          ++stats.calls;
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  LoadStats total;
  for (auto& s : per_thread) total.Merge(std::move(s));
  return total;
}

// The same work as the store's appends, done straight on RocksDB: per
// event three keys (the position in "log" with a value of the store's
// record size, the stream and revision in "streams", the event id in
// "ids"), one synced WriteBatch per call, RocksDB's own group commit
// across threads. The raw library's rate for the bytes and keys an append
// writes.
absl::StatusOr<LoadStats> RunRawRocksLoad(const std::string& path, int threads,
                                          int events_per_call,
                                          size_t log_value_bytes,
                                          const Window& window) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, {}}, {"log", {}}, {"streams", {}},
      {"ids", {}}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status st = rocksdb::DB::Open(options, path, cfs, &handles, &raw);
  if (!st.ok()) return absl::InternalError(st.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::atomic<uint64_t> next_position{1};
  std::vector<LoadStats> per_thread(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 rng(Seed());
      std::string value(log_value_bytes, 'v');
      for (char& c : value) c = static_cast<char>(rng());
      LoadStats& stats = per_thread[t];
      while (Clock::now() < window.end) {
        rocksdb::WriteBatch batch;
        const uint64_t first = next_position.fetch_add(events_per_call);
        const std::string stream = absl::StrCat("bench-", rng() % kStreams);
        for (int i = 0; i < events_per_call; ++i) {
          char pos[8], id[16];
          const uint64_t p = first + i;
          for (int b = 0; b < 8; ++b) pos[b] = static_cast<char>(p >> (56 - 8 * b));
          const uint64_t a = rng(), c = rng();
          std::memcpy(id, &a, 8);
          std::memcpy(id + 8, &c, 8);
          batch.Put(handles[1], rocksdb::Slice(pos, 8), value);
          batch.Put(handles[2], absl::StrCat(stream, std::string(pos, 8)),
                    rocksdb::Slice(pos, 8));
          batch.Put(handles[3], rocksdb::Slice(id, 16), rocksdb::Slice(pos, 8));
        }
        rocksdb::WriteOptions wo;
        wo.sync = true;
        const Clock::time_point start = Clock::now();
        rocksdb::Status w = db->Write(wo, &batch);
        const Clock::time_point done = Clock::now();
        if (!w.ok()) {
          ++stats.errors;
          stats.first_error = w.ToString();
          break;
        }
        if (window.Counts(done)) {
          stats.latencies_us.push_back(Micros(done - start));
          ++stats.calls;
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  LoadStats total;
  for (auto& s : per_thread) total.Merge(std::move(s));
  return total;
}

// Appends 1000-event batches from a few threads until the log holds
// `target` events.
absl::Status TopUp(es::EventStore* store, uint64_t target, Report* report) {
  const uint64_t head = store->HeadPosition();
  if (head >= target) return absl::OkStatus();
  const int64_t batches =
      static_cast<int64_t>((target - head + kTopUpBatch - 1) / kTopUpBatch);
  std::atomic<int64_t> next{0};
  absl::Mutex mu;
  absl::Status status;
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&, t] {
      EventFactory factory(Seed());
      while (next.fetch_add(1) < batches &&
             Clock::now() - start < kTopUpBudget) {
        auto r = store->Append(factory.Make(kTopUpBatch));
        if (!r.ok()) {
          absl::MutexLock l(&mu);
          status = r.status();
          return;
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  report->Note(absl::StrFormat(
      "topped up the log from %d to %d events in %.1f s", head,
      store->HeadPosition(), Seconds(Clock::now() - start)));
  return status;
}

// Reads positions [1, head] forward in pages of kPageSize from `threads`
// threads sharing the pages.
ReadStats RunStoreReadAll(es::EventStore* store, uint64_t head, int threads) {
  const uint64_t pages = (head + kPageSize - 1) / kPageSize;
  std::atomic<uint64_t> next{0};
  std::atomic<int64_t> events{0};
  absl::Mutex mu;
  std::string error;
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (uint64_t page = next.fetch_add(1); page < pages;
           page = next.fetch_add(1)) {
        es::ReadAllOptions o;
        o.from_position = 1 + page * kPageSize;
        o.direction = es::Direction::kForward;
        o.max_count = std::min(kPageSize, head - o.from_position + 1);
        auto r = store->ReadAll(o);
        if (!r.ok() || r->events.size() != o.max_count) {
          absl::MutexLock l(&mu);
          error = r.ok() ? absl::StrCat("short page at ", o.from_position)
                         : std::string(r.status().message());
          return;
        }
        events += static_cast<int64_t>(r->events.size());
      }
    });
  }
  for (auto& w : workers) w.join();
  ReadStats s;
  s.seconds = Seconds(Clock::now() - start);
  s.events = events.load();
  s.error = error;
  return s;
}

// Reads one kReadStreamEvents-event stream forward in kReadStreamPage pages,
// over and over for `measure`.
ReadStats RunStoreReadStream(es::EventStore* store, std::chrono::seconds measure) {
  ReadStats s;
  EventFactory factory(Seed());
  const std::string stream_id = absl::StrCat("benchread-", factory.Uuid());
  for (int i = 0; i < kReadStreamEvents / kTopUpBatch; ++i) {
    auto r = store->Append(factory.Make(kTopUpBatch, stream_id));
    if (!r.ok()) {
      s.error = std::string(r.status().message());
      return s;
    }
  }
  const Clock::time_point start = Clock::now();
  while (Clock::now() - start < measure) {
    for (int rev = 0; rev < kReadStreamEvents; rev += kReadStreamPage) {
      es::ReadStreamOptions o;
      o.stream_id = stream_id;
      o.from_revision = static_cast<uint64_t>(rev);
      o.max_count = kReadStreamPage;
      auto r = store->ReadStream(o);
      if (!r.ok() || r->events.size() != static_cast<size_t>(kReadStreamPage)) {
        s.error = r.ok() ? "short page" : std::string(r.status().message());
        s.seconds = Seconds(Clock::now() - start);
        return s;
      }
      s.events += kReadStreamPage;
      ++s.calls;
    }
  }
  s.seconds = Seconds(Clock::now() - start);
  return s;
}

Row VerifyRow(const std::string& name, uint64_t count, bool ok,
              const std::string& reason, double seconds) {
  Row row;
  row.name = name;
  row.rate = seconds > 0 ? static_cast<double>(count) / seconds : 0;
  row.unit = "events/s";
  row.detail = absl::StrFormat("%d events in %.2f s, %s", count, seconds,
                               ok ? "chain ok" : "CHAIN BROKEN: " + reason);
  return row;
}

// ---------------------------------------------------------------------------

// Removes the working folder when it goes out of scope.
class WorkDir {
 public:
  explicit WorkDir(std::string path) : path_(std::move(path)) {}
  ~WorkDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

#ifdef NCM_BENCH_PEERS
// ---------------------------------------------------------------------------
// The peers: the same workloads on PostgreSQL and Redis, one blocking
// client per thread.

using PeerConnect =
    std::function<absl::StatusOr<std::unique_ptr<ncm::bench::PeerClient>>()>;

// Connects `clients` clients, then appends from each until the window ends.
absl::StatusOr<std::pair<Window, LoadStats>> RunPeerLoad(
    const PeerConnect& connect, int clients, int events,
    std::chrono::seconds measure) {
  std::vector<std::unique_ptr<ncm::bench::PeerClient>> conns;
  for (int i = 0; i < clients; ++i) {
    auto c = connect();
    if (!c.ok()) return c.status();
    conns.push_back(std::move(*c));
  }
  const Window window = Window::Start(measure);
  std::vector<LoadStats> stats(conns.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < conns.size(); ++i) {
    threads.emplace_back([&, i] {
      EventFactory factory(Seed());
      std::vector<ncm::bench::PeerEvent> batch(static_cast<size_t>(events));
      for (auto& e : batch) {
        e.event_type = kEventType;
        e.payload = factory.payload();
      }
      for (;;) {
        const std::string stream = factory.StreamId();
        for (auto& e : batch) e.event_id = factory.Uuid();
        const Clock::time_point t0 = Clock::now();
        absl::Status st = conns[i]->Append(stream, batch);
        const Clock::time_point t1 = Clock::now();
        if (!st.ok()) {
          if (++stats[i].errors == 1) stats[i].first_error = st.ToString();
          return;
        }
        if (window.Counts(t1)) {
          stats[i].latencies_us.push_back(Micros(t1 - t0));
          ++stats[i].calls;
        }
        if (t1 >= window.end) return;
      }
    });
  }
  for (auto& t : threads) t.join();
  LoadStats total;
  for (auto& st : stats) total.Merge(std::move(st));
  return std::make_pair(window, std::move(total));
}
#endif  // NCM_BENCH_PEERS

std::string EventsLabel(int events) {
  return events == 1 ? "1 event" : absl::StrCat(events, " events");
}

// The name of a workload's row for `store` ("ncmd", "PostgreSQL", "Redis").
std::string RowName(const std::string& store, Workload w) {
  if (store == "ncmd") {
    return absl::StrCat("gRPC append ", EventsLabel(w.events), ", in flight ",
                        w.clients);
  }
  return absl::StrCat(store, " ", EventsLabel(w.events), ", clients ",
                      w.clients);
}

std::string SessionRowName(Workload w) {
  return absl::StrCat("gRPC session ", EventsLabel(w.events), ", in flight ",
                      w.clients);
}

// One table of every workload on every store that ran it, with the
// ratios of the event store to each peer, then the issue's targets.
void PrintSideBySide(const Report& report,
                     const std::optional<Percentiles>& fsync) {
  const char* const peers[] = {"PostgreSQL", "Redis"};
  std::printf("\nSide by side (events/s; p50 and p99 in us)\n");
  std::printf("  %-22s %24s %24s %24s %9s %9s\n", "workload", "ncmd",
              "PostgreSQL", "Redis", "ncmd/PG", "ncmd/Rds");
  auto cell = [](const Row* r) {
    if (r == nullptr) return std::string("-");
    return absl::StrFormat("%.0f (%.0f/%.0f)", r->rate, r->latency_us->p50,
                           r->latency_us->p99);
  };
  auto ratio = [](const Row* a, const Row* b) {
    if (a == nullptr || b == nullptr || b->rate <= 0) return std::string("-");
    return absl::StrFormat("%.2fx", a->rate / b->rate);
  };
  for (Workload w : kWorkloads) {
    const Row* n = report.Find(RowName("ncmd", w));
    const Row* pg = report.Find(RowName(peers[0], w));
    const Row* rd = report.Find(RowName(peers[1], w));
    std::printf("  %-22s %24s %24s %24s %9s %9s\n",
                absl::StrCat(EventsLabel(w.events), ", ", w.clients,
                             w.clients == 1 ? " client" : " clients")
                    .c_str(),
                cell(n).c_str(), cell(pg).c_str(), cell(rd).c_str(),
                ratio(n, pg).c_str(), ratio(n, rd).c_str());
  }
  for (int n : {1, 64}) {
    const Row* sn = report.Find(SessionRowName({1, n}));
    const Row* pg = report.Find(RowName(peers[0], {1, n}));
    const Row* rd = report.Find(RowName(peers[1], {1, n}));
    std::printf("  %-22s %24s %24s %24s %9s %9s\n",
                absl::StrCat("session, ", n, n == 1 ? " appender" : " appenders")
                    .c_str(),
                cell(sn).c_str(), cell(pg).c_str(), cell(rd).c_str(),
                ratio(sn, pg).c_str(), ratio(sn, rd).c_str());
  }
  const Row* n1 = report.Find(RowName("ncmd", {1, 1}));
  const Row* n64 = report.Find(RowName("ncmd", {1, 64}));
  const Row* s64 = report.Find(SessionRowName({1, 64}));
  const Row* b8 = report.Find(RowName("ncmd", {100, 8}));
  const Row* pg1 = report.Find(RowName(peers[0], {1, 1}));
  const Row* pg64 = report.Find(RowName(peers[0], {1, 64}));
  const Row* rd64 = report.Find(RowName(peers[1], {1, 64}));
  std::printf("\nTargets (figures of this run)\n");
  auto target = [](const std::string& what, double value, double aim) {
    std::printf("  %-58s %7.2f  (aim %s %.2f: %s)\n", what.c_str(), value,
                aim >= 0 ? ">=" : "<=", aim >= 0 ? aim : -aim,
                (aim >= 0 ? value >= aim : value <= -aim) ? "met" : "missed");
  };
  if (n64 != nullptr && rd64 != nullptr) {
    target("unary, 64 clients: ncmd / Redis", n64->rate / rd64->rate, 1.0);
  }
  if (n64 != nullptr && pg64 != nullptr) {
    target("unary, 64 clients: ncmd / PostgreSQL", n64->rate / pg64->rate, 2.5);
  }
  if (s64 != nullptr && rd64 != nullptr) {
    target("session, 64 appenders: ncmd / Redis 1 event at 64",
           s64->rate / rd64->rate, 2.0);
  }
  for (int threads : {1, 8}) {
    const Row* store = report.Find(
        absl::StrFormat("in-proc append 100 events, %d thr", threads));
    const Row* raw = report.Find(
        absl::StrFormat("raw RocksDB batch 100 events, %d thr", threads));
    if (store != nullptr && raw != nullptr && raw->rate > 0) {
      target(absl::StrFormat("in-proc 100-event batches, %d thr: store / raw RocksDB",
                             threads),
             store->rate / raw->rate, 0.5);
    }
  }
  if (n1 != nullptr && fsync.has_value() && fsync->p50 > 0) {
    target("one client: ncmd p50 / fdatasync p50",
           n1->latency_us->p50 / fsync->p50, -1.5);
  }
  if (n1 != nullptr && pg1 != nullptr) {
    target("one client: ncmd / PostgreSQL", n1->rate / pg1->rate, 1.0);
  }
  if (b8 != nullptr && rd64 != nullptr) {
    target("100-event batches (8 clients): ncmd / Redis 1 event at 64",
           b8->rate / rd64->rate, 5.0);
  }
}

int Run() {
  const std::chrono::seconds measure(std::max(1, absl::GetFlag(FLAGS_seconds)));
  const uint64_t replay_events = static_cast<uint64_t>(
      std::max<int64_t>(1, absl::GetFlag(FLAGS_replay_events)));

  absl::flat_hash_set<std::string> only;
  for (absl::string_view s :
       absl::StrSplit(absl::GetFlag(FLAGS_only), ',', absl::SkipEmpty())) {
    std::string name(s);
    if (std::find(std::begin(kSections), std::end(kSections), name) ==
        std::end(kSections)) {
      std::fprintf(stderr, "unknown section \"%s\"; sections are: %s\n",
                   name.c_str(), absl::StrJoin(kSections, ", ").c_str());
      return 2;
    }
    only.insert(std::move(name));
  }
  auto wanted = [&](const char* s) { return only.empty() || only.contains(s); };

  std::string tmpl = absl::GetFlag(FLAGS_data_dir) + "/eventstore_bench.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::fprintf(stderr, "cannot make a folder like %s\n", tmpl.c_str());
    return 1;
  }
  WorkDir work(tmpl);
  Report report;
  std::printf(
      "eventstore_bench: data in %s, %u cores, %zu-byte payloads, %lld s per "
      "timed run after %lld ms warm-up\n",
      work.path().c_str(), std::thread::hardware_concurrency(), kPayloadBytes,
      static_cast<long long>(measure.count()),
      static_cast<long long>(kWarmup.count()));

  std::optional<Percentiles> fsync_latency;
  if (wanted("fsync")) {
    report.Section("[1] Disk sync latency");
    std::string error;
    std::optional<Row> row = MeasureFdatasync(work.path(), &error);
    if (!error.empty()) report.Note(error);
    if (row.has_value()) {
      fsync_latency = row->latency_us;
      report.Add(std::move(*row));
    }
  }

  if (wanted("peers")) {
    const std::string pg = absl::GetFlag(FLAGS_postgres);
    const std::string redis = absl::GetFlag(FLAGS_redis);
#ifdef NCM_BENCH_PEERS
    struct Peer {
      const char* name;
      std::string where;
      std::function<absl::Status()> prepare;
      PeerConnect connect;
    };
    const Peer peers[] = {
        {"PostgreSQL", pg, [&] { return ncm::bench::PreparePostgres(pg); },
         [&] { return ncm::bench::ConnectPostgres(pg); }},
        {"Redis", redis, [&] { return ncm::bench::PrepareRedis(redis); },
         [&] { return ncm::bench::ConnectRedis(redis); }},
    };
    for (const Peer& peer : peers) {
      report.Section(absl::StrCat("[7] ", peer.name, ": the same workloads"));
      if (peer.where.empty()) {
        report.Note(absl::StrCat("not run: give --", absl::AsciiStrToLower(peer.name),
                                 " (deploy/bench.sh starts one)"));
        continue;
      }
      if (absl::Status st = peer.prepare(); !st.ok()) {
        report.Note(absl::StrCat("not run: ", st.ToString()));
        continue;
      }
      for (Workload w : kWorkloads) {
        auto r = RunPeerLoad(peer.connect, w.clients, w.events, measure);
        if (!r.ok()) {
          report.Note(r.status().ToString());
          break;
        }
        report.Add(LoadRow(RowName(peer.name, w), r->first,
                           std::move(r->second), w.events));
      }
    }
#else
    if (!pg.empty() || !redis.empty()) {
      report.Note("built without libpq and hiredis: the peers are not run "
                  "(deploy/install-deps.sh installs them)");
    }
#endif
  }

  const bool need_server = wanted("append") || wanted("batch") ||
                           wanted("inproc") || wanted("replay") ||
                           wanted("verify");
  if (!need_server) {
    report.PrintSummary();
    PrintSideBySide(report, fsync_latency);
    return 0;
  }

  ncm::ncmd::ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.data_dir = work.path() + "/store";
  options.read_models = absl::GetFlag(FLAGS_read_models);
  auto started = ncm::ncmd::StartServer(options);
  if (!started.ok()) {
    std::fprintf(stderr, "cannot start the server: %s\n",
                 started.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<ncm::ncmd::Server> server = std::move(*started);
  es::EventStore* store = server->store();

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  Stubs stubs;
  for (int i = 0; i < kChannels; ++i) {
    ncm::client::ConnectOptions connect;
    connect.server = server->address();
    connect.token = *ncm::client::ReadTokenFile(server->admin_token_file());
    connect.args.SetInt("grpc.channel_id", i);
    connect.args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    connect.max_message_bytes = 64 << 20;
    auto channel = *ncm::client::Connect(connect);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                   std::chrono::seconds(10))) {
      std::fprintf(stderr, "cannot connect to %s\n", server->address().c_str());
      return 1;
    }
    stubs.push_back(pb::EventStore::NewStub(channel));
    channels.push_back(std::move(channel));
  }

  if (wanted("append")) {
    report.Section(absl::StrFormat(
        "[2] Durable appends over gRPC, 1 event per call, %d channels",
        kChannels));
    for (Workload w : kWorkloads) {
      if (w.events != 1) continue;
      GrpcAppendLoad load(stubs, w.clients, 1);
      const Window window = Window::Start(measure);
      LoadStats stats = load.Run(window);
      report.Add(LoadRow(RowName("ncmd", w), window, std::move(stats), 1));
    }
    // The same appends over one AppendSession per channel.
    for (int n : {1, 64}) {
      SessionAppendLoad load(stubs, n, 1);
      const Window window = Window::Start(measure);
      LoadStats stats = load.Run(window);
      report.Add(LoadRow(SessionRowName({1, n}), window, std::move(stats), 1));
    }
    // The same calls without the append: what gRPC alone costs here.
    for (int n : {1, 64}) {
      GrpcAppendLoad load(stubs, n, 0);
      const Window window = Window::Start(measure);
      LoadStats stats = load.Run(window);
      report.Add(LoadRow(
          absl::StrCat("gRPC GetStreamInfo (baseline), in flight ", n), window,
          std::move(stats), 1));
    }
  }

  if (wanted("batch")) {
    report.Section("[3] Durable appends over gRPC, 100 events per call");
    for (Workload w : kWorkloads) {
      if (w.events == 1) continue;
      GrpcAppendLoad load(stubs, w.clients, w.events);
      const Window window = Window::Start(measure);
      LoadStats stats = load.Run(window);
      report.Add(LoadRow(RowName("ncmd", w), window, std::move(stats), w.events));
    }
  }

  if (wanted("inproc")) {
    report.Section(
        "[6a] Durable appends in-process (RocksDB store, no gRPC), each with "
        "the raw RocksDB rate for the same keys and bytes");
    // The size of one stored record, for the raw runs.
    size_t log_value_bytes = 0;
    {
      es::ReadAllOptions o;
      o.max_count = 1;
      o.from_position = std::max<uint64_t>(1, store->HeadPosition());
      auto r = store->ReadAllRaw(o);
      absl::string_view frames = r.ok() ? absl::string_view(r->frames) : "", v;
      if (es::codec::NextFrame(&frames, &v)) log_value_bytes = v.size();
      if (log_value_bytes == 0) log_value_bytes = kPayloadBytes + 160;
    }
    struct Load {
      int threads;
      int events_per_call;
    };
    for (Load l : {Load{1, 1}, Load{64, 1}, Load{1, 100}, Load{8, 100}}) {
      const Window window = Window::Start(measure);
      LoadStats stats =
          RunStoreAppendLoad(store, l.threads, l.events_per_call, window);
      report.Add(LoadRow(absl::StrFormat("in-proc append %d event%s, %d thr",
                                         l.events_per_call,
                                         l.events_per_call == 1 ? "" : "s",
                                         l.threads),
                         window, std::move(stats), l.events_per_call));
      // The raw library, the same keys and bytes, on a folder of its own.
      const Window raw_window = Window::Start(measure);
      absl::StatusOr<LoadStats> raw = RunRawRocksLoad(
          absl::StrCat(work.path(), "/raw-", l.threads, "-", l.events_per_call),
          l.threads, l.events_per_call, log_value_bytes, raw_window);
      if (!raw.ok()) {
        report.Note(absl::StrCat("raw RocksDB: ", raw.status().ToString()));
        continue;
      }
      report.Add(LoadRow(absl::StrFormat("raw RocksDB batch %d event%s, %d thr",
                                         l.events_per_call,
                                         l.events_per_call == 1 ? "" : "s",
                                         l.threads),
                         raw_window, std::move(*raw), l.events_per_call));
    }
  }

  if (!wanted("replay") && !wanted("inproc") && !wanted("verify")) {
    report.PrintSummary();
    PrintSideBySide(report, fsync_latency);
    return 0;
  }
  report.Section("Log size for the reads");
  absl::Status topped = TopUp(store, replay_events, &report);
  if (!topped.ok()) {
    std::fprintf(stderr, "top-up failed: %s\n", topped.ToString().c_str());
    return 1;
  }
  const uint64_t head = store->HeadPosition();
  report.Note(absl::StrCat("log head: ", head, " events"));

  if (wanted("replay")) {
    report.Section("[4] ReadAll replay over gRPC, 10000-event pages");
    for (int n : {1, 2}) {
      for (bool raw : {false, true}) {
        GrpcReplay replay(stubs, head, n, raw);
        report.Add(ReadRow(absl::StrCat("gRPC ReadAll", raw ? " raw" : "",
                                        ", pages in flight ", n),
                           replay.Run()));
      }
    }
  }

  if (wanted("inproc")) {
    report.Section("[6b] Reads in-process (RocksDB store, no gRPC)");
    for (int threads : {1, 2}) {
      report.Add(ReadRow(absl::StrCat("in-proc ReadAll, ", threads, " thr"),
                         RunStoreReadAll(store, head, threads)));
    }
    report.Add(ReadRow(
        absl::StrFormat("in-proc ReadStream, %d-event pages", kReadStreamPage),
        RunStoreReadStream(store, measure)));
  }

  if (wanted("verify")) {
    report.Section("[5] Chain verification over the whole log");
    {
      const Clock::time_point start = Clock::now();
      auto r = store->VerifyChain(0, 0);
      const double seconds = Seconds(Clock::now() - start);
      if (r.ok()) {
        report.Add(VerifyRow("in-proc VerifyChain", r->verified_count, r->ok,
                             r->reason, seconds));
      } else {
        report.Note(absl::StrCat("in-proc VerifyChain failed: ",
                                 r.status().ToString()));
      }
    }
    {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           kLongCallDeadline);
      pb::VerifyChainRequest request;
      pb::VerifyChainResponse response;
      const Clock::time_point start = Clock::now();
      grpc::Status status = stubs[0]->VerifyChain(&context, request, &response);
      const double seconds = Seconds(Clock::now() - start);
      if (status.ok()) {
        report.Add(VerifyRow("gRPC VerifyChain", response.verified_count(),
                             response.ok(), response.reason(), seconds));
      } else {
        report.Note(absl::StrCat("gRPC VerifyChain failed: ",
                                 status.error_message()));
      }
    }
  }

  report.PrintSummary();
  PrintSideBySide(report, fsync_latency);
  const Row* n1 = report.Find("gRPC append 1 event, in flight 1");
  if (n1 != nullptr && fsync_latency.has_value() && fsync_latency->p50 > 0) {
    std::printf("\n  p50(N=1) / fdatasync p50 = %.2f  (%.1f us / %.1f us)\n",
                n1->latency_us->p50 / fsync_latency->p50, n1->latency_us->p50,
                fsync_latency->p50);
  }

  stubs.clear();
  channels.clear();
  server->Shutdown(absl::Seconds(5));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil checks every Mutex acquisition for lock-order cycles
  // unless told not to; a production server does not pay for that.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return Run();
}
