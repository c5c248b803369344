// The EventStore contract, run against every implementation.
#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ncm/eventstore/event_store.h"
#include "ncm/eventstore/memory_event_store.h"
#include "ncm/eventstore/rocksdb_event_store.h"
#include "ncm/eventstore/subscription.h"
#include "record_codec.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace ncm::eventstore {
namespace {

using ::ncm::testing::IsOk;
using ::ncm::testing::NewUuid;
using ::ncm::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct StoreFactory {
  std::string name;
  std::function<std::unique_ptr<EventStore>(const std::string& dir)> make;
};

void PrintTo(const StoreFactory& f, std::ostream* os) { *os << f.name; }

ProposedEvent Event(std::string type = "ncm.test.v1.Happened",
                    std::string payload = "p") {
  ProposedEvent e;
  e.event_id = NewUuid();
  e.event_type = std::move(type);
  e.payload = std::move(payload);
  return e;
}

AppendRequest One(const std::string& stream, ExpectedRevision expected,
                  std::vector<ProposedEvent> events) {
  AppendRequest r;
  r.streams.push_back(StreamWrite{stream, expected, std::move(events)});
  return r;
}

class EventStoreContractTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override { store_ = GetParam().make(dir_.Sub("db")); }

  AppendResult MustAppend(AppendRequest r) {
    auto res = store_->Append(std::move(r));
    EXPECT_THAT(res, IsOk());
    return res.ok() ? *res : AppendResult{};
  }

  std::vector<RecordedEvent> All() {
    std::vector<RecordedEvent> out;
    uint64_t from = 0;
    for (;;) {
      ReadAllOptions o;
      o.from_position = from;
      o.max_count = 1000;
      auto r = store_->ReadAll(o);
      EXPECT_THAT(r, IsOk());
      if (!r.ok()) return out;
      for (auto& e : r->events) out.push_back(std::move(e));
      if (r->end_of_log) return out;
      from = r->next_position;
    }
  }

  ::ncm::testing::TempDir dir_;
  std::unique_ptr<EventStore> store_;
};

TEST_P(EventStoreContractTest, FirstAppendGetsPositionOneAndRevisionZero) {
  auto r = MustAppend(One("case-1", ExpectedRevision::NoStream(),
                          {Event(), Event()}));
  EXPECT_EQ(r.first_position, 1u);
  EXPECT_EQ(r.last_position, 2u);
  ASSERT_EQ(r.streams.size(), 1u);
  EXPECT_EQ(r.streams[0].first_revision, 0u);
  EXPECT_EQ(r.streams[0].last_revision, 1u);
  EXPECT_THAT(r.streams[0].positions, ElementsAre(1u, 2u));
  EXPECT_FALSE(r.idempotent_replay);
  EXPECT_EQ(store_->HeadPosition(), 2u);
}

TEST_P(EventStoreContractTest, EveryExpectationOnAMissingStream) {
  EXPECT_THAT(store_->Append(One("s-a", ExpectedRevision::StreamExists(),
                                 {Event()})),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("no stream")));
  EXPECT_THAT(store_->Append(One("s-a", ExpectedRevision::Exact(0), {Event()})),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("\"s-a\"")));
  EXPECT_EQ(store_->HeadPosition(), 0u);
  EXPECT_THAT(store_->Append(One("s-a", ExpectedRevision::Any(), {Event()})),
              IsOk());
  EXPECT_THAT(
      store_->Append(One("s-b", ExpectedRevision::NoStream(), {Event()})),
      IsOk());
}

TEST_P(EventStoreContractTest, EveryExpectationOnAnExistingStream) {
  MustAppend(One("s-a", ExpectedRevision::NoStream(), {Event(), Event()}));
  // The stream is at revision 1.
  EXPECT_THAT(
      store_->Append(One("s-a", ExpectedRevision::NoStream(), {Event()})),
      StatusIs(absl::StatusCode::kAborted,
               HasSubstr("stream \"s-a\" is at revision 1")));
  EXPECT_THAT(store_->Append(One("s-a", ExpectedRevision::Exact(0), {Event()})),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("revision 1")));
  EXPECT_THAT(store_->Append(One("s-a", ExpectedRevision::Exact(7), {Event()})),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("revision 1")));
  EXPECT_EQ(store_->HeadPosition(), 2u);
  EXPECT_THAT(store_->Append(One("s-a", ExpectedRevision::Exact(1), {Event()})),
              IsOk());
  EXPECT_THAT(
      store_->Append(One("s-a", ExpectedRevision::StreamExists(), {Event()})),
      IsOk());
  auto r = store_->Append(One("s-a", ExpectedRevision::Any(), {Event()}));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->streams[0].first_revision, 4u);
}

