// The resolutions handler over real stores: organisations checked through
// the stakeholders handler, the adoption recorded on the meeting too,
// refusals that write nothing, command-id idempotency and concurrent
// commands on one resolution.
#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ncm/eventstore/memory_event_store.h"
#include "ncm/eventstore/rocksdb_event_store.h"
#include "ncm/resolutions/handler.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace ncm::resolutions {
namespace {

using ::ncm::testing::IsOk;
using ::ncm::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Code = absl::StatusCode;
namespace spb = ::ncm::stakeholders::v1;

services::Clock FixedClock() {
  services::Clock c;
  c.now = [] {
    return absl::FromCivil(absl::CivilDay(2021, 6, 30), absl::UTCTimeZone());
  };
  return c;
}

void SetDay(ncm::common::v1::CommandOptions* o, absl::CivilDay d) {
  *o->mutable_occurred_on() = services::ToProto(d);
}

class ResolutionsHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nis_ = Register("NIS");
    iom_ = Register("IOM");
    knbs_ = Register("KNBS");
  }

  std::string Register(const std::string& acronym) {
    spb::RegisterOrganisationRequest r;
    r.mutable_profile()->set_name(absl::StrCat("Organisation ", acronym));
    r.mutable_profile()->set_acronym(acronym);
    r.mutable_profile()->set_kind(spb::DEPARTMENT_OR_AGENCY);
    r.mutable_profile()->set_level(spb::NATIONAL);
    r.set_role(spb::MEMBER);
    SetDay(r.mutable_options(), absl::CivilDay(2020, 7, 1));
    auto o = stakeholders_.RegisterOrganisation(r, "");
    EXPECT_THAT(o, IsOk());
    return o->aggregate_id;
  }

  std::string Schedule(absl::CivilDay day = absl::CivilDay(2021, 3, 18)) {
    pb::ScheduleMeetingRequest r;
    auto* d = r.mutable_details();
    d->set_kind(pb::QUARTERLY_STAKEHOLDER_MEETING);
    d->set_title("Q1 2021 stakeholders' meeting");
    *d->mutable_date() = services::ToProto(day);
    d->set_venue("Nairobi");
    d->set_county_code("047");
    SetDay(r.mutable_options(), absl::CivilDay(2021, 2, 1));
    auto o = h_.ScheduleMeeting(r, "secretariat");
    EXPECT_THAT(o, IsOk());
    return o->aggregate_id;
  }

  pb::AdoptResolutionRequest Adoption(const std::string& meeting) {
    pb::AdoptResolutionRequest r;
    r.set_meeting_id(meeting);
    SetDay(r.mutable_options(), absl::CivilDay(2021, 3, 18));
    auto* t = r.mutable_terms();
    t->set_text("Harmonise border-crossing statistics between NIS and KNBS.");
    t->set_lead_organisation_id(nis_);
    t->add_supporting_organisation_ids(knbs_);
    *t->mutable_due_date() = services::ToProto(absl::CivilDay(2021, 6, 1));
    t->set_strategic_priority(1);
    t->set_pillar(2);
    t->add_gcm_objectives(1);
    return r;
  }

  std::string Adopt(const std::string& meeting) {
    auto o = h_.AdoptResolution(Adoption(meeting), "secretariat");
    EXPECT_THAT(o, IsOk());
    return o->aggregate_id;
  }

  std::unique_ptr<eventstore::EventStore> store_ =
      eventstore::NewMemoryEventStore();
  stakeholders::StakeholdersHandler stakeholders_{
      store_.get(), &CountyList::Kenya(), FixedClock()};
  ResolutionsHandler h_{store_.get(), &stakeholders_, &CountyList::Kenya(),
                        FixedClock()};
  std::string nis_, iom_, knbs_;
};

