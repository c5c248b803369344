// The MOU handler over the in-memory store: parties checked through the
// stakeholders handler, the full path from draft to deliveries, refusals
// that write nothing, command-id idempotency, concurrent deliveries.
#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ncm/eventstore/memory_event_store.h"
#include "ncm/mous/handler.h"
#include "testing/status_matchers.h"

namespace ncm::mous {
namespace {

using ::ncm::testing::IsOk;
using ::ncm::testing::StatusIs;
using ::testing::HasSubstr;
using Code = absl::StatusCode;
namespace spb = ::ncm::stakeholders::v1;

services::Clock FixedClock() {
  services::Clock c;
  c.now = [] {
    return absl::FromCivil(absl::CivilDay(2021, 9, 30), absl::UTCTimeZone());
  };
  return c;
}

ncm::common::v1::Date D(int y, int m, int d) {
  return services::ToProto(absl::CivilDay(y, m, d));
}

class MousHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sec_ = Register("NCM-SEC");
    nis_ = Register("NIS");
    spb::AppointFocalPointRequest a;
    a.set_organisation_id(nis_);
    a.mutable_new_person()->set_full_name("Director, Statistics Unit");
    a.set_kind(spb::PRIMARY);
    *a.mutable_options()->mutable_occurred_on() = D(2020, 8, 1);
    auto r = stakeholders_.AppointFocalPoint(a, "");
    ASSERT_THAT(r, IsOk());
    person_ = r->person_id();
  }

  std::string Register(const std::string& acronym) {
    spb::RegisterOrganisationRequest r;
    r.mutable_profile()->set_name(absl::StrCat("Organisation ", acronym));
    r.mutable_profile()->set_acronym(acronym);
    r.mutable_profile()->set_kind(spb::DEPARTMENT_OR_AGENCY);
    r.mutable_profile()->set_level(spb::NATIONAL);
    r.set_role(spb::MEMBER);
    *r.mutable_options()->mutable_occurred_on() = D(2020, 7, 1);
    auto o = stakeholders_.RegisterOrganisation(r, "");
    EXPECT_THAT(o, IsOk());
    return o->aggregate_id;
  }

  pb::DraftMouRequest Draft() {
    pb::DraftMouRequest r;
    auto* t = r.mutable_terms();
    t->set_title("Border data MOU");
    auto* s = t->add_parties();
    s->set_organisation_id(sec_);
    s->set_role(pb::SECRETARIAT);
    auto* p = t->add_parties();
    p->set_organisation_id(nis_);
    p->set_role(pb::PROVIDER);
    auto* d = t->add_datasets();
    d->set_code("border-crossings");
    d->set_name("Border crossings");
    d->set_frequency(pb::MONTHLY);
    d->set_due_offset_days(10);
    t->set_purpose("Migration profile");
    t->set_legal_basis("Statistics Act 2006");
    t->set_data_protection_terms("Aggregates only");
    *t->mutable_valid_from() = D(2021, 1, 1);
    *t->mutable_valid_until() = D(2021, 12, 31);
    *r.mutable_options()->mutable_occurred_on() = D(2021, 1, 5);
    return r;
  }

  // Drafts, reviews and has both parties sign; returns the MOU id.
  std::string ActiveMou() {
    auto d = h_.DraftMou(Draft(), "");
    EXPECT_THAT(d, IsOk());
    const std::string id = d->aggregate_id;
    pb::MouChangeRequest sub;
    sub.set_mou_id(id);
    *sub.mutable_options()->mutable_occurred_on() = D(2021, 1, 10);
    EXPECT_THAT(h_.SubmitForLegalReview(sub, ""), IsOk());
    pb::RecordLegalReviewRequest rev;
    rev.set_mou_id(id);
    rev.set_outcome(pb::REVIEW_APPROVED);
    *rev.mutable_options()->mutable_occurred_on() = D(2021, 1, 20);
    EXPECT_THAT(h_.RecordLegalReview(rev, ""), IsOk());
    for (const std::string& org : {sec_, nis_}) {
      pb::SignMouRequest s;
      s.set_mou_id(id);
      s.set_organisation_id(org);
      s.set_signatory_person_id(person_);
      *s.mutable_options()->mutable_occurred_on() = D(2021, 2, 1);
      EXPECT_THAT(h_.SignMou(s, ""), IsOk());
    }
    return id;
  }

  pb::RecordDeliveryRequest Delivery(const std::string& mou, int month) {
    pb::RecordDeliveryRequest r;
    r.set_mou_id(mou);
    r.set_dataset_code("border-crossings");
    r.mutable_period()->set_year(2021);
    r.mutable_period()->set_number(month);
    *r.mutable_options()->mutable_occurred_on() = D(2021, month + 1, 12);
    return r;
  }

