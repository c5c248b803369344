// The resolutions read model against a plain fold of the same events, on a
// generated history: every record equal to GetResolution's, as-of answers
// at several dates, filters, pagination while writes go on, read-your-
// writes through min_position, and a rebuild equal to the incremental one.
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "ncm/eventstore/rocksdb_event_store.h"
#include "ncm/resolutions/handler.h"
#include "ncm/resolutions/read_model.h"
#include "ncm/resolutions/view.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace ncm::resolutions {
namespace {

using ::ncm::testing::IsOk;
using ::ncm::testing::StatusIs;
using ::testing::HasSubstr;
using Code = absl::StatusCode;
namespace spb = ::ncm::stakeholders::v1;
using google::protobuf::util::MessageDifferencer;

services::Clock FixedClock() {
  services::Clock c;
  c.now = [] {
    return absl::FromCivil(absl::CivilDay(2023, 6, 30), absl::UTCTimeZone());
  };
  return c;
}

ncm::common::v1::Date D(absl::CivilDay d) { return services::ToProto(d); }

class ResolutionsReadModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    eventstore::RocksDbOptions o;
    o.path = dir_.Sub("log");
    auto s = eventstore::OpenRocksDbEventStore(o);
    ASSERT_THAT(s, IsOk());
    store_ = std::move(*s);
    stakeholders_ = std::make_unique<stakeholders::StakeholdersHandler>(
        store_.get(), &CountyList::Kenya(), FixedClock());
    h_ = std::make_unique<ResolutionsHandler>(
        store_.get(), stakeholders_.get(), &CountyList::Kenya(), FixedClock());
    std::vector<std::unique_ptr<readside::Projection>> ps;
    ps.push_back(NewResolutionsProjection());
    readside::ReadSideOptions ro;
    ro.path = dir_.Sub("models");
    ro.page_events = 64;
    auto rs = readside::OpenReadSide(store_.get(), std::move(ps), ro);
    ASSERT_THAT(rs, IsOk());
    read_side_ = std::move(*rs);
    ASSERT_THAT(read_side_->Start(), IsOk());
    h_->SetReadSide(read_side_.get(), absl::Seconds(10));
    for (const char* a : {"NIS", "KNBS", "IOM", "GIZ"}) {
      spb::RegisterOrganisationRequest r;
      r.mutable_profile()->set_name(a);
      r.mutable_profile()->set_acronym(a);
      r.mutable_profile()->set_kind(spb::DEPARTMENT_OR_AGENCY);
      r.mutable_profile()->set_level(spb::NATIONAL);
      r.set_role(spb::MEMBER);
      *r.mutable_options()->mutable_occurred_on() = D(absl::CivilDay(2020, 1, 1));
      auto o = stakeholders_->RegisterOrganisation(r, "");
      ASSERT_THAT(o, IsOk());
      orgs_.push_back(o->aggregate_id);
    }
  }
  void TearDown() override { read_side_->Stop(); }

  std::string Meeting(absl::CivilDay day) {
    pb::ScheduleMeetingRequest s;
    s.mutable_details()->set_kind(pb::QUARTERLY_STAKEHOLDER_MEETING);
    s.mutable_details()->set_title(absl::StrCat("QSM ", services::FormatDay(day)));
    *s.mutable_details()->mutable_date() = D(day);
    *s.mutable_options()->mutable_occurred_on() = D(day);
    auto m = h_->ScheduleMeeting(s, "secretariat");
    EXPECT_THAT(m, IsOk());
    return m->aggregate_id;
  }

  // A resolution adopted on `day`, then moved through a random walk of
  // legal transitions, one every ~20 days.
  std::string Generate(std::mt19937* rng, const std::string& meeting,
                       absl::CivilDay day, int n) {
    pb::AdoptResolutionRequest a;
    a.set_meeting_id(meeting);
    *a.mutable_options()->mutable_occurred_on() = D(day);
    auto* t = a.mutable_terms();
    t->set_text(absl::StrCat("Resolution ", n));
    t->set_lead_organisation_id(orgs_[n % 4]);
    t->add_supporting_organisation_ids(orgs_[(n + 1) % 4]);
    *t->mutable_due_date() = D(day + 30 + static_cast<int>((*rng)() % 200));
    t->set_strategic_priority(1 + n % 6);
    t->set_pillar(1 + n % 4);
    t->add_gcm_objectives(1 + n % 23);
    auto o = h_->AdoptResolution(a, "secretariat");
    EXPECT_THAT(o, IsOk());
    const std::string id = o->aggregate_id;
    const int steps = (*rng)() % 6;
    for (int i = 0; i < steps; ++i) {
      day += 1 + static_cast<int>((*rng)() % 40);
      if (day > absl::CivilDay(2023, 6, 30)) break;
      pb::ResolutionChangeRequest c;
      c.set_resolution_id(id);
      c.set_reason("step");
      *c.mutable_options()->mutable_occurred_on() = D(day);
      pb::ReportProgressRequest p;
      p.set_resolution_id(id);
      p.set_reporting_organisation_id(orgs_[n % 4]);
      p.set_percent_complete(static_cast<int>((*rng)() % 101));
      p.set_narrative("work");
      *p.mutable_options()->mutable_occurred_on() = D(day);
      pb::MarkImplementedRequest mi;
      mi.set_resolution_id(id);
      mi.add_evidence_references("E");
      *mi.mutable_options()->mutable_occurred_on() = D(day);
      pb::DeferResolutionRequest df;
      df.set_resolution_id(id);
      df.set_reason("later");
      *df.mutable_new_due_date() = D(day + 400);
      *df.mutable_options()->mutable_occurred_on() = D(day);
      // Try transitions in a random order; the first legal one wins.
      for (int k = 0, pick = (*rng)() % 7; k < 7; ++k, pick = (pick + 1) % 7) {
        absl::Status s;
        switch (pick) {
          case 0: s = h_->StartImplementation(c, "").status(); break;
          case 1: s = h_->ReportProgress(p, "partner").status(); break;
          case 2: s = h_->MarkImplemented(mi, "").status(); break;
          case 3: s = h_->DeferResolution(df, "").status(); break;
          case 4: s = h_->BlockResolution(c, "").status(); break;
          case 5: s = h_->UnblockResolution(c, "").status(); break;
          case 6: s = h_->ResumeImplementation(c, "").status(); break;
        }
        if (s.ok()) break;
      }
    }
    return id;
  }

  // An adoption at `meeting` on `day`, led by orgs_[0], due `due`.
  pb::AdoptResolutionRequest Adoption(const std::string& meeting,
                                      absl::CivilDay day, absl::CivilDay due,
                                      const std::string& text) {
    pb::AdoptResolutionRequest a;
    a.set_meeting_id(meeting);
    *a.mutable_options()->mutable_occurred_on() = D(day);
    a.mutable_terms()->set_text(text);
    a.mutable_terms()->set_lead_organisation_id(orgs_[0]);
    *a.mutable_terms()->mutable_due_date() = D(due);
    a.mutable_terms()->set_strategic_priority(1);
    a.mutable_terms()->set_pillar(1);
    return a;
  }

  std::vector<pb::Resolution> ListAll(pb::ListResolutionsRequest r) {
    r.set_min_position(store_->HeadPosition());
    std::vector<pb::Resolution> out;
    for (;;) {
      auto page = h_->ListResolutions(r);
      EXPECT_THAT(page, IsOk());
      if (!page.ok()) return out;
      for (auto& v : *page->mutable_resolutions()) out.push_back(std::move(v));
      if (page->next_page_token().empty()) return out;
      r.set_page_token(page->next_page_token());
    }
  }

  ncm::testing::TempDir dir_;
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<stakeholders::StakeholdersHandler> stakeholders_;
  std::unique_ptr<ResolutionsHandler> h_;
  std::unique_ptr<readside::ReadSide> read_side_;
  std::vector<std::string> orgs_;
};

