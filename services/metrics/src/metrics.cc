#include "ncm/metrics/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <exception>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/descriptor.h"
#include "prometheus/exposer.h"
#include "prometheus/text_serializer.h"

namespace ncm::metrics {

namespace {

constexpr int kCodes = 17;  // grpc::StatusCode OK .. UNAUTHENTICATED

const char* CodeName(int code) {
  static constexpr const char* kNames[kCodes] = {
      "OK",          "CANCELLED",          "UNKNOWN",           "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND",   "ALREADY_EXISTS",    "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",   "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",         "UNAVAILABLE",       "DATA_LOSS",
      "UNAUTHENTICATED"};
  return code >= 0 && code < kCodes ? kNames[code] : "UNKNOWN";
}

// Latencies from 50 us to 10 s.
prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
          0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,     10};
}

prometheus::Histogram::BucketBoundaries PowersOfTwo(double most) {
  prometheus::Histogram::BucketBoundaries b;
  for (double x = 1; x <= most; x *= 2) b.push_back(x);
  return b;
}

}  // namespace

struct Metrics::MethodStats {
  prometheus::Family<prometheus::Counter>* family = nullptr;
  std::map<std::string, std::string> labels;
  prometheus::Histogram* latency = nullptr;
  std::array<std::atomic<prometheus::Counter*>, kCodes> handled{};

  void Done(int code, absl::Duration took) {
    if (code < 0 || code >= kCodes) code = 2;  // UNKNOWN
    prometheus::Counter* c = handled[code].load(std::memory_order_acquire);
    if (c == nullptr) {
      // Family::Add gives the same counter for the same labels, so two
      // threads racing here count on one.
      auto labels_with_code = labels;
      labels_with_code["grpc_code"] = CodeName(code);
      c = &family->Add(labels_with_code);
      handled[code].store(c, std::memory_order_release);
    }
    c->Increment();
    latency->Observe(absl::ToDoubleSeconds(took));
  }
};

// The families read at scrape time.
class Metrics::Scraped final : public prometheus::Collectable {
 public:
  struct Family {
    std::string name, help;
    prometheus::MetricType type;
    std::function<void(std::vector<Sample>*)> read;
  };

