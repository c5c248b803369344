// ncmd as a separate process: crash safety under kill -9, exclusive data
// folders and clean shutdown on SIGTERM.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <random>
#include <sstream>
#include <regex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_replace.h"
#include "clients/common/connect.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "ncm/eventstore/merkle.h"
#include "ncm/eventstore/note.h"
#include "ncm/eventstore/v1/eventstore.grpc.pb.h"
#include "ncm/eventstore/v1/transparency.grpc.pb.h"
#include "ncm/resolutions/v1/events.pb.h"
#include "ncm/resolutions/v1/resolutions.grpc.pb.h"
#include "testing/grpc_log.h"
#include "testing/ncmd_process.h"
#include "testing/temp_dir.h"

namespace ncm {
namespace {

namespace pb = ::ncm::eventstore::v1;
using ::ncm::testing::NewUuid;
using ::testing::HasSubstr;
using ::testing::Not;

// An idle gRPC client only notices the server's GOAWAY when its backup
// poller runs (every 5 s by default), and the server's shutdown waits for
// that; poll often so that shutdown tests measure the server, not the
// client.
const bool kFastClientPoll = [] {
  setenv("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "50", 1);
  return true;
}();

using ::ncm::testing::Ncmd;
using ::ncm::testing::ReadFile;

struct Acked {
  std::string stream_id, event_id, payload;
};

namespace merkle = ::ncm::eventstore::merkle;
namespace note = ::ncm::eventstore::note;

merkle::Hash AsHash(const std::string& b) {
  merkle::Hash h{};
  if (b.size() == 32) std::copy(b.begin(), b.end(), h.begin());
  return h;
}

// The tree root of the whole log, from its records as ReadAll returns them.
merkle::Hash RootOfLog(pb::EventStore::Stub* stub, uint64_t* size) {
  merkle::Frontier f;
  std::vector<merkle::Frontier::Node> unused;
  uint64_t from = 1;
  while (true) {
    grpc::ClientContext ctx;
    pb::ReadAllRequest r;
    r.set_from_position(from);
    r.set_max_count(5000);
    r.set_raw(true);
    pb::ReadAllResponse resp;
    if (!stub->ReadAll(&ctx, r, &resp).ok() || resp.raw_count() == 0) break;
    absl::string_view frames = resp.raw_records();
    while (frames.size() >= 4) {
      const uint32_t n = (uint32_t(uint8_t(frames[0])) << 24) | (uint32_t(uint8_t(frames[1])) << 16) |
                         (uint32_t(uint8_t(frames[2])) << 8) | uint32_t(uint8_t(frames[3]));
      absl::string_view value = frames.substr(4, n);
      frames.remove_prefix(4 + n);
      unused.clear();
      f.Add(merkle::LeafHash(merkle::RecordOf(value)), &unused);
    }
    from = resp.next_position();
    if (resp.end_of_log()) break;
  }
  *size = f.size();
  return f.Root();
}

// A signed checkpoint, checked with the log's key.
std::optional<note::Checkpoint> CheckpointOf(pb::Transparency::Stub* t, const note::VerifierKey& key) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  pb::SignedCheckpoint c;
  if (!t->GetCheckpoint(&ctx, pb::GetCheckpointRequest(), &c).ok()) return std::nullopt;
  auto opened = note::OpenCheckpoint(c.note(), key);
  EXPECT_TRUE(opened.ok()) << opened.status();
  if (!opened.ok()) return std::nullopt;
  return *opened;
}

TEST(NcmdProcessTest, AcknowledgedAppendsSurviveKill9) {
  ::ncm::testing::TempDir dir;
  std::mt19937 rng(std::random_device{}());
  std::map<uint64_t, Acked> acked;  // position -> what the client was told
  std::mutex acked_mu;
  // Checkpoints signed while appends went on, before each kill.
  std::vector<note::Checkpoint> signed_before;
  std::optional<note::VerifierKey> log_key;
  constexpr int kCycles = 4, kClients = 6;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    Ncmd ncmd(dir.Sub("db"), dir.Sub(absl::StrCat("ncmd-", cycle, ".log")));
    ASSERT_TRUE(ncmd.Start()) << ncmd.log();
    auto channel = ncmd.channel();
    auto stub = pb::EventStore::NewStub(channel);

    // Everything acknowledged before is still there, unchanged; positions
    // are dense and the chain verifies.
    auto all = ::ncm::testing::ReadWholeLog(stub.get());
    for (size_t i = 0; i < all.size(); ++i) {
      ASSERT_EQ(all[i].position(), i + 1) << "cycle " << cycle;
    }
    for (const auto& [pos, a] : acked) {
      ASSERT_LE(pos, all.size()) << "acknowledged position lost";
      const auto& e = all[pos - 1];
      EXPECT_EQ(e.event_id(), a.event_id);
      EXPECT_EQ(e.stream_id(), a.stream_id);
      EXPECT_EQ(e.payload(), a.payload);
    }
    {
      grpc::ClientContext ctx;
      pb::VerifyChainRequest vr;
      pb::VerifyChainResponse resp;
      ASSERT_TRUE(stub->VerifyChain(&ctx, vr, &resp).ok());
      EXPECT_TRUE(resp.ok()) << resp.reason() << " at "
                             << resp.first_bad_position();
      EXPECT_EQ(resp.verified_count(), all.size());
    }
    // The Merkle tree agrees with the log, and every checkpoint signed
    // before a crash is consistent with the tree now.
    auto transparency = pb::Transparency::NewStub(channel);
    {
      grpc::ClientContext ctx;
      pb::LogKey k;
      ASSERT_TRUE(transparency->GetLogKey(&ctx, pb::GetLogKeyRequest(), &k).ok());
      auto v = note::ParseVerifierKey(k.verifier_key());
      ASSERT_TRUE(v.ok());
      if (log_key.has_value()) {
        EXPECT_EQ(note::FormatVerifierKey(*v), note::FormatVerifierKey(*log_key));
      }
      log_key = *v;
    }
    auto now = CheckpointOf(transparency.get(), *log_key);
    ASSERT_TRUE(now.has_value());
    uint64_t log_size = 0;
    const merkle::Hash log_root = RootOfLog(stub.get(), &log_size);
    ASSERT_EQ(now->size, log_size);
    ASSERT_EQ(now->root, log_root) << "cycle " << cycle;
    for (const note::Checkpoint& old : signed_before) {
      grpc::ClientContext ctx;
      pb::GetConsistencyProofRequest cr;
      cr.set_first_size(old.size);
      cr.set_second_size(now->size);
      pb::ConsistencyProof proof;
      ASSERT_TRUE(transparency->GetConsistencyProof(&ctx, cr, &proof).ok());
      std::vector<merkle::Hash> path;
      for (const auto& h : proof.hashes()) path.push_back(AsHash(h));
      ASSERT_TRUE(merkle::VerifyConsistency(old.size, now->size, path, old.root, now->root).ok())
          << "checkpoint of " << old.size << " signed before a kill, cycle " << cycle;
    }
    if (cycle + 1 == kCycles) {
      EXPECT_EQ(ncmd.Terminate(absl::Seconds(20)), 0);
      std::cout << "crash test: " << acked.size() << " acknowledged events, "
                << all.size() << " in the log after " << kCycles - 1
                << " kills\n";
      break;
    }

    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] {
        std::mt19937 r(c * 7919 + cycle);
        while (!stop.load()) {
          pb::AppendRequest req;
          auto* s = req.add_streams();
          s->set_stream_id(r() % 4 == 0 ? "shared-1"
                                        : absl::StrCat("client-", c));
          s->mutable_expected()->set_kind(pb::ExpectedRevision::ANY);
          int n = 1 + r() % 3;
          for (int i = 0; i < n; ++i) {
            auto* e = s->add_events();
            e->set_event_id(NewUuid());
            e->set_event_type("ncm.test.v1.Crash");
            e->set_payload(absl::StrCat("cycle ", cycle, " client ", c, " #",
                                        r()));
          }
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(5));
          pb::AppendResponse resp;
          if (!stub->Append(&ctx, req, &resp).ok()) continue;
          std::lock_guard<std::mutex> l(acked_mu);
          for (int i = 0; i < n; ++i) {
            acked[resp.streams(0).positions(i)] =
                Acked{s->stream_id(), s->events(i).event_id(),
                      s->events(i).payload()};
          }
        }
      });
    }
    std::thread checkpoints([&] {
      while (!stop.load()) {
        auto c = CheckpointOf(transparency.get(), *log_key);
        if (c.has_value()) {
          std::lock_guard<std::mutex> l(acked_mu);
          signed_before.push_back(*c);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 900));
    ncmd.Kill9();
    stop = true;
    for (auto& t : clients) t.join();
    checkpoints.join();
  }
  EXPECT_GT(acked.size(), 100u);
  EXPECT_GT(signed_before.size(), 3u);
}