TEST_F(ResolutionsHandlerTest, AdoptionIsRecordedOnTheResolutionAndTheMeeting) {
  const std::string meeting = Schedule();
  const uint64_t head = store_->HeadPosition();
  auto o = h_.AdoptResolution(Adoption(meeting), "secretariat");
  ASSERT_THAT(o, IsOk());
  EXPECT_EQ(o->revision, 0u);
  EXPECT_EQ(o->position, head + 2);  // the meeting's reference, then ours
  auto m = h_.GetMeeting({});
  EXPECT_THAT(m, StatusIs(Code::kInvalidArgument, HasSubstr("meeting_id")));
  pb::GetMeetingRequest gm;
  gm.set_meeting_id(meeting);
  m = h_.GetMeeting(gm);
  ASSERT_THAT(m, IsOk());
  EXPECT_THAT(m->resolution_ids(), ElementsAre(o->aggregate_id));
  pb::GetResolutionRequest gr;
  gr.set_resolution_id(o->aggregate_id);
  gr.set_min_position(store_->HeadPosition() + 1);
  EXPECT_THAT(h_.GetResolution(gr),
              StatusIs(Code::kOutOfRange, HasSubstr("beyond the log's head")));
  gm.set_min_position(store_->HeadPosition() + 1);
  EXPECT_THAT(h_.GetMeeting(gm), StatusIs(Code::kOutOfRange));
  gr.set_min_position(store_->HeadPosition());  // read-your-writes: fine
  auto r = h_.GetResolution(gr);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status(), pb::ADOPTED);
  EXPECT_EQ(r->meeting_id(), meeting);
  EXPECT_EQ(r->terms().lead_organisation_id(), nis_);
  EXPECT_TRUE(r->overdue());  // due 2021-06-01, today 2021-06-30
  *gr.mutable_as_of() = services::ToProto(absl::CivilDay(2021, 5, 1));
  r = h_.GetResolution(gr);
  ASSERT_THAT(r, IsOk());
  EXPECT_FALSE(r->overdue());
  EXPECT_EQ(r->as_of().month(), 5);
}

TEST_F(ResolutionsHandlerTest, RefusedCommandsWriteNothing) {
  const std::string meeting = Schedule();
  const std::string res = Adopt(meeting);
  const uint64_t head = store_->HeadPosition();

  auto bad = Adoption(meeting);
  bad.mutable_terms()->set_pillar(9);
  EXPECT_THAT(h_.AdoptResolution(bad, ""),
              StatusIs(Code::kInvalidArgument, HasSubstr("terms.pillar")));
  bad = Adoption(meeting);
  bad.mutable_terms()->set_lead_organisation_id(
      "00000000-0000-4000-8000-000000000000");
  EXPECT_THAT(h_.AdoptResolution(bad, ""),
              StatusIs(Code::kNotFound, HasSubstr("terms.lead_organisation_id")));
  bad = Adoption("00000000-0000-4000-8000-000000000000");
  EXPECT_THAT(h_.AdoptResolution(bad, ""),
              StatusIs(Code::kNotFound, HasSubstr("meeting_id")));

  pb::ResolutionChangeRequest c;
  c.set_resolution_id(res);
  EXPECT_THAT(h_.UnblockResolution(c, ""),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr("is ADOPTED; it cannot be unblocked")));
  c.set_resolution_id("00000000-0000-4000-8000-000000000000");
  EXPECT_THAT(h_.StartImplementation(c, ""), StatusIs(Code::kNotFound));
  c.set_resolution_id("not-an-id");
  EXPECT_THAT(h_.StartImplementation(c, ""),
              StatusIs(Code::kInvalidArgument, HasSubstr("resolution_id")));

  pb::ReportProgressRequest p;
  p.set_resolution_id(res);
  p.set_reporting_organisation_id(iom_);  // neither lead nor supporting
  p.set_percent_complete(10);
  p.set_narrative("x");
  EXPECT_THAT(h_.ReportProgress(p, ""),
              StatusIs(Code::kFailedPrecondition, HasSubstr("neither the lead")));
  SetDay(p.mutable_options(), absl::CivilDay(2021, 7, 1));
  EXPECT_THAT(h_.ReportProgress(p, ""),
              StatusIs(Code::kInvalidArgument, HasSubstr("in the future")));
  EXPECT_EQ(store_->HeadPosition(), head);
}