TEST_P(EventStoreContractTest, FailedExpectationOnOneStreamWritesNothing) {
  MustAppend(One("s-a", ExpectedRevision::NoStream(), {Event()}));
  AppendRequest r;
  r.streams.push_back({"s-b", ExpectedRevision::NoStream(), {Event()}});
  r.streams.push_back({"s-a", ExpectedRevision::Exact(5), {Event()}});
  r.streams.push_back({"s-c", ExpectedRevision::Any(), {Event()}});
  EXPECT_THAT(store_->Append(r), StatusIs(absl::StatusCode::kAborted,
                                          HasSubstr("\"s-a\"")));
  EXPECT_EQ(store_->HeadPosition(), 1u);
  EXPECT_THAT(store_->GetStreamInfo("s-b"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->GetStreamInfo("s-c"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(All().size(), 1u);
}

TEST_P(EventStoreContractTest, AStreamWithoutEventsOnlyChecksItsExpectation) {
  MustAppend(One("organisation-1", ExpectedRevision::NoStream(), {Event()}));
  // The check holds: the other stream is written, the checked one is not.
  AppendRequest r;
  r.streams.push_back({"organisation-1", ExpectedRevision::Exact(0), {}});
  r.streams.push_back({"resolution-1", ExpectedRevision::NoStream(), {Event()}});
  auto res = MustAppend(r);
  EXPECT_EQ(res.first_position, 2u);
  EXPECT_EQ(res.last_position, 2u);
  EXPECT_TRUE(res.streams[0].positions.empty());
  EXPECT_EQ(res.streams[0].first_revision, 0u);
  EXPECT_EQ(res.streams[0].last_revision, 0u);
  EXPECT_EQ(store_->GetStreamInfo("organisation-1")->event_count, 1u);
  // The checked stream moved on: the append is refused whole.
  MustAppend(One("organisation-1", ExpectedRevision::Exact(0), {Event()}));
  // A replay of the first still reports the revision it checked.
  MustAppend(One("organisation-1", ExpectedRevision::Exact(1), {Event()}));
  auto replay = MustAppend(r);
  EXPECT_TRUE(replay.idempotent_replay);
  EXPECT_EQ(replay.streams[0].first_revision, 0u);
  EXPECT_EQ(replay.streams[0].last_revision, 0u);
  EXPECT_EQ(replay.streams[1].first_revision, 0u);
  EXPECT_EQ(replay.first_position, 2u);
  AppendRequest stale;
  stale.streams.push_back({"organisation-1", ExpectedRevision::Exact(0), {}});
  stale.streams.push_back({"resolution-2", ExpectedRevision::NoStream(), {Event()}});
  EXPECT_THAT(store_->Append(stale),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("organisation-1")));
  EXPECT_THAT(store_->GetStreamInfo("resolution-2"),
              StatusIs(absl::StatusCode::kNotFound));
  // STREAM_EXISTS checks too; ANY and NO_STREAM without events say nothing.
  AppendRequest exists;
  exists.streams.push_back({"organisation-9", ExpectedRevision::StreamExists(), {}});
  exists.streams.push_back({"resolution-3", ExpectedRevision::Any(), {Event()}});
  EXPECT_THAT(store_->Append(exists), StatusIs(absl::StatusCode::kAborted));
  for (auto kind : {ExpectedRevision::Any(), ExpectedRevision::NoStream()}) {
    AppendRequest vague;
    vague.streams.push_back({"organisation-9", kind, {}});
    vague.streams.push_back({"resolution-4", ExpectedRevision::Any(), {Event()}});
    EXPECT_THAT(store_->Append(vague),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("EXACT or STREAM_EXISTS")));
  }
  AppendRequest only_checks;
  only_checks.streams.push_back({"organisation-1", ExpectedRevision::Exact(1), {}});
  EXPECT_THAT(store_->Append(only_checks),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no events")));
  EXPECT_EQ(store_->HeadPosition(), 4u);
}

TEST_P(EventStoreContractTest, AReplayInAnotherOrderIsRefused) {
  AppendRequest r = One("s-order", ExpectedRevision::NoStream(),
                        {Event(), Event(), Event()});
  auto first = MustAppend(r);
  AppendRequest swapped = r;
  std::swap(swapped.streams[0].events[0], swapped.streams[0].events[2]);
  EXPECT_THAT(store_->Append(swapped),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("another order")));
  auto again = MustAppend(r);
  EXPECT_TRUE(again.idempotent_replay);
  EXPECT_EQ(again.streams[0].first_revision, 0u);
  EXPECT_EQ(again.streams[0].last_revision, 2u);
  EXPECT_EQ(store_->HeadPosition(), 3u);
}

TEST_P(EventStoreContractTest, MultiStreamAppendIsOneContiguousRange) {
  MustAppend(One("s-a", ExpectedRevision::NoStream(), {Event()}));
  AppendRequest r;
  r.streams.push_back({"s-a", ExpectedRevision::Exact(0), {Event(), Event()}});
  r.streams.push_back({"s-b", ExpectedRevision::NoStream(), {Event()}});
  auto res = MustAppend(r);
  EXPECT_EQ(res.first_position, 2u);
  EXPECT_EQ(res.last_position, 4u);
  EXPECT_THAT(res.streams[0].positions, ElementsAre(2u, 3u));
  EXPECT_EQ(res.streams[0].first_revision, 1u);
  EXPECT_THAT(res.streams[1].positions, ElementsAre(4u));
  EXPECT_EQ(res.streams[1].first_revision, 0u);
}

TEST_P(EventStoreContractTest, ReappendingRecordedEventsReturnsOriginalPositions) {
  MustAppend(One("s-x", ExpectedRevision::Any(), {Event()}));
  AppendRequest first = One("s-a", ExpectedRevision::NoStream(),
                            {Event(), Event()});
  auto r1 = MustAppend(first);
  MustAppend(One("s-a", ExpectedRevision::Any(), {Event()}));
  // A retry: the expectation would now fail, but the events are known.
  auto r2 = MustAppend(first);
  EXPECT_TRUE(r2.idempotent_replay);
  EXPECT_EQ(r2.first_position, r1.first_position);
  EXPECT_EQ(r2.last_position, r1.last_position);
  EXPECT_EQ(r2.streams[0].positions, r1.streams[0].positions);
  EXPECT_EQ(store_->HeadPosition(), 4u);
  // Ids are case-insensitive.
  AppendRequest upper = first;
  for (auto& e : upper.streams[0].events) {
    e.event_id = absl::AsciiStrToUpper(e.event_id);
  }
  auto r3 = MustAppend(upper);
  EXPECT_TRUE(r3.idempotent_replay);
  EXPECT_EQ(store_->HeadPosition(), 4u);
}

TEST_P(EventStoreContractTest, KnownIdWithOtherContentIsAlreadyExists) {
  AppendRequest first = One("s-a", ExpectedRevision::Any(), {Event()});
  MustAppend(first);
  AppendRequest other = first;
  other.streams[0].events[0].payload = "changed";
  EXPECT_THAT(store_->Append(other),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("already recorded at position 1")));
  AppendRequest moved = first;
  moved.streams[0].stream_id = "s-b";
  EXPECT_THAT(store_->Append(moved),
              StatusIs(absl::StatusCode::kAlreadyExists));
  AppendRequest mixed = first;
  mixed.streams[0].events.push_back(Event());
  EXPECT_THAT(store_->Append(mixed),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("is new")));
  EXPECT_EQ(store_->HeadPosition(), 1u);
}

