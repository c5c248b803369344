// decide() of the data-sharing MOU domain: every command from every
// status, the terms' rules, signatures and activation, deliveries checked
// against the datasets and the validity window, derived expiry.
#include <functional>
#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ncm/mous/domain.h"
#include "testing/status_matchers.h"

namespace ncm::mous {
namespace {

using ::ncm::testing::IsOk;
using ::ncm::testing::IsOkAndHolds;
using ::ncm::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using Code = absl::StatusCode;
namespace spb = ::ncm::stakeholders::v1;

constexpr char kMou[] = "6a7c1f1e-2a3b-4c5d-8e9f-001122334455";
constexpr char kSec[] = "7a7c1f1e-2a3b-4c5d-8e9f-001122334455";
constexpr char kNis[] = "7b7c1f1e-2a3b-4c5d-8e9f-001122334455";
constexpr char kDrs[] = "7c7c1f1e-2a3b-4c5d-8e9f-001122334455";
constexpr char kGone[] = "7d7c1f1e-2a3b-4c5d-8e9f-001122334455";
constexpr char kMissing[] = "7e7c1f1e-2a3b-4c5d-8e9f-001122334455";
constexpr char kPerson[] = "8a7c1f1e-2a3b-4c5d-8e9f-001122334455";
const absl::CivilDay kDay(2021, 3, 1);

ncm::common::v1::Date D(int y, int m, int d) {
  return services::ToProto(absl::CivilDay(y, m, d));
}

Organisations Orgs() {
  Organisations m;
  for (const char* id : {kSec, kNis, kDrs}) {
    OrganisationState o;
    o.exists = true;
    o.organisation_id = id;
    o.status = spb::ACTIVE;
    m[id] = o;
  }
  OrganisationState gone;
  gone.exists = true;
  gone.status = spb::WITHDRAWN;
  m[kGone] = gone;
  m[kMissing] = OrganisationState();
  return m;
}

pb::MouTerms Terms() {
  pb::MouTerms t;
  t.set_title("MOU on sharing border-management data");
  auto add_party = [&](const char* id, pb::PartyRole role) {
    auto* p = t.add_parties();
    p->set_organisation_id(id);
    p->set_role(role);
  };
  add_party(kSec, pb::SECRETARIAT);
  add_party(kNis, pb::PROVIDER);
  auto* d = t.add_datasets();
  d->set_code("border-crossings");
  d->set_name("Border crossings by entry point");
  d->set_frequency(pb::MONTHLY);
  d->set_due_offset_days(15);
  auto* w = t.add_datasets();
  w->set_code("work-permits");
  w->set_name("Work permits issued");
  w->set_frequency(pb::QUARTERLY);
  w->set_due_offset_days(30);
  t.set_purpose("Migration statistics for the national migration profile");
  t.set_legal_basis("Kenya Citizenship and Immigration Act 2011; Statistics Act 2006");
  t.set_data_protection_terms("Aggregates only; no personal data; DPA 2019 applies");
  *t.mutable_valid_from() = D(2021, 1, 1);
  *t.mutable_valid_until() = D(2022, 12, 31);
  return t;
}

template <typename S>
void Fold(const MouEvents& events, S* s, absl::CivilDay day = kDay) {
  EventMeta m;
  m.occurred_on = day;
  for (const auto& e : events) Apply(e, m, s);
}

PersonState Person() {
  PersonState p;
  p.exists = true;
  p.person_id = kPerson;
  return p;
}

MouState InStatus(pb::MouStatus status) {
  MouState s;
  Fold(*DecideDraft(s, kMou, Terms(), Orgs()), &s);
  if (status == pb::DRAFT) return s;
  if (status == pb::TERMINATED) {
    Fold(*DecideTerminate(s, "abandoned", kDay), &s);
    return s;
  }
  Fold(*DecideSubmit(s, "", kDay), &s);
  if (status == pb::IN_LEGAL_REVIEW) return s;
  Fold(*DecideReview(s, pb::REVIEW_APPROVED, "", kDay), &s);
  if (status == pb::APPROVED) return s;
  Fold(*DecideSign(s, kSec, kPerson, Person(), kDay), &s);
  Fold(*DecideSign(s, kNis, kPerson, Person(), kDay), &s);
  EXPECT_EQ(s.status, pb::ACTIVE);
  return s;
}

TEST(MouTermsTest, NormalisedWithTheSoleProviderFilledIn) {
  auto t = ValidateTerms(Terms(), Orgs(), "terms");
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->datasets(0).provider_organisation_id(), kNis);
}

TEST(MouTermsTest, EveryRuleIsChecked) {
  struct Case {
    std::function<void(pb::MouTerms*)> mutate;
    Code code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](auto* t) { t->set_title(""); }, Code::kInvalidArgument,
       "terms.title is required"},
      {[](auto* t) { t->mutable_parties(0)->set_role(pb::PROVIDER); },
       Code::kInvalidArgument, "exactly one SECRETARIAT party; names 0"},
      {[](auto* t) { t->mutable_parties(1)->set_role(pb::SECRETARIAT); },
       Code::kInvalidArgument, "names 2"},
      {[](auto* t) { t->mutable_parties()->RemoveLast(); },
       Code::kInvalidArgument, "at least one PROVIDER"},
      {[](auto* t) {
         t->mutable_parties(1)->set_role(pb::PARTY_ROLE_UNSPECIFIED);
       },
       Code::kInvalidArgument, "terms.parties[1].role"},
      {[](auto* t) { t->mutable_parties(1)->set_organisation_id("x"); },
       Code::kInvalidArgument, "terms.parties[1].organisation_id"},
      {[](auto* t) { t->mutable_parties(1)->set_organisation_id(kMissing); },
       Code::kNotFound, "no such organisation"},
      {[](auto* t) { t->mutable_parties(1)->set_organisation_id(kGone); },
       Code::kFailedPrecondition, "WITHDRAWN"},
      {[](auto* t) { *t->add_parties() = t->parties(1); },
       Code::kInvalidArgument, "repeats a party"},
      {[](auto* t) { t->clear_datasets(); }, Code::kInvalidArgument,
       "at least one dataset"},
      {[](auto* t) { t->mutable_datasets(0)->set_code("Border Crossings"); },
       Code::kInvalidArgument, "terms.datasets[0].code"},
      {[](auto* t) { t->mutable_datasets(1)->set_code("border-crossings"); },
       Code::kInvalidArgument, "repeats \"border-crossings\""},
      {[](auto* t) { t->mutable_datasets(0)->set_name(""); },
       Code::kInvalidArgument, "terms.datasets[0].name is required"},
      {[](auto* t) {
         t->mutable_datasets(0)->set_frequency(pb::FREQUENCY_UNSPECIFIED);
       },
       Code::kInvalidArgument, "terms.datasets[0].frequency"},
      {[](auto* t) { t->mutable_datasets(0)->set_due_offset_days(-1); },
       Code::kInvalidArgument, "due_offset_days must be 0 to 366; got -1"},
      {[](auto* t) { t->mutable_datasets(0)->set_due_offset_days(400); },
       Code::kInvalidArgument, "due_offset_days"},
      {[](auto* t) {
         t->mutable_datasets(0)->set_provider_organisation_id(kSec);
       },
       Code::kInvalidArgument, "is not a PROVIDER party"},
      {[](auto* t) {
         auto* p = t->add_parties();
         p->set_organisation_id(kDrs);
         p->set_role(pb::PROVIDER);
       },
       Code::kInvalidArgument,
       "provider_organisation_id is required when the MOU has several"},
      {[](auto* t) { t->set_purpose(""); }, Code::kInvalidArgument,
       "terms.purpose is required"},
      {[](auto* t) { t->set_legal_basis(""); }, Code::kInvalidArgument,
       "terms.legal_basis is required"},
      {[](auto* t) { t->set_data_protection_terms(""); },
       Code::kInvalidArgument, "terms.data_protection_terms is required"},
      {[](auto* t) { t->clear_valid_from(); }, Code::kInvalidArgument,
       "terms.valid_from is required"},
      {[](auto* t) { t->mutable_valid_until()->set_month(13); },
       Code::kInvalidArgument, "terms.valid_until"},
      {[](auto* t) { *t->mutable_valid_until() = D(2020, 12, 31); },
       Code::kInvalidArgument, "is before valid_from (2021-01-01)"},
  };
  for (const Case& c : cases) {
    pb::MouTerms t = Terms();
    c.mutate(&t);
    EXPECT_THAT(DecideDraft(MouState(), kMou, t, Orgs()),
                StatusIs(c.code, HasSubstr(c.message)))
        << c.message;
  }
}