  std::unique_ptr<eventstore::EventStore> store_ =
      eventstore::NewMemoryEventStore();
  stakeholders::StakeholdersHandler stakeholders_{
      store_.get(), &stakeholders::CountyList::Kenya(), FixedClock()};
  MousHandler h_{store_.get(), &stakeholders_, FixedClock()};
  std::string sec_, nis_, person_;
};

TEST_F(MousHandlerTest, DraftToActiveWithDeliveriesReadBack) {
  const std::string id = ActiveMou();
  ASSERT_THAT(h_.RecordDelivery(Delivery(id, 1), ""), IsOk());  // due 02-10
  ASSERT_THAT(h_.RecordDelivery(Delivery(id, 2), ""), IsOk());  // due 03-10
  pb::GetMouRequest g;
  g.set_mou_id(id);
  auto m = h_.GetMou(g);
  ASSERT_THAT(m, IsOk());
  EXPECT_EQ(m->status(), pb::ACTIVE);
  EXPECT_EQ(m->signatures_size(), 2);
  EXPECT_EQ(m->activated_on().month(), 2);
  ASSERT_EQ(m->deliveries_size(), 2);
  EXPECT_TRUE(m->deliveries(0).late());  // received 02-12, due 02-10
  EXPECT_EQ(m->deliveries(0).received_on().day(), 12);
  *g.mutable_as_of() = D(2022, 1, 1);
  EXPECT_EQ(h_.GetMou(g)->status(), pb::EXPIRED);
  g.set_min_position(store_->HeadPosition() + 1);
  EXPECT_THAT(h_.GetMou(g), StatusIs(Code::kOutOfRange));
}

TEST_F(MousHandlerTest, RefusalsWriteNothing) {
  const std::string id = ActiveMou();
  const uint64_t head = store_->HeadPosition();
  auto bad = Delivery(id, 1);
  bad.set_dataset_code("work-permits");
  EXPECT_THAT(h_.RecordDelivery(bad, ""),
              StatusIs(Code::kInvalidArgument, HasSubstr("not a dataset")));
  bad = Delivery(id, 1);
  bad.mutable_period()->set_year(2022);
  *bad.mutable_options()->mutable_occurred_on() = D(2021, 9, 1);
  EXPECT_THAT(h_.RecordDelivery(bad, ""),
              StatusIs(Code::kInvalidArgument, HasSubstr("outside")));
  pb::AmendMouRequest amend;
  amend.set_mou_id(id);
  *amend.mutable_terms() = Draft().terms();
  EXPECT_THAT(h_.AmendMou(amend, ""),
              StatusIs(Code::kFailedPrecondition, HasSubstr("is ACTIVE")));
  pb::DraftMouRequest d = Draft();
  d.mutable_terms()->mutable_parties(1)->set_organisation_id(
      "00000000-0000-4000-8000-000000000000");
  EXPECT_THAT(h_.DraftMou(d, ""), StatusIs(Code::kNotFound));
  pb::SignMouRequest s;
  s.set_mou_id(id);
  s.set_organisation_id(nis_);
  s.set_signatory_person_id("00000000-0000-4000-8000-000000000000");
  EXPECT_THAT(h_.SignMou(s, ""),
              StatusIs(Code::kFailedPrecondition, HasSubstr("is ACTIVE")));
  s.set_signatory_person_id("not-a-uuid");
  EXPECT_THAT(h_.SignMou(s, ""),
              StatusIs(Code::kInvalidArgument, HasSubstr("signatory_person_id")));
  EXPECT_EQ(store_->HeadPosition(), head);
}

TEST_F(MousHandlerTest, RetriedDeliveryIsRecordedOnce) {
  const std::string id = ActiveMou();
  auto r = Delivery(id, 4);
  r.mutable_options()->set_command_id("nis-2021-04");
  auto first = h_.RecordDelivery(r, "nis-system");
  ASSERT_THAT(first, IsOk());
  auto again = h_.RecordDelivery(r, "nis-system");
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->position, first->position);
  pb::GetMouRequest g;
  g.set_mou_id(id);
  EXPECT_EQ(h_.GetMou(g)->deliveries_size(), 1);
}

TEST_F(MousHandlerTest, ConcurrentDeliveriesOnOneMouAllLandOnce) {
  const std::string id = ActiveMou();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int month = 1; month <= 8; ++month) {
    threads.emplace_back([&, month] {
      auto r = Delivery(id, month);
      r.mutable_options()->set_command_id(absl::StrCat("m", month));
      if (h_.RecordDelivery(r, "").ok()) ok.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  pb::GetMouRequest g;
  g.set_mou_id(id);
  auto m = h_.GetMou(g);
  ASSERT_THAT(m, IsOk());
  EXPECT_EQ(m->deliveries_size(), ok.load());
  EXPECT_GE(ok.load(), 4);
  for (const auto& d : m->deliveries()) EXPECT_FALSE(d.redelivery());
}

}  // namespace
}  // namespace ncm::mous
