// ncmd's Prometheus metrics from outside: the listener a real ncmd opens,
// promtool's verdict, counters that move with the calls made, and a real
// Prometheus server scraping ncmd and answering a query about it.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "ncm/eventstore/v1/eventstore.grpc.pb.h"
#include "testing/ncmd_process.h"
#include "testing/prometheus_text.h"
#include "testing/temp_dir.h"

namespace ncm {
namespace {

namespace pb = ::ncm::eventstore::v1;
using ::ncm::testing::Ncmd;
using ::ncm::testing::SampleValue;
using ::testing::HasSubstr;

// What `curl -sf url` prints; empty when it fails.
std::string HttpGet(const std::string& url) {
  std::string out;
  FILE* p = ::popen(absl::StrCat("curl -sf --max-time 5 '", url, "'").c_str(), "r");
  if (p == nullptr) return out;
  char buf[8192];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  ::pclose(p);
  return out;
}

// The metrics URL ncmd printed when it started listening.
std::string MetricsUrl(const Ncmd& ncmd) {
  const std::string log = ncmd.log();
  const size_t at = log.find("metrics=http://");
  if (at == std::string::npos) return "";
  const size_t start = at + 8;
  return log.substr(start, log.find_first_of(" \n", start) - start);
}

// A loopback port nothing listens on now.
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

double Handled(const std::string& text, const char* method, const char* code) {
  return SampleValue(text, "ncm_grpc_server_handled_total",
                     {{"grpc_service", "ncm.eventstore.v1.EventStore"},
                      {"grpc_method", method},
                      {"grpc_code", code}})
      .value_or(0);
}

pb::AppendRequest Events(const std::string& stream, int n, bool bad_id = false) {
  pb::AppendRequest req;
  auto* s = req.add_streams();
  s->set_stream_id(stream);
  s->mutable_expected()->set_kind(pb::ExpectedRevision::ANY);
  for (int i = 0; i < n; ++i) {
    auto* e = s->add_events();
    e->set_event_id(bad_id ? "not-a-uuid" : ::ncm::testing::NewUuid());
    e->set_event_type("ncm.test.v1.Counted");
  }
  return req;
}

TEST(MetricsProcessTest, CountersMoveWithCallsAndPrometheusScrapesThem) {
  ::ncm::testing::TempDir dir;
  Ncmd ncmd(dir.Sub("db"), dir.Sub("ncmd.log"));
  ASSERT_TRUE(ncmd.Start()) << ncmd.log();
  const std::string url = MetricsUrl(ncmd);
  ASSERT_THAT(url, ::testing::StartsWith("http://127.0.0.1:")) << ncmd.log();
  const std::string before = HttpGet(url);
  ASSERT_THAT(before, HasSubstr("ncm_log_head_position"));
  auto [code, said] = ::ncm::testing::PromtoolCheck(before, dir.Sub("before.txt"));
  EXPECT_EQ(code, 0) << said;

  auto stub = pb::EventStore::NewStub(ncmd.channel());
  uint64_t head = 0;
  {
    grpc::ClientContext ctx;
    pb::AppendResponse resp;
    ASSERT_TRUE(stub->Append(&ctx, Events("counted-1", 3), &resp).ok());
    head = resp.last_position();
  }
  {
    grpc::ClientContext ctx;
    pb::AppendResponse resp;
    EXPECT_EQ(stub->Append(&ctx, Events("counted-1", 1, true), &resp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    // No credential: refused at the gate.
    client::ConnectOptions o;
    o.server = ncmd.address();
    auto anonymous = pb::EventStore::NewStub(*client::Connect(o));
    grpc::ClientContext ctx;
    pb::AppendResponse resp;
    EXPECT_EQ(anonymous->Append(&ctx, Events("counted-1", 1), &resp).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }

  const std::string after = HttpGet(url);
  EXPECT_EQ(Handled(after, "Append", "OK") - Handled(before, "Append", "OK"), 1);
  EXPECT_EQ(Handled(after, "Append", "INVALID_ARGUMENT") -
                Handled(before, "Append", "INVALID_ARGUMENT"),
            1);
  EXPECT_EQ(Handled(after, "Append", "UNAUTHENTICATED") -
                Handled(before, "Append", "UNAUTHENTICATED"),
            1);
  EXPECT_EQ(*SampleValue(after, "ncm_refused_calls_total", {{"reason", "credential"}}) -
                *SampleValue(before, "ncm_refused_calls_total", {{"reason", "credential"}}),
            1);
  EXPECT_EQ(*SampleValue(after, "ncm_appended_events_total") -
                *SampleValue(before, "ncm_appended_events_total"),
            3);
  EXPECT_EQ(SampleValue(after, "ncm_log_head_position"), static_cast<double>(head));
  EXPECT_GE(SampleValue(after, "ncm_log_sync_write_seconds_count").value_or(0), 1);
  EXPECT_TRUE(SampleValue(after, "ncm_read_model_lag_events", {{"model", "resolutions"}}));
  EXPECT_TRUE(SampleValue(after, "ncm_rocksdb_live_data_bytes"));
  EXPECT_GT(SampleValue(after, "process_resident_memory_bytes").value_or(0), 1 << 20);
  std::tie(code, said) = ::ncm::testing::PromtoolCheck(after, dir.Sub("after.txt"));
  EXPECT_EQ(code, 0) << said;

  // A real Prometheus, scraping every second, asked for the head.
  const int port = FreePort();
  const std::string target = url.substr(7, url.find("/metrics") - 7);
  {
    std::ofstream f(dir.Sub("prometheus.yml"));
    f << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
      << "scrape_configs:\n  - job_name: ncmd\n    static_configs:\n"
      << "      - targets: ['" << target << "']\n";
  }
  const std::string config = "--config.file=" + dir.Sub("prometheus.yml");
  const std::string storage = "--storage.tsdb.path=" + dir.Sub("tsdb");
  const std::string listen = absl::StrCat("--web.listen-address=127.0.0.1:", port);
  const std::string plog = dir.Sub("prometheus.log");
  pid_t prom = fork();
  if (prom == 0) {
    const int fd = ::open(plog.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execlp("prometheus", "prometheus", config.c_str(), storage.c_str(), listen.c_str(),
           static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(prom, 0);
  const std::string query =
      absl::StrCat("http://127.0.0.1:", port, "/api/v1/query?query=ncm_log_head_position");
  std::string answer;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    answer = HttpGet(query);
    if (answer.find(absl::StrCat("\"", head, "\"]")) != std::string::npos) break;
    absl::SleepFor(absl::Milliseconds(250));
  }
  kill(prom, SIGTERM);
  int status = 0;
  waitpid(prom, &status, 0);
  EXPECT_THAT(answer, HasSubstr("\"job\":\"ncmd\""))
      << answer << "\n" << ::ncm::testing::ReadFile(plog);
  EXPECT_THAT(answer, HasSubstr(absl::StrCat("\"", head, "\"]")))
      << answer << "\n" << ::ncm::testing::ReadFile(plog);
  EXPECT_EQ(ncmd.Terminate(absl::Seconds(20)), 0);
}

}  // namespace
}  // namespace ncm