// Appends `n` resolutions of two events each (adopted, one progress
// report) through the EventStore API; returns their ids.
std::vector<std::string> AppendResolutions(pb::EventStore::Stub* stub, int n,
                                           bool quiet = false) {
  namespace rpb = ::ncm::resolutions::v1;
  std::vector<std::string> ids;
  for (int done = 0; done < n;) {
    pb::AppendRequest req;
    for (int k = 0; k < 100 && done < n; ++k, ++done) {
      const std::string id = ::ncm::testing::NewUuid();
      ids.push_back(id);
      auto* w = req.add_streams();
      w->set_stream_id("resolution-" + id);
      w->mutable_expected()->set_kind(pb::ExpectedRevision::NO_STREAM);
      rpb::ResolutionAdopted a;
      a.set_resolution_id(id);
      a.set_meeting_id(::ncm::testing::NewUuid());
      a.mutable_meeting_date()->set_year(2021);
      a.mutable_meeting_date()->set_month(3);
      a.mutable_meeting_date()->set_day(18);
      a.mutable_terms()->set_text("generated");
      a.mutable_terms()->set_lead_organisation_id(::ncm::testing::NewUuid());
      *a.mutable_terms()->mutable_due_date() = a.meeting_date();
      a.mutable_terms()->set_strategic_priority(1);
      a.mutable_terms()->set_pillar(1);
      auto* e = w->add_events();
      e->set_event_id(::ncm::testing::NewUuid());
      e->set_event_type("ncm.resolutions.v1.ResolutionAdopted");
      e->set_payload(a.SerializeAsString());
      rpb::ProgressReported p;
      p.set_report_id(::ncm::testing::NewUuid());
      p.set_reporting_organisation_id(a.terms().lead_organisation_id());
      p.set_percent_complete(10);
      p.set_narrative("once");
      auto* e2 = w->add_events();
      e2->set_event_id(::ncm::testing::NewUuid());
      e2->set_event_type("ncm.resolutions.v1.ProgressReported");
      e2->set_payload(p.SerializeAsString());
    }
    grpc::ClientContext ctx;
    pb::AppendResponse resp;
    grpc::Status s = stub->Append(&ctx, req, &resp);
    if (!quiet) {
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
    if (!s.ok()) return {};  // not acknowledged: may or may not be there
  }
  return ids;
}

TEST(NcmdProcessTest, ReadModelSurvivesKill9WhileProjecting) {
  ::ncm::testing::TempDir dir;
  std::vector<std::string> ids;
  constexpr int kCycles = 3, kPerCycle = 6000;
  uint64_t head = 0;
  for (int cycle = 0; cycle <= kCycles; ++cycle) {
    Ncmd ncmd(dir.Sub("db"), dir.Sub(absl::StrCat("rm-", cycle, ".log")));
    ASSERT_TRUE(ncmd.Start()) << ncmd.log();
    auto channel = ncmd.channel();
    auto stub = pb::EventStore::NewStub(channel);
    if (cycle < kCycles) {
      // Kill at a random moment while appends, and so projection, go on.
      std::thread killer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(150 + 100 * cycle));
        ncmd.Kill9();
      });
      for (int batch = 0; batch < kPerCycle / 100; ++batch) {
        auto more = AppendResolutions(stub.get(), 100, /*quiet=*/true);
        if (more.empty()) break;
        ids.insert(ids.end(), more.begin(), more.end());
      }
      killer.join();
      continue;
    }
    // After the kills: every resolution is in the read model once, with
    // its one report applied exactly once.
    for (int c = 1; c <= kCycles; ++c) {
      const std::string log = ReadFile(dir.Sub(absl::StrCat("rm-", c, ".log")));
      auto head = log.find("head_position=");
      auto at = log.find("applied_position=");
      std::cout << "restart " << c << ": read model "
                << log.substr(at, log.find('\n', at) - at) << ", log "
                << log.substr(head, log.find('\n', head) - head) << "\n";
    }
    auto res = ::ncm::resolutions::v1::Resolutions::NewStub(channel);
    ::ncm::resolutions::v1::ListResolutionsRequest r;
    r.set_page_size(1000);
    {
      grpc::ClientContext ctx;
      pb::VerifyChainRequest vr;
      pb::VerifyChainResponse v;
      ASSERT_TRUE(stub->VerifyChain(&ctx, vr, &v).ok());
      head = v.to_position();
    }
    r.set_min_position(head);
    r.set_wait_ms(30000);
    std::set<std::string> seen;
    for (;;) {
      grpc::ClientContext ctx;
      ::ncm::resolutions::v1::ListResolutionsResponse page;
      grpc::Status s = res->ListResolutions(&ctx, r, &page);
      ASSERT_TRUE(s.ok()) << s.error_message();
      for (const auto& v : page.resolutions()) {
        EXPECT_EQ(v.progress_reports_size(), 1) << v.resolution_id();
        EXPECT_EQ(v.revision(), 1u);
        EXPECT_TRUE(seen.insert(v.resolution_id()).second);
      }
      if (page.next_page_token().empty()) break;
      r.set_page_token(page.next_page_token());
    }
    // Every acknowledged resolution, and any whose append landed without
    // its answer: all that the log holds, each once.
    for (const std::string& id : ids) EXPECT_TRUE(seen.count(id)) << id;
    EXPECT_EQ(2 * seen.size() + 1, head);  // + the admin principal
    EXPECT_EQ(ncmd.Terminate(absl::Seconds(20)), 0);
  }
}