TEST_F(ResolutionsReadModelTest, EqualsAPlainFoldAtEveryDate) {
  std::mt19937 rng(20210318);
  std::vector<std::string> ids;
  for (int q = 0; q < 6; ++q) {
    const absl::CivilDay day = absl::CivilDay(2021, 1, 20) + 90 * q;
    const std::string meeting = Meeting(day);
    for (int i = 0; i < 25; ++i) ids.push_back(Generate(&rng, meeting, day, q * 25 + i));
  }
  pb::ListResolutionsRequest all;
  all.set_page_size(17);
  std::vector<pb::Resolution> listed = ListAll(all);
  ASSERT_EQ(listed.size(), ids.size());
  for (const pb::Resolution& v : listed) {
    pb::GetResolutionRequest g;
    g.set_resolution_id(v.resolution_id());
    auto folded = h_->GetResolution(g);
    ASSERT_THAT(folded, IsOk());
    pb::Resolution expected = AsOfView(*folded, absl::CivilDay(2023, 6, 30));
    EXPECT_TRUE(MessageDifferencer::Equals(v, expected))
        << v.DebugString() << "\nvs\n" << expected.DebugString();
  }
  // As of past dates: the status from the kept history equals a fold of
  // the events that happened by then.
  for (absl::CivilDay day : {absl::CivilDay(2021, 3, 1), absl::CivilDay(2021, 9, 30),
                             absl::CivilDay(2022, 6, 30)}) {
    all.clear_page_token();
    *all.mutable_as_of() = D(day);
    std::vector<pb::Resolution> then = ListAll(all);
    size_t adopted_by_then = 0;
    for (const std::string& id : ids) {
      auto events = services::ReadWholeStream(store_.get(), ResolutionStream(id));
      ASSERT_THAT(events, IsOk());
      ResolutionState s;
      for (const auto& e : *events) {
        if (services::TimeToDay(e.occurred_at) > day) break;
        pb::ResolutionEvent w;
        ASSERT_THAT(services::DecodeEvent(e, &w), IsOk());
        Apply(w, services::EventMeta{e.revision, e.position,
                                     services::TimeToDay(e.occurred_at),
                                     e.recorded_at, e.actor, e.command_id},
              &s);
      }
      if (!s.exists) continue;
      ++adopted_by_then;
      auto it = std::find_if(then.begin(), then.end(), [&](const auto& v) {
        return v.resolution_id() == id;
      });
      ASSERT_NE(it, then.end());
      EXPECT_EQ(it->status(), s.status) << services::FormatDay(day);
      EXPECT_EQ(it->overdue(), s.Overdue(day));
      EXPECT_EQ(it->terms().due_date().SerializeAsString(),
                services::ToProto(s.DueDate()).SerializeAsString());
    }
    EXPECT_EQ(then.size(), adopted_by_then);
  }
}

