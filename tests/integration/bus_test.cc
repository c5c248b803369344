// The message bus against a real nats-server (one, or a three-node
// JetStream cluster) started by the tests on loopback: the stream equals
// the log, whatever happens to the broker or to ncmd.
#include <nats/nats.h>

#include <atomic>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "clients/demo/demo.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"

#include "grpcpp/impl/codegen/client_unary_call.h"
#include "gtest/gtest.h"
#include "ncm/bus/broker.h"
#include "ncm/bus/publisher.h"
#include "ncm/eventstore/rocksdb_event_store.h"
#include "ncm/eventstore/v1/eventstore.grpc.pb.h"
#include "ncm/ncmd/server.h"
#include "ncm/readside/v1/readside.grpc.pb.h"
#include "record_codec.h"
#include "testing/loopback_server.h"
#include "testing/nats_server.h"
#include "testing/ncmd_process.h"
#include "testing/temp_dir.h"

namespace ncm {
namespace {

namespace es = ::ncm::eventstore;
namespace codec = ::ncm::eventstore::codec;
using ::ncm::testing::NatsCluster;
using ::ncm::testing::NatsServer;
using ::ncm::testing::NewUuid;
using ::ncm::testing::TempDir;

bus::BrokerOptions BrokerFor(std::vector<std::string> urls, int replicas = 1) {
  bus::BrokerOptions o;
  o.urls = std::move(urls);
  o.replicas = replicas;
  o.client_name = "ncm-test";
  return o;
}

std::unique_ptr<ncmd::Server> StartBusServer(const std::string& data_dir,
                                             const bus::BrokerOptions& nats) {
  ncmd::ServerOptions o;
  o.listen_address = "127.0.0.1:0";
  o.data_dir = data_dir;
  o.nats = nats;
  o.log = [](absl::string_view, const std::string&) {};
  auto s = ncmd::StartServer(o);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

// Waits until the publisher is LIVE with nothing left to publish.
bool WaitCaughtUp(bus::Publisher* p, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    bus::PublisherStatus s = p->Status();
    if (s.state == bus::BusState::kLive && s.lag == 0) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

bool WaitState(bus::Publisher* p, bus::BusState want, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (p->Status().state == want) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

// The stream holds exactly the log: sequence i is position i, byte for
// byte, on the subject of its stream; nothing more, nothing missing.
void ExpectStreamEqualsLog(const bus::BrokerOptions& options,
                           es::EventStore* store) {
  auto broker = bus::Broker::Connect(options, {});
  ASSERT_TRUE(broker.ok()) << broker.status();
  const uint64_t head = store->HeadPosition();
  auto state = (*broker)->State();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->last_seq, head);
  EXPECT_EQ(state->messages, head);
  EXPECT_EQ(state->deleted, 0u);
  if (head > 0) EXPECT_EQ(state->first_seq, 1u);
  // A cluster that lost a member may take a while to place a consumer.
  auto reader = bus::StreamReader::Open(broker->get(), 1);
  for (int i = 0; i < 10 && !reader.ok(); ++i) {
    reader = bus::StreamReader::Open(broker->get(), 1);
  }
  ASSERT_TRUE(reader.ok()) << reader.status();
  uint64_t position = 1;
  while (position <= head) {
    es::ReadAllOptions o;
    o.from_position = position;
    o.max_count = 1000;
    auto raw = store->ReadAllRaw(o);
    ASSERT_TRUE(raw.ok()) << raw.status();
    absl::string_view frames = raw->frames, value;
    while (codec::NextFrame(&frames, &value) && position <= head) {
      auto m = (*reader)->Next(absl::Seconds(10));
      ASSERT_TRUE(m.ok()) << "position " << position << ": " << m.status();
      ASSERT_EQ(m->sequence, position);
      ASSERT_EQ(m->data, value) << "position " << position;
      absl::string_view stream_id, type;
      ASSERT_TRUE(codec::PeekStreamAndType(value, &stream_id, &type));
      ASSERT_EQ(m->subject, bus::SubjectFor(options.subject_prefix, stream_id));
      ++position;
    }
  }
  // Nothing after the head.
  auto extra = (*reader)->Next(absl::Milliseconds(200));
  EXPECT_FALSE(extra.ok()) << "a message past the head: " << extra->sequence;
}

// Appends `n` events over `streams` streams, `batch` per append.
void AppendHistory(es::EventStore* store, int n, int batch, int streams) {
  std::mt19937 rng(42);
  for (int done = 0; done < n;) {
    es::AppendRequest r;
    r.actor = "loader";
    es::StreamWrite w;
    w.stream_id = absl::StrCat("load-", rng() % streams);
    for (int i = 0; i < batch && done < n; ++i, ++done) {
      es::ProposedEvent e;
      e.event_id = NewUuid();
      e.event_type = "ncm.test.v1.Generated";
      e.payload = absl::StrCat("event ", done, " ", std::string(rng() % 200, 'x'));
      w.events.push_back(std::move(e));
    }
    r.streams.push_back(std::move(w));
    ASSERT_TRUE(store->Append(std::move(r)).ok());
  }
}

TEST(BusNamesTest, SubjectsEscapeEveryByteOutsideTheSafeSet) {
  EXPECT_EQ(bus::EscapeToken("resolution-2f1c"), "resolution-2f1c");
  EXPECT_EQ(bus::EscapeToken("a.b*c>d e%"), "a%2Eb%2Ac%3Ed%20e%25");
  EXPECT_EQ(bus::EscapeToken("Kaunti_ya\xC3\xA9"), "Kaunti_ya%C3%A9");
  EXPECT_EQ(bus::CategoryOf("resolution-2f1c-9"), "resolution");
  EXPECT_EQ(bus::CategoryOf("plain"), "plain");
  EXPECT_EQ(bus::SubjectFor("ncm.log", "mou-1.2"), "ncm.log.mou.mou-1%2E2");
  // An event at the payload limit fits the servers' configured size.
  EXPECT_GT(bus::LargestMessage(es::Limits{}), size_t{1} << 20);
  EXPECT_LT(bus::LargestMessage(es::Limits{}), size_t{8} << 20);
}

class BusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nats_ = std::make_unique<NatsServer>(dir_.Sub("nats"), "n1",
                                         ::ncm::testing::FreePort());
    ASSERT_TRUE(nats_->Start()) << nats_->log();
  }
  TempDir dir_;
  std::unique_ptr<NatsServer> nats_;
};

TEST_F(BusTest, StreamEqualsTheLogAfterTheDemoAndAGeneratedHistory) {
  const auto nats = BrokerFor({nats_->url()});
  auto server = StartBusServer(dir_.Sub("db"), nats);
  ASSERT_NE(server, nullptr);
  ASSERT_NE(server->publisher(), nullptr);
  auto channel = ::ncm::testing::AdminChannel(*server, dir_.Sub("db"));
  demo::DemoOptions d;
  d.budget_csv = NCM_BUDGET_2020_CSV;
  ASSERT_TRUE(demo::LoadDemo(channel, d).ok());
  ASSERT_TRUE(WaitCaughtUp(server->publisher(), absl::Seconds(30)));
  ExpectStreamEqualsLog(nats, server->store());

  // The status RPC tells the same.
  auto rm = ncm::readside::v1::ReadModels::NewStub(channel);
  grpc::ClientContext ctx;
  ncm::readside::v1::BusStatus bs;
  ASSERT_TRUE(rm->GetBusStatus(&ctx, {}, &bs).ok());
  EXPECT_EQ(bs.role(), "write");
  EXPECT_EQ(bs.publisher().state(), ncm::readside::v1::BUS_STATE_LIVE);
  EXPECT_EQ(bs.publisher().acked_position(), bs.head_position());
  EXPECT_EQ(bs.publisher().lag(), 0u);
  EXPECT_EQ(bs.publisher().stream(), "NCM_LOG");
  EXPECT_EQ(bs.models_size(), 4);

  AppendHistory(server->store(), 100000, 250, 50);
  ASSERT_TRUE(WaitCaughtUp(server->publisher(), absl::Seconds(120)));
  ExpectStreamEqualsLog(nats, server->store());
  EXPECT_GT(server->publisher()->Status().latency_samples, 0u);
}

TEST_F(BusTest, AppendsGoOnWhileTheBrokerIsAwayAndTheStreamCatchesUp) {
  const auto nats = BrokerFor({nats_->url()});
  auto server = StartBusServer(dir_.Sub("db"), nats);
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(WaitCaughtUp(server->publisher(), absl::Seconds(10)));
  std::atomic<bool> stop{false};
  std::atomic<int> failed{0}, appended{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      while (!stop) {
        es::AppendRequest r;
        es::StreamWrite sw;
        sw.stream_id = absl::StrCat("load-", w);
        es::ProposedEvent e;
        e.event_id = NewUuid();
        e.event_type = "ncm.test.v1.Generated";
        e.payload = "while the broker comes and goes";
        sw.events.push_back(e);
        r.streams.push_back(sw);
        if (server->store()->Append(std::move(r)).ok()) {
          ++appended;
        } else {
          ++failed;
        }
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(500));
  nats_->Kill9();
  EXPECT_TRUE(WaitState(server->publisher(), bus::BusState::kBrokerUnavailable,
                        absl::Seconds(10)));
  const int before = appended.load();
  absl::SleepFor(absl::Seconds(2));
  EXPECT_GT(appended.load(), before) << "appends stopped with the broker";
  ASSERT_TRUE(nats_->Start()) << nats_->log();
  absl::SleepFor(absl::Seconds(1));
  stop = true;
  for (auto& t : writers) t.join();
  EXPECT_EQ(failed.load(), 0);
  ASSERT_TRUE(WaitCaughtUp(server->publisher(), absl::Seconds(60)))
      << bus::BusStateName(server->publisher()->Status().state) << " "
      << server->publisher()->Status().detail;
  ExpectStreamEqualsLog(nats, server->store());
  EXPECT_GE(server->publisher()->Status().resyncs, 2u);
}

// Publishes `data` to the stream as someone other than ncmd would.
void PublishForeign(const bus::BrokerOptions& nats, const std::string& subject,
                    const std::string& data) {
  auto b = bus::Broker::Connect(nats, {});
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_TRUE((*b)->EnsureStream(es::Limits{}).ok());
  jsPubAck* pa = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  ASSERT_EQ(js_Publish(&pa, (*b)->jetstream(), subject.c_str(), data.data(),
                       static_cast<int>(data.size()), nullptr, &code),
            NATS_OK);
  jsPubAck_Destroy(pa);
}

// grpc.health.v1.Health/Check for the service "ncm.bus", by hand: the
// request is field 1 (service name), the answer field 1 (1 = SERVING).
bool BusHealthServing(const std::shared_ptr<grpc::Channel>& channel) {
  const std::string name = "ncm.bus";
  std::string req = std::string("\x0a", 1) + static_cast<char>(name.size()) + name;
  grpc::ClientContext ctx;
  grpc::Slice slice(req);
  grpc::ByteBuffer request(&slice, 1), response;
  grpc::Status s =
      grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
          channel.get(),
          grpc::internal::RpcMethod("/grpc.health.v1.Health/Check",
                                    grpc::internal::RpcMethod::NORMAL_RPC),
          &ctx, request, &response);
  EXPECT_TRUE(s.ok()) << s.error_message();
  std::vector<grpc::Slice> slices;
  (void)response.Dump(&slices);
  std::string bytes;
  for (const auto& sl : slices) {
    bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
  }
  return bytes.size() == 2 && bytes[0] == 0x08 && bytes[1] == 0x01;
}

TEST_F(BusTest, ADivergentStreamStopsThePublisherAndNothingIsOverwritten) {
  const auto nats = BrokerFor({nats_->url()});
  const std::string foreign = "not an event of this log";
  PublishForeign(nats, "ncm.log.resolution.resolution-1", foreign);
  auto server = StartBusServer(dir_.Sub("db"), nats);
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(WaitState(server->publisher(), bus::BusState::kDiverged,
                        absl::Seconds(10)));
  EXPECT_THAT(server->publisher()->Status().detail,
              ::testing::HasSubstr("not this log's event"));
  auto channel = ::ncm::testing::AdminChannel(*server, dir_.Sub("db"));
  EXPECT_FALSE(BusHealthServing(channel));
  // Appends go on; the stream keeps what it had.
  AppendHistory(server->store(), 50, 10, 2);
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(server->publisher()->Status().state, bus::BusState::kDiverged);
  auto b = bus::Broker::Connect(nats, {});
  ASSERT_TRUE(b.ok());
  auto st = (*b)->State();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->last_seq, 1u);
  auto m = (*b)->Get(1);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->data, foreign);