TEST(NcmdProcessTest, SecondServerOnTheSameFolderExitsWithAClearMessage) {
  ::ncm::testing::TempDir dir;
  Ncmd first(dir.Sub("db"), dir.Sub("first.log"));
  ASSERT_TRUE(first.Start()) << first.log();
  Ncmd second(dir.Sub("db"), dir.Sub("second.log"));
  EXPECT_FALSE(second.Start());
  EXPECT_TRUE(WIFEXITED(second.exit_status()));
  EXPECT_EQ(WEXITSTATUS(second.exit_status()), 1);
  EXPECT_THAT(second.log(), HasSubstr("in use by another process"));
  EXPECT_EQ(first.Terminate(absl::Seconds(20)), 0);
}

// The shipped example names every flag, and every key in it is one: ncmd
// starts from the example with every line uncommented; flags override the
// file; a bad key stops the start naming the line and the key.
TEST(NcmdProcessTest, TheConfigFileSetsEveryFlagAndFlagsOverrideIt) {
  const std::string main_cc = ReadFile(NCMD_MAIN_CC);
  const std::string example = ReadFile(NCMD_CONF_EXAMPLE);
  std::regex flag_re("ABSL_FLAG\\([A-Za-z:_]+, ([a-z_0-9]+),");
  int flags = 0;
  for (auto it = std::sregex_iterator(main_cc.begin(), main_cc.end(), flag_re);
       it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[1];
    if (name == "config") continue;
    ++flags;
    EXPECT_THAT(example, HasSubstr("\n# " + name + " =")) << name;
  }
  EXPECT_GE(flags, 25);
  ::ncm::testing::TempDir dir;
  // Every key uncommented, at its default; the listen address a plaintext
  // one off loopback, which ncmd refuses unless the flag overrides it.
  std::string config;
  for (absl::string_view line : absl::StrSplit(example, '\n')) {
    if (absl::StartsWith(line, "# ") && line.find(" =") != absl::string_view::npos &&
        line.find(' ', 2) == line.find(" =")) {
      config += std::string(line.substr(2)) + "\n";
    }
  }
  ASSERT_THAT(config, HasSubstr("listen = 127.0.0.1:50051"));
  config = absl::StrReplaceAll(config, {{"listen = 127.0.0.1:50051", "listen = 192.0.2.1:50051"}});
  {
    std::ofstream f(dir.Sub("ncmd.conf"));
    f << config;
  }
  Ncmd ncmd(dir.Sub("db"), dir.Sub("ncmd.log"));
  ncmd.set_extra_args({"--config=" + dir.Sub("ncmd.conf")});
  ASSERT_TRUE(ncmd.Start()) << ncmd.log();
  EXPECT_EQ(ncmd.Terminate(absl::Seconds(20)), 0);
  // A key that is not a flag, and a value its flag refuses.
  for (const auto& [bad, says] :
       std::vector<std::pair<std::string, std::string>>{
           {"# ok\ntime_zone = Africa/Nairobi\nlisten_on = 1\n",
            "line 3: unknown key \\\"listen_on\\\""},
           {"query_wait_ms = soon\n", "line 1: query_wait_ms"},
           {"time_zone = UTC\ntime_zone = UTC\n", "line 2: \\\"time_zone\\\" is given twice"}}) {
    {
      std::ofstream f(dir.Sub("bad.conf"));
      f << bad;
    }
    Ncmd refused(dir.Sub("db2"), dir.Sub("refused.log"));
    refused.set_extra_args({"--config", dir.Sub("bad.conf")});
    EXPECT_FALSE(refused.Start());
    EXPECT_TRUE(WIFEXITED(refused.exit_status()));
    EXPECT_EQ(WEXITSTATUS(refused.exit_status()), 2);
    EXPECT_THAT(refused.log(), HasSubstr(says));
  }
}