enum class Cmd { kAmend, kSubmit, kApprove, kRequestChanges, kSign, kRenew,
                 kTerminate, kDeliver };

absl::StatusOr<MouEvents> RunCmd(Cmd c, const MouState& s) {
  const absl::CivilDay on(2021, 4, 20);
  switch (c) {
    case Cmd::kAmend: {
      pb::MouTerms t = Terms();
      t.set_title("MOU on border-management data (revised)");
      return DecideAmend(s, t, Orgs(), "title");
    }
    case Cmd::kSubmit: return DecideSubmit(s, "", on);
    case Cmd::kApprove: return DecideReview(s, pb::REVIEW_APPROVED, "", on);
    case Cmd::kRequestChanges:
      return DecideReview(s, pb::CHANGES_REQUESTED, "clause 7", on);
    case Cmd::kSign: return DecideSign(s, kSec, kPerson, Person(), on);
    case Cmd::kRenew:
      return DecideRenew(s, absl::CivilDay(2024, 12, 31), "", on);
    case Cmd::kTerminate: return DecideTerminate(s, "superseded", on);
    case Cmd::kDeliver: {
      pb::Period p;
      p.set_year(2021);
      p.set_number(3);
      return DecideRecordDelivery(s, "d1", "border-crossings", p, "", on);
    }
  }
  return absl::InternalError("unreachable");
}

