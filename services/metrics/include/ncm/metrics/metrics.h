// What ncmd tells Prometheus: every gRPC call by method and status code
// with its latency, the write path (appends, events, bytes, group-commit
// sizes, the synced write's latency), refused calls by reason, and gauges
// read at each scrape (the log's head, read models' and the bus's lag, open
// streams, RocksDB's state, the process). Served as Prometheus text on an
// HTTP listener of its own (MetricsEndpoint).
#ifndef NCM_METRICS_METRICS_H_
#define NCM_METRICS_METRICS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/support/server_interceptor.h"
#include "ncm/eventstore/rocksdb_event_store.h"
#include "ncm/services/gate.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/metric_type.h"
#include "prometheus/registry.h"

namespace ncm::metrics {

// One value of a family read at scrape time, with its labels.
struct Sample {
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Counts and times every call of the server it is given to
  // (ServerBuilder::experimental().SetInterceptorCreators). Methods the
  // server does not declare are counted as grpc_service="unknown".
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  NewInterceptorFactory();

  // A committed group (from the store's writer thread).
  void Committed(const eventstore::CommitStats& c);
  void Refused(services::Refusal why);

  // A family whose samples `read` gives at each scrape; `read` runs on the
  // HTTP listener's threads and must be quick and thread-safe. Register
  // before the endpoint starts serving.
  void AddScraped(std::string name, std::string help, prometheus::MetricType type,
                  std::function<void(std::vector<Sample>*)> read);

  // Everything, in the Prometheus text format (as /metrics serves it).
  std::string Text() const;

  // What the endpoint serves.
  std::vector<std::weak_ptr<prometheus::Collectable>> collectables() const;

  // One method's figures (the interceptor's side): looked up when a call
  // starts, counted when it ends with `code` after `took`.
  struct MethodStats;
  MethodStats* Method(absl::string_view path);
  static void CallEnded(MethodStats* m, int code, absl::Duration took);

 private:
  class Scraped;

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<Scraped> scraped_;
  prometheus::Family<prometheus::Counter>* handled_;
  prometheus::Family<prometheus::Histogram>* handling_;
  prometheus::Counter* appends_;
  prometheus::Counter* events_;
  prometheus::Counter* bytes_;
  prometheus::Histogram* group_appends_;
  prometheus::Histogram* group_events_;
  prometheus::Histogram* sync_write_;
  prometheus::Family<prometheus::Counter>* refused_;
  std::vector<prometheus::Counter*> refused_by_reason_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<MethodStats>> methods_
      ABSL_GUARDED_BY(mu_);
};

// Adds the process's own families (CPU seconds, resident and virtual
// memory, open and most file descriptors, start time), read from /proc.
void AddProcessMetrics(Metrics* m);

// The HTTP listener serving GET /metrics.
class MetricsEndpoint {
 public:
  // `address` is host:port (port 0 picks a free one). UNAVAILABLE when it
  // cannot listen there.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(const std::string& address,
                                                                Metrics* metrics);
  ~MetricsEndpoint();
  // host:port it listens on.
  const std::string& address() const { return address_; }

 private:
  struct Impl;
  MetricsEndpoint(std::unique_ptr<Impl> impl, std::string address);
  std::unique_ptr<Impl> impl_;
  std::string address_;
};

}  // namespace ncm::metrics

#endif  // NCM_METRICS_METRICS_H_
