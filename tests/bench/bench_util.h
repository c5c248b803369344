// Shared by the benchmark programs: latency percentiles, CPU time.
#ifndef NCM_TESTS_BENCH_BENCH_UTIL_H_
#define NCM_TESTS_BENCH_BENCH_UTIL_H_

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <vector>

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

}  // namespace ncm::bench

#endif  // NCM_TESTS_BENCH_BENCH_UTIL_H_