TEST(MouLifecycleTest, EveryCommandFromEveryStatus) {
  const std::map<pb::MouStatus, std::map<Cmd, pb::MouStatus>> legal = {
      {pb::DRAFT, {{Cmd::kAmend, pb::DRAFT}, {Cmd::kSubmit, pb::IN_LEGAL_REVIEW},
                   {Cmd::kTerminate, pb::TERMINATED}}},
      {pb::IN_LEGAL_REVIEW, {{Cmd::kApprove, pb::APPROVED},
                             {Cmd::kRequestChanges, pb::DRAFT},
                             {Cmd::kTerminate, pb::TERMINATED}}},
      {pb::APPROVED, {{Cmd::kSign, pb::APPROVED},  // one of two signatures
                      {Cmd::kTerminate, pb::TERMINATED}}},
      {pb::ACTIVE, {{Cmd::kRenew, pb::ACTIVE}, {Cmd::kDeliver, pb::ACTIVE},
                    {Cmd::kTerminate, pb::TERMINATED}}},
      {pb::TERMINATED, {}},
  };
  const std::vector<Cmd> all = {Cmd::kAmend,  Cmd::kSubmit, Cmd::kApprove,
                                Cmd::kRequestChanges, Cmd::kSign,
                                Cmd::kRenew,  Cmd::kTerminate, Cmd::kDeliver};
  for (const auto& [from, allowed] : legal) {
    for (Cmd c : all) {
      MouState s = InStatus(from);
      auto ev = RunCmd(c, s);
      const std::string what =
          absl::StrCat(StatusName(from), " + ", static_cast<int>(c));
      auto it = allowed.find(c);
      if (it == allowed.end()) {
        EXPECT_THAT(ev, StatusIs(Code::kFailedPrecondition,
                                 HasSubstr("is " + StatusName(from))))
            << what;
      } else {
        ASSERT_THAT(ev, IsOk()) << what;
        Fold(*ev, &s);
        EXPECT_EQ(s.status, it->second) << what;
      }
    }
  }
  EXPECT_THAT(RunCmd(Cmd::kSubmit, MouState()), StatusIs(Code::kNotFound));
}