TEST_F(ResolutionsReadModelTest, FiltersOrdersAndBadRequests) {
  std::mt19937 rng(7);
  const std::string m1 = Meeting(absl::CivilDay(2022, 3, 1));
  const std::string m2 = Meeting(absl::CivilDay(2022, 6, 1));
  for (int i = 0; i < 20; ++i) {
    Generate(&rng, i < 12 ? m1 : m2,
             i < 12 ? absl::CivilDay(2022, 3, 1) : absl::CivilDay(2022, 6, 1), i);
  }
  pb::ListResolutionsRequest r;
  r.set_meeting_id(m2);
  EXPECT_EQ(ListAll(r).size(), 8u);
  r.Clear();
  r.set_organisation_id(orgs_[0]);
  r.set_lead_only(true);
  for (const auto& v : ListAll(r)) {
    EXPECT_EQ(v.terms().lead_organisation_id(), orgs_[0]);
  }
  r.set_lead_only(false);
  EXPECT_EQ(ListAll(r).size(), 10u);  // lead of 5, supporting 5
  r.Clear();
  r.set_strategic_priority(2);
  r.set_pillar(2);
  for (const auto& v : ListAll(r)) {
    EXPECT_EQ(v.terms().strategic_priority(), 2);
  }
  r.Clear();
  r.set_overdue_only(true);
  for (const auto& v : ListAll(r)) EXPECT_TRUE(v.overdue());
  r.Clear();
  r.set_order_by(pb::ListResolutionsRequest::BY_DUE_DATE);
  auto by_due = ListAll(r);
  ASSERT_EQ(by_due.size(), 20u);
  for (size_t i = 1; i < by_due.size(); ++i) {
    // Ordered by the current due date (the index), then by id.
    pb::GetResolutionRequest a, b;
    a.set_resolution_id(by_due[i - 1].resolution_id());
    b.set_resolution_id(by_due[i].resolution_id());
    auto da = h_->GetResolution(a)->terms().due_date();
    auto db = h_->GetResolution(b)->terms().due_date();
    EXPECT_LE(std::make_tuple(da.year(), da.month(), da.day()),
              std::make_tuple(db.year(), db.month(), db.day()));
  }
  r.Clear();
  r.set_page_token("garbage!");
  EXPECT_THAT(h_->ListResolutions(r),
              StatusIs(Code::kInvalidArgument, HasSubstr("page_token")));
  r.Clear();
  r.set_page_size(5000);
  EXPECT_THAT(h_->ListResolutions(r),
              StatusIs(Code::kInvalidArgument, HasSubstr("page_size")));
  r.Clear();
  r.set_organisation_id("IOM");
  EXPECT_THAT(h_->ListResolutions(r),
              StatusIs(Code::kInvalidArgument, HasSubstr("organisation_id")));
  r.Clear();
  r.set_min_position(store_->HeadPosition() + 10);
  EXPECT_THAT(h_->ListResolutions(r), StatusIs(Code::kOutOfRange));
}