TEST_F(ResolutionsHandlerTest, WithdrawnOrganisationsCannotLeadOrAttend) {
  spb::MembershipChangeRequest w;
  w.set_organisation_id(iom_);
  w.set_reason("left the mechanism");
  ASSERT_THAT(stakeholders_.WithdrawMembership(w, ""), IsOk());
  const std::string meeting = Schedule();
  auto r = Adoption(meeting);
  r.mutable_terms()->add_supporting_organisation_ids(iom_);
  EXPECT_THAT(h_.AdoptResolution(r, ""),
              StatusIs(Code::kFailedPrecondition, HasSubstr("WITHDRAWN")));
  pb::RecordAttendanceRequest a;
  a.set_meeting_id(meeting);
  a.set_organisation_id(iom_);
  EXPECT_THAT(h_.RecordAttendance(a, ""),
              StatusIs(Code::kFailedPrecondition, HasSubstr("WITHDRAWN")));
  a.set_organisation_id(nis_);
  a.set_person_id("00000000-0000-4000-8000-000000000000");
  EXPECT_THAT(h_.RecordAttendance(a, ""),
              StatusIs(Code::kNotFound, HasSubstr("no such person")));
  a.clear_person_id();
  ASSERT_THAT(h_.RecordAttendance(a, ""), IsOk());
  pb::ReassignLeadRequest ra;
  ra.set_resolution_id(Adopt(meeting));
  ra.set_lead_organisation_id(iom_);
  EXPECT_THAT(h_.ReassignLead(ra, ""),
              StatusIs(Code::kFailedPrecondition, HasSubstr("WITHDRAWN")));
}

TEST_F(ResolutionsHandlerTest, FullLifecycleReadBack) {
  const std::string res = Adopt(Schedule());
  pb::ReportProgressRequest p;
  p.set_resolution_id(res);
  p.set_reporting_organisation_id(knbs_);
  p.set_percent_complete(50);
  p.set_narrative("Joint technical team formed");
  p.add_evidence_references("KNBS/NIS/2021/07");
  SetDay(p.mutable_options(), absl::CivilDay(2021, 4, 15));
  ASSERT_THAT(h_.ReportProgress(p, "knbs-system"), IsOk());

  pb::MarkImplementedRequest mi;
  mi.set_resolution_id(res);
  SetDay(mi.mutable_options(), absl::CivilDay(2021, 5, 20));
  EXPECT_THAT(h_.MarkImplemented(mi, ""),
              StatusIs(Code::kInvalidArgument, HasSubstr("evidence")));
  mi.add_evidence_references("Harmonised tables, Economic Survey 2021");
  ASSERT_THAT(h_.MarkImplemented(mi, ""), IsOk());

  pb::VerifyImplementationRequest v;
  v.set_resolution_id(res);
  v.set_verified_by_organisation_id(iom_);
  v.set_note("Tables checked against source data");
  ASSERT_THAT(h_.VerifyImplementation(v, ""), IsOk());

  pb::GetResolutionRequest g;
  g.set_resolution_id(res);
  auto r = h_.GetResolution(g);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status(), pb::VERIFIED);
  EXPECT_EQ(r->percent_complete(), 100);
  EXPECT_FALSE(r->overdue());
  ASSERT_EQ(r->progress_reports_size(), 1);
  EXPECT_EQ(r->progress_reports(0).occurred_on().day(), 15);
  EXPECT_GT(r->progress_reports(0).recorded_at().seconds(), 0);
  ASSERT_EQ(r->history_size(), 4);  // adopted, in progress, implemented, verified
  EXPECT_EQ(r->history(1).status(), pb::IN_PROGRESS);
  EXPECT_EQ(r->history(1).occurred_on().day(), 15);
  EXPECT_THAT(r->evidence_references(),
              ElementsAre("Harmonised tables, Economic Survey 2021"));
  EXPECT_EQ(r->revision(), 4u);
}