TEST(MouLifecycleTest, ReviewSignaturesAndRenewalRules) {
  MouState review = InStatus(pb::IN_LEGAL_REVIEW);
  EXPECT_THAT(DecideReview(review, pb::REVIEW_OUTCOME_UNSPECIFIED, "", kDay),
              StatusIs(Code::kInvalidArgument, HasSubstr("outcome")));
  EXPECT_THAT(DecideReview(review, pb::CHANGES_REQUESTED, "", kDay),
              StatusIs(Code::kInvalidArgument, HasSubstr("note is required")));
  EXPECT_THAT(DecideReview(review, pb::REVIEW_APPROVED, "",
                           absl::CivilDay(2021, 2, 1)),
              StatusIs(Code::kInvalidArgument, HasSubstr("date order")));

  MouState approved = InStatus(pb::APPROVED);
  EXPECT_THAT(DecideSign(approved, kDrs, kPerson, Person(), kDay),
              StatusIs(Code::kFailedPrecondition, HasSubstr("not a party")));
  EXPECT_THAT(DecideSign(approved, kSec, kPerson, PersonState(), kDay),
              StatusIs(Code::kNotFound, HasSubstr("signatory_person_id")));
  PersonState forgotten = Person();
  forgotten.forgotten = true;
  EXPECT_THAT(DecideSign(approved, kSec, kPerson, forgotten, kDay),
              StatusIs(Code::kFailedPrecondition, HasSubstr("forgotten")));
  auto first = DecideSign(approved, kSec, kPerson, Person(), kDay);
  ASSERT_THAT(first, IsOkAndHolds(SizeIs(1)));
  Fold(*first, &approved);
  EXPECT_THAT(DecideSign(approved, kSec, kPerson, Person(), kDay),
              StatusIs(Code::kFailedPrecondition, HasSubstr("already signed")));
  auto last = DecideSign(approved, kNis, kPerson, Person(),
                         absl::CivilDay(2021, 3, 5));
  ASSERT_THAT(last, IsOkAndHolds(SizeIs(2)));  // signed, then activated
  EXPECT_TRUE((*last)[1].has_activated());
  Fold(*last, &approved, absl::CivilDay(2021, 3, 5));
  EXPECT_EQ(approved.status, pb::ACTIVE);
  EXPECT_EQ(*approved.activated_on, absl::CivilDay(2021, 3, 5));

  EXPECT_THAT(DecideRenew(approved, absl::CivilDay(2022, 12, 31), "", absl::CivilDay(2021, 6, 1)),
              StatusIs(Code::kInvalidArgument, HasSubstr("after the current end")));
  EXPECT_THAT(DecideTerminate(approved, "", absl::CivilDay(2021, 6, 1)),
              StatusIs(Code::kInvalidArgument, HasSubstr("reason is required")));
}

TEST(MouLifecycleTest, AmendingToTheSameTermsRecordsNothing) {
  MouState s = InStatus(pb::DRAFT);
  EXPECT_THAT(DecideAmend(s, Terms(), Orgs(), ""), IsOkAndHolds(IsEmpty()));
}

TEST(MouStatusTest, ExpiryIsDerivedAndRenewalLiftsIt) {
  MouState s = InStatus(pb::ACTIVE);
  EXPECT_EQ(s.StatusAsOf(absl::CivilDay(2022, 12, 31)), pb::ACTIVE);
  EXPECT_EQ(s.StatusAsOf(absl::CivilDay(2023, 1, 1)), pb::EXPIRED);
  Fold(*DecideRenew(s, absl::CivilDay(2024, 12, 31), "two more years",
                    absl::CivilDay(2023, 1, 10)),
       &s, absl::CivilDay(2023, 1, 10));
  EXPECT_EQ(s.StatusAsOf(absl::CivilDay(2023, 1, 11)), pb::ACTIVE);
  MouState draft = InStatus(pb::DRAFT);
  EXPECT_EQ(draft.StatusAsOf(absl::CivilDay(2030, 1, 1)), pb::DRAFT);
}

TEST(PeriodTest, BoundsPerFrequency) {
  pb::Period p;
  p.set_year(2024);
  p.set_number(2);
  auto m = PeriodBounds(pb::MONTHLY, p, "period");
  ASSERT_THAT(m, IsOk());
  EXPECT_EQ(m->second, absl::CivilDay(2024, 2, 29));  // leap year
  auto q = PeriodBounds(pb::QUARTERLY, p, "period");
  ASSERT_THAT(q, IsOk());
  EXPECT_EQ(q->first, absl::CivilDay(2024, 4, 1));
  EXPECT_EQ(q->second, absl::CivilDay(2024, 6, 30));
  EXPECT_THAT(PeriodBounds(pb::ANNUAL, p, "period"),
              StatusIs(Code::kInvalidArgument, HasSubstr("period.number must be 1")));
  p.set_number(5);
  EXPECT_THAT(PeriodBounds(pb::QUARTERLY, p, "period"),
              StatusIs(Code::kInvalidArgument, HasSubstr("1 to 4")));
  p.set_number(13);
  EXPECT_THAT(PeriodBounds(pb::MONTHLY, p, "period"),
              StatusIs(Code::kInvalidArgument, HasSubstr("1 to 12")));
}

