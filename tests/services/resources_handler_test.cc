// The resources handler over the in-memory store: the NCM 2020 budget
// loaded line by line and checked against totals worked out by hand from
// the action plan's line items; idempotent retries; concurrent flows.
#include <atomic>
#include <limits>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ncm/eventstore/memory_event_store.h"
#include "ncm/resources/budget_csv.h"
#include "ncm/resources/handler.h"
#include "ncm/services/ids.h"
#include "testing/status_matchers.h"

namespace ncm::resources {
namespace {

using ::ncm::testing::IsOk;
using ::ncm::testing::StatusIs;
using ::testing::HasSubstr;
using Code = absl::StatusCode;
namespace spb = ::ncm::stakeholders::v1;

// KES -> minor units.
constexpr int64_t Kes(int64_t shillings) { return shillings * 100; }

services::Clock FixedClock() {
  services::Clock c;
  c.now = [] {
    return absl::FromCivil(absl::CivilDay(2021, 6, 30), absl::UTCTimeZone());
  };
  return c;
}

class ResourcesHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ncm_ = Register("NCM-SEC");
    giz_ = Register("GIZ");
    pb::OpenBudgetRequest r;
    r.set_title("NCM 2020 budget");
    r.set_fiscal_year(2020);
    r.set_currency("KES");
    r.set_owner_organisation_id(ncm_);
    auto o = h_.OpenBudget(r, "");
    ASSERT_THAT(o, IsOk());
    budget_ = o->aggregate_id;
    EXPECT_EQ(budget_, ResourcesHandler::BudgetId(ncm_, 2020, "KES"));
    EXPECT_THAT(h_.OpenBudget(r, ""), StatusIs(Code::kAlreadyExists));
  }

  std::string Register(const std::string& acronym) {
    spb::RegisterOrganisationRequest r;
    r.mutable_profile()->set_name(acronym);
    r.mutable_profile()->set_acronym(acronym);
    r.mutable_profile()->set_kind(spb::DEPARTMENT_OR_AGENCY);
    r.mutable_profile()->set_level(spb::NATIONAL);
    r.set_role(spb::MEMBER);
    auto o = stakeholders_.RegisterOrganisation(r, "");
    EXPECT_THAT(o, IsOk());
    return o->aggregate_id;
  }

  void LoadFixture() {
    auto sheet = LoadBudgetCsv(NCM_BUDGET_2020_CSV, 2);
    ASSERT_THAT(sheet, IsOk());
    ASSERT_EQ(sheet->lines.size(), 47u);
    for (auto line : sheet->lines) {
      line.set_budget_id(budget_);
      auto o = h_.AddBudgetLine(line, "");
      ASSERT_THAT(o, IsOk()) << line.description();
      EXPECT_FALSE(o->declared_total_mismatch()) << line.description();
    }
    for (auto total : sheet->totals) {
      total.set_budget_id(budget_);
      ASSERT_THAT(h_.RecordDeclaredTotal(total, ""), IsOk()) << total.source();
    }
  }

  // A line of the budget: unit cost x quantity x 1 day.
  pb::AddBudgetLineRequest Line(const std::string& code, int pillar,
                                const std::string& description,
                                int64_t unit_cost_minor, int quantity) const {
    pb::AddBudgetLineRequest line;
    line.set_budget_id(budget_);
    line.set_activity_code(code);
    line.set_pillar(pillar);
    line.set_description(description);
    line.mutable_figures()->set_unit_cost_minor(unit_cost_minor);
    line.mutable_figures()->set_quantity(quantity);
    line.mutable_figures()->set_days(1);
    return line;
  }

  pb::Budget Get() {
    pb::GetBudgetRequest g;
    g.set_budget_id(budget_);
    auto b = h_.GetBudget(g);
    EXPECT_THAT(b, IsOk());
    return *b;
  }

  std::unique_ptr<eventstore::EventStore> store_ =
      eventstore::NewMemoryEventStore();
  stakeholders::StakeholdersHandler stakeholders_{
      store_.get(), &stakeholders::CountyList::Kenya(), FixedClock()};
  ResourcesHandler h_{store_.get(), &stakeholders_, FixedClock()};
  std::string ncm_, giz_, budget_;
};

const pb::Totals* Find(const google::protobuf::RepeatedPtrField<pb::Totals>& all,
                       const std::string& key) {
  for (const auto& t : all) {
    if (t.key() == key) return &t;
  }
  return nullptr;
}

