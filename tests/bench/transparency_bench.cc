// Figures for the transparency log: the Merkle tree's cost on durable
// appends (tree on and off, alternating, same run), the cost of proofs as
// the log grows (node reads, hashes, time), checkpoint signing, and proof
// latency over loopback gRPC.
//   build/bin/transparency_bench [--events=1000000] [--seconds=3] [--rounds=2]
//                                [--appends_only] [--dir=...]
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
#include "ncm/eventstore/merkle.h"
#include "ncm/eventstore/note.h"
#include "ncm/eventstore/rocksdb_event_store.h"
#include "ncm/eventstore/v1/transparency.grpc.pb.h"
#include "ncm/ncmd/server.h"
#include "testing/temp_dir.h"

ABSL_FLAG(int64_t, events, 1000000, "events in the generated log for the proof figures");
ABSL_FLAG(double, seconds, 3, "seconds per append load and setting");
ABSL_FLAG(int, rounds, 2, "rounds of off, on, on, off per append load");
ABSL_FLAG(bool, appends_only, false, "only the append figures (no generated log, no proofs)");
ABSL_FLAG(std::string, dir, "", "folder for the stores (default: a temporary one)");

namespace ncm {
namespace {

namespace es = ::ncm::eventstore;
namespace merkle = ::ncm::eventstore::merkle;
namespace note = ::ncm::eventstore::note;
namespace tpb = ::ncm::eventstore::v1;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct Rate {
  double events_per_s = 0;
  double cpu_us_per_event = 0;  // this process, every thread (RocksDB's too)
};

// Events per second of `threads` appenders, each appending `batch` events
// per call, for `seconds`, and the process's CPU time per event.
Rate AppendRate(const std::string& path, bool tree, int threads, int batch, double seconds) {
  std::filesystem::remove_all(path);
  es::RocksDbOptions o;
  o.path = path;
  o.merkle_tree = tree;
  auto store = es::OpenRocksDbEventStore(o);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", std::string(store.status().message()).c_str());
    std::exit(1);
  }
  std::atomic<bool> stop{false};
  std::atomic<int64_t> done{0};
  std::vector<std::thread> ts;
  const auto start = Clock::now();
  const double cpu_start = bench::ProcessCpuSeconds();
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      std::mt19937_64 rng(t * 7919 + 1);
      while (!stop.load(std::memory_order_relaxed)) {
        if ((*store)->Append(bench::BenchAppend(rng, batch, t % 16)).ok()) done += batch;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : ts) t.join();
  Rate rate;
  rate.events_per_s = static_cast<double>(done.load()) / Seconds(Clock::now() - start);
  rate.cpu_us_per_event =
      (bench::ProcessCpuSeconds() - cpu_start) * 1e6 / static_cast<double>(std::max<int64_t>(1, done));
  store->reset();
  std::filesystem::remove_all(path);
  return rate;
}

// What the tree adds to the writer thread per event, alone: the leaf hash of
// the stored record and the frontier's update, over records of the append
// loads' shape, beside a SHA-256 of as many bytes as the hash chain hashes
// for the same record.
void TreeWorkPerEvent(const std::string& dir) {
  const std::string path = dir + "/tree-work";
  std::filesystem::remove_all(path);
  es::RocksDbOptions o;
  o.path = path;
  o.merkle_tree = false;
  auto store = es::OpenRocksDbEventStore(o);
  if (!store.ok()) std::exit(1);
  std::mt19937_64 rng(3);
  for (int i = 0; i < 10; ++i) (void)(*store)->Append(bench::BenchAppend(rng, 100, i));
  es::ReadAllOptions ro;
  ro.from_position = 1;
  ro.max_count = 1000;
  auto raw = (*store)->ReadAllRaw(ro);
  if (!raw.ok()) std::exit(1);
  std::vector<std::string> values;
  for (absl::string_view f = raw->frames; f.size() >= 4;) {
    const uint32_t n = (uint32_t{static_cast<uint8_t>(f[0])} << 24) |
                       (uint32_t{static_cast<uint8_t>(f[1])} << 16) |
                       (uint32_t{static_cast<uint8_t>(f[2])} << 8) | static_cast<uint8_t>(f[3]);
    values.emplace_back(f.substr(4, n));
    f.remove_prefix(4 + n);
  }
  store->reset();
  std::filesystem::remove_all(path);
  if (values.empty()) std::exit(1);
  size_t bytes = 0;
  for (const std::string& v : values) bytes += merkle::RecordOf(v).size();
  constexpr int kPasses = 200;
  merkle::Frontier frontier;
  std::vector<merkle::Frontier::Node> finished;
  auto t0 = Clock::now();
  for (int pass = 0; pass < kPasses; ++pass) {
    for (const std::string& v : values) {
      finished.clear();
      frontier.Add(merkle::LeafHash(merkle::RecordOf(v)), &finished);
    }
  }
  const double events = static_cast<double>(kPasses) * static_cast<double>(values.size());
  const double tree_us = Seconds(Clock::now() - t0) * 1e6 / events;
  es::Hash sink{};
  t0 = Clock::now();
  for (int pass = 0; pass < kPasses; ++pass) {
    for (const std::string& v : values) {
      // prev_hash || record, as the chain hashes it (and one byte more)
      sink = merkle::LeafHash(absl::string_view(v).substr(0, v.size() - 32));
    }
  }
  const double chain_us = Seconds(Clock::now() - t0) * 1e6 / events;
  std::printf("\nthe tree's work in the writer thread, alone: %.2f us/event (leaf hash and "
              "frontier; records of %zu bytes on average); a SHA-256 of the bytes the hash chain "
              "hashes: %.2f us (%02x)\n",
              tree_us, bytes / values.size(), chain_us, sink[0]);
}

void AppendFigures(const std::string& dir) {
  const double secs = absl::GetFlag(FLAGS_seconds);
  std::printf("\n## Durable appends, Merkle tree off and on (%.0f s each, %d rounds of off, on, on, off; "
              "300-byte payloads)\n\n",
              secs, absl::GetFlag(FLAGS_rounds));
  // Each round runs off, on, on, off (the next round starts where this one
  // ends), so a drift of the machine over a round falls on both settings
  // alike; the spread of the off runs shows how much it varies between runs
  // of the same setting. CPU time per event (every thread of this process,
  // RocksDB's included, the request generation too) moves less than the
  // rates do when the machine is shared.
  std::printf("| load | tree off events/s | tree on events/s | on/off | slowest/fastest off run "
              "(the noise) | CPU us/event off | on | on/off |\n|---|---|---|---|---|---|---|---|\n");
  struct Load {
    const char* name;
    int threads, batch;
  };
  const int rounds = absl::GetFlag(FLAGS_rounds);
  for (const Load& l : {Load{"1 appender, 1 event", 1, 1}, Load{"64 appenders, 1 event", 64, 1},
                        Load{"8 appenders, 100-event batches", 8, 100}}) {
    const bench::Alternated x = bench::Alternate(rounds, [&](bool tree) {
      const Rate r = AppendRate(dir + "/append", tree, l.threads, l.batch, secs);
      return std::pair{r.events_per_s, r.cpu_us_per_event};
    });
    std::printf("| %s | %.0f | %.0f | %.3f | %.3f | %.2f | %.2f | %.3f |\n", l.name, x.off, x.on,
                x.on / x.off, x.noise, x.off_other, x.on_other, x.on_other / x.off_other);
    std::fflush(stdout);
  }
  TreeWorkPerEvent(dir);
}

struct Counted {
  es::EventStore* store;
  mutable int64_t reads = 0;
  merkle::NodeReader Reader() const {
    return [this](int level, uint64_t index) {
      ++reads;
      return store->TreeNode(level, index);
    };
  }
};

void ProofFigures(const std::string& dir, int64_t events) {
  const std::string path = dir + "/log";
  std::filesystem::remove_all(path);
  es::RocksDbOptions o;
  o.path = path;
  auto store = es::OpenRocksDbEventStore(o);
  if (!store.ok()) std::exit(1);
  std::printf("\n## A generated log of %lld events (1,000-event appends)\n\n",
              static_cast<long long>(events));
  const auto gen_start = Clock::now();
  bench::FillStore(store->get(), events, 99);
  const uint64_t head = (*store)->HeadPosition();
  std::printf("generated %llu events in %.1f s\n\n", static_cast<unsigned long long>(head),
              Seconds(Clock::now() - gen_start));
  Counted nodes{store->get()};
  std::printf("| tree size n | consistency 1..n: hashes, node reads, us | consistency n/2..n | "
              "inclusion of a random leaf: hashes, node reads, us | root: node reads |\n"
              "|---|---|---|---|---|\n");
  std::mt19937_64 rng(5);
  for (uint64_t n = 1000; n <= head; n *= 10) {
    auto time = [&](auto fn, size_t* hashes, int64_t* reads) {
      constexpr int kReps = 200;
      nodes.reads = 0;
      const auto t0 = Clock::now();
      for (int i = 0; i < kReps; ++i) *hashes = fn();
      *reads = nodes.reads / kReps;
      return Seconds(Clock::now() - t0) * 1e6 / kReps;
    };
    size_t h1 = 0, h2 = 0, h3 = 0, unused = 0;
    int64_t r1 = 0, r2 = 0, r3 = 0, r4 = 0;
    const double c1 = time([&] { return merkle::ConsistencyProof(nodes.Reader(), 1, n)->size(); },
                           &h1, &r1);
    const double c2 = time(
        [&] { return merkle::ConsistencyProof(nodes.Reader(), n / 2 + 1, n)->size(); }, &h2, &r2);
    const double c3 = time(
        [&] { return merkle::InclusionProof(nodes.Reader(), rng() % n, n)->size(); }, &h3, &r3);
    time([&] { return static_cast<size_t>(merkle::RootAt(nodes.Reader(), n).ok()); }, &unused,
         &r4);
    std::printf("| %llu | %zu, %lld, %.1f | %zu, %lld, %.1f | %zu, %lld, %.1f | %lld |\n",
                static_cast<unsigned long long>(n), h1, static_cast<long long>(r1), c1, h2,
                static_cast<long long>(r2), c2, h3, static_cast<long long>(r3), c3,
                static_cast<long long>(r4));
    if (n * 10 > head && n != head) n = head / 10;  // end on the whole log
  }
  // Signing: the root at the head, the note, the Ed25519 signature.
  auto key = note::GenerateKey("bench.example/log", note::kEd25519);
  constexpr int kSigns = 2000;
  auto t0 = Clock::now();
  for (int i = 0; i < kSigns; ++i) {
    note::Checkpoint c{"bench.example/log", head, *merkle::RootAt(nodes.Reader(), head), {}};
    note::Note n{note::FormatCheckpoint(c), {}};
    n.signatures.push_back(*note::SignNote(*key, n.text));
    (void)note::FormatNote(n);
  }
  const double sign_us = Seconds(Clock::now() - t0) * 1e6 / kSigns;
  auto v = note::VerifierOf(*key);
  note::Checkpoint c{"bench.example/log", head, *merkle::RootAt(nodes.Reader(), head), {}};
  note::Note n{note::FormatCheckpoint(c), {}};
  n.signatures.push_back(*note::SignNote(*key, n.text));
  const std::string text = note::FormatNote(n);
  t0 = Clock::now();
  for (int i = 0; i < kSigns; ++i) (void)note::OpenCheckpoint(text, v);
  const double verify_us = Seconds(Clock::now() - t0) * 1e6 / kSigns;
  std::printf("\ncheckpoint of the whole log: root + note + Ed25519 signature %.1f us; "
              "parse + verify %.1f us\n",
              sign_us, verify_us);
  store->reset();

  // Over gRPC: ncmd on the same folder, without read models.
  ncmd::ServerOptions so;
  so.listen_address = "127.0.0.1:0";
  so.data_dir = path;
  so.read_models = false;
  so.checkpoints.interval = absl::ZeroDuration();
  so.log = [](absl::string_view, const std::string&) {};
  auto server = ncmd::StartServer(so);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", std::string(server.status().message()).c_str());
    std::exit(1);
  }
  client::ConnectOptions co;
  co.server = (*server)->address();
  co.token = *client::ReadTokenFile(path + "/admin.token");
  auto stub = tpb::Transparency::NewStub(*client::Connect(co));
  auto latency = [&](const char* what, auto call) {
    std::vector<double> us;
    for (int i = 0; i < 2000; ++i) {
      grpc::ClientContext ctx;
      const auto t = Clock::now();
      grpc::Status s = call(&ctx);
      us.push_back(Seconds(Clock::now() - t) * 1e6);
      if (!s.ok()) {
        std::fprintf(stderr, "%s: %s\n", what, s.error_message().c_str());
        std::exit(1);
      }
    }
    const auto p = bench::ComputePercentiles(us);
    std::printf("| %s | %.0f | %.0f |\n", what, p.p50, p.p99);
  };
  const uint64_t size = (*server)->store()->HeadPosition();
  std::printf("\n## Over loopback gRPC, one client, %llu records (2,000 calls each)\n\n"
              "| call | p50 us | p99 us |\n|---|---|---|\n",
              static_cast<unsigned long long>(size));
  latency("GetInclusionProof, random position, whole log", [&](grpc::ClientContext* ctx) {
    tpb::GetInclusionProofRequest r;
    r.set_position(1 + rng() % size);
    tpb::InclusionProof out;
    return stub->GetInclusionProof(ctx, r, &out);
  });
  latency("GetConsistencyProof, random size to the whole log", [&](grpc::ClientContext* ctx) {
    tpb::GetConsistencyProofRequest r;
    r.set_first_size(1 + rng() % size);
    tpb::ConsistencyProof out;
    return stub->GetConsistencyProof(ctx, r, &out);
  });
  latency("GetCheckpoint, latest (kept)", [&](grpc::ClientContext* ctx) {
    tpb::SignedCheckpoint out;
    return stub->GetCheckpoint(ctx, tpb::GetCheckpointRequest(), &out);
  });
  (*server)->Shutdown(absl::Seconds(5));
  server->reset();
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
  std::printf("# transparency_bench\n");
  ncm::AppendFigures(dir);
  if (!absl::GetFlag(FLAGS_appends_only)) ncm::ProofFigures(dir, absl::GetFlag(FLAGS_events));
  return 0;
}