TEST_F(ResolutionsReadModelTest, ReadYourWritesAndStablePagesUnderWrites) {
  std::mt19937 rng(11);
  const std::string m = Meeting(absl::CivilDay(2022, 1, 10));
  std::set<std::string> initial;
  for (int i = 0; i < 60; ++i) {
    initial.insert(Generate(&rng, m, absl::CivilDay(2022, 1, 10), i));
  }
  // A write, then a read carrying its position, sees it.
  pb::ResolutionChangeRequest block;
  block.set_resolution_id(*initial.begin());
  block.set_reason("waiting for funds");
  auto w = h_->BlockResolution(block, "");
  pb::ListResolutionsRequest r;
  r.add_statuses(pb::BLOCKED);
  if (w.ok()) {
    r.set_min_position(w->position);
    auto page = h_->ListResolutions(r);
    ASSERT_THAT(page, IsOk());
    EXPECT_GE(page->position(), w->position);
    bool seen = false;
    for (const auto& v : page->resolutions()) {
      seen |= v.resolution_id() == *initial.begin();
    }
    EXPECT_TRUE(seen);
  }
  // Pages while another thread adopts more: every resolution that existed
  // before is listed exactly once.
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    std::mt19937 wrng(12);
    for (int i = 100; !stop.load() && i < 160; ++i) {
      Generate(&wrng, m, absl::CivilDay(2022, 1, 10), i);
    }
  });
  pb::ListResolutionsRequest all;
  all.set_page_size(7);
  std::vector<std::string> seen;
  for (;;) {
    auto page = h_->ListResolutions(all);
    ASSERT_THAT(page, IsOk());
    for (const auto& v : page->resolutions()) seen.push_back(v.resolution_id());
    if (page->next_page_token().empty()) break;
    all.set_page_token(page->next_page_token());
  }
  stop = true;
  writer.join();
  std::set<std::string> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), seen.size()) << "a resolution was listed twice";
  for (const std::string& id : initial) EXPECT_TRUE(unique.count(id)) << id;
}

TEST_F(ResolutionsReadModelTest, RebuildEqualsIncremental) {
  std::mt19937 rng(3);
  const std::string m = Meeting(absl::CivilDay(2022, 2, 1));
  for (int i = 0; i < 40; ++i) Generate(&rng, m, absl::CivilDay(2022, 2, 1), i);
  pb::ListResolutionsRequest all;
  all.set_page_size(1000);
  auto before = ListAll(all);
  ASSERT_THAT(read_side_->Rebuild(kResolutionsModel, absl::Seconds(20)), IsOk());
  auto after = ListAll(all);
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(before[i], after[i]));
  }
}

TEST_F(ResolutionsReadModelTest, ImplementationReportAsWorkedOutByHand) {
  const std::string m = Meeting(absl::CivilDay(2022, 3, 1));
  auto adopt = [&](int lead, int sp, absl::CivilDay due) {
    pb::AdoptResolutionRequest a;
    a.set_meeting_id(m);
    *a.mutable_options()->mutable_occurred_on() = D(absl::CivilDay(2022, 3, 1));
    a.mutable_terms()->set_text("r");
    a.mutable_terms()->set_lead_organisation_id(orgs_[lead]);
    *a.mutable_terms()->mutable_due_date() = D(due);
    a.mutable_terms()->set_strategic_priority(sp);
    a.mutable_terms()->set_pillar(1);
    auto o = h_->AdoptResolution(a, "");
    EXPECT_THAT(o, IsOk());
    return o->aggregate_id;
  };
  auto change = [&](auto method, const std::string& id, absl::CivilDay on) {
    pb::ResolutionChangeRequest c;
    c.set_resolution_id(id);
    c.set_reason("x");
    *c.mutable_options()->mutable_occurred_on() = D(on);
    EXPECT_THAT((h_.get()->*method)(c, ""), IsOk());
  };
  const std::string r1 = adopt(0, 1, absl::CivilDay(2022, 6, 30));
  change(&ResolutionsHandler::StartImplementation, r1, absl::CivilDay(2022, 4, 1));
  pb::MarkImplementedRequest mi;
  mi.set_resolution_id(r1);
  mi.add_evidence_references("E");
  *mi.mutable_options()->mutable_occurred_on() = D(absl::CivilDay(2022, 5, 1));
  ASSERT_THAT(h_->MarkImplemented(mi, ""), IsOk());
  adopt(0, 1, absl::CivilDay(2022, 9, 30));  // open: 92 days overdue
  const std::string r3 = adopt(1, 2, absl::CivilDay(2022, 11, 30));
  change(&ResolutionsHandler::BlockResolution, r3, absl::CivilDay(2022, 6, 1));
  const std::string r4 = adopt(1, 2, absl::CivilDay(2023, 3, 31));
  change(&ResolutionsHandler::RescindResolution, r4, absl::CivilDay(2022, 7, 1));

  pb::ImplementationReportRequest r;
  *r.mutable_as_of() = D(absl::CivilDay(2022, 12, 31));
  r.set_min_position(store_->HeadPosition());
  auto rep = h_->ImplementationReport(r);
  ASSERT_THAT(rep, IsOk());
  ASSERT_EQ(rep->groups_size(), 2);
  for (const auto& g : rep->groups()) {
    EXPECT_EQ(g.resolutions(), 2);
    if (g.key() == orgs_[0]) {
      EXPECT_EQ(g.implemented(), 1);
      EXPECT_EQ(g.implemented_basis_points(), 5000);
      EXPECT_EQ(g.overdue(), 1);
      EXPECT_EQ(g.mean_days_overdue_centi(), 9200);
    } else {
      EXPECT_EQ(g.key(), orgs_[1]);
      EXPECT_EQ(g.implemented_basis_points(), 0);  // the rescinded one aside
      EXPECT_EQ(g.overdue(), 1);
      EXPECT_EQ(g.mean_days_overdue_centi(), 3100);
    }
  }
  EXPECT_EQ(rep->total().resolutions(), 4);
  EXPECT_EQ(rep->total().implemented_basis_points(), 3333);
  EXPECT_EQ(rep->total().mean_days_overdue_centi(), 6150);
  EXPECT_GE(rep->position(), store_->HeadPosition());

  r.set_group_by(pb::ImplementationReportRequest::STRATEGIC_PRIORITY);
  *r.mutable_as_of() = D(absl::CivilDay(2022, 3, 15));
  rep = h_->ImplementationReport(r);
  ASSERT_THAT(rep, IsOk());
  ASSERT_EQ(rep->groups_size(), 2);
  EXPECT_EQ(rep->groups(0).key(), "SP1");
  EXPECT_EQ(rep->total().overdue(), 0);
  ASSERT_EQ(rep->total().by_status_size(), 1);
  EXPECT_EQ(rep->total().by_status(0).status(), pb::ADOPTED);
  EXPECT_EQ(rep->total().by_status(0).count(), 4);
  r.set_group_by(pb::ImplementationReportRequest::ADOPTION_QUARTER);
  rep = h_->ImplementationReport(r);
  ASSERT_THAT(rep, IsOk());
  ASSERT_EQ(rep->groups_size(), 1);
  EXPECT_EQ(rep->groups(0).key(), "2022-Q1");
}