TEST_F(ResourcesHandlerTest, The2020BudgetAddsUpAsWorkedOutByHand) {
  LoadFixture();
  pb::Budget b = Get();
  EXPECT_EQ(b.lines_size(), 47);
  EXPECT_EQ(b.starts_on().month(), 7);
  pb::GetBudgetRequest ahead;
  ahead.set_budget_id(budget_);
  ahead.set_min_position(store_->HeadPosition() + 1);
  EXPECT_THAT(h_.GetBudget(ahead), StatusIs(Code::kOutOfRange));
  EXPECT_EQ(b.ends_on().year(), 2021);
  // By hand, from the line items:
  // Pillar 1: 1.1 (480,000 + 50,000 + 480,000 + 1,800,000) x 4 = 11,240,000;
  //   1.2 96,000 + (100,000 + 400,000 + 400,000 + 100,000) x 3 = 3,096,000;
  //   1.4 400,000; 1.5 960,000 + 1,200,000 + 480,000 + 100,000 = 2,740,000;
  //   1.7 480,000 + 300,000 + 50,000 + 2,400,000 + 480,000 = 3,710,000;
  //   total 21,186,000.
  // Pillar 2: 200,000 + 500,000 + 240,000 + 50,000 + 1,800,000 = 2,790,000.
  // Pillar 3: 360,000 + 2,000,000 + 3,622,000 + 14,575,000 + 96,000
  //   + 3,120,000 = 23,773,000.
  // Pillar 4: 160,000 + 500,000 + 8,000,000 + 500,000 + 96,000 = 9,256,000,
  //   where the plan prints 9,196,000 (60,000 short).
  // Budget: 57,005,000, where the plan prints 56,945,000.
  ASSERT_EQ(b.pillars_size(), 4);
  EXPECT_EQ(Find(b.pillars(), "1")->current_minor(), Kes(21186000));
  EXPECT_EQ(Find(b.pillars(), "2")->current_minor(), Kes(2790000));
  EXPECT_FALSE(Find(b.pillars(), "2")->declared_mismatch());
  EXPECT_EQ(Find(b.pillars(), "3")->current_minor(), Kes(23773000));
  const pb::Totals* p4 = Find(b.pillars(), "4");
  EXPECT_EQ(p4->current_minor(), Kes(9256000));
  EXPECT_EQ(p4->declared_minor(), Kes(9196000));
  EXPECT_TRUE(p4->declared_mismatch());
  EXPECT_EQ(Find(b.activities(), "1.1")->current_minor(), Kes(11240000));
  EXPECT_FALSE(Find(b.activities(), "1.1")->declared_mismatch());
  EXPECT_EQ(Find(b.activities(), "1.2")->current_minor(), Kes(3096000));
  EXPECT_EQ(Find(b.activities(), "3.3")->current_minor(), Kes(3622000));
  EXPECT_EQ(Find(b.activities(), "3.6")->current_minor(), Kes(14575000));
  EXPECT_EQ(b.total().current_minor(), Kes(57005000));
  EXPECT_EQ(b.total().declared_minor(), Kes(56945000));
  EXPECT_TRUE(b.total().declared_mismatch());
  for (const auto& a : b.activities()) {
    if (a.has_declared_minor()) EXPECT_FALSE(a.declared_mismatch()) << a.key();
  }
  // Activity codes in numeric order.
  EXPECT_EQ(b.activities(0).key(), "1.1");
  EXPECT_EQ(b.activities(b.activities_size() - 1).key(), "4.6");
}