TEST_P(EventStoreContractTest, DuplicateIdInOneAppendIsInvalid) {
  ProposedEvent e = Event();
  EXPECT_THAT(store_->Append(One("s-a", ExpectedRevision::Any(), {e, e})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("appears twice")));
  AppendRequest r;
  r.streams.push_back({"s-a", ExpectedRevision::Any(), {Event()}});
  r.streams.push_back({"s-a", ExpectedRevision::Any(), {Event()}});
  EXPECT_THAT(store_->Append(r),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("appears twice")));
}

TEST_P(EventStoreContractTest, RecordsTheWholeEnvelope) {
  ProposedEvent e = Event("ncm.test.v1.Adopted", std::string("\0\1\2", 3));
  e.content_type = "application/json";
  e.occurred_at = absl::FromCivil(absl::CivilDay(2021, 3, 31), absl::UTCTimeZone());
  e.correlation_id = "corr-1";
  e.causation_id = "cause-1";
  e.command_id = "cmd-1";
  AppendRequest r = One("resolution-1", ExpectedRevision::NoStream(), {e, Event()});
  r.actor = "secretariat:jane";
  const absl::Time before = absl::Now() - absl::Seconds(1);
  MustAppend(r);
  auto events = All();
  ASSERT_EQ(events.size(), 2u);
  const RecordedEvent& a = events[0];
  EXPECT_EQ(a.position, 1u);
  EXPECT_EQ(a.stream_id, "resolution-1");
  EXPECT_EQ(a.revision, 0u);
  EXPECT_EQ(a.event_id, e.event_id);
  EXPECT_EQ(a.event_type, "ncm.test.v1.Adopted");
  EXPECT_EQ(a.payload, std::string("\0\1\2", 3));
  EXPECT_EQ(a.content_type, "application/json");
  EXPECT_EQ(a.occurred_at, *e.occurred_at);
  EXPECT_GT(a.recorded_at, before);
  EXPECT_LE(a.recorded_at, absl::Now());
  EXPECT_EQ(a.actor, "secretariat:jane");
  EXPECT_EQ(a.correlation_id, "corr-1");
  EXPECT_EQ(a.causation_id, "cause-1");
  EXPECT_EQ(a.command_id, "cmd-1");
  EXPECT_EQ(a.prev_hash, Hash{});
  const RecordedEvent& b = events[1];
  EXPECT_EQ(b.content_type, kDefaultContentType);
  EXPECT_EQ(b.occurred_at, b.recorded_at);
  EXPECT_EQ(b.prev_hash, a.hash);
  EXPECT_NE(b.hash, a.hash);

  AppendRequest anon = One("s-b", ExpectedRevision::Any(), {Event()});
  MustAppend(anon);
  EXPECT_EQ(All().back().actor, kAnonymousActor);
}