TEST_F(ResolutionsHandlerTest, RetriedCommandIdReturnsTheFirstResult) {
  const std::string meeting = Schedule();
  auto a = Adoption(meeting);
  a.mutable_options()->set_command_id("adopt-qsm-2021-1-04");
  auto first = h_.AdoptResolution(a, "");
  ASSERT_THAT(first, IsOk());
  const uint64_t head = store_->HeadPosition();
  auto again = h_.AdoptResolution(a, "");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->aggregate_id, first->aggregate_id);
  EXPECT_EQ(again->position, first->position);
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(store_->HeadPosition(), head);

  pb::ReportProgressRequest p;
  p.set_resolution_id(first->aggregate_id);
  p.set_reporting_organisation_id(nis_);
  p.set_percent_complete(20);
  p.set_narrative("Started");
  p.mutable_options()->set_command_id("nis-report-1");
  auto r1 = h_.ReportProgress(p, "");
  ASSERT_THAT(r1, IsOk());
  auto r2 = h_.ReportProgress(p, "");
  ASSERT_THAT(r2, IsOk());
  EXPECT_TRUE(r2->replayed);
  EXPECT_EQ(r2->revision, r1->revision);
  pb::GetResolutionRequest g;
  g.set_resolution_id(first->aggregate_id);
  EXPECT_EQ(h_.GetResolution(g)->progress_reports_size(), 1);
  pb::GetMeetingRequest gm;
  gm.set_meeting_id(meeting);
  EXPECT_EQ(h_.GetMeeting(gm)->resolution_ids_size(), 1);
}

TEST_F(ResolutionsHandlerTest, ConcurrentReportsOnOneResolutionAllLand) {
  const std::string res = Adopt(Schedule());
  constexpr int kThreads = 8;
  constexpr int kEach = 5;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        pb::ReportProgressRequest p;
        p.set_resolution_id(res);
        p.set_reporting_organisation_id(t % 2 ? nis_ : knbs_);
        p.set_percent_complete(t * 10 + i);
        p.set_narrative(absl::StrCat("report ", t, "/", i));
        p.mutable_options()->set_command_id(absl::StrCat("r-", t, "-", i));
        if (h_.ReportProgress(p, "").ok()) ok.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  pb::GetResolutionRequest g;
  g.set_resolution_id(res);
  auto r = h_.GetResolution(g);
  ASSERT_THAT(r, IsOk());
  // Conflicts are retried; with 8 writers an ABORTED after 5 attempts is
  // possible but then nothing is written for that command.
  EXPECT_EQ(r->progress_reports_size(), ok.load());
  EXPECT_GE(ok.load(), kThreads * kEach / 2);
  EXPECT_EQ(r->status(), pb::IN_PROGRESS);
}

TEST_F(ResolutionsHandlerTest, AdoptionRacingACancellationNeverLeavesAnOrphan) {
  // Either the meeting is cancelled and the resolution refused, or the
  // resolution is adopted and the cancellation refused.
  for (int round = 0; round < 20; ++round) {
    const std::string meeting = Schedule();
    absl::Status adopt, cancel;
    std::thread a([&] { adopt = h_.AdoptResolution(Adoption(meeting), "").status(); });
    std::thread c([&] {
      pb::CancelMeetingRequest r;
      r.set_meeting_id(meeting);
      r.set_reason("venue unavailable");
      cancel = h_.CancelMeeting(r, "").status();
    });
    a.join();
    c.join();
    EXPECT_NE(adopt.ok(), cancel.ok()) << adopt << " / " << cancel;
    pb::GetMeetingRequest g;
    g.set_meeting_id(meeting);
    auto m = h_.GetMeeting(g);
    ASSERT_THAT(m, IsOk());
    EXPECT_EQ(m->status() == pb::CANCELLED, m->resolution_ids().empty());
  }
}

