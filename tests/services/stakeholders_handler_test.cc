// The stakeholders handler over real stores: load -> decide -> append,
// acronym uniqueness across organisations, command-id idempotency,
// concurrent commands on one aggregate, and personal-data erasure.
#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ncm/eventstore/memory_event_store.h"
#include "ncm/eventstore/rocksdb_event_store.h"
#include "ncm/stakeholders/handler.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace ncm::stakeholders {
namespace {

using ::ncm::testing::IsOk;
using ::ncm::testing::StatusIs;
using ::testing::HasSubstr;
using Code = absl::StatusCode;

services::Clock FixedClock() {
  services::Clock c;
  c.now = [] { return absl::FromCivil(absl::CivilDay(2021, 6, 30), absl::UTCTimeZone()); };
  return c;
}

pb::RegisterOrganisationRequest Register(const std::string& acronym,
                                         const std::string& command_id = "") {
  pb::RegisterOrganisationRequest r;
  r.mutable_options()->set_command_id(command_id);
  auto* p = r.mutable_profile();
  p->set_name(absl::StrCat("Organisation ", acronym));
  p->set_acronym(acronym);
  p->set_kind(pb::DEPARTMENT_OR_AGENCY);
  p->set_level(pb::NATIONAL);
  r.set_role(pb::MEMBER);
  return r;
}

class StakeholdersHandlerTest : public ::testing::Test {
 protected:
  std::unique_ptr<eventstore::EventStore> store_ = eventstore::NewMemoryEventStore();
  StakeholdersHandler h_{store_.get(), &CountyList::Kenya(), FixedClock()};
};

TEST_F(StakeholdersHandlerTest, RegisterThenReadBack) {
  auto r = Register("NCTC");
  r.mutable_options()->mutable_occurred_on()->set_year(2020);
  r.mutable_options()->mutable_occurred_on()->set_month(7);
  r.mutable_options()->mutable_occurred_on()->set_day(1);
  auto o = h_.RegisterOrganisation(r, "secretariat-1");
  ASSERT_THAT(o, IsOk());
  EXPECT_EQ(o->revision, 0u);
  EXPECT_EQ(o->position, 2u);  // the organisation and its acronym claim
  auto org = h_.GetOrganisation(o->aggregate_id);
  ASSERT_THAT(org, IsOk());
  EXPECT_EQ(org->profile().acronym(), "NCTC");
  EXPECT_EQ(org->status(), pb::ACTIVE);
  EXPECT_EQ(org->registered_on().year(), 2020);
  auto events = store_->ReadStream({absl::StrCat("organisation-", o->aggregate_id)});
  ASSERT_THAT(events, IsOk());
  EXPECT_EQ(events->events[0].actor, "secretariat-1");
  EXPECT_EQ(events->events[0].event_type,
            "ncm.stakeholders.v1.OrganisationRegistered");
}

TEST_F(StakeholdersHandlerTest, OccurredOnInTheFutureOrMalformedIsRefused) {
  auto r = Register("NCTC");
  auto* d = r.mutable_options()->mutable_occurred_on();
  d->set_year(2021);
  d->set_month(7);
  d->set_day(1);
  EXPECT_THAT(h_.RegisterOrganisation(r, ""),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("2021-07-01 is in the future (today is 2021-06-30)")));
  d->set_month(2);
  d->set_day(30);
  EXPECT_THAT(h_.RegisterOrganisation(r, ""),
              StatusIs(Code::kInvalidArgument, HasSubstr("not a day of the calendar")));
  EXPECT_EQ(store_->HeadPosition(), 0u);
}