  auto rm = ncm::readside::v1::ReadModels::NewStub(channel);
  grpc::ClientContext ctx;
  ncm::readside::v1::BusStatus bs;
  ASSERT_TRUE(rm->GetBusStatus(&ctx, {}, &bs).ok());
  EXPECT_EQ(bs.publisher().state(), ncm::readside::v1::BUS_STATE_DIVERGED);
  EXPECT_THAT(bs.publisher().detail(), ::testing::HasSubstr("someone else"));
}

TEST_F(BusTest, AStreamAheadOfTheLogIsDivergence) {
  const auto nats = BrokerFor({nats_->url()});
  {
    // Another log of two events published first.
    TempDir other;
    auto s = StartBusServer(other.Sub("db"), nats);
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(WaitCaughtUp(s->publisher(), absl::Seconds(10)));
    AppendHistory(s->store(), 20, 5, 2);
    ASSERT_TRUE(WaitCaughtUp(s->publisher(), absl::Seconds(10)));
  }
  // This log's first event differs from the stream's first message (a
  // principal of another start), and its head is behind the stream's.
  auto server = StartBusServer(dir_.Sub("db"), nats);
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(WaitState(server->publisher(), bus::BusState::kDiverged,
                        absl::Seconds(10)));
  EXPECT_THAT(server->publisher()->Status().detail,
              ::testing::HasSubstr("another log"));
}

