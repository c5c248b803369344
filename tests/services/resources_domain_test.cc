// Money arithmetic and the budget domain: exact conversion and rounding,
// overflow, line rules, revisions, declared totals, funding flows.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ncm/resources/domain.h"
#include "ncm/resources/money.h"
#include "testing/status_matchers.h"

namespace ncm::resources {
namespace {

using ::ncm::testing::IsOk;
using ::ncm::testing::IsOkAndHolds;
using ::ncm::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Code = absl::StatusCode;
namespace spb = ::ncm::stakeholders::v1;

constexpr char kBudget[] = "9a7c1f1e-2a3b-4c5d-8e9f-001122334455";
constexpr char kOwner[] = "9b7c1f1e-2a3b-4c5d-8e9f-001122334455";
constexpr char kGiz[] = "9c7c1f1e-2a3b-4c5d-8e9f-001122334455";

TEST(MoneyTest, CurrencyExponents) {
  EXPECT_EQ(CurrencyExponent("KES"), 2);
  EXPECT_EQ(CurrencyExponent("UGX"), 0);
  EXPECT_EQ(CurrencyExponent("KWD"), 3);
  EXPECT_EQ(CurrencyExponent("kes"), std::nullopt);
  EXPECT_EQ(CurrencyExponent("XYZ"), std::nullopt);
}

TEST(MoneyTest, DecimalsParseExactlyOrAreRefused) {
  auto d = ParseDecimal("129.35", "rate");
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(d->digits, 12935);
  EXPECT_EQ(d->scale, 2);
  EXPECT_EQ(FormatDecimal(*d), "129.35");
  EXPECT_EQ(FormatDecimal(*ParseDecimal("0.0078", "rate")), "0.0078");
  for (const char* bad : {"", "-1", "1e3", "1.2.3", ".5", "5.", "0", "0.000",
                          "1.0000000000001", "12,5", "1234567890123456789"}) {
    EXPECT_THAT(ParseDecimal(bad, "rate"),
                StatusIs(Code::kInvalidArgument, HasSubstr("rate")))
        << bad;
  }
}

TEST(MoneyTest, ConversionIsExactWithHalfAwayFromZeroRounding) {
  // USD 1,000.00 at 129.35 KES/USD = KES 129,350.00.
  EXPECT_THAT(Convert(100000, 2, *ParseDecimal("129.35", "r"), 2),
              IsOkAndHolds(12935000));
  // EUR 0.01 at 1.005: 0.01005 -> 0.01 (below half); at 1.5: 0.015 -> 0.02.
  EXPECT_THAT(Convert(1, 2, *ParseDecimal("1.005", "r"), 2), IsOkAndHolds(1));
  EXPECT_THAT(Convert(1, 2, *ParseDecimal("1.5", "r"), 2), IsOkAndHolds(2));
  // UGX (no minor unit) to KES: UGX 1,000,000 at 0.0347 = KES 34,700.00.
  EXPECT_THAT(Convert(1000000, 0, *ParseDecimal("0.0347", "r"), 2),
              IsOkAndHolds(3470000));
  // KES to KWD (3 decimals): KES 100.00 at 0.00236 = KWD 0.236.
  EXPECT_THAT(Convert(10000, 2, *ParseDecimal("0.00236", "r"), 3),
              IsOkAndHolds(236));
  EXPECT_THAT(Convert(INT64_MAX, 2, *ParseDecimal("1000", "r"), 2),
              StatusIs(Code::kInvalidArgument, HasSubstr("does not fit")));
}

TEST(MoneyTest, ProductsAreCheckedAndFormatted) {
  EXPECT_THAT(CheckedProduct(400000, 40, 3, 4, "f"), IsOkAndHolds(192000000));
  EXPECT_THAT(CheckedProduct(INT64_MAX / 2, 3, 1, 1, "figures"),
              StatusIs(Code::kInvalidArgument, HasSubstr("figures")));
  EXPECT_EQ(FormatMinor(5694500000, 2), "56,945,000.00");
  EXPECT_EQ(FormatMinor(-123, 2), "-1.23");
  EXPECT_EQ(FormatMinor(1000000, 0), "1,000,000");
  EXPECT_EQ(FormatMinor(INT64_MIN, 0), "-9,223,372,036,854,775,808");
}

OrganisationState Org(const char* id) {
  OrganisationState o;
  o.exists = true;
  o.organisation_id = id;
  o.status = spb::ACTIVE;
  return o;
}

void Fold(const BudgetEvents& ev, BudgetState* s) {
  EventMeta m;
  for (const auto& e : ev) Apply(e, m, s);
}

BudgetState Opened() {
  pb::OpenBudgetRequest r;
  r.set_title("NCM 2020 budget");
  r.set_fiscal_year(2020);
  r.set_currency("KES");
  r.set_owner_organisation_id(kOwner);
  BudgetState s;
  auto ev = DecideOpen(s, kBudget, r, Org(kOwner));
  EXPECT_THAT(ev, IsOk());
  Fold(*ev, &s);
  return s;
}

pb::AddBudgetLineRequest Line(const std::string& activity, int64_t unit,
                              int64_t pax, int64_t days, int64_t occ = 1) {
  pb::AddBudgetLineRequest r;
  r.set_activity_code(activity);
  r.set_pillar(activity[0] - '0');
  r.set_description("Conference package");
  r.mutable_figures()->set_unit_cost_minor(unit);
  r.mutable_figures()->set_quantity(pax);
  r.mutable_figures()->set_days(days);
  r.mutable_figures()->set_occurrences(occ);
  return r;
}

TEST(BudgetTest, OpenChecksEveryField) {
  BudgetState s = Opened();
  EXPECT_EQ(s.StartsOn(), absl::CivilDay(2020, 7, 1));
  EXPECT_EQ(s.EndsOn(), absl::CivilDay(2021, 6, 30));
  pb::OpenBudgetRequest r;
  r.set_title("x");
  r.set_fiscal_year(2020);
  r.set_currency("KES");
  r.set_owner_organisation_id(kOwner);
  EXPECT_THAT(DecideOpen(s, kBudget, r, Org(kOwner)),
              StatusIs(Code::kAlreadyExists));
  BudgetState none;
  auto bad = [&](auto mutate, Code code, const std::string& msg) {
    pb::OpenBudgetRequest x = r;
    mutate(&x);
    EXPECT_THAT(DecideOpen(none, kBudget, x, Org(kOwner)),
                StatusIs(code, HasSubstr(msg)));
  };
  bad([](auto* x) { x->set_title(""); }, Code::kInvalidArgument, "title");
  bad([](auto* x) { x->set_fiscal_year(1800); }, Code::kInvalidArgument,
      "fiscal_year");
  bad([](auto* x) { x->set_fiscal_year_start_month(13); },
      Code::kInvalidArgument, "fiscal_year_start_month");
  bad([](auto* x) { x->set_currency("Ksh"); }, Code::kInvalidArgument,
      "\"Ksh\" is not an ISO 4217 code");
  bad([](auto* x) { x->set_owner_organisation_id("x"); },
      Code::kInvalidArgument, "owner_organisation_id");
  OrganisationState missing;
  r.set_fiscal_year_start_month(1);  // a calendar-year budget elsewhere
  EXPECT_THAT(DecideOpen(none, kBudget, r, missing), StatusIs(Code::kNotFound));
  BudgetState ghana;
  Fold(*DecideOpen(none, kBudget, r, Org(kOwner)), &ghana);
  EXPECT_EQ(ghana.EndsOn(), absl::CivilDay(2020, 12, 31));
}

TEST(BudgetTest, LineTotalIsComputedAndADeclaredMismatchKept) {
  BudgetState s = Opened();
  pb::AddBudgetLineRequest r = Line("1.1", 400000, 40, 3, 4);
  r.mutable_figures()->set_declared_total_minor(48000000);  // per meeting
  auto ev = DecideAddLine(s, "l1", r);
  ASSERT_THAT(ev, IsOk());
  const auto& f = (*ev)[0].line_added().figures();
  EXPECT_EQ(f.total_minor(), 192000000);
  EXPECT_EQ(f.declared_total_minor(), 48000000);  // kept as given
  Fold(*ev, &s);
  EXPECT_TRUE(s.HasActivity("1.1"));
}

TEST(BudgetTest, LineRules) {
  BudgetState s = Opened();
  auto bad = [&](pb::AddBudgetLineRequest r, const std::string& msg) {
    EXPECT_THAT(DecideAddLine(s, "l", r),
                StatusIs(Code::kInvalidArgument, HasSubstr(msg)))
        << msg;
  };
  auto r = Line("1.1", 1, 1, 1);
  r.set_activity_code("1..1");
  bad(r, "activity_code");
  r = Line("1.1", 1, 1, 1);
  r.set_pillar(2);
  bad(r, "pillar 2 does not match activity code 1.1");
  r = Line("1.1", 1, 1, 1);
  r.set_item_code("1.2.1");
  bad(r, "item_code");
  r = Line("1.1", 1, 1, 1);
  r.set_description("");
  bad(r, "description is required");
  bad(Line("1.1", -1, 1, 1), "unit_cost_minor must not be negative");
  bad(Line("1.1", 1, 0, 1), "quantity must be at least 1");
  bad(Line("1.1", 1, 1, 0), "days must be at least 1");
  bad(Line("1.1", 1, 1, 1, -2), "occurrences");
  bad(Line("1.1", INT64_MAX / 3, 2, 2), "overflows");
  // Two lines that fit alone but not together.
  Fold(*DecideAddLine(s, "big", Line("1.1", INT64_MAX / 2 + 1, 1, 1)), &s);
  bad(Line("1.2", INT64_MAX / 2 + 1, 1, 1), "go past the largest sum");
  // Occurrences 0 means once; the item code may extend the activity's.
  BudgetState t = Opened();
  r = Line("1.2", 5, 2, 3, 0);
  r.set_item_code("1.2.4");
  auto ok = DecideAddLine(t, "l", r);
  ASSERT_THAT(ok, IsOk());
  EXPECT_EQ((*ok)[0].line_added().figures().occurrences(), 1);
  EXPECT_EQ((*ok)[0].line_added().figures().total_minor(), 30);
  EXPECT_THAT(DecideAddLine(BudgetState(), "l", Line("1.1", 1, 1, 1)),
              StatusIs(Code::kNotFound));
}

TEST(BudgetTest, RevisionKeepsTheOriginal) {
  BudgetState s = Opened();
  Fold(*DecideAddLine(s, "l1", Line("4.1", 400000, 20, 2)), &s);
  pb::ReviseBudgetLineRequest r;
  r.set_line_id("l1");
  r.mutable_figures()->set_unit_cost_minor(400000);
  r.mutable_figures()->set_quantity(15);
  r.mutable_figures()->set_days(2);
  EXPECT_THAT(DecideReviseLine(s, r),
              StatusIs(Code::kInvalidArgument, HasSubstr("reason is required")));
  r.set_reason("fewer participants");
  auto ev = DecideReviseLine(s, r);
  ASSERT_THAT(ev, IsOk());
  Fold(*ev, &s);
  const resources::Line* line = s.FindLine("l1");
  EXPECT_EQ(line->added.figures().total_minor(), 16000000);
  EXPECT_EQ(line->Current().total_minor(), 12000000);
  EXPECT_THAT(DecideReviseLine(s, r), IsOkAndHolds(IsEmpty()));  // no change
  r.set_line_id("nope");
  EXPECT_THAT(DecideReviseLine(s, r), StatusIs(Code::kNotFound, HasSubstr("line_id")));
  const AllTotals totals = ComputeTotals(s);
  EXPECT_EQ(totals.overflowed, "");
  EXPECT_EQ(totals.budget.original_minor(), 16000000);
  EXPECT_EQ(totals.budget.current_minor(), 12000000);
}

TEST(BudgetTest, DeclaredTotalsAreCheckedAndCompared) {
  BudgetState s = Opened();
  Fold(*DecideAddLine(s, "l1", Line("4.1", 400000, 20, 2)), &s);
  pb::RecordDeclaredTotalRequest r;
  r.set_scope(pb::ACTIVITY);
  r.set_key("9.9");
  EXPECT_THAT(DecideDeclareTotal(s, r),
              StatusIs(Code::kInvalidArgument, HasSubstr("not in the budget")));
  r.set_scope(pb::PILLAR);
  r.set_key("04");
  EXPECT_THAT(DecideDeclareTotal(s, r), StatusIs(Code::kInvalidArgument));
  r.set_scope(pb::BUDGET);
  r.set_key("x");
  EXPECT_THAT(DecideDeclareTotal(s, r), StatusIs(Code::kInvalidArgument));
  r.set_scope(pb::TOTAL_SCOPE_UNSPECIFIED);
  EXPECT_THAT(DecideDeclareTotal(s, r),
              StatusIs(Code::kInvalidArgument, HasSubstr("scope")));
  r.set_scope(pb::PILLAR);
  r.set_key("4");
  r.set_amount_minor(15000000);
  Fold(*DecideDeclareTotal(s, r), &s);
  const AllTotals totals = ComputeTotals(s);
  EXPECT_EQ(totals.overflowed, "");
  ASSERT_EQ(totals.pillars.size(), 1u);
  EXPECT_EQ(totals.pillars[0].declared_minor(), 15000000);
  EXPECT_TRUE(totals.pillars[0].declared_mismatch());
  EXPECT_FALSE(totals.budget.has_declared_minor());
}

pb::RecordTransactionRequest Tx(pb::TransactionType type, int64_t minor,
                                const std::string& currency,
                                const std::string& rate = "") {
  pb::RecordTransactionRequest r;
  r.set_type(type);
  r.set_organisation_id(kGiz);
  r.mutable_amount()->set_minor_units(minor);
  r.mutable_amount()->set_currency(currency);
  *r.mutable_value_date() = services::ToProto(absl::CivilDay(2020, 9, 1));
  r.set_exchange_rate(rate);
  return r;
}

TEST(FundingTest, FlowsAreConvertedCheckedAndTotalled) {
  BudgetState s = Opened();
  Fold(*DecideAddLine(s, "l1", Line("1.1", 400000, 40, 3, 4)), &s);  // 1.92M
  Fold(*DecideAddLine(s, "l2", Line("2.2", 5000000, 1, 10)), &s);    // 500k
  auto pledge = Tx(pb::INCOMING_PLEDGE, 2000000, "EUR", "120.5");
  pledge.add_activity_codes("1.1");
  auto ev = DecideTransaction(s, "t1", pledge, Org(kGiz));
  ASSERT_THAT(ev, IsOk());
  EXPECT_EQ((*ev)[0].transaction().budget_amount_minor(), 241000000);
  Fold(*ev, &s);
  auto received = Tx(pb::INCOMING_FUNDS, 100000000, "KES");
  received.add_activity_codes("1.1");
  received.add_activity_codes("2.2");
  Fold(*DecideTransaction(s, "t2", received, Org(kGiz)), &s);
  auto spent = Tx(pb::EXPENDITURE, 30000000, "KES", "1.00");
  spent.add_activity_codes("1.1");
  ev = DecideTransaction(s, "t3", spent, Org(kGiz));
  ASSERT_THAT(ev, IsOk());
  EXPECT_EQ((*ev)[0].transaction().exchange_rate(), "1");
  Fold(*ev, &s);
  Fold(*DecideTransaction(s, "t4", Tx(pb::INCOMING_COMMITMENT, 5000, "KES"),
                          Org(kGiz)),
       &s);

  const AllTotals totals = ComputeTotals(s);
  EXPECT_EQ(totals.overflowed, "");
  const pb::Totals& a11 = totals.activities[0];
  EXPECT_EQ(a11.key(), "1.1");
  EXPECT_EQ(a11.pledged_minor(), 241000000);
  EXPECT_EQ(a11.received_minor(), 100000000);
  EXPECT_EQ(a11.spent_minor(), 30000000);
  EXPECT_EQ(a11.gap_minor(), 192000000 - 100000000);
  EXPECT_EQ(totals.activities[1].received_minor(), 100000000);  // 2.2 too
  // Once only in the budget, whatever the earmarks; unearmarked there only.
  EXPECT_EQ(totals.budget.received_minor(), 100000000);
  EXPECT_EQ(totals.budget.committed_minor(), 5000);
  EXPECT_EQ(totals.pillars[0].committed_minor(), 0);
  EXPECT_EQ(totals.budget.current_minor(), 242000000);
}

TEST(FundingTest, RefusedFlows) {
  BudgetState s = Opened();
  Fold(*DecideAddLine(s, "l1", Line("1.1", 1, 1, 1)), &s);
  auto bad = [&](pb::RecordTransactionRequest r, Code code,
                 const std::string& msg) {
    EXPECT_THAT(DecideTransaction(s, "t", r, Org(kGiz)),
                StatusIs(code, HasSubstr(msg)))
        << msg;
  };
  auto spend = Tx(pb::EXPENDITURE, 100, "KES");
  spend.add_activity_codes("3.9");
  bad(spend, Code::kInvalidArgument,
      "activity_codes[0] \"3.9\" is not an activity of this budget");
  spend = Tx(pb::EXPENDITURE, 100, "KES");
  spend.add_activity_codes("1.1");
  spend.add_activity_codes("1.1");
  bad(spend, Code::kInvalidArgument, "repeats");
  bad(Tx(pb::DISBURSEMENT, 100, "KES"), Code::kInvalidArgument, "type");
  bad(Tx(pb::INCOMING_FUNDS, 0, "KES"), Code::kInvalidArgument,
      "amount.minor_units must be greater than zero");
  bad(Tx(pb::INCOMING_FUNDS, 100, "EURO"), Code::kInvalidArgument,
      "amount.currency");
  bad(Tx(pb::INCOMING_FUNDS, 100, "USD"), Code::kInvalidArgument,
      "exchange_rate is required: units of KES per USD");
  bad(Tx(pb::INCOMING_FUNDS, 100, "USD", "1.3e2"), Code::kInvalidArgument,
      "exchange_rate");
  bad(Tx(pb::INCOMING_FUNDS, 100, "KES", "2"), Code::kInvalidArgument,
      "must be 1 when the amount is in the budget currency");
  auto no_date = Tx(pb::INCOMING_FUNDS, 100, "KES");
  no_date.clear_value_date();
  bad(no_date, Code::kInvalidArgument, "value_date is required");
  OrganisationState gone = Org(kGiz);
  gone.status = spb::WITHDRAWN;
  EXPECT_THAT(DecideTransaction(s, "t", Tx(pb::INCOMING_FUNDS, 1, "KES"), gone),
              StatusIs(Code::kFailedPrecondition, HasSubstr("WITHDRAWN")));
}

}  // namespace
}  // namespace ncm::resources