TEST_F(ResourcesHandlerTest, FlowsAgainstTheBudgetAndRetries) {
  LoadFixture();
  pb::RecordTransactionRequest t;
  t.set_budget_id(budget_);
  t.set_type(pb::INCOMING_PLEDGE);
  t.set_organisation_id(giz_);
  t.mutable_amount()->set_minor_units(10000000);  // EUR 100,000.00
  t.mutable_amount()->set_currency("EUR");
  t.set_exchange_rate("128.4567");
  *t.mutable_value_date() = services::ToProto(absl::CivilDay(2020, 8, 14));
  t.add_activity_codes("3.6");
  t.mutable_options()->set_command_id("giz-pledge-2020-kims");
  auto first = h_.RecordTransaction(t, "giz-system");
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->budget_amount_minor(), Kes(12845670));
  auto again = h_.RecordTransaction(t, "giz-system");
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->result().replayed());
  EXPECT_EQ(again->transaction_id(), first->transaction_id());
  EXPECT_EQ(Get().transactions_size(), 1);

  t.clear_options();
  t.set_type(pb::EXPENDITURE);
  t.mutable_amount()->set_currency("KES");
  t.set_exchange_rate("");
  t.clear_activity_codes();
  t.add_activity_codes("4.9");
  const uint64_t head = store_->HeadPosition();
  EXPECT_THAT(h_.RecordTransaction(t, ""),
              StatusIs(Code::kInvalidArgument, HasSubstr("not an activity")));
  EXPECT_EQ(store_->HeadPosition(), head);

  pb::AddBudgetLineRequest line =
      Line("4.9", 4, "Communication strategy launch", Kes(4000), 50);
  line.mutable_options()->set_command_id("add-4.9");
  auto l1 = h_.AddBudgetLine(line, "");
  ASSERT_THAT(l1, IsOk());
  auto l2 = h_.AddBudgetLine(line, "");
  ASSERT_THAT(l2, IsOk());
  EXPECT_TRUE(l2->result().replayed());
  EXPECT_EQ(l2->line_id(), l1->line_id());
  EXPECT_EQ(l2->total_minor(), Kes(200000));
  ASSERT_THAT(h_.RecordTransaction(t, ""), IsOk());
}

TEST_F(ResourcesHandlerTest, ConcurrentFlowsOnOneBudgetAllCount) {
  LoadFixture();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      pb::RecordTransactionRequest t;
      t.set_budget_id(budget_);
      t.set_type(pb::INCOMING_FUNDS);
      t.set_organisation_id(giz_);
      t.mutable_amount()->set_minor_units(Kes(1000 * (i + 1)));
      t.mutable_amount()->set_currency("KES");
      *t.mutable_value_date() = services::ToProto(absl::CivilDay(2020, 10, 1));
      t.mutable_options()->set_command_id(absl::StrCat("funds-", i));
      if (h_.RecordTransaction(t, "").ok()) ok.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  pb::Budget b = Get();
  EXPECT_EQ(b.transactions_size(), ok.load());
  int64_t sum = 0;
  for (const auto& t : b.transactions()) sum += t.budget_amount_minor();
  EXPECT_EQ(b.total().received_minor(), sum);
  EXPECT_GE(ok.load(), 4);
}

TEST_F(ResourcesHandlerTest, CommandIdsAreThePrincipalsOwnAndNameOneCommand) {
  // A partner records a pledge under the id the secretariat's import will
  // use for a budget line.
  pb::RecordTransactionRequest squat;
  squat.set_budget_id(budget_);
  squat.set_type(pb::INCOMING_PLEDGE);
  squat.set_organisation_id(giz_);
  squat.mutable_amount()->set_minor_units(1);
  squat.mutable_amount()->set_currency("KES");
  *squat.mutable_value_date() = services::ToProto(absl::CivilDay(2020, 8, 1));
  squat.mutable_options()->set_command_id("budget-line-1");
  ASSERT_THAT(h_.RecordTransaction(squat, "giz-system"), IsOk());

  pb::AddBudgetLineRequest line = Line("1.1", 1, "Stakeholder mapping", Kes(1000), 2);
  line.mutable_options()->set_command_id("budget-line-1");
  auto first = h_.AddBudgetLine(line, "secretariat");
  ASSERT_THAT(first, IsOk());
  EXPECT_FALSE(first->result().replayed());
  EXPECT_EQ(Get().lines_size(), 1);
  // The same request again is a replay; another one under the id is not.
  auto again = h_.AddBudgetLine(line, "secretariat");
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->result().replayed());
  EXPECT_EQ(again->line_id(), first->line_id());
  const uint64_t head = store_->HeadPosition();
  pb::AddBudgetLineRequest other = line;
  other.mutable_figures()->set_quantity(3);
  EXPECT_THAT(h_.AddBudgetLine(other, "secretariat"),
              StatusIs(Code::kAlreadyExists, HasSubstr("budget-line-1")));
  // Another method with the same id on the same budget, and the same id
  // on another aggregate, are other commands too.
  pb::ReviseBudgetLineRequest revise;
  revise.set_budget_id(budget_);
  revise.set_line_id(first->line_id());
  *revise.mutable_figures() = line.figures();
  revise.mutable_figures()->set_quantity(4);
  revise.mutable_options()->set_command_id("budget-line-1");
  EXPECT_THAT(h_.ReviseBudgetLine(revise, "secretariat"),
              StatusIs(Code::kAlreadyExists, HasSubstr("budget-line-1")));
  pb::OpenBudgetRequest open;
  open.set_title("2021");
  open.set_fiscal_year(2021);
  open.set_currency("KES");
  open.set_owner_organisation_id(ncm_);
  open.mutable_options()->set_command_id("budget-line-1");
  EXPECT_THAT(h_.OpenBudget(open, "secretariat"),
              StatusIs(Code::kAlreadyExists, HasSubstr("budget-line-1")));
  EXPECT_EQ(store_->HeadPosition(), head);
  EXPECT_EQ(Get().lines_size(), 1);
  EXPECT_EQ(Get().transactions_size(), 1);
}

