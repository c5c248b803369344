// Online backups while writers run: every append acknowledged before a
// backup began is in it, the second backup copies only what is new, a
// restore into a new folder verifies the chain and the recorded head, and
// a server on the restored folder answers as the original did.
#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "clients/demo/demo.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "ncm/admin/v1/admin.grpc.pb.h"
#include "ncm/eventstore/rocksdb_event_store.h"
#include "ncm/eventstore/v1/eventstore.grpc.pb.h"
#include "ncm/ncmd/server.h"
#include "ncm/resolutions/v1/resolutions.grpc.pb.h"
#include "testing/loopback_server.h"
#include "testing/temp_dir.h"

namespace ncm {
namespace {

namespace opb = ::ncm::admin::v1;
namespace pb = ::ncm::eventstore::v1;
namespace rpb = ::ncm::resolutions::v1;

struct Acked {
  std::string event_id;
  uint64_t position;
};

rpb::ImplementationReportResponse Report(const std::shared_ptr<grpc::Channel>& channel,
                                         uint64_t min_position) {
  auto res = rpb::Resolutions::NewStub(channel);
  grpc::ClientContext ctx;
  rpb::ImplementationReportRequest r;
  r.mutable_as_of()->set_year(2022);
  r.mutable_as_of()->set_month(1);
  r.mutable_as_of()->set_day(31);
  r.set_group_by(rpb::ImplementationReportRequest::MEETING);
  r.set_min_position(min_position);
  rpb::ImplementationReportResponse out;
  grpc::Status s = res->ImplementationReport(&ctx, r, &out);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return out;
}

absl::StatusOr<opb::BackupInfo> TakeBackup(const std::shared_ptr<grpc::Channel>& channel,
                                           const std::string& dir) {
  auto admin = opb::Admin::NewStub(channel);
  grpc::ClientContext ctx;
  opb::BackupRequest r;
  r.set_dir(dir);
  opb::BackupResponse out;
  grpc::Status s = admin->Backup(&ctx, r, &out);
  if (!s.ok()) return absl::UnknownError(s.error_message());
  return out.backup();
}

TEST(BackupTest, BackupsUnderLoadRestoreEveryAcknowledgedEvent) {
  ::ncm::testing::TempDir dir;
  const std::string db = dir.Sub("db");
  auto server = ::ncm::testing::StartLoopbackServer(db);
  ASSERT_NE(server, nullptr);
  auto channel = ::ncm::testing::AdminChannel(*server, db);
  demo::DemoOptions demo;
  demo.budget_csv = NCM_BUDGET_2020_CSV;
  ASSERT_TRUE(demo::LoadDemo(channel, demo).ok());
  const rpb::ImplementationReportResponse report =
      Report(channel, server->store()->HeadPosition());

  // Writers, each on its own stream, keeping what was acknowledged.
  std::mutex mu;
  std::vector<Acked> acked;
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      auto stub = pb::EventStore::NewStub(channel);
      while (!stop.load()) {
        pb::AppendRequest req;
        auto* s = req.add_streams();
        s->set_stream_id(absl::StrCat("load-", t));
        s->mutable_expected()->set_kind(pb::ExpectedRevision::ANY);
        auto* e = s->add_events();
        e->set_event_id(::ncm::testing::NewUuid());
        e->set_event_type("ncm.test.v1.Loaded");
        e->set_payload(std::string(200, 'p'));
        grpc::ClientContext ctx;
        pb::AppendResponse resp;
        if (!stub->Append(&ctx, req, &resp).ok()) continue;
        std::lock_guard<std::mutex> l(mu);
        acked.push_back({e->event_id(), resp.last_position()});
      }
    });
  }
  auto acked_now = [&] {
    std::lock_guard<std::mutex> l(mu);
    return acked;
  };
  absl::SleepFor(absl::Milliseconds(300));
  const std::vector<Acked> before_first = acked_now();
  auto first = TakeBackup(channel, dir.Sub("backups"));
  ASSERT_TRUE(first.ok()) << first.status();
  absl::SleepFor(absl::Milliseconds(300));
  const std::vector<Acked> before_second = acked_now();
  auto second = TakeBackup(channel, dir.Sub("backups"));
  ASSERT_TRUE(second.ok()) << second.status();
  stop = true;
  for (auto& w : writers) w.join();
  ASSERT_GT(before_first.size(), 10u);
  ASSERT_GT(before_second.size(), before_first.size());
  EXPECT_EQ(second->backup_id(), first->backup_id() + 1);
  EXPECT_GT(second->head_position(), first->head_position());
  // The second copies only what the first does not hold.
  EXPECT_LT(second->added_bytes(), first->folder_bytes());
  EXPECT_EQ(second->folder_bytes(), first->folder_bytes() + second->added_bytes());
  server->Shutdown(absl::Seconds(10));
  server.reset();

  // Restores of each backup into new folders verify, and hold every
  // append acknowledged before the backup began, at its position.
  for (const auto& [info, before] :
       {std::pair{*first, before_first}, std::pair{*second, before_second}}) {
    const std::string into = dir.Sub(absl::StrCat("restored-", info.backup_id()));
    eventstore::RocksDbOptions o;
    o.path = into;
    o.key_encryption_key_file = db + ".kek";
    auto restored = eventstore::RestoreRocksDbBackup(dir.Sub("backups"), info.backup_id(), o);
    ASSERT_TRUE(restored.ok()) << restored.status();
    EXPECT_EQ(restored->head_position, info.head_position());
    EXPECT_EQ(std::string(restored->head_hash.begin(), restored->head_hash.end()),
              info.head_hash());
    EXPECT_EQ(restored->verified_count, info.head_position());
    auto store = eventstore::OpenRocksDbEventStore(o);
    ASSERT_TRUE(store.ok()) << store.status();
    std::map<uint64_t, std::string> ids;
    for (uint64_t from = 1; from <= restored->head_position;) {
      eventstore::ReadAllOptions ro;
      ro.from_position = from;
      ro.max_count = 5000;
      auto page = (*store)->ReadAll(ro);
      ASSERT_TRUE(page.ok()) << page.status();
      ASSERT_FALSE(page->events.empty());
      for (const auto& e : page->events) ids[e.position] = e.event_id;
      from = page->events.back().position + 1;
    }
    for (const Acked& a : before) {
      ASSERT_EQ(ids[a.position], a.event_id) << "position " << a.position;
    }
  }
  // Restoring over a folder that holds something is refused.
  eventstore::RocksDbOptions again;
  again.path = dir.Sub(absl::StrCat("restored-", first->backup_id()));
  again.key_encryption_key_file = db + ".kek";
  EXPECT_EQ(eventstore::RestoreRocksDbBackup(dir.Sub("backups"), 0, again).status().code(),
            absl::StatusCode::kFailedPrecondition);

  // A server on the restored folder rebuilds its read models from the log
  // and answers as the original did.
  ncmd::ServerOptions so;
  so.listen_address = "127.0.0.1:0";
  so.data_dir = dir.Sub(absl::StrCat("restored-", second->backup_id()));
  so.key_encryption_key_file = db + ".kek";
  so.log = [](absl::string_view, const std::string&) {};
  auto restarted = ncmd::StartServer(so);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  auto restored_channel = ::ncm::testing::Dial((*restarted)->address(),
                                               ::ncm::testing::AdminToken(db));
  rpb::ImplementationReportResponse again_report =
      Report(restored_channel, second->head_position());
  // The same answer, read at a later position (the load's events).
  EXPECT_GE(again_report.position(), report.position());
  again_report.set_position(report.position());
  EXPECT_EQ(again_report.DebugString(), report.DebugString());
  EXPECT_EQ(again_report.total().resolutions(), 8);
  (*restarted)->Shutdown(absl::Seconds(10));
}

}  // namespace
}  // namespace ncm
