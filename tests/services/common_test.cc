// The command-side helpers every domain service shares.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ncm/eventstore/subject_keys.h"
#include "ncm/services/command.h"
#include "ncm/services/ids.h"
#include "ncm/services/personal_data.h"
#include "ncm/stakeholders/v1/events.pb.h"
#include "ncm/stakeholders/v1/stakeholders.pb.h"
#include "testing/status_matchers.h"

namespace ncm::services {
namespace {

using ::ncm::testing::IsOk;
using ::ncm::testing::StatusIs;
using ::testing::HasSubstr;
using Code = absl::StatusCode;

TEST(IdsTest, DerivedIdsAreStableUuidsAndRandomOnesDiffer) {
  const std::string a = DeriveUuid({"event", "organisation-1", "cmd", "0"});
  EXPECT_EQ(a, DeriveUuid({"event", "organisation-1", "cmd", "0"}));
  EXPECT_NE(a, DeriveUuid({"event", "organisation-1", "cmd", "1"}));
  // Length-prefixed: moving a boundary gives another id.
  EXPECT_NE(DeriveUuid({"ab", "c"}), DeriveUuid({"a", "bc"}));
  EXPECT_THAT(CheckUuid(a, "id"), IsOk());
  EXPECT_NE(NewUuid(), NewUuid());
  EXPECT_THAT(CheckUuid(NewUuid(), "id"), IsOk());
  EXPECT_THAT(CheckUuid("", "x_id"),
              StatusIs(Code::kInvalidArgument, HasSubstr("x_id is required")));
  EXPECT_THAT(CheckUuid("123e4567e89b12d3a456426614174000", "x_id"),
              StatusIs(Code::kInvalidArgument, HasSubstr("is not an id")));
}

TEST(ContextTest, DatesDefaultToTodayInTheServerZoneAndNeverLieAhead) {
  Clock clock;
  // 22:30 UTC on 30 June is already 1 July in Nairobi (UTC+3).
  clock.now = [] {
    return absl::FromCivil(absl::CivilSecond(2021, 6, 30, 22, 30, 0),
                           absl::UTCTimeZone());
  };
  clock.zone = absl::FixedTimeZone(3 * 3600);
  ncm::stakeholders::v1::MembershipChangeRequest req;
  ncm::common::v1::CommandOptions& o = *req.mutable_options();
  auto ctx = MakeContext(req, "SuspendMembership", clock, "actor-1");
  ASSERT_THAT(ctx, IsOk());
  EXPECT_EQ(ctx->occurred_on, absl::CivilDay(2021, 7, 1));
  EXPECT_EQ(ctx->actor, "actor-1");
  *o.mutable_occurred_on() = ToProto(absl::CivilDay(2021, 7, 2));
  EXPECT_THAT(MakeContext(req, "SuspendMembership", clock, ""),
              StatusIs(Code::kInvalidArgument, HasSubstr("in the future")));
  *o.mutable_occurred_on() = ToProto(absl::CivilDay(2019, 2, 28));
  EXPECT_THAT(MakeContext(req, "SuspendMembership", clock, ""), IsOk());
  o.mutable_occurred_on()->set_day(29);
  EXPECT_THAT(MakeContext(req, "SuspendMembership", clock, ""),
              StatusIs(Code::kInvalidArgument, HasSubstr("2019-02-29")));
  o.mutable_occurred_on()->set_month(13);
  EXPECT_THAT(MakeContext(req, "SuspendMembership", clock, ""),
              StatusIs(Code::kInvalidArgument, HasSubstr("month 1-12")));
  o.clear_occurred_on();
  o.set_command_id(std::string(129, 'a'));
  EXPECT_THAT(MakeContext(req, "SuspendMembership", clock, ""),
              StatusIs(Code::kInvalidArgument, HasSubstr("128")));
}

TEST(ContextTest, TheDigestNamesTheMethodAndTheRequest) {
  Clock clock;
  ncm::stakeholders::v1::MembershipChangeRequest req;
  req.set_organisation_id("7d1e5b48-2f55-4c3a-9a53-0c1b2a3d4e5f");
  req.mutable_options()->set_command_id("c-1");
  auto a = MakeContext(req, "SuspendMembership", clock, "");
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(a->actor, eventstore::kAnonymousActor);
  EXPECT_THAT(a->digest, ::testing::StartsWith("sha256:"));
  EXPECT_EQ(a->digest.size(), 7u + 64u);
  EXPECT_EQ(a->digest, CommandDigest("SuspendMembership", req));
  // Another method with the same request, or another request, differs.
  EXPECT_NE(a->digest, CommandDigest("WithdrawMembership", req));
  ncm::stakeholders::v1::MembershipChangeRequest other = req;
  other.set_reason("x");
  EXPECT_NE(a->digest, CommandDigest("SuspendMembership", other));
  // A lambda's name is no method.
  EXPECT_THAT(MakeContext(req, "operator()", clock, ""),
              StatusIs(Code::kInternal));
}

TEST(EventCodecTest, EventsRoundTripThroughTheirWrapper) {
  ncm::stakeholders::v1::PersonEvent w;
  w.mutable_forgotten()->set_reason("asked");
  eventstore::ProposedEvent p = EncodeEvent(w);
  EXPECT_EQ(p.event_type, "ncm.stakeholders.v1.PersonForgotten");
  eventstore::RecordedEvent r;
  r.event_type = p.event_type;
  r.payload = p.payload;
  ncm::stakeholders::v1::PersonEvent back;
  ASSERT_THAT(DecodeEvent(r, &back), IsOk());
  EXPECT_EQ(back.forgotten().reason(), "asked");
  r.event_type = "ncm.other.v1.Unknown";
  r.position = 7;
  EXPECT_THAT(DecodeEvent(r, &back),
              StatusIs(Code::kDataLoss, HasSubstr("ncm.other.v1.Unknown at position 7")));
  r.event_type = "ncm.stakeholders.v1.PersonForgotten";
  r.payload = "\xff\xff";
  EXPECT_THAT(DecodeEvent(r, &back), StatusIs(Code::kDataLoss));
}

TEST(PersonalDataTest, SealedDetailsOpenOnlyWithTheKeyAndUnaltered) {
  auto keys = eventstore::NewMemorySubjectKeyStore();
  auto sealed = Seal(keys.get(), "person-1", "Jane Wanjiru");
  ASSERT_THAT(sealed, IsOk());
  EXPECT_EQ(sealed->ciphertext().find("Jane"), std::string::npos);
  auto again = Seal(keys.get(), "person-1", "Jane Wanjiru");
  ASSERT_THAT(again, IsOk());
  EXPECT_NE(again->ciphertext(), sealed->ciphertext());  // fresh nonce
  auto open = Unseal(keys.get(), *sealed);
  ASSERT_THAT(open, IsOk());
  ASSERT_TRUE(open->has_value());
  EXPECT_EQ(**open, "Jane Wanjiru");

  ncm::common::v1::Sealed altered = *sealed;
  altered.mutable_ciphertext()->at(0) ^= 1;
  EXPECT_THAT(Unseal(keys.get(), altered),
              StatusIs(Code::kDataLoss, HasSubstr("do not verify")));
  // Another subject's key does not open it (the subject id is bound in).
  ASSERT_THAT(keys->GetOrCreate("person-2"), IsOk());
  altered = *sealed;
  altered.set_subject_id("person-2");
  EXPECT_THAT(Unseal(keys.get(), altered), StatusIs(Code::kDataLoss));

  ASSERT_THAT(keys->Destroy("person-1"), IsOk());
  open = Unseal(keys.get(), *sealed);
  ASSERT_THAT(open, IsOk());
  EXPECT_FALSE(open->has_value());
  EXPECT_THAT(Seal(keys.get(), "person-1", "x"),
              StatusIs(Code::kFailedPrecondition, HasSubstr("forgotten")));
}

}  // namespace
}  // namespace ncm::services