TEST_F(BusTest, AMisconfiguredStreamIsRefusedWithEveryDifference) {
  const auto nats = BrokerFor({nats_->url()});
  {
    auto b = bus::Broker::Connect(nats, {});
    ASSERT_TRUE(b.ok());
    jsStreamConfig c;
    jsStreamConfig_Init(&c);
    c.Name = "NCM_LOG";
    const char* subj[] = {"ncm.log.>"};
    c.Subjects = subj;
    c.SubjectsLen = 1;
    c.Storage = js_MemoryStorage;
    c.MaxAge = int64_t{3600} * 1000 * 1000 * 1000;
    jsStreamInfo* si = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    ASSERT_EQ(js_AddStream(&si, (*b)->jetstream(), &c, nullptr, &code), NATS_OK);
    jsStreamInfo_Destroy(si);
  }
  auto server = StartBusServer(dir_.Sub("db"), nats);
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(WaitState(server->publisher(), bus::BusState::kMisconfigured,
                        absl::Seconds(10)));
  const std::string why = server->publisher()->Status().detail;
  EXPECT_THAT(why, ::testing::HasSubstr("storage is not file"));
  EXPECT_THAT(why, ::testing::HasSubstr("deletes are allowed"));
  EXPECT_THAT(why, ::testing::HasSubstr("purges are allowed"));
  EXPECT_THAT(why, ::testing::HasSubstr("max_age is set"));
}