TEST(NcmdProcessTest, VersionIsPrinted) {
  ::ncm::testing::TempDir dir;
  const std::string out = dir.Sub("version.txt");
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execl(NCMD_PATH, NCMD_PATH, "--version", static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_THAT(ReadFile(out), ::testing::MatchesRegex("ncmd [0-9]+\\.[0-9]+\\.[0-9]+\n"));
}

TEST(NcmdProcessTest, SigtermDrainsAndReopensCleanly) {
  ::ncm::testing::TempDir dir;
  std::string id = NewUuid();
  {
    Ncmd ncmd(dir.Sub("db"), dir.Sub("a.log"));
    ASSERT_TRUE(ncmd.Start()) << ncmd.log();
    auto stub = pb::EventStore::NewStub(ncmd.channel());
    pb::AppendRequest req;
    auto* s = req.add_streams();
    s->set_stream_id("s-1");
    s->mutable_expected()->set_kind(pb::ExpectedRevision::NO_STREAM);
    auto* e = s->add_events();
    e->set_event_id(id);
    e->set_event_type("ncm.test.v1.Kept");
    grpc::ClientContext ctx;
    pb::AppendResponse resp;
    ASSERT_TRUE(stub->Append(&ctx, req, &resp).ok());
    // An open subscription must not hold the shutdown up.
    grpc::ClientContext sub_ctx;
    pb::SubscribeRequest sreq;
    auto reader = stub->Subscribe(&sub_ctx, sreq);
    pb::SubscribeResponse msg;
    ASSERT_TRUE(reader->Read(&msg));
    EXPECT_EQ(ncmd.Terminate(absl::Seconds(15)), 0);
    EXPECT_THAT(ncmd.log(), HasSubstr("ncmd stopped"));
    // The first start wrote the admin token, for its owner only, and said
    // where; the token itself is in no log line.
    struct stat st;
    ASSERT_EQ(stat(dir.Sub("db/admin.token").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_THAT(ncmd.log(), HasSubstr("file=" + dir.Sub("db/admin.token")));
    ASSERT_FALSE(ncmd.token().empty());
    EXPECT_THAT(ncmd.log(), Not(HasSubstr(ncmd.token())));
    sub_ctx.TryCancel();
  }
  Ncmd again(dir.Sub("db"), dir.Sub("b.log"));
  ASSERT_TRUE(again.Start()) << again.log();
  // The admin principal (position 1), then the event.
  EXPECT_THAT(again.log(), HasSubstr("head_position=2"));
  EXPECT_THAT(again.log(), Not(HasSubstr("first start")));
  auto stub = pb::EventStore::NewStub(again.channel());
  auto all = ::ncm::testing::ReadWholeLog(stub.get());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].stream_id(), "principal-admin");
  EXPECT_EQ(all[1].event_id(), id);
  EXPECT_EQ(again.Terminate(absl::Seconds(15)), 0);
}

}  // namespace
}  // namespace ncm