TEST_P(EventStoreContractTest, PositionsStayDenseUnderConcurrentWriters) {
  constexpr int kThreads = 8, kPerThread = 150;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::vector<ProposedEvent> evs = {Event()};
        if (i % 3 == 0) evs.push_back(Event());
        auto r = store_->Append(
            One(absl::StrCat("w-", t), ExpectedRevision::Any(), evs));
        if (!r.ok()) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto events = All();
  const uint64_t expected = kThreads * (kPerThread + (kPerThread + 2) / 3);
  ASSERT_EQ(events.size(), expected);
  std::map<std::string, uint64_t> next_rev;
  for (uint64_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].position, i + 1);
    EXPECT_EQ(events[i].revision, next_rev[events[i].stream_id]++);
  }
  EXPECT_EQ(store_->HeadPosition(), expected);
  auto v = store_->VerifyChain(0, 0);
  ASSERT_THAT(v, IsOk());
  EXPECT_TRUE(v->ok) << v->reason;
  EXPECT_EQ(v->verified_count, expected);
}

TEST_P(EventStoreContractTest, RacingWritersOnOneStreamEachRevisionWonOnce) {
  MustAppend(One("race-1", ExpectedRevision::NoStream(), {Event()}));
  constexpr int kThreads = 6, kAttempts = 60;
  std::mutex mu;
  std::map<uint64_t, int> winners;  // revision -> wins
  std::atomic<int> aborted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kAttempts; ++i) {
        auto info = store_->GetStreamInfo("race-1");
        if (!info.ok()) continue;
        auto r = store_->Append(One(
            "race-1", ExpectedRevision::Exact(info->last_revision), {Event()}));
        if (r.ok()) {
          std::lock_guard<std::mutex> l(mu);
          winners[r->streams[0].first_revision]++;
        } else if (r.status().code() == absl::StatusCode::kAborted) {
          aborted++;
        } else {
          ADD_FAILURE() << r.status();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  auto info = store_->GetStreamInfo("race-1");
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(winners.size(), info->last_revision);
  for (const auto& [rev, wins] : winners) {
    EXPECT_EQ(wins, 1) << "revision " << rev;
  }
  EXPECT_EQ(static_cast<int>(winners.size()) + aborted.load(),
            kThreads * kAttempts);
}

TEST_P(EventStoreContractTest, ReadStreamForwardBackwardAndPaging) {
  MustAppend(One("other-1", ExpectedRevision::Any(), {Event()}));
  std::vector<ProposedEvent> evs;
  for (int i = 0; i < 10; ++i) evs.push_back(Event("t", absl::StrCat(i)));
  MustAppend(One("s-a", ExpectedRevision::NoStream(), evs));
  MustAppend(One("other-1", ExpectedRevision::Any(), {Event()}));

  ReadStreamOptions o;
  o.stream_id = "s-a";
  o.from_revision = 3;
  o.max_count = 4;
  auto r = store_->ReadStream(o);
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->events.size(), 4u);
  EXPECT_EQ(r->events[0].revision, 3u);
  EXPECT_EQ(r->events[0].payload, "3");
  EXPECT_EQ(r->events[0].position, 5u);
  EXPECT_EQ(r->events[3].revision, 6u);
  EXPECT_FALSE(r->end_of_stream);
  EXPECT_EQ(r->last_revision, 9u);

  o.from_revision = 8;
  r = store_->ReadStream(o);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->events.size(), 2u);
  EXPECT_TRUE(r->end_of_stream);

  o.from_revision = 20;
  r = store_->ReadStream(o);
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->events.empty());
  EXPECT_TRUE(r->end_of_stream);

  o.direction = Direction::kBackward;
  o.from_revision = kEndRevision;
  o.max_count = 3;
  r = store_->ReadStream(o);
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->events.size(), 3u);
  EXPECT_EQ(r->events[0].revision, 9u);
  EXPECT_EQ(r->events[2].revision, 7u);
  EXPECT_FALSE(r->end_of_stream);

  o.from_revision = 1;
  o.max_count = 10;
  r = store_->ReadStream(o);
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->events.size(), 2u);
  EXPECT_EQ(r->events[1].revision, 0u);
  EXPECT_TRUE(r->end_of_stream);

  o.stream_id = "s-missing";
  EXPECT_THAT(store_->ReadStream(o), StatusIs(absl::StatusCode::kNotFound,
                                               HasSubstr("s-missing")));
  // A stream whose id is a prefix of another's is its own stream.
  o.stream_id = "s";
  EXPECT_THAT(store_->ReadStream(o), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(EventStoreContractTest, ReadAllPagesAndFilters) {
  for (int i = 0; i < 12; ++i) {
    std::string stream = i % 3 == 0 ? "resolution-1" : i % 3 == 1 ? "mou-1"
                                                                  : "mou-2";
    MustAppend(One(stream, ExpectedRevision::Any(),
                   {Event(i % 2 ? "odd" : "even")}));
  }
  ReadAllOptions o;
  o.max_count = 5;
  auto r = store_->ReadAll(o);
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->events.size(), 5u);
  EXPECT_EQ(r->events[0].position, 1u);
  EXPECT_EQ(r->next_position, 6u);
  EXPECT_FALSE(r->end_of_log);
  EXPECT_EQ(r->head_position, 12u);

  o.from_position = 11;
  r = store_->ReadAll(o);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->events.size(), 2u);
  EXPECT_TRUE(r->end_of_log);

  o.direction = Direction::kBackward;
  o.from_position = kEndPosition;
  o.max_count = 4;
  r = store_->ReadAll(o);
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->events.size(), 4u);
  EXPECT_EQ(r->events[0].position, 12u);
  EXPECT_EQ(r->next_position, 8u);
  EXPECT_FALSE(r->end_of_log);
  o.from_position = 2;
  r = store_->ReadAll(o);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->events.size(), 2u);
  EXPECT_TRUE(r->end_of_log);

  ReadAllOptions f;
  f.max_count = 100;
  f.filter.stream_prefixes = {"mou-"};
  r = store_->ReadAll(f);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->events.size(), 8u);
  for (const auto& e : r->events) EXPECT_EQ(e.stream_id.substr(0, 4), "mou-");

  f.filter.event_types = {"odd"};
  r = store_->ReadAll(f);
  ASSERT_THAT(r, IsOk());
  for (const auto& e : r->events) {
    EXPECT_EQ(e.event_type, "odd");
    EXPECT_EQ(e.stream_id.substr(0, 4), "mou-");
  }
  EXPECT_EQ(r->events.size(), 4u);

  // A scan cap returns progress instead of scanning the whole log.
  f.filter.stream_prefixes = {"nothing-"};
  f.filter.event_types.clear();
  f.max_scan = 5;
  r = store_->ReadAll(f);
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->events.empty());
  EXPECT_EQ(r->next_position, 6u);
  EXPECT_FALSE(r->end_of_log);
}

