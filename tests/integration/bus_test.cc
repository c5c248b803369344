// The message bus against a real nats-server (one, or a three-node
// JetStream cluster) started by the tests on loopback: the stream equals
// the log, whatever happens to the broker or to ncmd.
#include <nats/nats.h>

#include <atomic>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "clients/demo/demo.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"

#include "grpcpp/impl/codegen/client_unary_call.h"
#include "gtest/gtest.h"
#include "ncm/access/v1/access.grpc.pb.h"
#include "ncm/bus/broker.h"
#include "ncm/bus/publisher.h"
#include "ncm/eventstore/rocksdb_event_store.h"
#include "ncm/eventstore/v1/eventstore.grpc.pb.h"
#include "ncm/ncmd/server.h"
#include "ncm/services/command.h"
#include "ncm/mous/v1/mous.grpc.pb.h"
#include "ncm/readside/v1/readside.grpc.pb.h"
#include "ncm/resolutions/v1/resolutions.grpc.pb.h"
#include "ncm/resources/v1/resources.grpc.pb.h"
#include "ncm/stakeholders/v1/stakeholders.grpc.pb.h"
#include "record_codec.h"
#include "testing/date.h"
#include "testing/loopback_server.h"
#include "testing/nats_server.h"
#include "testing/ncmd_process.h"
#include "testing/grpc_health.h"
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
  if (head > 0) {
    EXPECT_EQ(state->first_seq, 1u);
  }
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