  void Add(Family f) {
    absl::MutexLock l(&mu_);
    families_.push_back(std::move(f));
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    absl::MutexLock l(&mu_);
    std::vector<prometheus::MetricFamily> out;
    std::vector<Sample> samples;
    for (const Family& f : families_) {
      samples.clear();
      f.read(&samples);
      prometheus::MetricFamily mf;
      mf.name = f.name;
      mf.help = f.help;
      mf.type = f.type;
      for (const Sample& s : samples) {
        prometheus::ClientMetric m;
        for (const auto& [k, v] : s.labels) m.label.push_back({k, v});
        if (f.type == prometheus::MetricType::Counter) {
          m.counter.value = s.value;
        } else {
          m.gauge.value = s.value;
        }
        mf.metric.push_back(std::move(m));
      }
      out.push_back(std::move(mf));
    }
    return out;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Family> families_ ABSL_GUARDED_BY(mu_);
};

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      scraped_(std::make_shared<Scraped>()) {
  handled_ = &prometheus::BuildCounter()
                  .Name("ncm_grpc_server_handled_total")
                  .Help("gRPC calls finished, by service, method and status code")
                  .Register(*registry_);
  handling_ = &prometheus::BuildHistogram()
                   .Name("ncm_grpc_server_handling_seconds")
                   .Help("Time from a call's start to its status, by service and method "
                         "(for streams, the stream's whole life)")
                   .Register(*registry_);
  appends_ = &prometheus::BuildCounter()
                  .Name("ncm_appends_total")
                  .Help("Appends committed to the log (each of one or more events)")
                  .Register(*registry_)
                  .Add({});
  events_ = &prometheus::BuildCounter()
                 .Name("ncm_appended_events_total")
                 .Help("Events committed to the log")
                 .Register(*registry_)
                 .Add({});
  bytes_ = &prometheus::BuildCounter()
                .Name("ncm_appended_bytes_total")
                .Help("Bytes of the records committed to the log")
                .Register(*registry_)
                .Add({});
  group_appends_ = &prometheus::BuildHistogram()
                        .Name("ncm_commit_group_appends")
                        .Help("Appends written together by one group commit (one synced write)")
                        .Register(*registry_)
                        .Add({}, PowersOfTwo(4096));
  group_events_ = &prometheus::BuildHistogram()
                       .Name("ncm_commit_group_events")
                       .Help("Events written together by one group commit")
                       .Register(*registry_)
                       .Add({}, PowersOfTwo(65536));
  sync_write_ = &prometheus::BuildHistogram()
                     .Name("ncm_log_sync_write_seconds")
                     .Help("Time of a group commit's synced RocksDB write (the fsync included)")
                     .Register(*registry_)
                     .Add({}, LatencyBuckets());
  refused_ = &prometheus::BuildCounter()
                  .Name("ncm_refused_calls_total")
                  .Help("Calls the access gate refused, by reason: credential (none, unknown, "
                        "revoked or expired), role, standing (organisation not active), scope "
                        "(outside the organisation's records), read_node (a write sent to a "
                        "read node)")
                  .Register(*registry_);
  for (int r = 0; r < services::kRefusalKinds; ++r) {
    refused_by_reason_.push_back(
        &refused_->Add({{"reason", services::RefusalName(static_cast<services::Refusal>(r))}}));
  }
  prometheus::BuildGauge()
      .Name("ncm_build_info")
      .Help("Always 1; the version ncmd was built as")
      .Register(*registry_)
      .Add({{"version", NCM_VERSION}})
      .Set(1);
}

Metrics::~Metrics() = default;

void Metrics::Committed(const eventstore::CommitStats& c) {
  appends_->Increment(static_cast<double>(c.appends));
  events_->Increment(static_cast<double>(c.events));
  bytes_->Increment(static_cast<double>(c.bytes));
  group_appends_->Observe(static_cast<double>(c.appends));
  group_events_->Observe(static_cast<double>(c.events));
  sync_write_->Observe(absl::ToDoubleSeconds(c.write));
}

void Metrics::Refused(services::Refusal why) {
  refused_by_reason_[static_cast<size_t>(why)]->Increment();
}

void Metrics::AddScraped(std::string name, std::string help, prometheus::MetricType type,
                         std::function<void(std::vector<Sample>*)> read) {
  scraped_->Add({std::move(name), std::move(help), type, std::move(read)});
}

std::vector<std::weak_ptr<prometheus::Collectable>> Metrics::collectables() const {
  return {registry_, scraped_};
}

std::string Metrics::Text() const {
  std::vector<prometheus::MetricFamily> all = registry_->Collect();
  std::vector<prometheus::MetricFamily> more = scraped_->Collect();
  all.insert(all.end(), std::make_move_iterator(more.begin()),
             std::make_move_iterator(more.end()));
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, all);
  return out.str();
}

Metrics::MethodStats* Metrics::Method(absl::string_view path) {
  {
    absl::ReaderMutexLock l(&mu_);
    auto it = methods_.find(path);
    if (it != methods_.end()) return it->second.get();
  }
  // "/package.Service/Method", declared by a service this program links;
  // anything else (a scanner's guesses) shares one series, so that callers
  // cannot make the label sets grow without end.
  std::string service = "unknown", method = "unknown";
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/');
  if (parts.size() == 3 && parts[0].empty()) {
    const auto* sd = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
        std::string(parts[1]));
    if (sd != nullptr && sd->FindMethodByName(std::string(parts[2])) != nullptr) {
      service = std::string(parts[1]);
      method = std::string(parts[2]);
    }
  }
  const std::string key =
      service == "unknown" ? std::string("unknown") : std::string(path);
  absl::MutexLock l(&mu_);
  auto& slot = methods_[key];
  if (slot == nullptr) {
    slot = std::make_unique<MethodStats>();
    slot->family = handled_;
    slot->labels = {{"grpc_service", service}, {"grpc_method", method}};
    slot->latency = &handling_->Add(slot->labels, LatencyBuckets());
  }
  MethodStats* stats = slot.get();
  // Unknown paths are looked up again each time (they are not kept under
  // their own name), which is fine for what should never happen.
  return stats;
}

namespace {

class CallInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit CallInterceptor(Metrics::MethodStats* stats)
      : stats_(stats), start_(absl::Now()) {}
  ~CallInterceptor() override {
    // A call that ends without a status (the client went away).
    if (!finished_) Metrics::CallEnded(stats_, grpc::StatusCode::CANCELLED, absl::Now() - start_);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* batch) override {
    if (batch->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      finished_ = true;
      Metrics::CallEnded(stats_, batch->GetSendStatus().error_code(), absl::Now() - start_);
    }
    batch->Proceed();
  }

