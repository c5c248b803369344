// Message-bus figures, side by side in one run against a nats-server the
// program starts on loopback:
//  1. a backlog of --events events published from the log to JetStream
//     (events/s);
//  2. --appenders concurrent appenders for --seconds, with the bus off and
//     on (appends/s each), the CPU time per append of this process and of
//     nats-server, and the commit-to-acknowledgement time with the bus on
//     (p50/p99);
//  3. a read node catching up from JetStream (its copy and its four read
//     models) against the write node's own rebuild of the same read models
//     from its log (events/s each).
// build/bin/bus_bench --help
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "bench/bench_util.h"
#include "ncm/bus/publisher.h"
#include "ncm/bus/replica.h"
#include "ncm/eventstore/rocksdb_event_store.h"
#include "ncm/mous/read_model.h"
#include "ncm/readside/runner.h"
#include "ncm/resolutions/read_model.h"
#include "ncm/resources/read_model.h"
#include "ncm/services/ids.h"
#include "ncm/stakeholders/read_model.h"
#include "testing/nats_server.h"

ABSL_FLAG(int, events, 1000000, "Events in the backlog.");
ABSL_FLAG(int, appenders, 64, "Concurrent appenders in the steady-state runs.");
ABSL_FLAG(int, seconds, 10, "Duration of each steady-state run.");
ABSL_FLAG(std::string, dir, "", "Work folder (default: a fresh temp folder).");