TEST_P(EventStoreContractTest, RawReadsReturnTheHashedBytesOfEachRecord) {
  for (int i = 0; i < 9; ++i) {
    MustAppend(One(i % 3 == 0 ? "mou-1" : "resolution-1",
                   ExpectedRevision::Any(), {Event("t", absl::StrCat(i))}));
  }
  for (Direction d : {Direction::kForward, Direction::kBackward}) {
    ReadAllOptions o;
    o.direction = d;
    o.from_position = d == Direction::kForward ? 2 : 8;
    o.max_count = 4;
    o.filter.stream_prefixes = {"resolution-"};
    auto decoded = store_->ReadAll(o);
    auto raw = store_->ReadAllRaw(o);
    ASSERT_THAT(decoded, IsOk());
    ASSERT_THAT(raw, IsOk());
    EXPECT_EQ(raw->count, decoded->events.size());
    EXPECT_EQ(raw->next_position, decoded->next_position);
    EXPECT_EQ(raw->end_of_log, decoded->end_of_log);
    absl::string_view frames = raw->frames;
    for (const RecordedEvent& want : decoded->events) {
      absl::string_view value;
      ASSERT_TRUE(codec::NextFrame(&frames, &value));
      EXPECT_TRUE(codec::CheckLogValueHash(value));
      auto got = codec::DecodeLogValue(value);
      ASSERT_THAT(got, IsOk());
      EXPECT_EQ(*got, want);
    }
    EXPECT_TRUE(frames.empty());
  }
}

