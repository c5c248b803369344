// Figures for running ncmd: the cost of Prometheus metrics on durable
// appends over loopback gRPC (metrics off and on, alternating, same run;
// while on, /metrics is scraped every second as Prometheus would).
//   build/bin/ops_bench [--seconds=3] [--rounds=2] [--dir=...]
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/bench_util.h"
#include "clients/common/connect.h"
#include "grpcpp/grpcpp.h"
#include "ncm/eventstore/v1/eventstore.grpc.pb.h"
#include "ncm/ncmd/server.h"
#include "testing/temp_dir.h"

ABSL_FLAG(double, seconds, 3, "seconds per load and setting");
ABSL_FLAG(int, rounds, 2, "rounds of off, on, on, off per load");
ABSL_FLAG(std::string, dir, "", "folder for the stores (default: a temporary one)");

namespace ncm {
namespace {

namespace pb = ::ncm::eventstore::v1;
using Clock = std::chrono::steady_clock;

std::string Uuid(std::mt19937_64& rng) {
  const uint64_t a = rng(), b = rng();
  return absl::StrFormat("%08x-%04x-4%03x-8%03x-%012x", a >> 32, (a >> 16) & 0xffff,
                         a & 0xfff, b >> 52, b & 0xffffffffffffULL);
}

pb::AppendRequest Request(std::mt19937_64& rng, int events, int stream) {
  pb::AppendRequest r;
  auto* s = r.add_streams();
  s->set_stream_id(absl::StrCat("bench-", stream));
  s->mutable_expected()->set_kind(pb::ExpectedRevision::ANY);
  for (int i = 0; i < events; ++i) {
    auto* e = s->add_events();
    e->set_event_id(Uuid(rng));
    e->set_event_type("ncm.bench.v1.Event");
    e->set_payload(std::string(300, 'x'));
  }
  return r;
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
  // Scrapes while the load runs, once a second.
  std::thread scraper;
  if (metrics) {
    const std::string url = "http://" + (*server)->metrics_address() + "/metrics";
    scraper = std::thread([&stop, url] {
      while (!stop.load()) {
        if (FILE* p = ::popen(("curl -sf -o /dev/null '" + url + "'").c_str(), "r")) ::pclose(p);
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
    double off = 0, on = 0, off_p50 = 0, on_p50 = 0, off_min = 1e300, off_max = 0;
    for (int r = 0; r < rounds; ++r) {
      for (bool metrics : {false, true, true, false}) {
        const Rate x = AppendRate(dir + "/append", metrics, l.clients, l.batch, secs);
        if (metrics) {
          on += x.events_per_s;
          on_p50 += x.p50_us;
        } else {
          off += x.events_per_s;
          off_p50 += x.p50_us;
          off_min = std::min(off_min, x.events_per_s);
          off_max = std::max(off_max, x.events_per_s);
        }
      }
    }
    const double n = 2.0 * rounds;
    std::printf("| %s | %.0f | %.0f | %.3f | %.3f | %.0f | %.0f |\n", l.name, off / n, on / n,
                on / off, off_min / off_max, off_p50 / n, on_p50 / n);
    std::fflush(stdout);
  }
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
  ncm::MetricsFigures(dir);
  return 0;
}