TEST_F(ResolutionsHandlerTest, AdoptionNeverLandsAfterItsOrganisationWithdrew) {
  // The adoption's append depends on the organisations it read: a
  // withdrawal landing in between makes it retry, and then refuse.
  for (int round = 0; round < 30; ++round) {
    const std::string org = Register(absl::StrCat("ORG", round));
    const std::string meeting = Schedule();
    pb::AdoptResolutionRequest a = Adoption(meeting);
    a.mutable_terms()->add_supporting_organisation_ids(org);
    absl::StatusOr<services::Outcome> adopted, withdrawn;
    std::thread t1([&] { adopted = h_.AdoptResolution(a, ""); });
    std::thread t2([&] {
      spb::MembershipChangeRequest w;
      w.set_organisation_id(org);
      w.set_reason("dissolved");
      SetDay(w.mutable_options(), absl::CivilDay(2021, 3, 18));
      withdrawn = stakeholders_.WithdrawMembership(w, "");
    });
    t1.join();
    t2.join();
    ASSERT_THAT(withdrawn, IsOk());
    if (adopted.ok()) {
      EXPECT_LT(adopted->position, withdrawn->position) << "round " << round;
    } else {
      EXPECT_THAT(adopted, StatusIs(Code::kFailedPrecondition,
                                    HasSubstr("WITHDRAWN")));
    }
  }
}

TEST(ResolutionsRocksDbTest, StateSurvivesReopen) {
  ncm::testing::TempDir dir;
  std::string res, meeting;
  auto open = [&] {
    eventstore::RocksDbOptions o;
    o.path = dir.Sub("db");
    auto s = eventstore::OpenRocksDbEventStore(o);
    EXPECT_THAT(s, IsOk());
    return std::move(*s);
  };
  {
    auto store = open();
    stakeholders::StakeholdersHandler sh(store.get(), &CountyList::Kenya(),
                                         FixedClock());
    ResolutionsHandler h(store.get(), &sh, &CountyList::Kenya(), FixedClock());
    spb::RegisterOrganisationRequest reg;
    reg.mutable_profile()->set_name("Directorate of Immigration Services");
    reg.mutable_profile()->set_acronym("DIS");
    reg.mutable_profile()->set_kind(spb::DEPARTMENT_OR_AGENCY);
    reg.mutable_profile()->set_level(spb::NATIONAL);
    reg.set_role(spb::MEMBER);
    SetDay(reg.mutable_options(), absl::CivilDay(2020, 1, 1));
    auto org = sh.RegisterOrganisation(reg, "");
    ASSERT_THAT(org, IsOk());
    pb::ScheduleMeetingRequest s;
    s.mutable_details()->set_kind(pb::WORKSHOP);
    s.mutable_details()->set_title("Validation workshop");
    *s.mutable_details()->mutable_date() =
        services::ToProto(absl::CivilDay(2021, 2, 10));
    auto m = h.ScheduleMeeting(s, "");
    ASSERT_THAT(m, IsOk());
    meeting = m->aggregate_id;
    pb::AdoptResolutionRequest a;
    a.set_meeting_id(meeting);
    a.mutable_terms()->set_text("Validate the action plan");
    a.mutable_terms()->set_lead_organisation_id(org->aggregate_id);
    *a.mutable_terms()->mutable_due_date() =
        services::ToProto(absl::CivilDay(2021, 12, 31));
    a.mutable_terms()->set_strategic_priority(2);
    a.mutable_terms()->set_pillar(1);
    auto r = h.AdoptResolution(a, "");
    ASSERT_THAT(r, IsOk());
    res = r->aggregate_id;
    pb::ResolutionChangeRequest b;
    b.set_resolution_id(res);
    b.set_reason("awaiting budget");
    ASSERT_THAT(h.BlockResolution(b, ""), IsOk());
  }
  auto store = open();
  stakeholders::StakeholdersHandler sh(store.get(), &CountyList::Kenya(),
                                       FixedClock());
  ResolutionsHandler h(store.get(), &sh, &CountyList::Kenya(), FixedClock());
  pb::GetResolutionRequest g;
  g.set_resolution_id(res);
  auto r = h.GetResolution(g);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status(), pb::BLOCKED);
  EXPECT_EQ(r->history(1).reason(), "awaiting budget");
  auto v = store->VerifyChain(1, 0);
  ASSERT_THAT(v, IsOk());
  EXPECT_TRUE(v->ok);
}

}  // namespace
}  // namespace ncm::resolutions
