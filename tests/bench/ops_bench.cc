// Figures for running ncmd: the cost of Prometheus metrics on durable
// appends over loopback gRPC (metrics off and on, alternating, same run;
// while on, /metrics is scraped every second as Prometheus would), and
// backups of a generated store: full, incremental, restore (with its
// verification), and how long appends wait meanwhile.
//   build/bin/ops_bench [--seconds=3] [--rounds=2] [--backup_events=1000000]
//                       [--only=metrics|backup] [--dir=...]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <mutex>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/bench_util.h"
#include "clients/common/connect.h"
#include "grpcpp/grpcpp.h"
#include "ncm/eventstore/rocksdb_event_store.h"
#include "ncm/eventstore/v1/eventstore.grpc.pb.h"
#include "ncm/ncmd/server.h"
#include "testing/temp_dir.h"

ABSL_FLAG(double, seconds, 3, "seconds per load and setting");
ABSL_FLAG(int, rounds, 2, "rounds of off, on, on, off per load");
ABSL_FLAG(int64_t, backup_events, 1000000, "events in the store the backup figures use");
ABSL_FLAG(std::string, only, "", "metrics or backup: that section alone");
ABSL_FLAG(std::string, dir, "", "folder for the stores (default: a temporary one)");

namespace ncm {
namespace {

namespace pb = ::ncm::eventstore::v1;
using Clock = std::chrono::steady_clock;

pb::AppendRequest Request(std::mt19937_64& rng, int events, int stream) {
  pb::AppendRequest r;
  auto* s = r.add_streams();
  s->set_stream_id(absl::StrCat("bench-", stream));
  s->mutable_expected()->set_kind(pb::ExpectedRevision::ANY);
  for (int i = 0; i < events; ++i) {
    auto* e = s->add_events();
    e->set_event_id(bench::RandomUuid(rng));
    e->set_event_type("ncm.bench.v1.Event");
    e->set_payload(std::string(300, 'x'));
  }
  return r;
}

// GET `path` from host:port over HTTP/1.0: the bytes of the answer.
size_t HttpGetBytes(const std::string& address, const std::string& path) {
  const size_t colon = address.rfind(':');
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &a.sin_addr);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  size_t total = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = "GET " + path + " HTTP/1.0\r\nHost: " + address + "\r\n\r\n";
    if (::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[65536];
      for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) total += static_cast<size_t>(n);
    }
  }
  ::close(fd);
  return total;
}

struct Rate {
  double events_per_s = 0;
  double p50_us = 0;
};

// `clients` callers, each on its own channel, appending `batch` events a
// call for `seconds`, against a fresh ncmd with metrics on or off.
Rate AppendRate(const std::string& path, bool metrics, int clients, int batch, double seconds) {
  std::filesystem::remove_all(path);
  ncmd::ServerOptions so;
  so.listen_address = "127.0.0.1:0";
  so.data_dir = path;
  so.read_models = false;
  so.checkpoints.interval = absl::ZeroDuration();
  so.metrics_listen = metrics ? "127.0.0.1:0" : "";
  so.log = [](absl::string_view, const std::string&) {};
  auto server = ncmd::StartServer(so);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", std::string(server.status().message()).c_str());
    std::exit(1);
  }
  client::ConnectOptions co;
  co.server = (*server)->address();
  co.token = *client::ReadTokenFile(path + "/admin.token");
  std::atomic<bool> stop{false};
  std::atomic<int64_t> done{0};
  std::vector<std::vector<double>> latencies(clients);
  std::vector<std::thread> ts;
  for (int c = 0; c < clients; ++c) {
    ts.emplace_back([&, c] {
      client::ConnectOptions mine = co;
      mine.args.SetInt("grpc.channel_id", c);  // a connection each
      auto stub = pb::EventStore::NewStub(*client::Connect(mine));
      std::mt19937_64 rng(c * 7919 + 1);
      while (!stop.load(std::memory_order_relaxed)) {
        pb::AppendRequest r = Request(rng, batch, c);
        grpc::ClientContext ctx;
        pb::AppendResponse resp;
        const auto t0 = Clock::now();
        if (!stub->Append(&ctx, r, &resp).ok()) continue;
        latencies[c].push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        done.fetch_add(batch, std::memory_order_relaxed);
      }
    });
  }
  // Scrapes while the load runs, once a second, from this process (no
  // child process to spawn, so that the scrape's own cost is ncmd's).
  std::thread scraper;
  if (metrics) {
    const std::string address = (*server)->metrics_address();
    scraper = std::thread([&stop, address] {
      while (!stop.load()) {
        if (HttpGetBytes(address, "/metrics") == 0) {
          std::fprintf(stderr, "the metrics scrape failed\n");
          std::exit(1);
        }
        for (int i = 0; i < 10 && !stop.load(); ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      }
    });
  }
  // A second to settle (connections, first compactions), then measure.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const int64_t start_count = done.load();
  const auto start = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const int64_t end_count = done.load();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  stop = true;
  for (auto& t : ts) t.join();
  if (scraper.joinable()) scraper.join();
  (*server)->Shutdown(absl::Seconds(5));
  server->reset();
  std::filesystem::remove_all(path);
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  Rate r;
  r.events_per_s = static_cast<double>(end_count - start_count) / elapsed;
  r.p50_us = bench::ComputePercentiles(all).p50;
  return r;
}

