// The EventStore gRPC API over real loopback TCP against a RocksDB store in
// a temporary folder.
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "clients/common/append_session.h"
#include "ncm/access/v1/access.grpc.pb.h"
#include "ncm/eventstore/v1/eventstore.grpc.pb.h"
#include "ncm/ncmd/server.h"
#include "record_codec.h"
#include "testing/grpc_log.h"
#include "testing/loopback_server.h"
#include "testing/status_matchers.h"
#include "testing/grpc_health.h"
#include "testing/temp_dir.h"

namespace ncm {
namespace {

namespace pb = ::ncm::eventstore::v1;
using ::ncm::testing::NewUuid;
using ::testing::HasSubstr;

pb::ProposedEvent Event(const std::string& payload = "payload") {
  pb::ProposedEvent e;
  e.set_event_id(NewUuid());
  e.set_event_type("ncm.test.v1.Happened");
  e.set_payload(payload);
  return e;
}

pb::AppendRequest One(const std::string& stream,
                      pb::ExpectedRevision::Kind kind, uint64_t revision = 0,
                      int events = 1) {
  pb::AppendRequest r;
  auto* s = r.add_streams();
  s->set_stream_id(stream);
  s->mutable_expected()->set_kind(kind);
  s->mutable_expected()->set_revision(revision);
  for (int i = 0; i < events; ++i) *s->add_events() = Event();
  return r;
}

class EventStoreGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = ::ncm::testing::StartLoopbackServer(dir_.Sub("db"));
    ASSERT_NE(server_, nullptr);
    channel_ = ::ncm::testing::AdminChannel(*server_, dir_.Sub("db"));
    stub_ = pb::EventStore::NewStub(channel_);
  }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(5));
  }

  grpc::Status Append(const pb::AppendRequest& r,
                      pb::AppendResponse* out = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    pb::AppendResponse resp;
    return stub_->Append(&ctx, r, out ? out : &resp);
  }

  std::vector<pb::RecordedEvent> ReadAll() {
    return ::ncm::testing::ReadWholeLog(stub_.get());
  }

  // Proves the server still serves after a refused call.
  void ExpectStillServing() {
    pb::AppendResponse resp;
    grpc::Status s =
        Append(One("alive-1", pb::ExpectedRevision::ANY), &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }

  ::ncm::testing::TempDir dir_;
  std::unique_ptr<ncmd::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::EventStore::Stub> stub_;
};

TEST_F(EventStoreGrpcTest, AppendThenReadEveryWay) {
  pb::AppendResponse resp;
  ASSERT_TRUE(Append(One("case-1", pb::ExpectedRevision::NO_STREAM, 0, 3),
                     &resp)
                  .ok());
  // Position 1 holds the admin principal registered at the first start.
  EXPECT_EQ(resp.first_position(), 2u);
  EXPECT_EQ(resp.last_position(), 4u);
  EXPECT_EQ(resp.streams(0).last_revision(), 2u);

  grpc::ClientContext c1;
  pb::ReadStreamRequest rs;
  rs.set_stream_id("case-1");
  rs.set_from_end(true);
  rs.set_direction(pb::BACKWARD);
  rs.set_max_count(2);
  pb::ReadStreamResponse rsr;
  ASSERT_TRUE(stub_->ReadStream(&c1, rs, &rsr).ok());
  ASSERT_EQ(rsr.events_size(), 2);
  EXPECT_EQ(rsr.events(0).revision(), 2u);
  EXPECT_EQ(rsr.events(0).prev_hash().size(), 32u);
  EXPECT_EQ(rsr.events(0).hash().size(), 32u);
  EXPECT_EQ(rsr.events(0).actor(), "admin");  // the calling principal
  EXPECT_GT(rsr.events(0).recorded_at().seconds(), 1700000000);

  grpc::ClientContext c2;
  pb::GetStreamInfoRequest gi;
  gi.set_stream_id("case-1");
  pb::StreamInfo info;
  ASSERT_TRUE(stub_->GetStreamInfo(&c2, gi, &info).ok());
  EXPECT_EQ(info.event_count(), 3u);
  EXPECT_EQ(info.last_position(), 4u);

  grpc::ClientContext c3;
  pb::VerifyChainRequest vr;
  pb::VerifyChainResponse vresp;
  ASSERT_TRUE(stub_->VerifyChain(&c3, vr, &vresp).ok());
  EXPECT_TRUE(vresp.ok());
  EXPECT_EQ(vresp.verified_count(), 4u);
  EXPECT_EQ(vresp.head_hash(), ReadAll().back().hash());
}