 private:
  Metrics::MethodStats* const stats_;
  const absl::Time start_;
  bool finished_ = false;
};

class InterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit InterceptorFactory(Metrics* m) : metrics_(m) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new CallInterceptor(metrics_->Method(info->method()));
  }

 private:
  Metrics* const metrics_;
};

// The fields of /proc/self/stat after the command's closing parenthesis.
std::vector<std::string> ProcStat() {
  std::ifstream in("/proc/self/stat");
  std::string line((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return {};
  return absl::StrSplit(line.substr(close + 2), ' ', absl::SkipEmpty());
}

double Field(const std::vector<std::string>& f, size_t stat_field) {
  // stat_field counts from 1 as in proc(5); the vector starts at field 3.
  double v = 0;
  if (stat_field >= 3 && stat_field - 3 < f.size()) {
    (void)absl::SimpleAtod(f[stat_field - 3], &v);
  }
  return v;
}

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime") {
      in >> value;
      return value;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

}  // namespace

void Metrics::CallEnded(MethodStats* m, int code, absl::Duration took) { m->Done(code, took); }

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
Metrics::NewInterceptorFactory() {
  return std::make_unique<InterceptorFactory>(this);
}

void AddProcessMetrics(Metrics* m) {
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  const double start =
      BootTimeSeconds() + Field(ProcStat(), 22) / (ticks > 0 ? ticks : 100);
  m->AddScraped("process_cpu_seconds_total", "User and system CPU time spent, in seconds",
                prometheus::MetricType::Counter, [ticks](std::vector<Sample>* out) {
                  const auto f = ProcStat();
                  out->push_back({{}, (Field(f, 14) + Field(f, 15)) / ticks});
                });
  m->AddScraped("process_resident_memory_bytes", "Resident memory size in bytes",
                prometheus::MetricType::Gauge, [page](std::vector<Sample>* out) {
                  out->push_back({{}, Field(ProcStat(), 24) * page});
                });
  m->AddScraped("process_virtual_memory_bytes", "Virtual memory size in bytes",
                prometheus::MetricType::Gauge, [](std::vector<Sample>* out) {
                  out->push_back({{}, Field(ProcStat(), 23)});
                });
  m->AddScraped("process_start_time_seconds",
                "Start time of the process since the Unix epoch, in seconds",
                prometheus::MetricType::Gauge,
                [start](std::vector<Sample>* out) { out->push_back({{}, start}); });
  m->AddScraped("process_open_fds", "Open file descriptors", prometheus::MetricType::Gauge,
                [](std::vector<Sample>* out) {
                  double n = 0;
                  if (DIR* d = ::opendir("/proc/self/fd"); d != nullptr) {
                    while (const dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
                    ::closedir(d);
                    n -= 1;  // the one opendir holds
                  }
                  out->push_back({{}, n});
                });
  m->AddScraped("process_max_fds", "Most open file descriptors allowed",
                prometheus::MetricType::Gauge, [](std::vector<Sample>* out) {
                  rlimit r{};
                  ::getrlimit(RLIMIT_NOFILE, &r);
                  out->push_back({{}, static_cast<double>(r.rlim_cur)});
                });
}

struct MetricsEndpoint::Impl {
  std::unique_ptr<prometheus::Exposer> exposer;
};

MetricsEndpoint::MetricsEndpoint(std::unique_ptr<Impl> impl, std::string address)
    : impl_(std::move(impl)), address_(std::move(address)) {}

MetricsEndpoint::~MetricsEndpoint() = default;

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const std::string& address, Metrics* metrics) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics listen address \"", address, "\" is not host:port, e.g. 127.0.0.1:9464"));
  }
  auto impl = std::make_unique<Impl>();
  try {
    impl->exposer = std::make_unique<prometheus::Exposer>(
        std::vector<std::string>{"listening_ports", address, "num_threads", "2"});
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", address, ": ",
                                               e.what(),
                                               "; is the port in use by another program?"));
  }
  for (const auto& c : metrics->collectables()) impl->exposer->RegisterCollectable(c);
  const std::vector<int> ports = impl->exposer->GetListeningPorts();
  if (ports.empty()) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", address));
  }
  std::string host = address.substr(0, colon);
  return std::unique_ptr<MetricsEndpoint>(
      new MetricsEndpoint(std::move(impl), absl::StrCat(host, ":", ports[0])));
}

}  // namespace ncm::metrics