void MetricsFigures(const std::string& dir) {
  const double secs = absl::GetFlag(FLAGS_seconds);
  const int rounds = absl::GetFlag(FLAGS_rounds);
  std::printf("\n## Durable appends over loopback gRPC, metrics off and on (%.0f s each, %d rounds "
              "of off, on, on, off; 300-byte payloads; scraped every second while on)\n\n",
              secs, rounds);
  std::printf("| load | metrics off events/s | metrics on events/s | on/off | slowest/fastest off "
              "run (the noise) | p50 us off | on |\n|---|---|---|---|---|---|---|\n");
  struct Load {
    const char* name;
    int clients, batch;
  };
  for (const Load& l : {Load{"1 client, 1 event", 1, 1}, Load{"16 clients, 1 event", 16, 1},
                        Load{"64 clients, 1 event", 64, 1},
                        Load{"8 clients, 100-event batches", 8, 100}}) {
    const bench::Alternated x = bench::Alternate(rounds, [&](bool metrics) {
      const Rate r = AppendRate(dir + "/append", metrics, l.clients, l.batch, secs);
      return std::pair{r.events_per_s, r.p50_us};
    });
    std::printf("| %s | %.0f | %.0f | %.3f | %.3f | %.0f | %.0f |\n", l.name, x.off, x.on,
                x.on / x.off, x.noise, x.off_other, x.on_other);
    std::fflush(stdout);
  }
}

namespace es = ::ncm::eventstore;

double Mib(uint64_t b) { return static_cast<double>(b) / (1 << 20); }

void BackupFigures(const std::string& dir) {
  const int64_t events = absl::GetFlag(FLAGS_backup_events);
  std::printf("\n## Backups of a store of %lld events (300-byte payloads, 1,000-event appends)\n\n",
              static_cast<long long>(events));
  const std::string path = dir + "/store", backups = dir + "/backups";
  std::filesystem::remove_all(path);
  std::filesystem::remove_all(backups);
  es::RocksDbOptions o;
  o.path = path;
  auto store = es::OpenRocksDbEventStore(o);
  if (!store.ok()) std::exit(1);
  std::mt19937_64 rng(11);
  auto append = [&](int64_t n) { bench::FillStore(store->get(), n, rng()); };
  append(events);
  std::printf("| step | seconds | appends paused, s | bytes added | backup folder | log head |\n"
              "|---|---|---|---|---|---|\n");
  auto row = [&](const char* step, const es::BackupResult& b) {
    std::printf("| %s | %.2f | %.3f | %.1f MiB | %.1f MiB | %llu |\n", step,
                absl::ToDoubleSeconds(b.took), absl::ToDoubleSeconds(b.paused), Mib(b.added_bytes),
                Mib(b.folder_bytes), static_cast<unsigned long long>(b.head_position));
    std::fflush(stdout);
  };
  auto full = (*store)->Backup(backups);
  if (!full.ok()) {
    std::fprintf(stderr, "%s\n", std::string(full.status().message()).c_str());
    std::exit(1);
  }
  row("full backup", *full);
  append(10000);
  auto incremental = (*store)->Backup(backups);
  if (!incremental.ok()) std::exit(1);
  row("incremental, 10,000 events later", *incremental);
  // A backup while 8 appenders write single events: how long they wait.
  std::atomic<bool> stop{false};
  std::atomic<int64_t> written{0};
  std::vector<double> waits;
  std::mutex waits_mu;
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&, t] {
      std::mt19937_64 r(t + 77);
      std::vector<double> mine;
      while (!stop.load()) {
        const auto t0 = Clock::now();
        if ((*store)->Append(bench::BenchAppend(r, 1, 100 + t)).ok()) written.fetch_add(1);
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
      std::lock_guard<std::mutex> l(waits_mu);
      waits.insert(waits.end(), mine.begin(), mine.end());
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto under_load = (*store)->Backup(backups);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop = true;
  for (auto& t : writers) t.join();
  if (!under_load.ok()) std::exit(1);
  row("incremental, 8 appenders writing", *under_load);
  const double worst = waits.empty() ? 0 : *std::max_element(waits.begin(), waits.end());
  std::printf("\nappends during that run: %lld, slowest %.1f ms, p99 %.1f ms\n",
              static_cast<long long>(written.load()), worst,
              bench::ComputePercentiles(waits).p99);
  store->reset();
  // Restore the newest into a new folder: copy, open, verify the chain.
  es::RocksDbOptions ro;
  ro.path = dir + "/restored";
  ro.key_encryption_key_file = path + ".kek";
  std::filesystem::remove_all(ro.path);
  const auto t0 = Clock::now();
  auto restored = es::RestoreRocksDbBackup(backups, 0, ro);
  const double restore_s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!restored.ok()) {
    std::fprintf(stderr, "%s\n", std::string(restored.status().message()).c_str());
    std::exit(1);
  }
  std::printf("restore of backup %u (copy, open, verify %llu records' chain): %.2f s\n",
              restored->backup_id, static_cast<unsigned long long>(restored->verified_count),
              restore_s);
  std::filesystem::remove_all(ro.path);
  std::filesystem::remove_all(backups);
  std::filesystem::remove_all(path);
}

}  // namespace
}  // namespace ncm

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  ::umask(077);  // ncmd refuses a data folder others can read
  ncm::testing::TempDir tmp;
  const std::string dir = absl::GetFlag(FLAGS_dir).empty() ? tmp.path() : absl::GetFlag(FLAGS_dir);
  std::filesystem::create_directories(dir);
  std::printf("# ops_bench\n");
  const std::string only = absl::GetFlag(FLAGS_only);
  if (only.empty() || only == "metrics") ncm::MetricsFigures(dir);
  if (only.empty() || only == "backup") ncm::BackupFigures(dir);
  return 0;
}