TEST(DeliveryTest, DatasetPeriodAndDatesAreChecked) {
  MouState s = InStatus(pb::ACTIVE);
  pb::Period p;
  p.set_year(2021);
  p.set_number(3);
  const absl::CivilDay received(2021, 4, 20);
  EXPECT_THAT(DecideRecordDelivery(s, "d", "remittances", p, "", received),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("\"remittances\" is not a dataset of this MOU "
                                 "(it covers: border-crossings, work-permits)")));
  pb::Period before;
  before.set_year(2020);
  before.set_number(12);
  EXPECT_THAT(DecideRecordDelivery(s, "d", "border-crossings", before, "",
                                   received),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("outside the MOU's validity")));
  pb::Period after;
  after.set_year(2023);
  after.set_number(1);
  EXPECT_THAT(DecideRecordDelivery(s, "d", "work-permits", after, "",
                                   absl::CivilDay(2023, 5, 1)),
              StatusIs(Code::kInvalidArgument, HasSubstr("outside")));
  EXPECT_THAT(DecideRecordDelivery(s, "d", "border-crossings", p, "",
                                   absl::CivilDay(2021, 2, 28)),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("before the period starts")));

  auto ev = DecideRecordDelivery(s, "d1", "border-crossings", p, "on time",
                                 received);
  ASSERT_THAT(ev, IsOk());
  const auto& d = (*ev)[0].delivery_recorded();
  EXPECT_EQ(d.period_end().day(), 31);
  EXPECT_EQ(d.due_date().month(), 4);  // 2021-03-31 + 15 days
  EXPECT_EQ(d.due_date().day(), 15);
  EXPECT_FALSE(d.redelivery());
  Fold(*ev, &s, received);
  auto again = DecideRecordDelivery(s, "d2", "border-crossings", p,
                                    "corrected figures", received);
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE((*again)[0].delivery_recorded().redelivery());
}

TEST(ComplianceTest, ExpectedOnTimeLateAndMissingAsWorkedOutByHand) {
  MouState s = InStatus(pb::ACTIVE);  // valid 2021-01-01 to 2022-12-31
  auto deliver = [&](const char* code, int number, absl::CivilDay received) {
    pb::Period p;
    p.set_year(2021);
    p.set_number(number);
    auto ev = DecideRecordDelivery(s, "d", code, p, "", received);
    ASSERT_THAT(ev, IsOk());
    Fold(*ev, &s, received);
  };
  deliver("border-crossings", 1, absl::CivilDay(2021, 2, 10));  // due 02-15
  deliver("border-crossings", 2, absl::CivilDay(2021, 3, 20));  // due 03-15
  deliver("border-crossings", 2, absl::CivilDay(2021, 3, 25));  // re-delivery
  deliver("work-permits", 1, absl::CivilDay(2021, 4, 20));      // due 04-30
  // As of 2021-05-01: January on time, February 5 days late, March (due
  // 04-15) missing for 16 days, April not due yet; Q1 permits on time.
  Compliance c = ComplianceOf(s, absl::CivilDay(2021, 5, 1));
  const auto& bc = c.by_dataset["border-crossings"];
  EXPECT_EQ(bc.expected(), 3);
  EXPECT_EQ(bc.on_time(), 1);
  EXPECT_EQ(bc.late(), 1);
  EXPECT_EQ(bc.missing(), 1);
  EXPECT_EQ(bc.on_time_basis_points(), 3333);
  EXPECT_EQ(c.by_dataset["work-permits"].on_time_basis_points(), 10000);
  ASSERT_EQ(c.expected.size(), 4u);
  EXPECT_EQ(c.expected[1].days_past_due(), 5);
  EXPECT_TRUE(c.expected[1].late());
  EXPECT_FALSE(c.expected[2].has_received_on());
  EXPECT_EQ(c.expected[2].days_past_due(), 16);
  // On its due day a missing delivery is not yet expected.
  EXPECT_EQ(ComplianceOf(s, absl::CivilDay(2021, 4, 15))
                .by_dataset["border-crossings"].expected(), 2);
  // A terminated MOU expects nothing for periods after its termination.
  Fold(*DecideTerminate(s, "replaced", absl::CivilDay(2021, 3, 31)), &s,
       absl::CivilDay(2021, 3, 31));
  EXPECT_EQ(ComplianceOf(s, absl::CivilDay(2022, 1, 1))
                .by_dataset["border-crossings"].expected(), 3);
  // A draft expects nothing.
  EXPECT_TRUE(ComplianceOf(InStatus(pb::DRAFT), absl::CivilDay(2022, 1, 1))
                  .expected.empty());
}