TEST_P(EventStoreContractTest, ReadsStopAtTheByteCap) {
  std::vector<ProposedEvent> big;
  for (int i = 0; i < 10; ++i) {
    big.push_back(Event("t", std::string(100000, 'a' + i)));
  }
  MustAppend(One("big-1", ExpectedRevision::NoStream(), big));
  ReadAllOptions o;
  o.max_count = 100;
  o.max_bytes = 250000;
  auto all = store_->ReadAll(o);
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(all->events.size(), 3u);
  EXPECT_EQ(all->next_position, 4u);
  EXPECT_FALSE(all->end_of_log);
  auto raw = store_->ReadAllRaw(o);
  ASSERT_THAT(raw, IsOk());
  EXPECT_EQ(raw->count, 3u);
  EXPECT_EQ(raw->next_position, 4u);

  ReadStreamOptions s;
  s.stream_id = "big-1";
  s.max_count = 100;
  s.max_bytes = 250000;
  auto stream = store_->ReadStream(s);
  ASSERT_THAT(stream, IsOk());
  EXPECT_EQ(stream->events.size(), 3u);
  EXPECT_FALSE(stream->end_of_stream);
  // The first event is returned even when it alone exceeds the cap.
  s.max_bytes = 10;
  stream = store_->ReadStream(s);
  ASSERT_THAT(stream, IsOk());
  EXPECT_EQ(stream->events.size(), 1u);

  SubscriptionOptions so;
  so.max_batch = 100;
  so.max_batch_bytes = 250000;
  Subscription sub(store_.get(), so);
  auto item = sub.Poll();
  ASSERT_THAT(item, IsOk());
  ASSERT_TRUE(item->has_value());
  EXPECT_EQ((*item)->events.size(), 3u);
  EXPECT_EQ((*item)->checkpoint, 3u);
}

TEST_P(EventStoreContractTest, ReadsRefuseAbsurdCounts) {
  ReadAllOptions o;
  o.max_count = 0;
  EXPECT_THAT(store_->ReadAll(o), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("max_count")));
  o.max_count = 1000000000;
  EXPECT_THAT(store_->ReadAll(o), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("limit of 10000")));
  ReadStreamOptions s;
  s.stream_id = "s-a";
  s.max_count = 20000;
  EXPECT_THAT(store_->ReadStream(s),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(EventStoreContractTest, StreamInfo) {
  MustAppend(One("s-a", ExpectedRevision::Any(), {Event(), Event()}));
  MustAppend(One("s-b", ExpectedRevision::Any(), {Event()}));
  MustAppend(One("s-a", ExpectedRevision::Any(), {Event()}));
  auto info = store_->GetStreamInfo("s-a");
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->last_revision, 2u);
  EXPECT_EQ(info->event_count, 3u);
  EXPECT_EQ(info->first_position, 1u);
  EXPECT_EQ(info->last_position, 4u);
  EXPECT_LE(info->last_recorded_at, absl::Now());
  EXPECT_THAT(store_->GetStreamInfo("s-c"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(EventStoreContractTest, VerifyChainOverRanges) {
  auto empty = store_->VerifyChain(0, 0);
  ASSERT_THAT(empty, IsOk());
  EXPECT_TRUE(empty->ok);
  EXPECT_EQ(empty->verified_count, 0u);
  for (int i = 0; i < 20; ++i) {
    MustAppend(One(absl::StrCat("s-", i % 4), ExpectedRevision::Any(),
                   {Event()}));
  }
  auto all = store_->VerifyChain(0, 0);
  ASSERT_THAT(all, IsOk());
  EXPECT_TRUE(all->ok);
  EXPECT_EQ(all->verified_count, 20u);
  EXPECT_EQ(all->head_hash, this->All().back().hash);
  auto part = store_->VerifyChain(5, 9);
  ASSERT_THAT(part, IsOk());
  EXPECT_TRUE(part->ok);
  EXPECT_EQ(part->verified_count, 5u);
  EXPECT_EQ(part->head_hash, this->All()[8].hash);
  EXPECT_THAT(store_->VerifyChain(0, 21),
              StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(store_->VerifyChain(9, 5),
              StatusIs(absl::StatusCode::kOutOfRange));
}

TEST_P(EventStoreContractTest, SubscriptionCatchesUpThenGoesLiveWithoutGaps) {
  for (int i = 0; i < 300; ++i) {
    MustAppend(One(absl::StrCat("s-", i % 7), ExpectedRevision::Any(),
                   {Event()}));
  }
  SubscriptionOptions so;
  so.max_batch = 50;
  Subscription sub(store_.get(), so);
  std::atomic<bool> stop{false};
  constexpr int kLive = 4 * 250;
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kLive / 4; ++i) {
        (void)store_->Append(
            One(absl::StrCat("live-", t), ExpectedRevision::Any(), {Event()}));
      }
    });
  }
  std::vector<uint64_t> seen;
  int caught_up = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (seen.size() < 300u + kLive && absl::Now() < deadline) {
    auto item = sub.Next(absl::Seconds(1));
    ASSERT_THAT(item, IsOk());
    if (!item->has_value()) continue;
    if ((*item)->kind == SubscriptionItem::Kind::kCaughtUp) ++caught_up;
    for (const auto& e : (*item)->events) seen.push_back(e.position);
  }
  for (auto& w : writers) w.join();
  ASSERT_EQ(seen.size(), 300u + kLive);
  for (size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], i + 1);
  // When the writers outpace the subscriber to the end, the caught-up
  // marker comes after the last event; nothing else may come.
  auto more = sub.Next(caught_up == 0 ? absl::Seconds(5) : absl::Milliseconds(50));
  ASSERT_THAT(more, IsOk());
  if (more->has_value()) {
    EXPECT_EQ((*more)->kind, SubscriptionItem::Kind::kCaughtUp);
    EXPECT_TRUE((*more)->events.empty());
    ++caught_up;
  }
  EXPECT_GE(caught_up, 1);
}