TEST(BusSizeTest, ServersWithTheDefaultMaxPayloadAreRefused) {
  TempDir dir;
  const int port = ::ncm::testing::FreePort();
  // A server with nats-server's default max_payload (1 MB).
  std::filesystem::create_directories(dir.Sub("n"));
  {
    std::ofstream c(dir.Sub("n") + "/small.conf");
    c << "listen: 127.0.0.1:" << port << "\njetstream { store_dir: \""
      << dir.Sub("n") << "/js\" }\n";
  }
  pid_t pid = fork();
  if (pid == 0) {
    const std::string conf = dir.Sub("n") + "/small.conf";
    int fd = open((dir.Sub("n") + "/log").c_str(), O_WRONLY | O_CREAT, 0644);
    dup2(fd, 2);
    execlp("nats-server", "nats-server", "-c", conf.c_str(),
           static_cast<char*>(nullptr));
    _exit(127);
  }
  auto server = StartBusServer(dir.Sub("db"),
                               BrokerFor({absl::StrCat("nats://127.0.0.1:", port)}));
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(WaitState(server->publisher(), bus::BusState::kMisconfigured,
                        absl::Seconds(15)));
  EXPECT_THAT(server->publisher()->Status().detail,
              ::testing::HasSubstr("max_payload"));
  server.reset();
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

TEST(BusProcessTest, StreamEqualsTheLogAcrossKill9OfNcmdWhilePublishing) {
  TempDir dir;
  NatsServer nats(dir.Sub("nats"), "n1", ::ncm::testing::FreePort());
  ASSERT_TRUE(nats.Start()) << nats.log();
  const auto options = BrokerFor({nats.url()});
  std::mt19937 rng(std::random_device{}());
  constexpr int kCycles = 5, kClients = 4;
  uint64_t acked_total = 0;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    ::ncm::testing::Ncmd ncmd(dir.Sub("db"),
                              dir.Sub(absl::StrCat("ncmd-", cycle, ".log")));
    ncmd.set_extra_args({"--nats_url=" + nats.url()});
    ASSERT_TRUE(ncmd.Start()) << ncmd.log();
    auto channel = ncmd.channel();
    if (cycle + 1 == kCycles) {
      // The last start publishes what is left, then stops cleanly.
      auto rm = ncm::readside::v1::ReadModels::NewStub(channel);
      bool caught_up = false;
      for (int i = 0; i < 500 && !caught_up; ++i) {
        grpc::ClientContext ctx;
        ncm::readside::v1::BusStatus bs;
        if (rm->GetBusStatus(&ctx, {}, &bs).ok() &&
            bs.publisher().state() == ncm::readside::v1::BUS_STATE_LIVE &&
            bs.publisher().lag() == 0) {
          caught_up = true;
        }
        absl::SleepFor(absl::Milliseconds(50));
      }
      ASSERT_TRUE(caught_up) << ncmd.log();
      EXPECT_EQ(ncmd.Terminate(absl::Seconds(20)), 0);
      break;
    }
    auto stub = ncm::eventstore::v1::EventStore::NewStub(channel);
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> acked{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] {
        while (!stop) {
          ncm::eventstore::v1::AppendRequest req;
          auto* s = req.add_streams();
          s->set_stream_id(absl::StrCat("client-", c));
          s->mutable_expected()->set_kind(
              ncm::eventstore::v1::ExpectedRevision::ANY);
          auto* e = s->add_events();
          e->set_event_id(NewUuid());
          e->set_event_type("ncm.test.v1.Crash");
          e->set_payload(absl::StrCat("cycle ", cycle, " client ", c));
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(5));
          ncm::eventstore::v1::AppendResponse resp;
          if (stub->Append(&ctx, req, &resp).ok()) ++acked;
        }
      });
    }
    absl::SleepFor(absl::Milliseconds(300 + rng() % 900));
    ncmd.Kill9();
    stop = true;
    for (auto& t : clients) t.join();
    acked_total += acked;
  }
  EXPECT_GT(acked_total, 100u);
  es::RocksDbOptions ro;
  ro.path = dir.Sub("db");
  auto store = es::OpenRocksDbEventStore(ro);
  ASSERT_TRUE(store.ok()) << store.status();
  ExpectStreamEqualsLog(options, store->get());
}

