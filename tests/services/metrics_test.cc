// The metrics without a server: calls counted by method and code from many
// threads while scrapes run, the write path, refusals, the label sets a
// caller cannot grow, and promtool's verdict on the whole exposition.
#include <atomic>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ncm/eventstore/v1/eventstore.pb.h"
#include "ncm/metrics/metrics.h"
#include "testing/prometheus_text.h"
#include "testing/temp_dir.h"

namespace ncm::metrics {
namespace {

using ::testing::HasSubstr;
using ::ncm::testing::SampleValue;

constexpr char kAppend[] = "/ncm.eventstore.v1.EventStore/Append";
constexpr char kReadAll[] = "/ncm.eventstore.v1.EventStore/ReadAll";

std::map<std::string, std::string> Call(const std::string& method, const char* code) {
  return {{"grpc_service", "ncm.eventstore.v1.EventStore"},
          {"grpc_method", method},
          {"grpc_code", code}};
}

TEST(MetricsTest, CountsCallsFromManyThreadsWhileScraped) {
  // Methods are known by the services linked in.
  ASSERT_NE(::ncm::eventstore::v1::AppendRequest::descriptor(), nullptr);
  Metrics m;
  AddProcessMetrics(&m);
  std::atomic<bool> scraping{true};
  std::atomic<int> scrapes{0};
  std::thread scraper([&] {
    while (scraping.load()) {
      EXPECT_THAT(m.Text(), HasSubstr("ncm_appends_total"));
      scrapes.fetch_add(1);
    }
  });
  constexpr int kThreads = 4, kCalls = 3000;
  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        // Each thread looks its methods up again, as each call does.
        Metrics::CallEnded(m.Method(kAppend), i % 3 == 0 ? 3 : 0, absl::Microseconds(300));
        Metrics::CallEnded(m.Method(kReadAll), 0, absl::Milliseconds(2));
        // Paths no linked service declares: one series, whatever the path.
        Metrics::CallEnded(m.Method(absl::StrCat("/scan", t, ".Service/Method", i)), 12,
                           absl::Microseconds(50));
        if (i % 10 == 0) {
          eventstore::CommitStats c;
          c.appends = 2;
          c.events = 5;
          c.bytes = 2000;
          c.write = absl::Microseconds(400);
          m.Committed(c);
          m.Refused(services::Refusal::kScope);
        }
      }
    });
  }
  for (auto& t : callers) t.join();
  scraping = false;
  scraper.join();
  EXPECT_GT(scrapes.load(), 0);

  const std::string text = m.Text();
  const double appends_ok = kThreads * (kCalls - (kCalls + 2) / 3);
  EXPECT_EQ(SampleValue(text, "ncm_grpc_server_handled_total", Call("Append", "OK")), appends_ok);
  EXPECT_EQ(SampleValue(text, "ncm_grpc_server_handled_total", Call("Append", "INVALID_ARGUMENT")),
            kThreads * kCalls - appends_ok);
  EXPECT_EQ(SampleValue(text, "ncm_grpc_server_handled_total", Call("ReadAll", "OK")),
            kThreads * kCalls);
  EXPECT_EQ(SampleValue(text, "ncm_grpc_server_handled_total",
                        {{"grpc_service", "unknown"},
                         {"grpc_method", "unknown"},
                         {"grpc_code", "UNIMPLEMENTED"}}),
            kThreads * kCalls);
  EXPECT_THAT(text, ::testing::Not(HasSubstr("scan0")));
  // Latency: every ReadAll in the 2.5 ms bucket, none under 1 ms.
  const std::map<std::string, std::string> read_all = {
      {"grpc_service", "ncm.eventstore.v1.EventStore"}, {"grpc_method", "ReadAll"}};
  auto bucket = [&](const char* le) {
    auto labels = read_all;
    labels["le"] = le;
    return SampleValue(text, "ncm_grpc_server_handling_seconds_bucket", labels);
  };
  EXPECT_EQ(bucket("0.001"), 0);
  EXPECT_EQ(bucket("0.0025"), kThreads * kCalls);
  EXPECT_EQ(SampleValue(text, "ncm_grpc_server_handling_seconds_count", read_all),
            kThreads * kCalls);
  const double commits = kThreads * (kCalls / 10);
  EXPECT_EQ(SampleValue(text, "ncm_appends_total"), 2 * commits);
  EXPECT_EQ(SampleValue(text, "ncm_appended_events_total"), 5 * commits);
  EXPECT_EQ(SampleValue(text, "ncm_appended_bytes_total"), 2000 * commits);
  EXPECT_EQ(SampleValue(text, "ncm_commit_group_appends_count"), commits);
  EXPECT_EQ(SampleValue(text, "ncm_log_sync_write_seconds_bucket", {{"le", "0.0005"}}), commits);
  EXPECT_EQ(SampleValue(text, "ncm_refused_calls_total", {{"reason", "scope"}}), commits);
  EXPECT_EQ(SampleValue(text, "ncm_refused_calls_total", {{"reason", "role"}}), 0);
  EXPECT_GT(*SampleValue(text, "process_resident_memory_bytes"), 1 << 20);
  EXPECT_GT(*SampleValue(text, "process_open_fds"), 2);
  EXPECT_NEAR(*SampleValue(text, "process_start_time_seconds"),
              absl::ToUnixSeconds(absl::Now()), 600);
}

TEST(MetricsTest, PromtoolAcceptsTheExposition) {
  Metrics m;
  AddProcessMetrics(&m);
  m.AddScraped("ncm_log_head_position", "Position of the log's last record",
               prometheus::MetricType::Gauge,
               [](std::vector<Sample>* out) { out->push_back({{}, 42}); });
  m.AddScraped("ncm_read_model_lag_events", "Records not applied yet",
               prometheus::MetricType::Gauge, [](std::vector<Sample>* out) {
                 out->push_back({{{"model", "resolutions"}}, 3});
                 out->push_back({{{"model", "mous"}}, 0});
               });
  Metrics::CallEnded(m.Method(kAppend), 0, absl::Microseconds(700));
  eventstore::CommitStats c;
  c.appends = c.events = 1;
  m.Committed(c);
  const std::string text = m.Text();
  EXPECT_EQ(SampleValue(text, "ncm_log_head_position"), 42);
  EXPECT_EQ(SampleValue(text, "ncm_read_model_lag_events", {{"model", "resolutions"}}), 3);
  ::ncm::testing::TempDir dir;
  auto [code, said] = ::ncm::testing::PromtoolCheck(text, dir.Sub("metrics.txt"));
  EXPECT_EQ(code, 0) << said << "\n" << text;
}

}  // namespace
}  // namespace ncm::metrics
