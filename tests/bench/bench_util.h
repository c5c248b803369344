// Shared by the benchmark programs: latency percentiles, CPU time,
// alternating runs of a setting off and on, generated appends.
#ifndef NCM_TESTS_BENCH_BENCH_UTIL_H_
#define NCM_TESTS_BENCH_BENCH_UTIL_H_

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ncm/eventstore/event_store.h"

namespace ncm::bench {

struct Percentiles {
  double p50 = 0;
  double p99 = 0;
};

// Nearest-rank percentiles.
inline Percentiles ComputePercentiles(std::vector<double> v) {
  Percentiles p;
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto rank = [&](double q) {
    const size_t i =
        static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::min(v.size(), std::max<size_t>(i, 1)) - 1];
  };
  p.p50 = rank(0.50);
  p.p99 = rank(0.99);
  return p;
}

// CPU seconds (user + system) this process has used so far, every thread.
inline double ProcessCpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// A setting measured off and on in rounds of off, on, on, off (the next
// round starting where this one ends), so that a drift of the machine over
// a round falls on both alike.
struct Alternated {
  double off = 0, on = 0;              // mean of the first figure (a rate)
  double off_other = 0, on_other = 0;  // mean of the second
  double noise = 1;                    // slowest / fastest off run
};

// `measure(on)` gives the two figures of one run.
template <typename Measure>
Alternated Alternate(int rounds, Measure measure) {
  Alternated a;
  double slowest = 1e300, fastest = 0;
  for (int r = 0; r < rounds; ++r) {
    for (bool on : {false, true, true, false}) {
      const std::pair<double, double> x = measure(on);
      (on ? a.on : a.off) += x.first;
      (on ? a.on_other : a.off_other) += x.second;
      if (!on) {
        slowest = std::min(slowest, x.first);
        fastest = std::max(fastest, x.first);
      }
    }
  }
  const double n = 2.0 * std::max(1, rounds);
  a.off /= n;
  a.on /= n;
  a.off_other /= n;
  a.on_other /= n;
  a.noise = fastest > 0 ? slowest / fastest : 1;
  return a;
}

// A random UUID v4 in text form.
inline std::string RandomUuid(std::mt19937_64& rng) {
  const uint64_t a = rng(), b = rng();
  return absl::StrFormat("%08x-%04x-4%03x-8%03x-%012x", a >> 32, (a >> 16) & 0xffff, a & 0xfff,
                         b >> 52, b & 0xffffffffffffULL);
}

// `events` events of 300-byte payloads on stream "bench-<stream>".
inline eventstore::AppendRequest BenchAppend(std::mt19937_64& rng, int events, int stream) {
  eventstore::AppendRequest r;
  eventstore::StreamWrite w;
  w.stream_id = absl::StrCat("bench-", stream);
  w.expected = eventstore::ExpectedRevision::Any();
  for (int i = 0; i < events; ++i) {
    eventstore::ProposedEvent e;
    e.event_id = RandomUuid(rng);
    e.event_type = "ncm.bench.v1.Event";
    e.payload = std::string(300, 'x');
    w.events.push_back(std::move(e));
  }
  r.streams.push_back(std::move(w));
  return r;
}

// Appends `events` events in 1,000-event appends from 4 threads (seeds
// from `seed`), for a generated log.
inline void FillStore(eventstore::EventStore* store, int64_t events, uint64_t seed) {
  std::vector<std::thread> ts;
  std::atomic<int64_t> next{0};
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      std::mt19937_64 rng(seed + static_cast<uint64_t>(t));
      while (next.fetch_add(1000) < events) (void)store->Append(BenchAppend(rng, 1000, t));
    });
  }
  for (auto& t : ts) t.join();
}

}  // namespace ncm::bench

#endif  // NCM_TESTS_BENCH_BENCH_UTIL_H_
