// The projection runner over a real RocksDB log and read-model folder: every
// event applied exactly once across a failure in the middle of a page and a
// reopen, bounded min_position waits, and rebuild from position 0.
#include <atomic>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ncm/eventstore/rocksdb_event_store.h"
#include "ncm/readside/runner.h"
#include "ncm/services/ids.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace ncm::readside {
namespace {

namespace es = ::ncm::eventstore;
using ::ncm::testing::IsOk;
using ::ncm::testing::StatusIs;
using ::testing::HasSubstr;
using Code = absl::StatusCode;

// Counts events per stream and in all; optionally fails at one position.
// Events of type test.Unknown it cannot apply (DATA_LOSS, as a real
// projection answers an event it cannot decode), and it checks the
// sequence of positions only when there are none.
class Counter final : public Projection {
 public:
  explicit Counter(uint64_t fail_at = 0) : fail_at_(fail_at) {}
  std::string name() const override { return "counter"; }
  absl::Status Apply(const es::RecordedEvent& e, ProjectionTxn* txn) override {
    if (e.position == fail_at_) {
      // What a projection passes on when its storage fails.
      return absl::UnavailableError(absl::StrCat("injected at ", e.position));
    }
    if (e.event_type == "test.Unknown") {
      txn->Put("half-applied", "1");  // must not reach the model
      return absl::DataLossError("test.Unknown is not a type it knows");
    }
    for (const std::string& key : {std::string("all"), "s/" + e.stream_id}) {
      auto v = txn->Get(key);
      if (!v.ok()) return v.status();
      uint64_t n = 0;
      if (v->has_value()) (void)absl::SimpleAtoi(**v, &n);
      txn->Put(key, absl::StrCat(n + 1));
    }
    // The last position seen must be the previous one: no gap, no repeat.
    auto last = txn->Get("last");
    if (!last.ok()) return last.status();
    uint64_t p = 0;
    if (last->has_value()) (void)absl::SimpleAtoi(**last, &p);
    if (!lenient_ && p + 1 != e.position) {
      return absl::InternalError(
          absl::StrCat("position ", e.position, " after ", p));
    }
    txn->Put("last", absl::StrCat(e.position));
    return absl::OkStatus();
  }
  Counter* Lenient() {
    lenient_ = true;
    return this;
  }
  // Reads only these streams (and checks no sequence).
  Counter* Only(std::vector<std::string> prefixes) {
    prefixes_ = std::move(prefixes);
    lenient_ = true;
    return this;
  }
  std::vector<std::string> StreamPrefixes() const override { return prefixes_; }

 private:
  const uint64_t fail_at_;
  bool lenient_ = false;
  std::vector<std::string> prefixes_;
};

class ReadSideTest : public ::testing::Test {
 protected:
  void SetUp() override {
    es::RocksDbOptions o;
    o.path = dir_.Sub("log");
    auto s = es::OpenRocksDbEventStore(o);
    ASSERT_THAT(s, IsOk());
    store_ = std::move(*s);
  }

  void Append(int streams, int per_stream,
              const std::string& type = "test.Happened",
              const std::string& category = "thing") {
    for (int i = 0; i < per_stream; ++i) {
      es::AppendRequest req;
      for (int s = 0; s < streams; ++s) {
        auto& w = req.streams.emplace_back();
        w.stream_id = absl::StrCat(category, "-", s);
        auto& e = w.events.emplace_back();
        e.event_id = services::NewUuid();
        e.event_type = type;
        e.payload = "x";
      }
      ASSERT_THAT(store_->Append(std::move(req)), IsOk());
    }
  }

  std::unique_ptr<ReadSide> Open(uint64_t fail_at = 0, bool lenient = false,
                                 std::vector<std::string> only = {}) {
    std::vector<std::unique_ptr<Projection>> ps;
    auto counter = std::make_unique<Counter>(fail_at);
    if (lenient) counter->Lenient();
    if (!only.empty()) counter->Only(std::move(only));
    ps.push_back(std::move(counter));
    ReadSideOptions o;
    o.path = dir_.Sub("models");
    o.page_events = 100;
    auto rs = OpenReadSide(store_.get(), std::move(ps), o);
    EXPECT_THAT(rs, IsOk());
    return std::move(*rs);
  }