TEST(ComplianceTest, TheEarliestReceivedDeliveryCountsWhateverTheOrderRecorded) {
  MouState s = InStatus(pb::ACTIVE);
  pb::Period feb;
  feb.set_year(2021);
  feb.set_number(2);  // due 03-15
  auto late = DecideRecordDelivery(s, "d1", "border-crossings", feb, "",
                                   absl::CivilDay(2021, 3, 20));
  ASSERT_THAT(late, IsOk());
  Fold(*late, &s, absl::CivilDay(2021, 3, 20));
  // Recorded second, received first (on time): back-dated.
  auto early = DecideRecordDelivery(s, "d2", "border-crossings", feb, "",
                                    absl::CivilDay(2021, 3, 10));
  ASSERT_THAT(early, IsOk());
  EXPECT_FALSE((*early)[0].delivery_recorded().redelivery());
  Fold(*early, &s, absl::CivilDay(2021, 3, 10));
  Compliance c = ComplianceOf(s, absl::CivilDay(2021, 3, 31));
  ASSERT_FALSE(c.expected.empty());
  const pb::ExpectedDelivery& e = c.expected[1];
  EXPECT_EQ(e.period().number(), 2);
  EXPECT_EQ(e.received_on().day(), 10);
  EXPECT_FALSE(e.late());
  EXPECT_EQ(c.by_dataset["border-crossings"].late(), 0);
  // The one received later is the redelivery.
  ASSERT_EQ(s.deliveries.size(), 2u);
  EXPECT_TRUE(s.IsRedelivery(s.deliveries[0]));
  EXPECT_FALSE(s.IsRedelivery(s.deliveries[1]));
}

TEST(MouStatusTest, ALateRenewalLeavesTheLapseALapse) {
  MouState s = InStatus(pb::ACTIVE);  // valid 2021-01-01 to 2022-12-31
  const absl::CivilDay renewed(2023, 3, 1);
  Fold(*DecideRenew(s, absl::CivilDay(2024, 12, 31), "again", renewed), &s,
       renewed);
  EXPECT_EQ(s.StatusAsOf(absl::CivilDay(2022, 12, 31)), pb::ACTIVE);
  EXPECT_EQ(s.StatusAsOf(absl::CivilDay(2023, 2, 1)), pb::EXPIRED);
  EXPECT_EQ(s.StatusAsOf(absl::CivilDay(2023, 2, 28)), pb::EXPIRED);
  EXPECT_EQ(s.StatusAsOf(renewed), pb::ACTIVE);
  // Nothing was owed for January and February 2023.
  Compliance c = ComplianceOf(s, absl::CivilDay(2023, 6, 1));
  for (const auto& e : c.expected) {
    if (e.dataset_code() != "border-crossings" || e.period().year() != 2023) {
      continue;
    }
    EXPECT_GE(e.period().number(), 3) << e.DebugString();
  }
  pb::Period jan;
  jan.set_year(2023);
  jan.set_number(1);
  EXPECT_THAT(DecideRecordDelivery(s, "d", "border-crossings", jan, "",
                                   absl::CivilDay(2023, 3, 5)),
              StatusIs(Code::kInvalidArgument, HasSubstr("outside")));
  pb::Period mar = jan;
  mar.set_number(3);
  EXPECT_THAT(DecideRecordDelivery(s, "d", "border-crossings", mar, "",
                                   absl::CivilDay(2023, 4, 5)),
              IsOk());
  // A renewal while in force extends the window with no lapse.
  MouState t = InStatus(pb::ACTIVE);
  Fold(*DecideRenew(t, absl::CivilDay(2024, 12, 31), "", absl::CivilDay(2022, 6, 1)),
       &t, absl::CivilDay(2022, 6, 1));
  EXPECT_EQ(t.StatusAsOf(absl::CivilDay(2023, 2, 1)), pb::ACTIVE);
}

}  // namespace
}  // namespace ncm::mous