namespace {

namespace es = ::ncm::eventstore;
namespace bus = ::ncm::bus;
using Clock = std::chrono::steady_clock;

void Line(const std::string& what, const std::string& figure) {
  std::printf("%-64s %s\n", what.c_str(), figure.c_str());
  std::fflush(stdout);
}

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

std::unique_ptr<es::EventStore> Open(const std::string& path,
                                     const std::string& copy_of = "") {
  es::RocksDbOptions o;
  o.path = path;
  o.copy_of = copy_of;
  auto s = es::OpenRocksDbEventStore(o);
  if (!s.ok()) {
    std::fprintf(stderr, "cannot open %s: %s\n", path.c_str(),
                 std::string(s.status().message()).c_str());
    std::exit(1);
  }
  return std::move(*s);
}

es::ProposedEvent Event(std::mt19937_64& rng) {
  es::ProposedEvent e;
  e.event_id = ncm::services::NewUuid();
  e.event_type = "ncm.bench.v1.Generated";
  e.payload = std::string(80 + rng() % 80, 'p');
  return e;
}

void Backlog(es::EventStore* store, int n) {
  std::mt19937_64 rng(11);
  for (int done = 0; done < n;) {
    es::AppendRequest r;
    es::StreamWrite w;
    w.stream_id = absl::StrCat("load-", rng() % 1000);
    for (int i = 0; i < 500 && done < n; ++i, ++done) w.events.push_back(Event(rng));
    r.streams.push_back(std::move(w));
    if (!store->Append(std::move(r)).ok()) std::exit(1);
  }
}

std::unique_ptr<bus::Publisher> Publish(es::EventStore* store,
                                        const bus::BrokerOptions& b) {
  bus::PublisherOptions o;
  o.broker = b;
  auto p = bus::StartPublisher(store, o);
  if (!p.ok()) std::exit(1);
  return std::move(*p);
}

bool WaitAcked(bus::Publisher* p, uint64_t head, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (p->Status().acked_position >= head) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return false;
}

std::unique_ptr<ncm::readside::ReadSide> ReadModels(es::EventStore* store,
                                                    const std::string& path) {
  std::vector<std::unique_ptr<ncm::readside::Projection>> p;
  p.push_back(ncm::resolutions::NewResolutionsProjection());
  p.push_back(ncm::mous::NewMousProjection());
  p.push_back(ncm::resources::NewBudgetsProjection());
  p.push_back(ncm::stakeholders::NewDirectoryProjection());
  ncm::readside::ReadSideOptions o;
  o.path = path;
  auto rs = ncm::readside::OpenReadSide(store, std::move(p), o);
  if (!rs.ok() || !(*rs)->Start().ok()) std::exit(1);
  return std::move(*rs);
}

void WaitModels(ncm::readside::ReadSide* rs, uint64_t head) {
  for (const char* m : {"resolutions", "mous", "budgets", "directory"}) {
    if (!rs->WaitFor(m, head, absl::Minutes(30)).ok()) std::exit(1);
  }
}

// CPU seconds (user + system) used so far by this process or by `pid`.
double CpuSeconds(pid_t pid = 0) {
  if (pid == 0) return ncm::bench::ProcessCpuSeconds();
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  std::getline(in, line);
  // Fields after the command's closing parenthesis; utime and stime are
  // the 14th and 15th of the whole line.
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string f;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> f; ++i) {
    if (i >= 14) ticks += std::stod(f);
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

struct Cpu {
  double self = 0, broker = 0;
};

// Appends of one event each from `threads` threads for `seconds`.
uint64_t Steady(es::EventStore* store, int threads, int seconds, pid_t broker,
                Cpu* cpu) {
  const double self0 = CpuSeconds(), broker0 = CpuSeconds(broker);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> done{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      while (!stop) {
        es::AppendRequest r;
        es::StreamWrite w;
        w.stream_id = absl::StrCat("steady-", t);
        w.events.push_back(Event(rng));
        r.streams.push_back(std::move(w));
        if (store->Append(std::move(r)).ok()) ++done;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& t : ts) t.join();
  cpu->self = CpuSeconds() - self0;
  cpu->broker = CpuSeconds(broker) - broker0;
  return done;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int n = absl::GetFlag(FLAGS_events);
  std::string dir = absl::GetFlag(FLAGS_dir);
  if (dir.empty()) {
    dir = (std::filesystem::temp_directory_path() /
           absl::StrCat("ncm-bus-bench-", ::getpid()))
              .string();
  }
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  ::chmod(dir.c_str(), 0700);
  ncm::testing::NatsServer nats(dir + "/nats", "bench", ncm::testing::FreePort());
  if (!nats.Start()) {
    std::fprintf(stderr, "nats-server did not start:\n%s\n", nats.log().c_str());
    return 1;
  }
  bus::BrokerOptions b;
  b.urls = {nats.url()};
  b.client_name = "bus-bench";

  // 1. The backlog.
  auto write = Open(dir + "/write");
  Backlog(write.get(), n);
  const uint64_t head = write->HeadPosition();
  auto t0 = Clock::now();
  auto publisher = Publish(write.get(), b);
  if (!WaitAcked(publisher.get(), head, absl::Minutes(30))) return 1;
  const double publish_s = Seconds(t0);
  Line(absl::StrFormat("publish a backlog of %d events to JetStream", n),
       absl::StrFormat("%.0f events/s (%.1f s)", head / publish_s, publish_s));
  publisher->Stop();

  // 3. A read node's catch-up against the write node's rebuild.
  t0 = Clock::now();
  {
    auto rs = ReadModels(write.get(), dir + "/write-models");
    WaitModels(rs.get(), head);
  }
  const double rebuild_s = Seconds(t0);
  double copied_s = 0;
  t0 = Clock::now();
  {
    auto copy = Open(dir + "/copy", "write");
    auto rs = ReadModels(copy.get(), dir + "/copy-models");
    bus::ReplicaOptions ro;
    ro.source = bus::JetStreamSource(b);
    auto replica = bus::StartReplica(copy.get(), ro);
    while (copy->HeadPosition() < head) absl::SleepFor(absl::Milliseconds(5));
    copied_s = Seconds(t0);
    WaitModels(rs.get(), head);
    replica->Stop();
  }
  const double copy_s = Seconds(t0);
  Line("write node: rebuild its four read models from its log",
       absl::StrFormat("%.0f events/s (%.1f s)", head / rebuild_s, rebuild_s));
  Line("read node: copy from JetStream and build the same read models",
       absl::StrFormat("%.0f events/s (%.1f s), %.2fx the rebuild",
                       head / copy_s, copy_s, rebuild_s / copy_s));
  Line("read node: its copy of the log alone (verified, durable)",
       absl::StrFormat("%.0f events/s (%.1f s)", head / copied_s, copied_s));

  // 2. Steady state, bus off then on, on fresh stores.
  const int threads = absl::GetFlag(FLAGS_appenders);
  const int seconds = absl::GetFlag(FLAGS_seconds);
  uint64_t off, on;
  Cpu cpu_off, cpu_on;
  {
    auto s = Open(dir + "/steady-off");
    off = Steady(s.get(), threads, seconds, nats.pid(), &cpu_off);
  }
  bus::BrokerOptions b2 = b;
  b2.stream = "NCM_LOG_STEADY";
  b2.subject_prefix = "ncm.steady";
  bus::PublisherStatus st;
  {
    auto s = Open(dir + "/steady-on");
    auto p = Publish(s.get(), b2);
    on = Steady(s.get(), threads, seconds, nats.pid(), &cpu_on);
    st = p->Status();
    WaitAcked(p.get(), s->HeadPosition(), absl::Minutes(5));
    p->Stop();
  }
  Line(absl::StrFormat("%d appenders, 1 event each, bus off", threads),
       absl::StrFormat("%.0f appends/s", off / static_cast<double>(seconds)));
  Line(absl::StrFormat("%d appenders, 1 event each, bus on", threads),
       absl::StrFormat("%.0f appends/s (%.1f%% of off)",
                       on / static_cast<double>(seconds), 100.0 * on / off));
  auto per = [](double s, uint64_t n) { return 1e6 * s / std::max<uint64_t>(n, 1); };
  Line("CPU per append, bus off: this process",
       absl::StrFormat("%.1f us", per(cpu_off.self, off)));
  Line("CPU per append, bus on: this process, nats-server",
       absl::StrFormat("%.1f us, %.1f us (%.0f%% and %.0f%% of a core)",
                       per(cpu_on.self, on), per(cpu_on.broker, on),
                       100 * cpu_on.self / seconds, 100 * cpu_on.broker / seconds));
  Line("commit to broker acknowledgement while appending, bus on",
       absl::StrFormat("p50 %.2f ms, p99 %.2f ms (last %d commits), lag at end %d",
                       st.commit_to_ack_p50_ms, st.commit_to_ack_p99_ms,
                       static_cast<int>(std::min<uint64_t>(st.latency_samples, 4096)),
                       static_cast<int>(st.lag)));
  nats.Terminate();
  std::filesystem::remove_all(dir);
  return 0;
}