TEST(BusClusterTest, KillingTheStreamLeaderLosesAndRepeatsNothing) {
  TempDir dir;
  NatsCluster cluster(dir.Sub("cluster"));
  ASSERT_TRUE(cluster.Start());
  const auto options = BrokerFor(cluster.urls(), 3);
  auto server = StartBusServer(dir.Sub("db"), options);
  ASSERT_NE(server, nullptr);
  // The cluster elects its JetStream leader first; the publisher retries.
  ASSERT_TRUE(WaitCaughtUp(server->publisher(), absl::Seconds(60)))
      << server->publisher()->Status().detail;
  std::atomic<bool> stop{false};
  std::atomic<int> failed{0};
  std::thread writer([&] {
    std::mt19937 rng(7);
    while (!stop) {
      es::AppendRequest r;
      es::StreamWrite sw;
      sw.stream_id = absl::StrCat("load-", rng() % 8);
      for (int i = 0; i < 5; ++i) {
        es::ProposedEvent e;
        e.event_id = NewUuid();
        e.event_type = "ncm.test.v1.Generated";
        e.payload = std::string(100 + rng() % 400, 'y');
        sw.events.push_back(e);
      }
      r.streams.push_back(sw);
      if (!server->store()->Append(std::move(r)).ok()) ++failed;
    }
  });
  absl::SleepFor(absl::Seconds(1));
  auto probe = bus::Broker::Connect(options, {});
  ASSERT_TRUE(probe.ok());
  auto leader = (*probe)->StreamLeader();
  ASSERT_TRUE(leader.ok()) << leader.status();
  probe->reset();
  NatsServer* victim = cluster.ByName(*leader);
  ASSERT_NE(victim, nullptr) << "leader " << *leader;
  const uint64_t acked_before = server->publisher()->Status().acked_position;
  victim->Kill9();
  absl::SleepFor(absl::Seconds(3));
  stop = true;
  writer.join();
  EXPECT_EQ(failed.load(), 0);
  ASSERT_TRUE(WaitCaughtUp(server->publisher(), absl::Seconds(90)))
      << bus::BusStateName(server->publisher()->Status().state) << " "
      << server->publisher()->Status().detail;
  EXPECT_GT(server->publisher()->Status().acked_position, acked_before);
  // The loss of the leader was seen and recovered from (the first resync is
  // the start's).
  EXPECT_GE(server->publisher()->Status().resyncs, 2u);
  std::vector<std::string> alive;
  for (size_t i = 0; i < 3; ++i) {
    if (cluster.server(i)->running()) alive.push_back(cluster.server(i)->url());
  }
  ExpectStreamEqualsLog(BrokerFor(alive, 3), server->store());
}

}  // namespace
}  // namespace ncm