TEST_F(StakeholdersHandlerTest, AcronymsAreUniqueAmongActiveOrganisations) {
  auto a = h_.RegisterOrganisation(Register("NIS"), "");
  ASSERT_THAT(a, IsOk());
  EXPECT_THAT(h_.RegisterOrganisation(Register("nis"), ""),
              StatusIs(Code::kAlreadyExists, HasSubstr(a->aggregate_id)));
  const uint64_t head = store_->HeadPosition();
  // Renaming the acronym frees the old one.
  pb::AmendOrganisationRequest amend;
  amend.set_organisation_id(a->aggregate_id);
  amend.mutable_profile()->set_acronym("DIS");
  amend.add_update_mask("acronym");
  ASSERT_THAT(h_.AmendOrganisation(amend, ""), IsOk());
  EXPECT_GT(store_->HeadPosition(), head);
  auto b = h_.RegisterOrganisation(Register("NIS"), "");
  ASSERT_THAT(b, IsOk());
  EXPECT_THAT(h_.RegisterOrganisation(Register("DIS"), ""),
              StatusIs(Code::kAlreadyExists));
  // Withdrawal frees it too; re-admission needs it back.
  pb::MembershipChangeRequest w;
  w.set_organisation_id(a->aggregate_id);
  w.set_reason("merged");
  ASSERT_THAT(h_.WithdrawMembership(w, ""), IsOk());
  auto c = h_.RegisterOrganisation(Register("DIS"), "");
  ASSERT_THAT(c, IsOk());
  EXPECT_THAT(h_.ReinstateMembership(w, ""),
              StatusIs(Code::kAlreadyExists, HasSubstr("\"DIS\"")));
  auto still = h_.GetOrganisation(a->aggregate_id);
  ASSERT_THAT(still, IsOk());
  EXPECT_EQ(still->status(), pb::WITHDRAWN);
}

TEST_F(StakeholdersHandlerTest, RetriedCommandIdReturnsTheFirstResultAndWritesNothing) {
  auto first = h_.RegisterOrganisation(Register("KNBS", "cmd-1"), "");
  ASSERT_THAT(first, IsOk());
  const uint64_t head = store_->HeadPosition();
  auto again = h_.RegisterOrganisation(Register("KNBS", "cmd-1"), "");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->aggregate_id, first->aggregate_id);
  EXPECT_EQ(again->position, first->position);
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(store_->HeadPosition(), head);

  pb::MembershipChangeRequest s;
  s.set_organisation_id(first->aggregate_id);
  s.set_reason("no attendance");
  s.mutable_options()->set_command_id("cmd-2");
  auto suspended = h_.SuspendMembership(s, "");
  ASSERT_THAT(suspended, IsOk());
  // A retry after success would be an illegal transition; it returns the
  // first answer instead.
  auto retried = h_.SuspendMembership(s, "");
  ASSERT_THAT(retried, IsOk());
  EXPECT_EQ(retried->revision, suspended->revision);
  EXPECT_TRUE(retried->replayed);
  EXPECT_EQ(store_->HeadPosition(), head + 1);
  s.mutable_options()->set_command_id("cmd-3");
  EXPECT_THAT(h_.SuspendMembership(s, ""),
              StatusIs(Code::kFailedPrecondition, HasSubstr("is SUSPENDED")));
  s.mutable_options()->set_command_id("with space");
  EXPECT_THAT(h_.SuspendMembership(s, ""),
              StatusIs(Code::kInvalidArgument, HasSubstr("options.command_id")));
}

TEST_F(StakeholdersHandlerTest, UnknownAndMalformedIdsAreRefused) {
  pb::MembershipChangeRequest s;
  s.set_reason("r");
  EXPECT_THAT(h_.SuspendMembership(s, ""),
              StatusIs(Code::kInvalidArgument, HasSubstr("organisation_id is required")));
  s.set_organisation_id("IOM");
  EXPECT_THAT(h_.SuspendMembership(s, ""),
              StatusIs(Code::kInvalidArgument, HasSubstr("is not an id")));
  s.set_organisation_id("0b7c1f1e-2a3b-4c5d-8e9f-001122334455");
  EXPECT_THAT(h_.SuspendMembership(s, ""), StatusIs(Code::kNotFound));
  EXPECT_THAT(h_.GetOrganisation(s.organisation_id()), StatusIs(Code::kNotFound));
  EXPECT_EQ(store_->HeadPosition(), 0u);
}