TEST_F(ResolutionsReadModelTest, ABackDatedReportCannotStartImplementationOutOfOrder) {
  const std::string m = Meeting(absl::CivilDay(2023, 1, 10));
  pb::AdoptResolutionRequest a =
      Adoption(m, absl::CivilDay(2023, 1, 10), absl::CivilDay(2023, 12, 31),
               "Share border data");
  auto adopted = h_->AdoptResolution(a, "");
  ASSERT_THAT(adopted, IsOk());
  const std::string id = adopted->aggregate_id;
  pb::ResolutionChangeRequest c;
  c.set_resolution_id(id);
  c.set_reason("funds");
  *c.mutable_options()->mutable_occurred_on() = D(absl::CivilDay(2023, 3, 1));
  ASSERT_THAT(h_->BlockResolution(c, ""), IsOk());
  *c.mutable_options()->mutable_occurred_on() = D(absl::CivilDay(2023, 4, 1));
  ASSERT_THAT(h_->UnblockResolution(c, ""), IsOk());
  const uint64_t head = store_->HeadPosition();
  pb::ReportProgressRequest p;
  p.set_resolution_id(id);
  p.set_reporting_organisation_id(orgs_[0]);
  p.set_percent_complete(30);
  p.set_narrative("under way");
  *p.mutable_options()->mutable_occurred_on() = D(absl::CivilDay(2023, 2, 1));
  EXPECT_THAT(h_->ReportProgress(p, ""),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("last status change (2023-04-01)")));
  pb::MarkImplementedRequest mi;
  mi.set_resolution_id(id);
  mi.add_evidence_references("E");
  *mi.mutable_options()->mutable_occurred_on() = D(absl::CivilDay(2023, 2, 15));
  EXPECT_THAT(h_->MarkImplemented(mi, ""), StatusIs(Code::kFailedPrecondition));
  EXPECT_EQ(store_->HeadPosition(), head);
  // Dated after the last change, the report starts implementation.
  *p.mutable_options()->mutable_occurred_on() = D(absl::CivilDay(2023, 4, 2));
  ASSERT_THAT(h_->ReportProgress(p, ""), IsOk());
}