TEST_F(ResourcesHandlerTest, OpenBudgetUnderAUsedCommandIdWritesNoSecondBudget) {
  pb::OpenBudgetRequest open;
  open.set_title("2021");
  open.set_fiscal_year(2021);
  open.set_currency("KES");
  open.set_owner_organisation_id(ncm_);
  open.mutable_options()->set_command_id("open");
  auto a = h_.OpenBudget(open, "secretariat");
  ASSERT_THAT(a, IsOk());
  const uint64_t head = store_->HeadPosition();
  open.set_fiscal_year(2022);
  EXPECT_THAT(h_.OpenBudget(open, "secretariat"),
              StatusIs(Code::kAlreadyExists, HasSubstr("\"open\"")));
  EXPECT_EQ(store_->HeadPosition(), head);
}

TEST_F(ResourcesHandlerTest, RacingCallsUnderOneCommandIdHaveOneOutcome) {
  for (bool same : {true, false}) {
    std::atomic<int> recorded{0}, replayed{0}, refused{0}, other{0};
    std::vector<std::thread> threads;
    const std::string id = same ? "race-same" : "race-other";
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&, i] {
        pb::RecordTransactionRequest t;
        t.set_budget_id(budget_);
        t.set_type(pb::INCOMING_FUNDS);
        t.set_organisation_id(giz_);
        t.mutable_amount()->set_minor_units(Kes(same ? 500 : 500 + i));
        t.mutable_amount()->set_currency("KES");
        *t.mutable_value_date() =
            services::ToProto(absl::CivilDay(2020, 10, 1));
        t.mutable_options()->set_command_id(id);
        auto r = h_.RecordTransaction(t, "secretariat");
        if (r.ok()) {
          (r->result().replayed() ? replayed : recorded).fetch_add(1);
        } else if (r.status().code() == Code::kAlreadyExists) {
          refused.fetch_add(1);
        } else {
          other.fetch_add(1);
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(recorded.load(), 1) << id;
    EXPECT_EQ(other.load(), 0) << id;
    if (same) {
      EXPECT_EQ(replayed.load(), 7);
    } else {
      // The one that won, then its own content's twin if any: all other
      // amounts differ, so every other call is refused.
      EXPECT_EQ(refused.load(), 7);
    }
  }
  EXPECT_EQ(Get().transactions_size(), 2);
}

TEST_F(ResourcesHandlerTest, NoCommandMakesATotalOverflowAndReadsNeverFail) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  pb::AddBudgetLineRequest line = Line("1.1", 1, "Huge", kMax, 1);
  auto huge = h_.AddBudgetLine(line, "");
  ASSERT_THAT(huge, IsOk());
  // Revised to 0, its original still counts: a second one would overflow
  // the original totals.
  pb::ReviseBudgetLineRequest revise;
  revise.set_budget_id(budget_);
  revise.set_line_id(huge->line_id());
  *revise.mutable_figures() = line.figures();
  revise.mutable_figures()->set_unit_cost_minor(0);
  revise.set_reason("typo");
  ASSERT_THAT(h_.ReviseBudgetLine(revise, ""), IsOk());
  const uint64_t head = store_->HeadPosition();
  EXPECT_THAT(h_.AddBudgetLine(line, ""),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("original total go past the largest sum")));
  // Pledges of the largest amount: the second is refused.
  pb::RecordTransactionRequest t;
  t.set_budget_id(budget_);
  t.set_type(pb::INCOMING_PLEDGE);
  t.set_organisation_id(giz_);
  t.mutable_amount()->set_minor_units(kMax);
  t.mutable_amount()->set_currency("KES");
  *t.mutable_value_date() = services::ToProto(absl::CivilDay(2020, 8, 1));
  ASSERT_THAT(h_.RecordTransaction(t, ""), IsOk());
  EXPECT_THAT(h_.RecordTransaction(t, ""),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("the budget's pledged go past")));
  // And reviving the line to its old figure would overflow the current one
  // only if another line counted; it is accepted alone.
  EXPECT_EQ(store_->HeadPosition(), head + 1);
  pb::Budget b = Get();
  EXPECT_EQ(b.total().pledged_minor(), kMax);
  EXPECT_FALSE(b.total().overflowed());
}