TEST_P(EventStoreContractTest, ReadAllForwardFromTheEndResumesAfterTheHead) {
  MustAppend(One("mou-1", ExpectedRevision::Any(), {Event(), Event()}));
  ReadAllOptions o;
  o.from_position = kEndPosition;
  auto r = store_->ReadAll(o);
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->events.empty());
  EXPECT_TRUE(r->end_of_log);
  EXPECT_EQ(r->next_position, 3u);
}

TEST_P(EventStoreContractTest, SubscriptionFromEndAndWithFilter) {
  MustAppend(One("mou-1", ExpectedRevision::Any(), {Event()}));
  SubscriptionOptions from_end;
  from_end.from_end = true;
  Subscription tail(store_.get(), from_end);
  SubscriptionOptions filtered;
  filtered.filter.stream_prefixes = {"resolution-"};
  Subscription res(store_.get(), filtered);

  auto first = tail.Next(absl::Seconds(1));
  ASSERT_THAT(first, IsOk());
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->kind, SubscriptionItem::Kind::kCaughtUp);
  EXPECT_EQ((*first)->checkpoint, 1u);

  MustAppend(One("resolution-9", ExpectedRevision::Any(), {Event()}));
  MustAppend(One("mou-1", ExpectedRevision::Any(), {Event()}));
  auto next = tail.Next(absl::Seconds(5));
  ASSERT_THAT(next, IsOk());
  ASSERT_TRUE(next->has_value());
  ASSERT_FALSE((*next)->events.empty());
  EXPECT_EQ((*next)->events[0].position, 2u);

  std::vector<std::string> streams;
  for (int i = 0; i < 10 && streams.empty(); ++i) {
    auto item = res.Next(absl::Seconds(1));
    ASSERT_THAT(item, IsOk());
    if (!item->has_value()) continue;
    for (const auto& e : (*item)->events) streams.push_back(e.stream_id);
  }
  EXPECT_THAT(streams, ElementsAre("resolution-9"));
}