TEST_F(ResolutionsReadModelTest, ShowAndListAnswerAsTheResolutionStoodOnTheDay) {
  const std::string m = Meeting(absl::CivilDay(2023, 1, 10));
  pb::AdoptResolutionRequest a =
      Adoption(m, absl::CivilDay(2023, 1, 10), absl::CivilDay(2023, 3, 31),
               "Harmonise data");
  a.mutable_terms()->add_supporting_organisation_ids(orgs_[1]);
  auto adopted = h_->AdoptResolution(a, "");
  ASSERT_THAT(adopted, IsOk());
  const std::string id = adopted->aggregate_id;
  // A second one, due between the first's two due dates.
  *a.mutable_terms()->mutable_due_date() = D(absl::CivilDay(2023, 5, 1));
  a.mutable_terms()->set_lead_organisation_id(orgs_[2]);
  a.mutable_terms()->clear_supporting_organisation_ids();
  auto other = h_->AdoptResolution(a, "");
  ASSERT_THAT(other, IsOk());

  pb::ReportProgressRequest p;
  p.set_resolution_id(id);
  p.set_reporting_organisation_id(orgs_[0]);
  p.set_percent_complete(40);
  p.set_narrative("drafting");
  *p.mutable_options()->mutable_occurred_on() = D(absl::CivilDay(2023, 2, 1));
  ASSERT_THAT(h_->ReportProgress(p, ""), IsOk());
  pb::ReassignLeadRequest lead;
  lead.set_resolution_id(id);
  lead.set_lead_organisation_id(orgs_[3]);
  *lead.mutable_options()->mutable_occurred_on() = D(absl::CivilDay(2023, 3, 1));
  ASSERT_THAT(h_->ReassignLead(lead, ""), IsOk());
  pb::DeferResolutionRequest df;
  df.set_resolution_id(id);
  df.set_reason("census");
  *df.mutable_new_due_date() = D(absl::CivilDay(2023, 9, 30));
  *df.mutable_options()->mutable_occurred_on() = D(absl::CivilDay(2023, 3, 15));
  ASSERT_THAT(h_->DeferResolution(df, ""), IsOk());
  pb::ResolutionChangeRequest resume;
  resume.set_resolution_id(id);
  *resume.mutable_options()->mutable_occurred_on() = D(absl::CivilDay(2023, 4, 1));
  ASSERT_THAT(h_->ResumeImplementation(resume, ""), IsOk());
  // A lead change dated before the last one is refused.
  lead.set_lead_organisation_id(orgs_[2]);
  *lead.mutable_options()->mutable_occurred_on() = D(absl::CivilDay(2023, 2, 20));
  EXPECT_THAT(h_->ReassignLead(lead, ""),
              StatusIs(Code::kInvalidArgument, HasSubstr("last change of lead")));
  pb::MarkImplementedRequest mi;
  mi.set_resolution_id(id);
  mi.add_evidence_references("E");
  *mi.mutable_options()->mutable_occurred_on() = D(absl::CivilDay(2023, 6, 1));
  ASSERT_THAT(h_->MarkImplemented(mi, ""), IsOk());

  pb::GetResolutionRequest g;
  g.set_resolution_id(id);
  *g.mutable_as_of() = D(absl::CivilDay(2023, 2, 15));
  auto then = h_->GetResolution(g);
  ASSERT_THAT(then, IsOk());
  EXPECT_EQ(then->status(), pb::IN_PROGRESS);
  EXPECT_EQ(then->percent_complete(), 40);
  EXPECT_EQ(services::FormatDay(absl::CivilDay(then->terms().due_date().year(),
                                               then->terms().due_date().month(),
                                               then->terms().due_date().day())),
            "2023-03-31");
  EXPECT_EQ(then->terms().lead_organisation_id(), orgs_[0]);
  EXPECT_FALSE(then->overdue());
  EXPECT_EQ(then->evidence_references_size(), 0);
  EXPECT_EQ(then->history_size(), 2);  // adopted, started
  // The same as the list answers that day.
  pb::ListResolutionsRequest r;
  *r.mutable_as_of() = D(absl::CivilDay(2023, 2, 15));
  r.set_organisation_id(orgs_[0]);
  r.set_lead_only(true);
  std::vector<pb::Resolution> listed = ListAll(r);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals(listed[0], *then))
      << listed[0].DebugString() << "\nvs\n" << then->DebugString();
  r.set_organisation_id(orgs_[3]);
  EXPECT_TRUE(ListAll(r).empty());
  // Overdue on 2023-04-10? Deferred on 03-15 to 09-30: no. On 03-20 the
  // due date in force is 09-30 too; before the deferral it was 03-31.
  *g.mutable_as_of() = D(absl::CivilDay(2023, 4, 10));
  then = h_->GetResolution(g);
  ASSERT_THAT(then, IsOk());
  EXPECT_EQ(then->terms().lead_organisation_id(), orgs_[3]);
  EXPECT_FALSE(then->overdue());
  // Ordered by due date as of 03-10: the first (due 03-31) before the other
  // (05-01); as of today the first is due 09-30, after it.
  pb::ListResolutionsRequest byDue;
  byDue.set_order_by(pb::ListResolutionsRequest::BY_DUE_DATE);
  byDue.set_page_size(1);
  *byDue.mutable_as_of() = D(absl::CivilDay(2023, 3, 10));
  std::vector<pb::Resolution> ordered = ListAll(byDue);
  ASSERT_EQ(ordered.size(), 2u);
  EXPECT_EQ(ordered[0].resolution_id(), id);
  byDue.clear_as_of();
  ordered = ListAll(byDue);
  ASSERT_EQ(ordered.size(), 2u);
  EXPECT_EQ(ordered[1].resolution_id(), id);
  // The report by lead as of 02-15 counts it under its lead then.
  pb::ImplementationReportRequest rep;
  rep.set_group_by(pb::ImplementationReportRequest::LEAD_ORGANISATION);
  *rep.mutable_as_of() = D(absl::CivilDay(2023, 2, 15));
  rep.set_min_position(store_->HeadPosition());
  auto report = h_->ImplementationReport(rep);
  ASSERT_THAT(report, IsOk());
  std::set<std::string> leads;
  for (const auto& grp : report->groups()) leads.insert(grp.key());
  EXPECT_EQ(leads, (std::set<std::string>{orgs_[0], orgs_[2]}));
  // Before the adoption there was nothing to show.
  *g.mutable_as_of() = D(absl::CivilDay(2023, 1, 9));
  EXPECT_THAT(h_->GetResolution(g), StatusIs(Code::kNotFound, HasSubstr("adopted on")));
}