TEST_F(ResourcesHandlerTest, TotalsThatOverflowInStoredDataAreCappedNotFatal) {
  // Events recorded before commands were held to totals that fit.
  for (int i = 0; i < 2; ++i) {
    pb::BudgetEvent e;
    auto* tx = e.mutable_transaction();
    tx->set_transaction_id(absl::StrCat("00000000-0000-4000-8000-00000000000", i));
    tx->set_type(pb::INCOMING_PLEDGE);
    tx->set_organisation_id(giz_);
    tx->mutable_amount()->set_minor_units(std::numeric_limits<int64_t>::max());
    tx->mutable_amount()->set_currency("KES");
    tx->set_budget_amount_minor(std::numeric_limits<int64_t>::max());
    eventstore::AppendRequest req;
    auto& w = req.streams.emplace_back();
    w.stream_id = BudgetStream(budget_);
    w.events.push_back(services::EncodeEvent(e));
    w.events.back().event_id = services::NewUuid();
    ASSERT_THAT(store_->Append(std::move(req)).status(), IsOk());
  }
  pb::Budget b = Get();
  EXPECT_TRUE(b.total().overflowed());
  EXPECT_EQ(b.total().pledged_minor(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(b.transactions_size(), 2);
}

TEST_F(ResourcesHandlerTest, TransactionsComeAPageAtATime) {
  LoadFixture();
  for (int i = 0; i < 5; ++i) {
    pb::RecordTransactionRequest t;
    t.set_budget_id(budget_);
    t.set_type(pb::INCOMING_FUNDS);
    t.set_organisation_id(giz_);
    t.mutable_amount()->set_minor_units(Kes(100 + i));
    t.mutable_amount()->set_currency("KES");
    *t.mutable_value_date() = services::ToProto(absl::CivilDay(2020, 10, 1));
    ASSERT_THAT(h_.RecordTransaction(t, ""), IsOk());
  }
  pb::GetBudgetRequest g;
  g.set_budget_id(budget_);
  g.set_transactions_page_size(2);
  std::vector<int64_t> seen;
  for (int pages = 0; pages < 10; ++pages) {
    auto b = h_.GetBudget(g);
    ASSERT_THAT(b, IsOk());
    EXPECT_EQ(b->transaction_count(), 5);
    EXPECT_LE(b->transactions_size(), 2);
    for (const auto& t : b->transactions()) seen.push_back(t.amount().minor_units());
    if (b->next_transactions_page_token().empty()) break;
    g.set_transactions_page_token(b->next_transactions_page_token());
  }
  EXPECT_THAT(seen, ::testing::ElementsAre(Kes(100), Kes(101), Kes(102),
                                           Kes(103), Kes(104)));
  g.set_transactions_page_token("99");
  EXPECT_THAT(h_.GetBudget(g), StatusIs(Code::kInvalidArgument,
                                        HasSubstr("transactions_page_token")));
  g.clear_transactions_page_token();
  g.set_transactions_page_size(1001);
  EXPECT_THAT(h_.GetBudget(g), StatusIs(Code::kInvalidArgument,
                                        HasSubstr("transactions_page_size")));
}

TEST_F(ResourcesHandlerTest, PillarsAreThePlansAndDeclaredTotalsNeedLines) {
  pb::AddBudgetLineRequest line = Line("9.1", 9, "Nowhere", 1, 1);
  EXPECT_THAT(h_.AddBudgetLine(line, ""),
              StatusIs(Code::kInvalidArgument, HasSubstr("must be 1 to 4")));
  pb::RecordDeclaredTotalRequest d;
  d.set_budget_id(budget_);
  d.set_scope(pb::PILLAR);
  d.set_key("3");
  d.set_amount_minor(100);
  EXPECT_THAT(h_.RecordDeclaredTotal(d, ""),
              StatusIs(Code::kInvalidArgument, HasSubstr("has no line")));
}

}  // namespace
}  // namespace ncm::resources