TEST_P(EventStoreContractTest, StalledSubscriberHoldsNothingAndResumesFromLog) {
  SubscriptionOptions so;
  so.live_lag_limit = 500;
  so.max_batch = 100;
  Subscription sub(store_.get(), so);
  std::atomic<int> wakeups{0};
  sub.SetWakeup([&] { wakeups++; });
  auto first = sub.Poll();
  ASSERT_THAT(first, IsOk());
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->kind, SubscriptionItem::Kind::kCaughtUp);
  ASSERT_THAT(sub.Poll(), IsOk());  // arms the wake-up

  // The consumer stalls while 3000 events are committed.
  for (int i = 0; i < 300; ++i) {
    std::vector<ProposedEvent> evs;
    for (int k = 0; k < 10; ++k) evs.push_back(Event());
    MustAppend(One(absl::StrCat("s-", i % 5), ExpectedRevision::Any(), evs));
  }
  // One wake-up, however many commits: nothing is queued per event.
  EXPECT_EQ(wakeups.load(), 1);
  EXPECT_EQ(sub.checkpoint(), 0u);

  auto item = sub.Poll();
  ASSERT_THAT(item, IsOk());
  ASSERT_TRUE(item->has_value());
  EXPECT_EQ((*item)->kind, SubscriptionItem::Kind::kFellBehind);
  EXPECT_EQ((*item)->checkpoint, 0u);
  EXPECT_EQ((*item)->head_position, 3000u);

  uint64_t expect = 1;
  bool caught_up = false;
  for (int i = 0; i < 100 && !caught_up; ++i) {
    auto it = sub.Poll();
    ASSERT_THAT(it, IsOk());
    ASSERT_TRUE(it->has_value());
    if ((*it)->kind == SubscriptionItem::Kind::kCaughtUp) caught_up = true;
    for (const auto& e : (*it)->events) ASSERT_EQ(e.position, expect++);
  }
  EXPECT_TRUE(caught_up);
  EXPECT_EQ(expect, 3001u);
}

TEST_P(EventStoreContractTest, InvalidAppendsAreRefusedAndWriteNothing) {
  auto with = [](std::function<void(AppendRequest&)> f) {
    AppendRequest r = One("s-a", ExpectedRevision::Any(), {Event()});
    f(r);
    return r;
  };
  struct Case {
    std::string name;
    AppendRequest req;
    absl::StatusCode code;
    std::string message;
  };
  std::vector<Case> cases = {
      {"no streams", AppendRequest{}, absl::StatusCode::kInvalidArgument,
       "streams is empty"},
      {"empty stream id", with([](auto& r) { r.streams[0].stream_id = ""; }),
       absl::StatusCode::kInvalidArgument, "stream_id is empty"},
      {"long stream id",
       with([](auto& r) { r.streams[0].stream_id = std::string(300, 'a'); }),
       absl::StatusCode::kInvalidArgument, "limit is 256"},
      {"bad utf8 stream id",
       with([](auto& r) { r.streams[0].stream_id = "s-\xc3\x28"; }),
       absl::StatusCode::kInvalidArgument, "UTF-8"},
      {"NUL in stream id",
       with([](auto& r) { r.streams[0].stream_id = std::string("s-\0x", 4); }),
       absl::StatusCode::kInvalidArgument, "control character"},
      {"no events", with([](auto& r) { r.streams[0].events.clear(); }),
       absl::StatusCode::kInvalidArgument, "events is empty"},
      {"bad uuid",
       with([](auto& r) { r.streams[0].events[0].event_id = "not-a-uuid"; }),
       absl::StatusCode::kInvalidArgument, "event_id"},
      {"no type", with([](auto& r) { r.streams[0].events[0].event_type = ""; }),
       absl::StatusCode::kInvalidArgument, "event_type is empty"},
      {"bad utf8 type",
       with([](auto& r) { r.streams[0].events[0].event_type = "\xff"; }),
       absl::StatusCode::kInvalidArgument, "UTF-8"},
      {"huge payload",
       with([](auto& r) {
         r.streams[0].events[0].payload = std::string((1 << 20) + 1, 'x');
       }),
       absl::StatusCode::kResourceExhausted, "payload"},
      {"long command id",
       with([](auto& r) {
         r.streams[0].events[0].command_id = std::string(200, 'c');
       }),
       absl::StatusCode::kInvalidArgument, "command_id"},
      {"too many events",
       with([](auto& r) {
         for (int i = 0; i < 10000; ++i) r.streams[0].events.push_back(Event());
       }),
       absl::StatusCode::kResourceExhausted, "10000"},
  };
  for (auto& c : cases) {
    EXPECT_THAT(store_->Append(c.req), StatusIs(c.code, HasSubstr(c.message)))
        << c.name;
  }
  EXPECT_EQ(store_->HeadPosition(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    AllStores, EventStoreContractTest,
    ::testing::Values(
        StoreFactory{"Memory",
                     [](const std::string&) { return NewMemoryEventStore(); }},
        StoreFactory{"RocksDb",
                     [](const std::string& dir) {
                       RocksDbOptions o;
                       o.path = dir;
                       auto s = OpenRocksDbEventStore(o);
                       EXPECT_TRUE(s.ok()) << s.status();
                       return s.ok() ? std::move(*s) : nullptr;
                     }}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace ncm::eventstore