TEST_F(ResolutionsReadModelTest, SupersededOnlyByAResolutionThatExistedThatDay) {
  const std::string m1 = Meeting(absl::CivilDay(2023, 1, 10));
  const std::string m2 = Meeting(absl::CivilDay(2023, 5, 10));
  pb::AdoptResolutionRequest a = Adoption(
      m1, absl::CivilDay(2023, 1, 10), absl::CivilDay(2023, 12, 31), "Old");
  auto old_one = h_->AdoptResolution(a, "");
  ASSERT_THAT(old_one, IsOk());
  a.set_meeting_id(m2);
  *a.mutable_options()->mutable_occurred_on() = D(absl::CivilDay(2023, 5, 10));
  auto new_one = h_->AdoptResolution(a, "");
  ASSERT_THAT(new_one, IsOk());
  pb::SupersedeResolutionRequest sr;
  sr.set_resolution_id(old_one->aggregate_id);
  sr.set_superseded_by_resolution_id(new_one->aggregate_id);
  *sr.mutable_options()->mutable_occurred_on() = D(absl::CivilDay(2023, 3, 1));
  EXPECT_THAT(h_->SupersedeResolution(sr, ""),
              StatusIs(Code::kInvalidArgument, HasSubstr("2023-05-10")));
  *sr.mutable_options()->mutable_occurred_on() = D(absl::CivilDay(2023, 5, 10));
  EXPECT_THAT(h_->SupersedeResolution(sr, ""), IsOk());
}

