// Shared by the benchmark programs: latency percentiles.
#ifndef NCM_TESTS_BENCH_BENCH_UTIL_H_
#define NCM_TESTS_BENCH_BENCH_UTIL_H_

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

}  // namespace ncm::bench

#endif  // NCM_TESTS_BENCH_BENCH_UTIL_H_