bool BusHealthServing(const std::shared_ptr<grpc::Channel>& channel) {
  return ::ncm::testing::HealthStatus(channel, "ncm.bus") == 1;
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


std::unique_ptr<ncmd::Server> StartReadNode(const std::string& data_dir,
                                            const bus::BrokerOptions& nats,
                                            const std::string& write_node,
                                            const std::string& token_file) {
  ncmd::ServerOptions o;
  o.listen_address = "127.0.0.1:0";
  o.data_dir = data_dir;
  o.nats = nats;
  o.read_node.write_node = write_node;
  o.read_node.token_file = token_file;
  o.log = [](absl::string_view, const std::string&) {};
  auto s = ncmd::StartServer(o);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

bool WaitCopied(ncmd::Server* read, uint64_t head, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (read->store()->HeadPosition() >= head) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

es::Hash HeadHashOf(es::EventStore* store) {
  auto v = store->VerifyChain(1, 0);
  EXPECT_TRUE(v.ok() && v->ok) << (v.ok() ? v->reason : v.status().ToString());
  return v.ok() ? v->head_hash : es::Hash{};
}

using ::ncm::testing::Day;

// The answers every query RPC gives on `channel` at `position`, now and as
// of past dates, serialised.
std::vector<std::string> Answers(const std::shared_ptr<grpc::Channel>& channel,
                                 uint64_t position) {
  std::vector<std::string> out;
  auto keep = [&](const grpc::Status& s, const google::protobuf::Message& m,
                  const char* what) {
    EXPECT_TRUE(s.ok()) << what << ": " << s.error_message();
    std::string bytes;
    google::protobuf::io::StringOutputStream os(&bytes);
    google::protobuf::io::CodedOutputStream cos(&os);
    cos.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&cos);
    cos.Trim();
    out.push_back(absl::StrCat(what, ":", bytes));
  };
  namespace rpb = ::ncm::resolutions::v1;
  auto res = rpb::Resolutions::NewStub(channel);
  for (const auto& day : {Day(2020, 12, 31), Day(2021, 6, 30), Day(2022, 3, 31),
                          Day(2030, 1, 1)}) {
    grpc::ClientContext c1;
    rpb::ListResolutionsRequest lr;
    *lr.mutable_as_of() = day;
    lr.set_min_position(position);
    rpb::ListResolutionsResponse lresp;
    keep(res->ListResolutions(&c1, lr, &lresp), lresp, "ListResolutions");
    grpc::ClientContext c2;
    rpb::ImplementationReportRequest ir;
    *ir.mutable_as_of() = day;
    ir.set_min_position(position);
    rpb::ImplementationReportResponse iresp;
    keep(res->ImplementationReport(&c2, ir, &iresp), iresp, "ImplementationReport");
    auto mous = ncm::mous::v1::Mous::NewStub(channel);
    grpc::ClientContext c3;
    ncm::mous::v1::GetComplianceRequest cr;
    *cr.mutable_as_of() = day;
    cr.set_min_position(position);
    ncm::mous::v1::GetComplianceResponse cresp;
    keep(mous->GetCompliance(&c3, cr, &cresp), cresp, "GetCompliance");
  }
  auto st = ncm::stakeholders::v1::Stakeholders::NewStub(channel);
  grpc::ClientContext c4;
  ncm::stakeholders::v1::ListOrganisationsRequest orq;
  orq.set_min_position(position);
  orq.set_page_size(1000);
  ncm::stakeholders::v1::ListOrganisationsResponse oresp;
  keep(st->ListOrganisations(&c4, orq, &oresp), oresp, "ListOrganisations");
  auto rs = ncm::resources::v1::Resources::NewStub(channel);
  grpc::ClientContext c5;
  ncm::resources::v1::GetFundingPositionRequest fr;
  fr.set_fiscal_year(2020);
  fr.set_min_position(position);
  ncm::resources::v1::GetFundingPositionResponse fresp;
  keep(rs->GetFundingPosition(&c5, fr, &fresp), fresp, "GetFundingPosition");
  auto store = ncm::eventstore::v1::EventStore::NewStub(channel);
  grpc::ClientContext c6;
  ncm::eventstore::v1::ReadAllRequest ar;
  ar.set_raw(true);
  ar.set_max_count(10000);
  ncm::eventstore::v1::ReadAllResponse aresp;
  keep(store->ReadAll(&c6, ar, &aresp), aresp, "ReadAll");
  return out;
}

TEST_F(BusTest, AReadNodeCopiesTheLogAndAnswersAsTheWriteNodeDoes) {
  const auto nats = BrokerFor({nats_->url()});
  auto write = StartBusServer(dir_.Sub("write"), nats);
  ASSERT_NE(write, nullptr);
  auto wch = ::ncm::testing::AdminChannel(*write, dir_.Sub("write"));
  demo::DemoOptions d;
  d.budget_csv = NCM_BUDGET_2020_CSV;
  ASSERT_TRUE(demo::LoadDemo(wch, d).ok());
  const std::string token_file = dir_.Sub("write") + "/admin.token";
  auto read = StartReadNode(dir_.Sub("read"), nats, write->address(), token_file);
  ASSERT_NE(read, nullptr);
  ASSERT_NE(read->replica(), nullptr);
  uint64_t head = write->store()->HeadPosition();
  ASSERT_TRUE(WaitCopied(read.get(), head, absl::Seconds(30)))
      << read->replica()->Status().detail;
  EXPECT_EQ(HeadHashOf(read->store()), HeadHashOf(write->store()));
  // The write node's admin token works on the read node: principals come
  // with the log.
  auto rch = ::ncm::testing::Dial(read->address(), ::ncm::testing::AdminToken(dir_.Sub("write")));
  EXPECT_EQ(Answers(rch, head), Answers(wch, head));

  // Every call that appends is refused, naming the write node, before its
  // request is looked at: an empty one, which the write node refuses as
  // INVALID_ARGUMENT, too.
  auto st = ncm::stakeholders::v1::Stakeholders::NewStub(rch);
  auto refused = [&](const grpc::Status& s) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(s.error_message(), ::testing::HasSubstr(write->address()));
  };
  for (bool empty : {false, true}) {
    grpc::ClientContext ctx;
    ncm::stakeholders::v1::RegisterOrganisationRequest r;
    if (!empty) {
      r.mutable_profile()->set_name("Refused on a read node");
      r.mutable_profile()->set_acronym("RRN");
      r.mutable_profile()->set_kind(ncm::stakeholders::v1::INTERNATIONAL_ORGANISATION);
      r.mutable_profile()->set_level(ncm::stakeholders::v1::INTERNATIONAL);
      r.set_role(ncm::stakeholders::v1::PARTNER);
    }
    ncm::common::v1::CommandResult resp;
    refused(st->RegisterOrganisation(&ctx, r, &resp));
  }
  {
    grpc::ClientContext ctx;
    ncm::access::v1::IssueTokenRequest r;
    r.set_principal_id("refused-on-a-read-node");
    r.set_role(ncm::access::v1::ROLE_READER);
    ncm::access::v1::IssueTokenResponse resp;
    refused(ncm::access::v1::Access::NewStub(rch)->IssueToken(&ctx, r, &resp));
  }
  EXPECT_EQ(read->store()->HeadPosition(), head);

  // Read your writes: written on the write node, read on the read node at
  // the returned position.
  auto wst = ncm::stakeholders::v1::Stakeholders::NewStub(wch);
  grpc::ClientContext ctx;
  ncm::stakeholders::v1::RegisterOrganisationRequest r;
  r.mutable_profile()->set_name("Written then read elsewhere");
  r.mutable_profile()->set_acronym("WTRE");
  r.mutable_profile()->set_kind(ncm::stakeholders::v1::INTERNATIONAL_ORGANISATION);
  r.mutable_profile()->set_level(ncm::stakeholders::v1::INTERNATIONAL);
  r.set_role(ncm::stakeholders::v1::PARTNER);
  ncm::common::v1::CommandResult resp;
  ASSERT_TRUE(wst->RegisterOrganisation(&ctx, r, &resp).ok());
  grpc::ClientContext lctx;
  ncm::stakeholders::v1::ListOrganisationsRequest lr;
  lr.set_min_position(resp.position());
  lr.set_wait_ms(10000);
  lr.set_page_size(1000);
  ncm::stakeholders::v1::ListOrganisationsResponse lresp;
  grpc::Status ls = st->ListOrganisations(&lctx, lr, &lresp);
  ASSERT_TRUE(ls.ok()) << ls.error_message();
  bool found = false;
  for (const auto& o : lresp.organisations()) found |= o.profile().acronym() == "WTRE";
  EXPECT_TRUE(found);

  // A generated history too.
  AppendHistory(write->store(), 100000, 250, 50);
  head = write->store()->HeadPosition();
  ASSERT_TRUE(WaitCopied(read.get(), head, absl::Seconds(180)));
  EXPECT_EQ(HeadHashOf(read->store()), HeadHashOf(write->store()));
  EXPECT_EQ(Answers(rch, head), Answers(wch, head));

  auto rm = ncm::readside::v1::ReadModels::NewStub(rch);
  grpc::ClientContext bctx;
  ncm::readside::v1::BusStatus bs;
  ASSERT_TRUE(rm->GetBusStatus(&bctx, {}, &bs).ok());
  EXPECT_EQ(bs.role(), "read");
  EXPECT_EQ(bs.head_position(), head);
  EXPECT_EQ(bs.copy().write_node(), write->address());
  EXPECT_EQ(bs.copy().refused(), 0u);
}

// A source that loses some messages and corrupts one: the replica fills
// both from the write node and says so.
class LossySource final : public bus::MessageSource {
 public:
  LossySource(es::EventStore* origin, uint64_t from) : origin_(origin), next_(from) {}
  absl::StatusOr<bus::StoredMessage> Next(absl::Duration) override {
    while (next_ >= 5 && next_ <= 7) ++next_;  // lost
    if (next_ > origin_->HeadPosition()) {
      return absl::DeadlineExceededError("none");
    }
    es::ReadAllOptions o;
    o.from_position = next_;
    o.max_count = 1;
    auto r = origin_->ReadAllRaw(o);
    if (!r.ok()) return r.status();
    absl::string_view frames = r->frames, value;
    codec::NextFrame(&frames, &value);
    bus::StoredMessage m;
    m.sequence = next_++;
    m.data = std::string(value);
    if (m.sequence == 12) m.data[40] ^= 1;  // altered on the way
    return m;
  }
  absl::StatusOr<uint64_t> LastSequence() override {
    return origin_->HeadPosition();
  }

 private:
  es::EventStore* origin_;
  uint64_t next_;
};

// A write node's store holding a generated history, and an empty copy of
// it.
class ReplicaTest : public ::testing::Test {
 protected:
  void Open(int n, int batch, int streams, std::string copy_of) {
    es::RocksDbOptions wo;
    wo.path = dir_.Sub("write");
    auto origin = es::OpenRocksDbEventStore(wo);
    ASSERT_TRUE(origin.ok()) << origin.status();
    origin_ = std::move(*origin);
    AppendHistory(origin_.get(), n, batch, streams);
    es::RocksDbOptions co;
    co.path = dir_.Sub("copy");
    co.copy_of = std::move(copy_of);
    auto copy = es::OpenRocksDbEventStore(co);
    ASSERT_TRUE(copy.ok()) << copy.status();
    copy_ = std::move(*copy);
  }

  TempDir dir_;
  std::unique_ptr<es::EventStore> origin_, copy_;
};

TEST_F(ReplicaTest, GapsAndAlteredMessagesAreFilledFromTheWriteNode) {
  Open(40, 3, 4, "127.0.0.1:1");
  es::EventStore* const copy = copy_.get();
  es::EventStore* const origin = origin_.get();
  // A copy takes no appends of its own.
  es::ProposedEvent event;
  event.event_id = NewUuid();
  event.event_type = "t";
  event.payload = "p";
  es::AppendRequest r;
  r.streams.push_back({"x-1", es::ExpectedRevision::Any(), {event}});
  EXPECT_EQ(copy->Append(std::move(r)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  std::vector<std::string> logs;
  absl::Mutex logs_mu;
  bus::ReplicaOptions ro;
  es::EventStore* src = origin;
  ro.source = [src](uint64_t from)
      -> absl::StatusOr<std::unique_ptr<bus::MessageSource>> {
    return std::unique_ptr<bus::MessageSource>(new LossySource(src, from));
  };
  ro.fill = [src](uint64_t from, uint64_t to) -> absl::StatusOr<std::string> {
    es::ReadAllOptions o;
    o.from_position = from;
    o.max_count = to - from + 1;
    auto raw = src->ReadAllRaw(o);
    if (!raw.ok()) return raw.status();
    return raw->frames;
  };
  ro.log = [&](absl::string_view level, const std::string& f) {
    absl::MutexLock l(&logs_mu);
    logs.push_back(absl::StrCat(level, " ", f));
  };
  auto replica = bus::StartReplica(copy, ro);
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (copy->HeadPosition() < 40 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(copy->HeadPosition(), 40u);
  EXPECT_EQ(HeadHashOf(copy), HeadHashOf(origin));
  const bus::ReplicaStatus s = replica->Status();
  EXPECT_EQ(s.filled, 4u);  // 5..7, and 12
  EXPECT_EQ(s.refused, 1u);
  replica->Stop();
  absl::MutexLock l(&logs_mu);
  EXPECT_THAT(logs, ::testing::Contains(::testing::AllOf(
                        ::testing::HasSubstr("from_position=5 to_position=7"),
                        ::testing::StartsWith("warn"))));
  EXPECT_THAT(logs, ::testing::Contains(
                        ::testing::HasSubstr("does not verify")));
}

// A fold's min_position on a read node waits for the copy's commit that
// reaches it, and answers DEADLINE_EXCEEDED when none comes; the write
// node answers OUT_OF_RANGE at once.
TEST_F(ReplicaTest, MinPositionWaitsForTheCopy) {
  Open(10, 2, 2, "write:1");
  es::EventStore* const copy = copy_.get();
  es::EventStore* const origin = origin_.get();
  es::ReadAllOptions o;
  auto raw = origin->ReadAllRaw(o);
  ASSERT_TRUE(raw.ok());
  const uint64_t head = origin->HeadPosition();
  EXPECT_EQ(ncm::services::CheckMinPosition(origin, head + 1).code(),
            absl::StatusCode::kOutOfRange);
  std::thread later([&] {
    absl::SleepFor(absl::Milliseconds(300));
    EXPECT_TRUE(copy->AppendCopied(raw->frames).ok());
  });
  const absl::Time t0 = absl::Now();
  EXPECT_TRUE(ncm::services::CheckMinPosition(copy, head).ok());
  const absl::Duration waited = absl::Now() - t0;
  later.join();
  EXPECT_GE(waited, absl::Milliseconds(250));
  EXPECT_LT(waited, absl::Seconds(4));
  absl::Status beyond = ncm::services::CheckMinPosition(copy, head + 1);
  EXPECT_EQ(beyond.code(), absl::StatusCode::kDeadlineExceeded) << beyond;
  EXPECT_THAT(std::string(beyond.message()),
              ::testing::HasSubstr(absl::StrCat("at position ", head)));
}

TEST_F(ReplicaTest, ACopyRefusesRecordsThatDoNotFit) {
  Open(10, 2, 2, "write:1");
  es::EventStore* const copy = copy_.get();
  es::EventStore* const origin = origin_.get();
  es::ReadAllOptions o;
  o.max_count = 10;
  auto raw = origin->ReadAllRaw(o);
  ASSERT_TRUE(raw.ok());
  std::vector<std::string> values;
  absl::string_view frames = raw->frames, value;
  while (codec::NextFrame(&frames, &value)) values.emplace_back(value);
  auto framed = [&](std::initializer_list<int> idx) {
    std::string f;
    for (int i : idx) codec::AppendFrame(values[i], &f);
    return f;
  };
  // Not the first position; a gap; then the right ones.
  EXPECT_EQ(copy->AppendCopied(framed({1})).code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(copy->AppendCopied(framed({0, 1})).ok());
  EXPECT_EQ(copy->AppendCopied(framed({3})).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(copy->AppendCopied(framed({2, 4})).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(copy->HeadPosition(), 2u);  // nothing of a refused batch
  std::string altered = values[2];
  altered[70] ^= 1;
  std::string f;
  codec::AppendFrame(altered, &f);
  EXPECT_EQ(copy->AppendCopied(f).code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(copy->AppendCopied(framed({2, 3, 4, 5, 6, 7, 8, 9})).ok());
  EXPECT_EQ(HeadHashOf(copy), HeadHashOf(origin));
  // The copy's indexes work: streams read back as on the write node.
  auto a = origin->GetStreamInfo("load-0");
  auto b = copy->GetStreamInfo("load-0");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->last_revision, b->last_revision);
  EXPECT_EQ(a->event_count, b->event_count);
  // A write node's store takes no copies.
  EXPECT_EQ(origin->AppendCopied(framed({0})).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(ReadNodeProcessTest, AReadNodeKilledWhileConsumingResumesWithoutGapOrRepeat) {
  TempDir dir;
  NatsServer nats(dir.Sub("nats"), "n1", ::ncm::testing::FreePort());
  ASSERT_TRUE(nats.Start()) << nats.log();
  const auto options = BrokerFor({nats.url()});
  auto write = StartBusServer(dir.Sub("write"), options);
  ASSERT_NE(write, nullptr);
  auto wch = ::ncm::testing::AdminChannel(*write, dir.Sub("write"));
  demo::DemoOptions d;
  d.budget_csv = NCM_BUDGET_2020_CSV;
  ASSERT_TRUE(demo::LoadDemo(wch, d).ok());
  AppendHistory(write->store(), 60000, 200, 30);
  std::mt19937 rng(std::random_device{}());
  for (int cycle = 0; cycle < 5; ++cycle) {
    ::ncm::testing::Ncmd read(dir.Sub("read"),
                              dir.Sub(absl::StrCat("read-", cycle, ".log")));
    read.set_extra_args({"--nats_url=" + nats.url(),
                         "--write_node=" + write->address(),
                         "--write_node_token_file=" + dir.Sub("write") + "/admin.token"});
    ASSERT_TRUE(read.Start()) << "cycle " << cycle << ":\n" << read.log();
    if (cycle == 4) {
      auto rch = ::ncm::testing::Dial(read.address(),
                                      ::ncm::testing::AdminToken(dir.Sub("write")));
      const uint64_t head = write->store()->HeadPosition();
      EXPECT_EQ(Answers(rch, head), Answers(wch, head)) << read.log();
      EXPECT_EQ(read.Terminate(absl::Seconds(20)), 0);
      break;
    }
    // Writes go on meanwhile, on the write node.
    AppendHistory(write->store(), 500, 50, 5);
    absl::SleepFor(absl::Milliseconds(100 + rng() % 700));
    read.Kill9();
  }
  es::RocksDbOptions ro;
  ro.path = dir.Sub("read");
  ro.copy_of = write->address();
  auto copy = es::OpenRocksDbEventStore(ro);
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ((*copy)->HeadPosition(), write->store()->HeadPosition());
  EXPECT_EQ(HeadHashOf(copy->get()), HeadHashOf(write->store()));
}

// The publisher and a read node's copy over one nats-server, with no gRPC
// in the way (this is the test the sanitizer builds run): concurrent
// appenders, the broker killed and started again, then the stream and the
// copy equal to the log.
TEST(BusThreadsTest, PublisherAndCopyAcrossABrokerRestart) {
  TempDir dir;
  NatsServer nats(dir.Sub("nats"), "n1", ::ncm::testing::FreePort());
  ASSERT_TRUE(nats.Start()) << nats.log();
  const auto options = BrokerFor({nats.url()});
  es::RocksDbOptions wo;
  wo.path = dir.Sub("write");
  auto log = es::OpenRocksDbEventStore(wo);
  ASSERT_TRUE(log.ok());
  bus::PublisherOptions po;
  po.broker = options;
  po.window_messages = 512;  // many windows in flight over the run
  auto publisher = bus::StartPublisher(log->get(), po);
  ASSERT_TRUE(publisher.ok());
  es::RocksDbOptions co;
  co.path = dir.Sub("copy");
  co.copy_of = "write:1";
  auto copy = es::OpenRocksDbEventStore(co);
  ASSERT_TRUE(copy.ok());
  std::atomic<uint64_t> appended_heads{0};
  bus::ReplicaOptions ro;
  ro.source = bus::JetStreamSource(options);
  es::EventStore* origin = log->get();
  ro.fill = [origin](uint64_t from, uint64_t to) -> absl::StatusOr<std::string> {
    es::ReadAllOptions o;
    o.from_position = from;
    o.max_count = to - from + 1;
    auto raw = origin->ReadAllRaw(o);
    if (!raw.ok()) return raw.status();
    return raw->frames;
  };
  ro.appended = [&](uint64_t head) { appended_heads = head; };
  auto replica = bus::StartReplica(copy->get(), ro);

  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      while (!stop) {
        es::AppendRequest r;
        es::StreamWrite sw;
        sw.stream_id = absl::StrCat("load-", w);
        for (int i = 0; i < 3; ++i) {
          es::ProposedEvent e;
          e.event_id = NewUuid();
          e.event_type = "ncm.test.v1.Generated";
          e.payload = "threads";
          sw.events.push_back(e);
        }
        r.streams.push_back(sw);
        EXPECT_TRUE((*log)->Append(std::move(r)).ok());
      }
    });
  }
  std::thread watcher([&] {
    while (!stop) {
      (void)(*publisher)->Status();
      (void)replica->Status();
      absl::SleepFor(absl::Milliseconds(5));
    }
  });
  absl::SleepFor(absl::Milliseconds(700));
  nats.Kill9();
  absl::SleepFor(absl::Milliseconds(700));
  ASSERT_TRUE(nats.Start()) << nats.log();
  absl::SleepFor(absl::Milliseconds(700));
  stop = true;
  for (auto& t : writers) t.join();
  watcher.join();
  ASSERT_TRUE(WaitCaughtUp(publisher->get(), absl::Seconds(120)));
  const uint64_t head = (*log)->HeadPosition();
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  while ((*copy)->HeadPosition() < head && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ((*copy)->HeadPosition(), head);
  // The callback runs once the batch is durable, just after the head moves.
  while (appended_heads.load() < head && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(appended_heads.load(), head);
  EXPECT_EQ(HeadHashOf(copy->get()), HeadHashOf(log->get()));
  ExpectStreamEqualsLog(options, log->get());
  replica->Stop();
  (*publisher)->Stop();
}

}  // namespace
}  // namespace ncm