// Random commands dated anywhere from the adoption to today, many of them
// back-dated: whatever was accepted, every as-of answer (GetResolution and
// ListResolutions) equals a plain fold of the events that happened by
// then, taken in the order of their dates.
TEST_F(ResolutionsReadModelTest, BackDatedCommandsKeepAsOfAnswersEqualToADateOrderedFold) {
  std::mt19937 rng(20261201);
  const absl::CivilDay start(2022, 1, 10), today(2023, 6, 30);
  const std::string meeting = Meeting(start);
  std::vector<std::string> ids;
  for (int n = 0; n < 20; ++n) {
    pb::AdoptResolutionRequest a;
    a.set_meeting_id(meeting);
    const absl::CivilDay adopted = start + static_cast<int>(rng() % 60);
    *a.mutable_options()->mutable_occurred_on() = D(adopted);
    a.mutable_terms()->set_text(absl::StrCat("R", n));
    a.mutable_terms()->set_lead_organisation_id(orgs_[n % 4]);
    a.mutable_terms()->add_supporting_organisation_ids(orgs_[(n + 1) % 4]);
    *a.mutable_terms()->mutable_due_date() = D(adopted + 60 + static_cast<int>(rng() % 200));
    a.mutable_terms()->set_strategic_priority(1);
    a.mutable_terms()->set_pillar(1);
    auto o = h_->AdoptResolution(a, "");
    ASSERT_THAT(o, IsOk());
    ids.push_back(o->aggregate_id);
    for (int k = 0; k < 25; ++k) {
      const absl::CivilDay on = adopted + static_cast<int>(rng() % (today - adopted + 1));
      const std::string& id = ids.back();
      auto opts = [&](auto* r) { *r->mutable_options()->mutable_occurred_on() = D(on); };
      pb::ResolutionChangeRequest c;
      c.set_resolution_id(id);
      c.set_reason("x");
      opts(&c);
      switch (rng() % 8) {
        case 0: (void)h_->StartImplementation(c, ""); break;
        case 1: {
          pb::ReportProgressRequest p;
          p.set_resolution_id(id);
          p.set_reporting_organisation_id(orgs_[n % 4]);
          p.set_percent_complete(static_cast<int>(rng() % 101));
          p.set_narrative("work");
          opts(&p);
          (void)h_->ReportProgress(p, "");
          break;
        }
        case 2: {
          pb::MarkImplementedRequest mi;
          mi.set_resolution_id(id);
          mi.add_evidence_references("E");
          opts(&mi);
          (void)h_->MarkImplemented(mi, "");
          break;
        }
        case 3: {
          pb::DeferResolutionRequest df;
          df.set_resolution_id(id);
          df.set_reason("later");
          *df.mutable_new_due_date() = D(on + 100 + static_cast<int>(rng() % 300));
          opts(&df);
          (void)h_->DeferResolution(df, "");
          break;
        }
        case 4: (void)h_->BlockResolution(c, ""); break;
        case 5: (void)h_->UnblockResolution(c, ""); break;
        case 6: (void)h_->ResumeImplementation(c, ""); break;
        case 7: {
          pb::ReassignLeadRequest l;
          l.set_resolution_id(id);
          l.set_lead_organisation_id(orgs_[rng() % 4]);
          l.set_keep_previous_as_supporting(rng() % 2 == 0);
          opts(&l);
          (void)h_->ReassignLead(l, "");
          break;
        }
      }
    }
  }
  // Many were accepted (about half the log is adoptions and registrations).
  EXPECT_GT(store_->HeadPosition(), 150u);
  for (int d = 0; d < 12; ++d) {
    const absl::CivilDay day = start + static_cast<int>(rng() % (today - start + 1));
    pb::ListResolutionsRequest all;
    *all.mutable_as_of() = D(day);
    std::vector<pb::Resolution> listed = ListAll(all);
    for (const std::string& id : ids) {
      auto events = services::ReadWholeStream(store_.get(), ResolutionStream(id));
      ASSERT_THAT(events, IsOk());
      std::vector<eventstore::RecordedEvent> by_date;
      for (const auto& e : *events) {
        if (services::TimeToDay(e.occurred_at) <= day) by_date.push_back(e);
      }
      std::stable_sort(by_date.begin(), by_date.end(), [](const auto& x, const auto& y) {
        return x.occurred_at < y.occurred_at;
      });
      ResolutionState s;
      for (const auto& e : by_date) {
        pb::ResolutionEvent w;
        ASSERT_THAT(services::DecodeEvent(e, &w), IsOk());
        Apply(w, services::EventMeta{e.revision, e.position,
                                     services::TimeToDay(e.occurred_at),
                                     e.recorded_at, e.actor, e.command_id},
              &s);
      }
      pb::GetResolutionRequest g;
      g.set_resolution_id(id);
      *g.mutable_as_of() = D(day);
      auto shown = h_->GetResolution(g);
      auto it = std::find_if(listed.begin(), listed.end(),
                             [&](const auto& v) { return v.resolution_id() == id; });
      if (!s.exists) {
        EXPECT_THAT(shown, StatusIs(Code::kNotFound));
        EXPECT_EQ(it, listed.end());
        continue;
      }
      ASSERT_THAT(shown, IsOk());
      ASSERT_NE(it, listed.end());
      const std::string when = services::FormatDay(day);
      for (const pb::Resolution* v : {&*shown, &*it}) {
        EXPECT_EQ(v->status(), s.status) << when;
        EXPECT_EQ(v->percent_complete(), s.PercentComplete()) << when;
        EXPECT_EQ(v->overdue(), s.Overdue(day)) << when;
        EXPECT_EQ(v->terms().due_date().SerializeAsString(),
                  services::ToProto(s.DueDate()).SerializeAsString()) << when;
        EXPECT_EQ(v->terms().lead_organisation_id(), s.terms.lead_organisation_id()) << when;
        EXPECT_EQ(std::vector<std::string>(v->terms().supporting_organisation_ids().begin(),
                                           v->terms().supporting_organisation_ids().end()),
                  std::vector<std::string>(s.terms.supporting_organisation_ids().begin(),
                                           s.terms.supporting_organisation_ids().end()))
            << when;
      }
      EXPECT_TRUE(MessageDifferencer::Equals(*shown, *it)) << when;
    }
  }
}

}  // namespace
}  // namespace ncm::resolutions