TEST_F(StakeholdersHandlerTest, ConcurrentCommandsOnOneAggregateAllLand) {
  auto org = h_.RegisterOrganisation(Register("KNCHR"), "");
  ASSERT_THAT(org, IsOk());
  // Eight threads each appoint their own new person to the same
  // organisation: every command reloads and retries on conflict.
  constexpr int kThreads = 8, kEach = 4;
  std::atomic<int> ok{0}, aborted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        pb::AppointFocalPointRequest r;
        r.set_organisation_id(org->aggregate_id);
        r.set_kind(pb::ALTERNATE);
        r.mutable_new_person()->set_full_name(absl::StrCat("Person ", t, "-", i));
        auto o = h_.AppointFocalPoint(r, "");
        if (o.ok()) {
          ++ok;
        } else if (o.status().code() == absl::StatusCode::kAborted) {
          ++aborted;
        } else {
          ADD_FAILURE() << o.status();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  auto view = h_.GetOrganisation(org->aggregate_id);
  ASSERT_THAT(view, IsOk());
  EXPECT_EQ(view->focal_points_size(), ok.load());
  EXPECT_EQ(ok.load() + aborted.load(), kThreads * kEach);
  EXPECT_GE(ok.load(), kThreads * kEach / 2);
  EXPECT_EQ(view->revision(), static_cast<uint64_t>(ok.load()));
}

TEST_F(StakeholdersHandlerTest, WorkingGroupsTakeRegisteredOrganisationsOnly) {
  auto org = h_.RegisterOrganisation(Register("KNBS"), "");
  ASSERT_THAT(org, IsOk());
  pb::CreateWorkingGroupRequest c;
  c.set_name("Technical working group on migration data");
  c.add_thematic_areas("migration data");
  auto wg = h_.CreateWorkingGroup(c, "");
  ASSERT_THAT(wg, IsOk());
  pb::WorkingGroupMemberRequest m;
  m.set_working_group_id(wg->aggregate_id);
  m.set_organisation_id(org->aggregate_id);
  ASSERT_THAT(h_.AddWorkingGroupMember(m, ""), IsOk());
  auto view = h_.GetWorkingGroup(wg->aggregate_id);
  ASSERT_THAT(view, IsOk());
  EXPECT_THAT(view->member_organisation_ids(),
              ::testing::ElementsAre(org->aggregate_id));
  m.set_organisation_id("0b7c1f1e-2a3b-4c5d-8e9f-001122334455");
  EXPECT_THAT(h_.AddWorkingGroupMember(m, ""), StatusIs(Code::kNotFound));
  m.set_organisation_id(org->aggregate_id);
  ASSERT_THAT(h_.RemoveWorkingGroupMember(m, ""), IsOk());
  EXPECT_THAT(h_.RemoveWorkingGroupMember(m, ""), StatusIs(Code::kNotFound));
}

// The erasure path on the durable store: details never in clear in the
// log, readable until forgotten, unreadable everywhere afterwards, and the
// chain intact.
TEST(StakeholdersErasureTest, ForgetPersonShredsTheDetailsAndKeepsTheChain) {
  ncm::testing::TempDir dir;
  eventstore::RocksDbOptions o;
  o.path = dir.Sub("db");
  auto store = eventstore::OpenRocksDbEventStore(o);
  ASSERT_THAT(store, IsOk());
  StakeholdersHandler h(store->get(), &CountyList::Kenya(), FixedClock());
  auto reg = Register("IOM");
  reg.mutable_options()->mutable_occurred_on()->set_year(2020);
  reg.mutable_options()->mutable_occurred_on()->set_month(7);
  reg.mutable_options()->mutable_occurred_on()->set_day(1);
  auto org = h.RegisterOrganisation(reg, "");
  ASSERT_THAT(org, IsOk());
  pb::AppointFocalPointRequest r;
  r.set_organisation_id(org->aggregate_id);
  r.set_kind(pb::PRIMARY);
  r.mutable_new_person()->set_full_name("Achieng Otieno Unique");
  r.mutable_new_person()->set_email("achieng@example.org");
  r.mutable_options()->mutable_occurred_on()->set_year(2021);
  r.mutable_options()->mutable_occurred_on()->set_month(1);
  r.mutable_options()->mutable_occurred_on()->set_day(15);
  auto appointed = h.AppointFocalPoint(r, "");
  ASSERT_THAT(appointed, IsOk());
  const std::string person = appointed->person_id();

  // Nothing in the log carries the details in clear.
  eventstore::ReadAllOptions all;
  all.max_count = 1000;
  auto log = (*store)->ReadAll(all);
  ASSERT_THAT(log, IsOk());
  for (const auto& e : log->events) {
    EXPECT_EQ(e.payload.find("Achieng"), std::string::npos) << e.event_type;
    EXPECT_EQ(e.payload.find("achieng@"), std::string::npos) << e.event_type;
  }
  auto before = h.GetOrganisation(org->aggregate_id);
  ASSERT_THAT(before, IsOk());
  ASSERT_EQ(before->focal_points_size(), 1);
  EXPECT_EQ(before->focal_points(0).person().details().full_name(),
            "Achieng Otieno Unique");
  EXPECT_FALSE(before->focal_points(0).person().erased());

  pb::ForgetPersonRequest f;
  f.set_person_id(person);
  f.set_reason("erasure request, Data Protection Act 2019 s.40");
  auto forgotten = h.ForgetPerson(f, "");
  ASSERT_THAT(forgotten, IsOk());
  EXPECT_THAT(h.ForgetPerson(f, ""), StatusIs(Code::kFailedPrecondition));

  auto p = h.GetPerson(person);
  ASSERT_THAT(p, IsOk());
  EXPECT_TRUE(p->erased());
  EXPECT_EQ(p->details().full_name(), "");
  EXPECT_EQ(p->forgotten_on().year(), 2021);
  auto after = h.GetOrganisation(org->aggregate_id);
  ASSERT_THAT(after, IsOk());
  EXPECT_TRUE(after->focal_points(0).person().erased());
  // The appointment's history is kept; only the details are gone.
  EXPECT_EQ(after->focal_points(0).from().day(), 15);
  auto key = (*store)->subject_keys()->Get(person);
  ASSERT_THAT(key, IsOk());
  EXPECT_FALSE(key->has_value());
  auto v = (*store)->VerifyChain(0, 0);
  ASSERT_THAT(v, IsOk());
  EXPECT_TRUE(v->ok);
  EXPECT_EQ(v->verified_count, (*store)->HeadPosition());
  // Rectifying or appointing the forgotten person is refused.
  pb::RectifyPersonRequest rect;
  rect.set_person_id(person);
  rect.mutable_details()->set_full_name("New Name");
  EXPECT_THAT(h.RectifyPerson(rect, ""), StatusIs(Code::kFailedPrecondition));
  pb::AppointFocalPointRequest again;
  again.set_organisation_id(org->aggregate_id);
  again.set_person_id(person);
  again.set_kind(pb::ALTERNATE);
  EXPECT_THAT(h.AppointFocalPoint(again, ""),
              StatusIs(Code::kFailedPrecondition, HasSubstr("forgotten")));
}

TEST(StakeholdersErasureTest, RectifiedDetailsReplaceTheOldOnes) {
  auto store = eventstore::NewMemoryEventStore();
  StakeholdersHandler h(store.get(), &CountyList::Kenya(), FixedClock());
  auto org = h.RegisterOrganisation(Register("GIZ"), "");
  ASSERT_THAT(org, IsOk());
  pb::AppointFocalPointRequest r;
  r.set_organisation_id(org->aggregate_id);
  r.set_kind(pb::PRIMARY);
  r.mutable_new_person()->set_full_name("Hans Muller");
  auto a = h.AppointFocalPoint(r, "");
  ASSERT_THAT(a, IsOk());
  pb::RectifyPersonRequest rect;
  rect.set_person_id(a->person_id());
  rect.mutable_details()->set_full_name("Hans Müller");
  rect.mutable_details()->set_title("Programme Manager");
  ASSERT_THAT(h.RectifyPerson(rect, ""), IsOk());
  auto p = h.GetPerson(a->person_id());
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->details().full_name(), "Hans Müller");
  EXPECT_EQ(p->details().title(), "Programme Manager");
}

}  // namespace
}  // namespace ncm::stakeholders