TEST_F(EventStoreGrpcTest, RawReadAllCarriesEveryRecordFramed) {
  ASSERT_TRUE(Append(One("s-a", pb::ExpectedRevision::ANY, 0, 25)).ok());
  grpc::ClientContext ctx;
  pb::ReadAllRequest req;
  req.set_raw(true);
  req.set_from_position(3);
  req.set_max_count(20);
  pb::ReadAllResponse resp;
  ASSERT_TRUE(stub_->ReadAll(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.raw_count(), 20u);
  EXPECT_EQ(resp.events_size(), 0);
  EXPECT_EQ(resp.next_position(), 23u);
  auto decoded = ReadAll();
  absl::string_view frames = resp.raw_records();
  for (int i = 0; i < 20; ++i) {
    absl::string_view value;
    ASSERT_TRUE(eventstore::codec::NextFrame(&frames, &value));
    auto got = eventstore::codec::DecodeLogValue(value);
    ASSERT_TRUE(got.ok()) << got.status();
    const auto& want = decoded[i + 2];
    EXPECT_TRUE(eventstore::codec::CheckLogValueHash(value));
    EXPECT_EQ(got->position, want.position());
    EXPECT_EQ(got->event_id, want.event_id());
    EXPECT_EQ(got->payload, want.payload());
    EXPECT_EQ(value.substr(value.size() - 32), want.hash());
  }
  EXPECT_TRUE(frames.empty());
}

TEST_F(EventStoreGrpcTest, LargeEventsArePagedUnderTheMessageLimit) {
  // 40 events of 1 MiB: more than a 32 MiB message could carry at once.
  for (int i = 0; i < 4; ++i) {
    pb::AppendRequest r = One("big-1", pb::ExpectedRevision::ANY, 0, 10);
    for (auto& e : *r.mutable_streams(0)->mutable_events()) {
      e.set_payload(std::string(1 << 20, 'x'));
    }
    ASSERT_TRUE(Append(r).ok());
  }
  std::vector<uint64_t> positions;
  uint64_t from = 0;
  int pages = 0;
  for (bool end = false; !end && pages < 100; ++pages) {
    grpc::ClientContext ctx;
    pb::ReadAllRequest req;
    req.set_from_position(from);
    req.set_max_count(10000);
    pb::ReadAllResponse resp;
    grpc::Status s = stub_->ReadAll(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_LT(resp.ByteSizeLong(), size_t{4} << 20);
    for (const auto& e : resp.events()) positions.push_back(e.position());
    end = resp.end_of_log();
    from = resp.next_position();
  }
  ASSERT_EQ(positions.size(), 41u);  // and the admin principal
  for (size_t i = 0; i < positions.size(); ++i) EXPECT_EQ(positions[i], i + 1);
  EXPECT_GT(pages, 4);

  grpc::ClientContext ctx;
  pb::ReadStreamRequest rs;
  rs.set_stream_id("big-1");
  rs.set_max_count(10000);
  pb::ReadStreamResponse rsr;
  ASSERT_TRUE(stub_->ReadStream(&ctx, rs, &rsr).ok());
  EXPECT_GT(rsr.events_size(), 0);
  EXPECT_LT(rsr.events_size(), 40);
  EXPECT_LT(rsr.ByteSizeLong(), size_t{4} << 20);
  EXPECT_FALSE(rsr.end_of_stream());

  grpc::ClientContext sub_ctx;
  pb::SubscribeRequest sreq;
  sreq.set_max_batch(1000);
  sreq.set_after_position(1);  // past the admin principal
  auto reader = stub_->Subscribe(&sub_ctx, sreq);
  pb::SubscribeResponse msg;
  size_t seen = 0;
  while (seen < 40 && reader->Read(&msg)) {
    EXPECT_LT(msg.ByteSizeLong(), size_t{4} << 20);
    seen += msg.events().events_size();
  }
  EXPECT_EQ(seen, 40u);
  sub_ctx.TryCancel();
  reader->Finish().IgnoreError();
}

TEST_F(EventStoreGrpcTest, ErrorsCarryTheRightCodeAndSayWhatWasWrong) {
  ASSERT_TRUE(Append(One("s-a", pb::ExpectedRevision::NO_STREAM)).ok());
  grpc::Status s = Append(One("s-a", pb::ExpectedRevision::EXACT, 5));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(s.error_message(), HasSubstr("stream \"s-a\" is at revision 0"));

  pb::AppendRequest first = One("s-b", pb::ExpectedRevision::ANY);
  pb::AppendResponse r1, r2;
  ASSERT_TRUE(Append(first, &r1).ok());
  ASSERT_TRUE(Append(first, &r2).ok());
  EXPECT_TRUE(r2.idempotent_replay());
  EXPECT_EQ(r1.first_position(), r2.first_position());
  first.mutable_streams(0)->mutable_events(0)->set_payload("other");
  EXPECT_EQ(Append(first).error_code(), grpc::StatusCode::ALREADY_EXISTS);

  grpc::ClientContext ctx;
  pb::ReadStreamRequest rs;
  rs.set_stream_id("s-nope");
  rs.set_max_count(10);
  pb::ReadStreamResponse rsr;
  EXPECT_EQ(stub_->ReadStream(&ctx, rs, &rsr).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(EventStoreGrpcTest, BadInputIsRefusedAndTheServerKeepsServing) {
  struct Case {
    std::string name;
    pb::AppendRequest req;
    grpc::StatusCode code;
    std::string message;
  };
  auto with = [](std::function<void(pb::AppendRequest&)> f) {
    pb::AppendRequest r = One("s-a", pb::ExpectedRevision::ANY);
    f(r);
    return r;
  };
  std::vector<Case> cases = {
      {"empty stream id",
       with([](auto& r) { r.mutable_streams(0)->set_stream_id(""); }),
       grpc::StatusCode::INVALID_ARGUMENT, "streams[0].stream_id is empty"},
      {"oversized stream id",
       with([](auto& r) {
         r.mutable_streams(0)->set_stream_id(std::string(5000, 's'));
       }),
       grpc::StatusCode::INVALID_ARGUMENT, "limit is 256 bytes"},
      {"oversized payload",
       with([](auto& r) {
         r.mutable_streams(0)->mutable_events(0)->set_payload(
             std::string(2 << 20, 'x'));
       }),
       grpc::StatusCode::RESOURCE_EXHAUSTED, "payload"},
      {"unknown expectation",
       with([](auto& r) {
         r.mutable_streams(0)->mutable_expected()->set_kind(
             static_cast<pb::ExpectedRevision::Kind>(99));
       }),
       grpc::StatusCode::INVALID_ARGUMENT, "not a known expectation"},
      {"unset expectation",
       with([](auto& r) {
         r.mutable_streams(0)->mutable_expected()->set_kind(
             pb::ExpectedRevision::KIND_UNSPECIFIED);
       }),
       grpc::StatusCode::INVALID_ARGUMENT, "expected.kind is not set"},
      {"bad event id",
       with([](auto& r) {
         r.mutable_streams(0)->mutable_events(0)->set_event_id("42");
       }),
       grpc::StatusCode::INVALID_ARGUMENT, "not a UUID"},
      {"bad occurred_at",
       with([](auto& r) {
         r.mutable_streams(0)->mutable_events(0)->mutable_occurred_at()->set_nanos(-5);
       }),
       grpc::StatusCode::INVALID_ARGUMENT, "occurred_at.nanos"},
      {"no streams", pb::AppendRequest(), grpc::StatusCode::INVALID_ARGUMENT,
       "streams is empty"},
  };
  for (const auto& c : cases) {
    grpc::Status s = Append(c.req);
    EXPECT_EQ(s.error_code(), c.code) << c.name << ": " << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr(c.message)) << c.name;
    ExpectStillServing();
  }
  // Reads.
  {
    grpc::ClientContext ctx;
    pb::ReadAllRequest req;
    req.set_max_count(1000000000);
    pb::ReadAllResponse resp;
    grpc::Status s = stub_->ReadAll(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("limit of 10000"));
  }
  {
    grpc::ClientContext ctx;
    pb::ReadStreamRequest req;
    req.set_stream_id("s-a");
    req.set_max_count(10);
    req.set_direction(static_cast<pb::Direction>(7));
    pb::ReadStreamResponse resp;
    EXPECT_EQ(stub_->ReadStream(&ctx, req, &resp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext ctx;
    pb::VerifyChainRequest req;
    req.set_to_position(1u << 30);
    pb::VerifyChainResponse resp;
    EXPECT_EQ(stub_->VerifyChain(&ctx, req, &resp).error_code(),
              grpc::StatusCode::OUT_OF_RANGE);
  }
  // A message over the transport limit never reaches the handler.
  pb::AppendRequest huge = One("s-a", pb::ExpectedRevision::ANY);
  for (int i = 0; i < 40; ++i) {
    *huge.mutable_streams(0)->add_events() = Event(std::string(1 << 20, 'h'));
  }
  EXPECT_EQ(Append(huge).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  ExpectStillServing();
  // Nothing refused was written: only the liveness appends are there,
  // after the admin principal.
  for (const auto& e : ReadAll()) {
    if (e.position() > 1) {
      EXPECT_EQ(e.stream_id(), "alive-1");
    }
  }
}

TEST_F(EventStoreGrpcTest, InvalidUtf8InAStringFieldIsRefused) {
  // The client library would refuse to serialize it; send raw bytes.
  pb::AppendRequest ok = One("s-a", pb::ExpectedRevision::ANY);
  std::string wire = ok.SerializeAsString();
  const std::string from = "s-a";
  auto at = wire.find(from);
  ASSERT_NE(at, std::string::npos);
  wire.replace(at, from.size(), "s\xff\xfe");
  grpc::GenericStub generic(channel_);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  grpc::Slice slice(wire);
  grpc::ByteBuffer request(&slice, 1), response;
  auto call = generic.PrepareUnaryCall(
      &ctx, "/ncm.eventstore.v1.EventStore/Append", request, &cq);
  call->StartCall();
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag;
  bool ok_flag;
  ASSERT_TRUE(cq.Next(&tag, &ok_flag));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("UTF-8"));
  EXPECT_THAT(status.error_message(), HasSubstr("ncm.eventstore.v1.AppendRequest"));
  cq.Shutdown();
  while (cq.Next(&tag, &ok_flag)) {
  }
  ExpectStillServing();
  EXPECT_EQ(ReadAll().size(), 2u);  // the admin principal, then alive-1
}

TEST_F(EventStoreGrpcTest, SubscribeCatchesUpThenStreamsLiveWithoutGaps) {
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(Append(One(absl::StrCat("s-", i % 5),
                           pb::ExpectedRevision::ANY)).ok());
  }
  grpc::ClientContext ctx;
  pb::SubscribeRequest req;
  req.set_after_position(0);
  req.set_max_batch(64);
  auto reader = stub_->Subscribe(&ctx, req);
  constexpr int kLive = 600;
  std::thread writers([&] {
    for (int i = 0; i < kLive; ++i) {
      (void)Append(One(absl::StrCat("live-", i % 3), pb::ExpectedRevision::ANY));
    }
  });
  // The admin principal's registration is position 1.
  constexpr size_t kAll = 1 + 200 + kLive;
  std::vector<uint64_t> seen;
  int caught_up = 0;
  pb::SubscribeResponse msg;
  while (seen.size() < kAll && reader->Read(&msg)) {
    if (msg.has_caught_up()) ++caught_up;
    for (const auto& e : msg.events().events()) seen.push_back(e.position());
  }
  writers.join();
  ctx.TryCancel();
  reader->Finish().IgnoreError();
  ASSERT_EQ(seen.size(), kAll);
  for (size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], i + 1);
  EXPECT_GE(caught_up, 1);
}

TEST_F(EventStoreGrpcTest, SubscribingAfterAPositionBeyondTheHeadIsOutOfRange) {
  ASSERT_TRUE(Append(One("s-1", pb::ExpectedRevision::ANY)).ok());
  grpc::ClientContext ctx;
  pb::SubscribeRequest req;
  req.set_after_position(5);
  auto reader = stub_->Subscribe(&ctx, req);
  pb::SubscribeResponse msg;
  EXPECT_FALSE(reader->Read(&msg));
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_THAT(s.error_message(), HasSubstr("beyond the head at 2"));
}

TEST_F(EventStoreGrpcTest, StalledSubscriberDoesNotStopTheServerAndResumes) {
  grpc::ClientContext ctx;
  pb::SubscribeRequest req;
  req.set_max_batch(100);
  req.set_after_position(1);  // past the admin principal
  auto reader = stub_->Subscribe(&ctx, req);
  pb::SubscribeResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_TRUE(msg.has_caught_up());
  // The subscriber reads nothing while 100000 events (about 60 MB, far past
  // any transport window) are committed.
  for (int i = 0; i < 100; ++i) {
    pb::AppendRequest r = One(absl::StrCat("bulk-", i % 4),
                              pb::ExpectedRevision::ANY, 0, 1000);
    for (auto& e : *r.mutable_streams(0)->mutable_events()) {
      e.set_payload(std::string(500, 'b'));
    }
    ASSERT_TRUE(Append(r).ok());
  }
  uint64_t expect = 2;
  bool fell_behind = false;
  while (expect <= 100001 && reader->Read(&msg)) {
    if (msg.has_fell_behind()) fell_behind = true;
    for (const auto& e : msg.events().events()) {
      ASSERT_EQ(e.position(), expect);
      ++expect;
    }
  }
  EXPECT_EQ(expect, 100002u);
  EXPECT_TRUE(fell_behind);
  ctx.TryCancel();
  reader->Finish().IgnoreError();
}

TEST_F(EventStoreGrpcTest, ShutdownEndsOpenSubscriptionsPromptly) {
  ASSERT_TRUE(Append(One("s-a", pb::ExpectedRevision::ANY)).ok());
  grpc::ClientContext ctx;
  pb::SubscribeRequest req;
  auto reader = stub_->Subscribe(&ctx, req);
  pb::SubscribeResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  const absl::Time start = absl::Now();
  server_->Shutdown(absl::Seconds(30));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  while (reader->Read(&msg)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  server_.reset();
}

// What an append session's callbacks saw.
struct Outcomes {
  absl::Mutex mu;
  std::vector<std::pair<absl::Status, pb::AppendResponse>> got ABSL_GUARDED_BY(mu);

  client::AppendSession::Callback Add(size_t slot) {
    {
      absl::MutexLock l(&mu);
      if (got.size() <= slot) got.resize(slot + 1);
    }
    return [this, slot](const absl::Status& st, const pb::AppendResponse& r) {
      absl::MutexLock l(&mu);
      got[slot] = {st, r};
    };
  }
};

std::unique_ptr<grpc::ClientContext> SessionContext(const std::string& token = "") {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  return ctx;
}

TEST_F(EventStoreGrpcTest, AnAppendSessionAnswersEveryAppendOnceDurable) {
  constexpr int kAppends = 3000;
  const size_t before = ReadAll().size();  // the first principal's event
  Outcomes outcomes;
  {
    client::AppendSession session(stub_.get(), SessionContext(), 512);
    for (int i = 0; i < kAppends; ++i) {
      ASSERT_TRUE(session
                      .Append(One(absl::StrCat("bulk-", i % 30),
                                  pb::ExpectedRevision::ANY),
                              outcomes.Add(i))
                      .ok());
    }
    EXPECT_TRUE(session.Close().ok());
  }
  absl::MutexLock l(&outcomes.mu);
  ASSERT_EQ(outcomes.got.size(), static_cast<size_t>(kAppends));
  std::set<uint64_t> positions;
  for (const auto& [st, r] : outcomes.got) {
    ASSERT_TRUE(st.ok()) << st;
    EXPECT_EQ(r.first_position(), r.last_position());
    positions.insert(r.first_position());
  }
  // Every append durable at its own position, and the log holds them all.
  EXPECT_EQ(positions.size(), static_cast<size_t>(kAppends));
  EXPECT_EQ(*positions.begin(), before + 1);
  EXPECT_EQ(*positions.rbegin(), before + kAppends);
  EXPECT_EQ(ReadAll().size(), before + kAppends);
  // Appends in one session apply in the order sent: each stream's
  // revisions follow the order of its appends.
  std::map<std::string, uint64_t> last;
  for (int i = 0; i < kAppends; ++i) {
    const auto& stream = outcomes.got[i].second.streams(0);
    auto [it, fresh] = last.try_emplace(stream.stream_id(), stream.last_revision());
    if (!fresh) {
      EXPECT_EQ(stream.last_revision(), it->second + 1) << i;
      it->second = stream.last_revision();
    }
  }
}

TEST_F(EventStoreGrpcTest, AnAppendSessionAnswersRefusalsAndGoesOn) {
  pb::AppendRequest first = One("s-1", pb::ExpectedRevision::NO_STREAM);
  const size_t before = ReadAll().size();
  Outcomes outcomes;
  client::AppendSession session(stub_.get(), SessionContext());
  ASSERT_TRUE(session.Append(first, outcomes.Add(0)).ok());
  // A failed expectation, a malformed append, a reserved category, the
  // first append again (idempotent), then one that works.
  ASSERT_TRUE(session.Append(One("s-1", pb::ExpectedRevision::EXACT, 5),
                             outcomes.Add(1)).ok());
  ASSERT_TRUE(session.Append(pb::AppendRequest(), outcomes.Add(2)).ok());
  ASSERT_TRUE(session.Append(One("principal-x", pb::ExpectedRevision::ANY),
                             outcomes.Add(3)).ok());
  ASSERT_TRUE(session.Append(first, outcomes.Add(4)).ok());
  ASSERT_TRUE(session.Append(One("s-1", pb::ExpectedRevision::EXACT, 0),
                             outcomes.Add(5)).ok());
  EXPECT_TRUE(session.Close().ok());
  EXPECT_EQ(session.Append(first, outcomes.Add(6)).code(),
            absl::StatusCode::kFailedPrecondition);
  absl::MutexLock l(&outcomes.mu);
  const auto& got = outcomes.got;
  EXPECT_TRUE(got[0].first.ok()) << got[0].first;
  EXPECT_EQ(got[1].first.code(), absl::StatusCode::kAborted) << got[1].first;
  EXPECT_THAT(std::string(got[1].first.message()), HasSubstr("s-1"));
  EXPECT_EQ(got[2].first.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(got[3].first.code(), absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(got[4].first.ok()) << got[4].first;
  EXPECT_TRUE(got[4].second.idempotent_replay());
  EXPECT_EQ(got[4].second.first_position(), got[0].second.first_position());
  ASSERT_TRUE(got[5].first.ok()) << got[5].first;
  EXPECT_EQ(got[5].second.streams(0).last_revision(), 1u);
  EXPECT_EQ(ReadAll().size(), before + 2);  // nothing refused was written
}

TEST_F(EventStoreGrpcTest, AnAppendSessionIsHeldToItsPrincipal) {
  namespace apb = ::ncm::access::v1;
  auto access = apb::Access::NewStub(channel_);
  auto issue = [&](const std::string& id, apb::Role role) {
    grpc::ClientContext ctx;
    apb::IssueTokenRequest r;
    r.set_principal_id(id);
    r.set_role(role);
    apb::IssueTokenResponse out;
    grpc::Status s = access->IssueToken(&ctx, r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.token();
  };
  // A reader may not open one.
  {
    client::AppendSession session(stub_.get(),
                                  SessionContext(issue("reader-1", apb::ROLE_READER)));
    EXPECT_EQ(session.Close().code(), absl::StatusCode::kPermissionDenied);
  }
  // A revoked principal's open session ends.
  const std::string token = issue("loader-1", apb::ROLE_ADMIN);
  Outcomes outcomes;
  client::AppendSession session(stub_.get(), SessionContext(token));
  ASSERT_TRUE(session.Append(One("load-1", pb::ExpectedRevision::ANY),
                             outcomes.Add(0)).ok());
  {
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    for (;;) {
      {
        absl::MutexLock l(&outcomes.mu);
        if (outcomes.got[0].first.ok() && outcomes.got[0].second.last_position() > 0) break;
      }
      ASSERT_LT(absl::Now(), deadline);
      absl::SleepFor(absl::Milliseconds(5));
    }
  }
  {
    grpc::ClientContext ctx;
    apb::RevokePrincipalRequest r;
    r.set_principal_id("loader-1");
    r.set_reason("leaves the project");
    ncm::common::v1::CommandResult out;
    grpc::Status s = access->RevokePrincipal(&ctx, r, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_EQ(session.Close().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(EventStoreGrpcTest, ShutdownEndsOpenAppendSessions) {
  client::AppendSession session(stub_.get(), SessionContext());
  Outcomes outcomes;
  ASSERT_TRUE(session.Append(One("s-a", pb::ExpectedRevision::ANY),
                             outcomes.Add(0)).ok());
  absl::SleepFor(absl::Milliseconds(200));
  const absl::Time start = absl::Now();
  server_->Shutdown(absl::Seconds(30));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(session.Close().code(), absl::StatusCode::kUnavailable);
  server_.reset();
}

TEST_F(EventStoreGrpcTest, HealthServiceReportsServing) {
  // grpc.health.v1.HealthCheckRequest{service: ""} is empty on the wire.
  grpc::GenericStub generic(channel_);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  grpc::ByteBuffer request, response;
  grpc::Slice empty("");
  request = grpc::ByteBuffer(&empty, 1);
  auto call = generic.PrepareUnaryCall(&ctx, "/grpc.health.v1.Health/Check",
                                       request, &cq);
  call->StartCall();
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  ASSERT_TRUE(cq.Next(&tag, &ok));
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (auto& s : slices) bytes += std::string(s.begin(), s.end());
  // HealthCheckResponse{status: SERVING (1)}: field 1, varint 1.
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

TEST_F(EventStoreGrpcTest, HealthAnswersForEveryServiceByName) {
  for (const char* service :
       {"", "ncm.access.v1.Access", "ncm.eventstore.v1.EventStore",
        "ncm.stakeholders.v1.Stakeholders", "ncm.resolutions.v1.Resolutions", "ncm.mous.v1.Mous",
        "ncm.resources.v1.Resources", "ncm.eventstore.v1.Transparency"}) {
    EXPECT_EQ(::ncm::testing::HealthStatus(channel_, service), 1) << service;
  }
  grpc::StatusCode code = grpc::StatusCode::OK;
  EXPECT_EQ(::ncm::testing::HealthStatus(channel_, "ncm.nothing.v1.Here", &code), -1);
  EXPECT_EQ(code, grpc::StatusCode::NOT_FOUND);
}

TEST_F(EventStoreGrpcTest, ReflectionListsTheEventStoreService) {
  grpc::GenericStub generic(channel_);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  auto call = generic.PrepareCall(
      &ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      &cq);
  void* tag;
  bool ok;
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  // ServerReflectionRequest{list_services: ""}: field 7, length 0.
  grpc::Slice req_slice(std::string("\x3a\x00", 2));
  grpc::ByteBuffer req(&req_slice, 1);
  call->Write(req, reinterpret_cast<void*>(2));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::ByteBuffer resp;
  call->Read(&resp, reinterpret_cast<void*>(3));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(resp.Dump(&slices).ok());
  std::string bytes;
  for (auto& s : slices) bytes += std::string(s.begin(), s.end());
  EXPECT_THAT(bytes, HasSubstr("ncm.eventstore.v1.EventStore"));
  EXPECT_THAT(bytes, HasSubstr("grpc.health.v1.Health"));
  EXPECT_THAT(bytes, HasSubstr("ncm.stakeholders.v1.Stakeholders"));
  EXPECT_THAT(bytes, HasSubstr("ncm.resolutions.v1.Resolutions"));
  EXPECT_THAT(bytes, HasSubstr("ncm.mous.v1.Mous"));
  EXPECT_THAT(bytes, HasSubstr("ncm.resources.v1.Resources"));
  call->WritesDone(reinterpret_cast<void*>(4));
  ASSERT_TRUE(cq.Next(&tag, &ok));
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  ASSERT_TRUE(cq.Next(&tag, &ok));
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

TEST(ServerOptionsTest, PlaintextOnANonLoopbackAddressIsRefused) {
  ::ncm::testing::TempDir dir;
  ncmd::ServerOptions o;
  o.listen_address = "0.0.0.0:0";
  o.data_dir = dir.Sub("db");
  auto s = ncmd::StartServer(o);
  EXPECT_THAT(s, ::ncm::testing::StatusIs(absl::StatusCode::kFailedPrecondition,
                                          HasSubstr("not a loopback")));
  EXPECT_TRUE(ncmd::IsLoopbackHost("127.0.0.1:1"));
  EXPECT_TRUE(ncmd::IsLoopbackHost("[::1]:1"));
  EXPECT_TRUE(ncmd::IsLoopbackHost("localhost:1"));
  EXPECT_FALSE(ncmd::IsLoopbackHost("10.0.0.1:1"));
  EXPECT_FALSE(ncmd::IsLoopbackHost("[::]:1"));
}

}  // namespace
}  // namespace ncm