namespace ncm {
namespace {

// Runs a shell command; its exit status and what it printed.
std::pair<int, std::string> Shell(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, ""};
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

// The shipped unit passes systemd-analyze verify without a warning (with
// ExecStart pointing at this build's ncmd), and keeps its hardening.
TEST(SystemdTest, TheUnitVerifiesAndIsHardened) {
  ::ncm::testing::TempDir dir;
  const std::string unit = ReadFile(NCM_SERVICE_UNIT);
  for (const char* line :
       {"Type=notify", "User=ncm", "StateDirectory=ncm", "NoNewPrivileges=yes",
        "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "CapabilityBoundingSet=\n",
        "Restart=on-failure"}) {
    EXPECT_THAT(unit, HasSubstr(line));
  }
  {
    std::ofstream f(dir.Sub("ncmd.service"));
    f << absl::StrReplaceAll(unit, {{"/usr/local/bin/ncmd", NCMD_PATH}});
  }
  auto [code, said] = Shell("systemd-analyze verify '" + dir.Sub("ncmd.service") + "'");
  EXPECT_EQ(code, 0) << said;
  EXPECT_EQ(said, "") << "systemd-analyze warned";
  // And it does fail on a unit it should refuse.
  {
    std::ofstream f(dir.Sub("broken.service"));
    f << "[Service]\nExecStart=/nonexistent/ncmd\n";
  }
  EXPECT_NE(Shell("systemd-analyze verify '" + dir.Sub("broken.service") + "'").first, 0);
}

// With NOTIFY_SOCKET, ncmd says READY=1 once it listens and STOPPING=1 on
// SIGTERM, as Type=notify expects.
TEST(SystemdTest, NcmdNotifiesReadinessAndStopping) {
  ::ncm::testing::TempDir dir;
  const std::string path = dir.Sub("notify.sock");
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  Ncmd ncmd(dir.Sub("db"), dir.Sub("ncmd.log"));
  const bool started = ncmd.Start();
  ::unsetenv("NOTIFY_SOCKET");
  ASSERT_TRUE(started) << ncmd.log();
  auto next = [&] {
    char buf[512];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  };
  const std::string ready = next();
  EXPECT_THAT(ready, HasSubstr("READY=1"));
  EXPECT_THAT(ready, HasSubstr("STATUS=serving on " + ncmd.address()));
  EXPECT_EQ(ncmd.Terminate(absl::Seconds(20)), 0);
  EXPECT_THAT(next(), HasSubstr("STOPPING=1"));
  ::close(fd);
}

// deploy/install.sh into a staging root: binaries, unit, configuration
// and folders; run again, it keeps an edited configuration.
TEST(SystemdTest, InstallIsIdempotent) {
  ::ncm::testing::TempDir dir;
  const std::string root = dir.Sub("root");
  const std::string bin = std::filesystem::path(NCMD_PATH).parent_path().string();
  const std::string cmd =
      absl::StrCat("'", NCM_INSTALL_SH, "' --root='", root, "' --from='", bin, "'");
  auto [code, said] = Shell(cmd);
  ASSERT_EQ(code, 0) << said;
  struct stat st;
  ASSERT_EQ(::stat((root + "/usr/local/bin/ncmd").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755);
  ASSERT_EQ(::stat((root + "/etc/ncm/ncmd.conf").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640);
  ASSERT_EQ(::stat((root + "/var/backups/ncm").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700);
  EXPECT_THAT(ReadFile(root + "/etc/systemd/system/ncmd.service"),
              HasSubstr("ExecStart=/usr/local/bin/ncmd --config=/etc/ncm/ncmd.conf"));
  {
    std::ofstream f(root + "/etc/ncm/ncmd.conf", std::ios::app);
    f << "listen = 127.0.0.1:50061\n";
  }
  std::tie(code, said) = Shell(cmd);
  ASSERT_EQ(code, 0) << said;
  EXPECT_THAT(ReadFile(root + "/etc/ncm/ncmd.conf"), HasSubstr("listen = 127.0.0.1:50061"));
  // The installed example starts ncmd (every key at its default).
  EXPECT_THAT(ReadFile(root + "/etc/ncm/ncmd.conf.example"), HasSubstr("# metrics_listen ="));
}

}  // namespace
}  // namespace ncm