  static uint64_t Number(ReadSide* rs, const std::string& key) {
    auto view = rs->View("counter");
    EXPECT_THAT(view, IsOk());
    auto v = (*view)->Get(key);
    EXPECT_THAT(v, IsOk());
    uint64_t n = 0;
    if (v->has_value()) (void)absl::SimpleAtoi(**v, &n);
    return n;
  }

  ncm::testing::TempDir dir_;
  std::unique_ptr<es::EventStore> store_;
};

TEST_F(ReadSideTest, AFailureMidPageLosesNothingAndRepeatsNothing) {
  Append(5, 100);  // 500 events
  {
    auto rs = Open(/*fail_at=*/250);
    ASSERT_THAT(rs->Start(), IsOk());
    EXPECT_THAT(rs->WaitFor("counter", 500, absl::Seconds(10)),
                StatusIs(Code::kUnavailable, HasSubstr("injected at 250")));
    auto st = rs->Status("counter");
    ASSERT_THAT(st, IsOk());
    EXPECT_EQ(st->applied_position, 200u);  // pages of 100: 201-300 discarded
    EXPECT_EQ(Number(rs.get(), "all"), 200u);
  }
  auto rs = Open();
  EXPECT_EQ(Number(rs.get(), "all"), 200u);
  ASSERT_THAT(rs->Start(), IsOk());
  ASSERT_THAT(rs->WaitFor("counter", 500, absl::Seconds(10)), IsOk());
  EXPECT_EQ(Number(rs.get(), "all"), 500u);
  EXPECT_EQ(Number(rs.get(), "last"), 500u);
  for (int s = 0; s < 5; ++s) {
    EXPECT_EQ(Number(rs.get(), absl::StrCat("s/thing-", s)), 100u);
  }
  // Live: new commits wake the runner.
  Append(1, 7);
  ASSERT_THAT(rs->WaitFor("counter", 507, absl::Seconds(10)), IsOk());
  EXPECT_EQ(Number(rs.get(), "all"), 507u);
  rs->Stop();
}

// A projection that names its streams is given only their events; its
// checkpoint still moves past the others, so waits on any position end.
TEST_F(ReadSideTest, AProjectionReadsOnlyTheStreamsItNames) {
  Append(2, 1500, "test.Happened", "other");  // 3,000 events it ignores
  Append(3, 2, "test.Happened", "wanted");    // 6 it applies
  Append(1, 2500, "test.Happened", "other");  // past several scan limits
  const uint64_t head = store_->HeadPosition();
  {
    auto rs = Open(0, false, {"wanted-"});
    ASSERT_THAT(rs->Start(), IsOk());
    ASSERT_THAT(rs->WaitFor("counter", head, absl::Seconds(20)), IsOk());
    auto st = rs->Status("counter");
    ASSERT_THAT(st, IsOk());
    EXPECT_EQ(st->applied_position, head);
    EXPECT_EQ(Number(rs.get(), "all"), 6u);
    EXPECT_EQ(Number(rs.get(), "s/wanted-1"), 2u);
    EXPECT_EQ(Number(rs.get(), "s/other-0"), 0u);
    rs->Stop();
  }
  // Reopened: resumes after its checkpoint, applying nothing twice.
  auto rs = Open(0, false, {"wanted-"});
  ASSERT_THAT(rs->Start(), IsOk());
  Append(1, 1, "test.Happened", "wanted");
  Append(1, 3, "test.Happened", "other");
  ASSERT_THAT(rs->WaitFor("counter", head + 4, absl::Seconds(20)), IsOk());
  EXPECT_EQ(Number(rs.get(), "all"), 7u);
  rs->Stop();
}

TEST_F(ReadSideTest, WaitsAreBoundedAndSayHowFarBehind) {
  Append(1, 3);
  auto rs = Open(/*fail_at=*/0);
  // Not started: nothing is applied, so a wait times out.
  EXPECT_THAT(rs->WaitFor("counter", 3, absl::Milliseconds(50)),
              StatusIs(Code::kDeadlineExceeded,
                       HasSubstr("has applied position 0, short of the 3")));
  EXPECT_THAT(rs->WaitFor("counter", 99, absl::Milliseconds(50)),
              StatusIs(Code::kOutOfRange, HasSubstr("beyond the log's head (3)")));
  EXPECT_THAT(rs->WaitFor("nope", 1, absl::Milliseconds(50)),
              StatusIs(Code::kNotFound));
  ASSERT_THAT(rs->Start(), IsOk());
  EXPECT_THAT(rs->WaitFor("counter", 3, absl::Seconds(10)), IsOk());
  rs->Stop();
}

TEST_F(ReadSideTest, RebuildFromZeroEqualsTheIncrementalModel) {
  Append(100, 200);  // 20,000 events over 100 streams
  auto rs = Open();
  ASSERT_THAT(rs->Start(), IsOk());
  ASSERT_THAT(rs->WaitFor("counter", 20000, absl::Seconds(60)), IsOk());
  std::map<std::string, std::string> before;
  auto collect = [&](std::map<std::string, std::string>* out) {
    auto view = rs->View("counter");
    ASSERT_THAT(view, IsOk());
    ASSERT_THAT((*view)->Scan("", "", [&](absl::string_view k,
                                          absl::string_view v) {
      (*out)[std::string(k)] = std::string(v);
      return true;
    }),
                IsOk());
  };
  collect(&before);
  ASSERT_THAT(rs->Rebuild("counter", absl::Seconds(60)), IsOk());
  std::map<std::string, std::string> after;
  collect(&after);
  EXPECT_EQ(before, after);
  EXPECT_EQ(before.size(), 100u + 3);  // per stream, all, last, checkpoint
  EXPECT_EQ(Number(rs.get(), "all"), 20000u);
  rs->Stop();
}

TEST_F(ReadSideTest, AnEventItCannotApplyIsKeptAsPoisonAndTheModelGoesOn) {
  Append(2, 60);            // 1-120
  Append(1, 1, "test.Unknown");  // 121
  Append(2, 40);            // 122-201
  {
    auto rs = Open(0, /*lenient=*/true);
    ASSERT_THAT(rs->Start(), IsOk());
    ASSERT_THAT(rs->WaitFor("counter", 201, absl::Seconds(10)), IsOk());
    EXPECT_EQ(Number(rs.get(), "all"), 200u);
    EXPECT_EQ(Number(rs.get(), "half-applied"), 0u);
    auto st = rs->Status("counter");
    ASSERT_THAT(st, IsOk());
    EXPECT_EQ(st->error, "");
    EXPECT_EQ(st->applied_position, 201u);
    EXPECT_EQ(st->poison_count, 1u);
    ASSERT_TRUE(st->last_poison.has_value());
    EXPECT_EQ(st->last_poison->position, 121u);
    EXPECT_EQ(st->last_poison->stream_id, "thing-0");
    EXPECT_EQ(st->last_poison->event_type, "test.Unknown");
    EXPECT_THAT(st->last_poison->reason, HasSubstr("not a type it knows"));
    rs->Stop();
  }
  // Kept across a reopen; a rebuild applies everything again.
  auto rs = Open(0, /*lenient=*/true);
  auto st = rs->Status("counter");
  ASSERT_THAT(st, IsOk());
  EXPECT_EQ(st->poison_count, 1u);
  ASSERT_THAT(rs->Start(), IsOk());
  ASSERT_THAT(rs->Rebuild("counter", absl::Seconds(10)), IsOk());
  st = rs->Status("counter");
  ASSERT_THAT(st, IsOk());
  EXPECT_EQ(st->poison_count, 1u);
  EXPECT_EQ(Number(rs.get(), "all"), 200u);
  rs->Stop();
}

}  // namespace
}  // namespace ncm::readside
