#include "ncm/resources/domain.h"

#include <algorithm>
#include <limits>
#include <set>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ncm/resources/money.h"
#include "ncm/services/dates.h"
#include "ncm/services/ids.h"

namespace ncm::resources {

using stakeholders::CheckUsable;
using stakeholders::CleanText;

std::string BudgetStream(const std::string& id) { return "budget-" + id; }

namespace {

absl::Status Invalid(absl::string_view field, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat(field, " ", rule));
}

// "1", "1.1", "1.2.3": up to five numbers of up to three digits.
bool ValidCode(const std::string& code) {
  if (code.empty()) return false;
  std::vector<absl::string_view> parts = absl::StrSplit(code, '.');
  if (parts.size() > 5) return false;
  for (absl::string_view p : parts) {
    if (p.empty() || p.size() > 3) return false;
    for (char c : p) {
      if (c < '0' || c > '9') return false;
    }
  }
  return true;
}

int FirstNumber(const std::string& code) {
  int n = 0;
  (void)absl::SimpleAtoi(code.substr(0, code.find('.')), &n);
  return n;
}

absl::Status MustExist(const BudgetState& s) {
  if (!s.exists) {
    return absl::NotFoundError("no such budget; check the budget_id");
  }
  return absl::OkStatus();
}

// Checks a line's input and computes its figures.
absl::StatusOr<pb::LineFigures> Figures(const pb::LineInput& in,
                                        const std::string& field) {
  if (in.unit_cost_minor() < 0) {
    return Invalid(field + ".unit_cost_minor", "must not be negative");
  }
  if (in.quantity() < 1) return Invalid(field + ".quantity", "must be at least 1");
  if (in.days() < 1) return Invalid(field + ".days", "must be at least 1");
  if (in.occurrences() < 0) {
    return Invalid(field + ".occurrences", "must not be negative (0 means 1)");
  }
  if (in.has_declared_total_minor() && in.declared_total_minor() < 0) {
    return Invalid(field + ".declared_total_minor", "must not be negative");
  }
  pb::LineFigures f;
  f.set_unit_cost_minor(in.unit_cost_minor());
  f.set_quantity(in.quantity());
  f.set_days(in.days());
  f.set_occurrences(in.occurrences() == 0 ? 1 : in.occurrences());
  NCM_ASSIGN_OR_RETURN(
      int64_t total,
      CheckedProduct(f.unit_cost_minor(), f.quantity(), f.days(),
                     f.occurrences(), field));
  f.set_total_minor(total);
  if (in.has_declared_total_minor()) {
    f.set_declared_total_minor(in.declared_total_minor());
  }
  return f;
}

// OK when every total of the budget still fits in 64-bit minor units once
// `events` are applied; INVALID_ARGUMENT naming `field` and the total.
absl::Status TotalsFitAfter(const BudgetState& s, const BudgetEvents& events,
                            const std::string& field);

}  // namespace

// ---------------------------------------------------------------- state

const Line* BudgetState::FindLine(const std::string& id) const {
  for (const Line& l : lines) {
    if (l.added.line_id() == id) return &l;
  }
  return nullptr;
}

bool BudgetState::HasActivity(const std::string& code) const {
  for (const Line& l : lines) {
    if (l.added.activity_code() == code) return true;
  }
  return false;
}

absl::CivilDay BudgetState::StartsOn() const {
  return absl::CivilDay(opened.fiscal_year(), opened.fiscal_year_start_month(),
                        1);
}

absl::CivilDay BudgetState::EndsOn() const {
  return absl::CivilDay(absl::CivilMonth(StartsOn()) + 12) - 1;
}

void Apply(const pb::BudgetEvent& e, const EventMeta& m, BudgetState* s) {
  switch (e.event_case()) {
    case pb::BudgetEvent::kOpened:
      s->exists = true;
      s->opened = e.opened();
      s->exponent = CurrencyExponent(e.opened().currency()).value_or(2);
      break;
    case pb::BudgetEvent::kLineAdded:
      s->lines.push_back({e.line_added(), std::nullopt, ""});
      break;
    case pb::BudgetEvent::kLineRevised:
      for (Line& l : s->lines) {
        if (l.added.line_id() == e.line_revised().line_id()) {
          l.revised = e.line_revised().figures();
          l.revision_reason = e.line_revised().reason();
        }
      }
      break;
    case pb::BudgetEvent::kDeclaredTotal:
      s->declared[{e.declared_total().scope(), e.declared_total().key()}] =
          e.declared_total();
      break;
    case pb::BudgetEvent::kTransaction:
      s->transactions.push_back({e.transaction(), m.recorded_at});
      break;
    case pb::BudgetEvent::EVENT_NOT_SET:
      break;
  }
}

// -------------------------------------------------------------- decide

absl::StatusOr<BudgetEvents> DecideOpen(const BudgetState& s,
                                        const std::string& budget_id,
                                        const pb::OpenBudgetRequest& r,
                                        const OrganisationState& owner) {
  NCM_ASSIGN_OR_RETURN(std::string title, CleanText(r.title(), "title", 200, true));
  if (r.fiscal_year() < 1900 || r.fiscal_year() > 9998) {
    return Invalid("fiscal_year", absl::StrCat("must be 1900 to 9998; got ",
                                               r.fiscal_year()));
  }
  const int month = r.fiscal_year_start_month() == 0
                        ? 7
                        : r.fiscal_year_start_month();
  if (month < 1 || month > 12) {
    return Invalid("fiscal_year_start_month",
                   absl::StrCat("must be 1 to 12 (0: July); got ", month));
  }
  if (!CurrencyExponent(r.currency()).has_value()) {
    return Invalid("currency",
                   absl::StrCat("\"", r.currency(),
                                "\" is not an ISO 4217 code this service "
                                "knows (e.g. KES, USD, EUR)"));
  }
  NCM_RETURN_IF_ERROR(services::CheckUuid(r.owner_organisation_id(),
                                          "owner_organisation_id"));
  NCM_RETURN_IF_ERROR(CheckUsable(owner, "owner_organisation_id",
                                  r.owner_organisation_id()));
  if (s.exists) {
    return absl::AlreadyExistsError(absl::StrCat(
        "the budget of this owner for fiscal year ", r.fiscal_year(), " in ",
        r.currency(), " already exists: ", budget_id));
  }
  BudgetEvents out(1);
  auto* o = out[0].mutable_opened();
  o->set_budget_id(budget_id);
  o->set_title(title);
  o->set_fiscal_year(r.fiscal_year());
  o->set_fiscal_year_start_month(month);
  o->set_currency(r.currency());
  o->set_owner_organisation_id(r.owner_organisation_id());
  return out;
}

absl::StatusOr<BudgetEvents> DecideAddLine(const BudgetState& s,
                                           const std::string& line_id,
                                           const pb::AddBudgetLineRequest& r) {
  NCM_RETURN_IF_ERROR(MustExist(s));
  if (!ValidCode(r.activity_code())) {
    return Invalid("activity_code",
                   absl::StrCat("\"", r.activity_code(),
                                "\" must be numbers joined by dots, e.g. "
                                "\"1.1\""));
  }
  if (r.pillar() < 1 || r.pillar() > kPlanPillars) {
    return Invalid("pillar", absl::StrCat("must be 1 to ", kPlanPillars,
                                          " (the action plan's pillars); got ",
                                          r.pillar()));
  }
  if (r.pillar() != FirstNumber(r.activity_code())) {
    return Invalid("pillar",
                   absl::StrCat(r.pillar(), " does not match activity code ",
                                r.activity_code(), " (its first number is "
                                "the pillar)"));
  }
  if (!r.item_code().empty() && r.item_code() != r.activity_code() &&
      !(ValidCode(r.item_code()) &&
        absl::StartsWith(r.item_code(), r.activity_code() + "."))) {
    return Invalid("item_code",
                   absl::StrCat("\"", r.item_code(), "\" must be empty, the "
                                "activity code or start with \"",
                                r.activity_code(), ".\""));
  }
  NCM_ASSIGN_OR_RETURN(std::string description,
                       CleanText(r.description(), "description", 500, true));
  NCM_ASSIGN_OR_RETURN(pb::LineFigures f, Figures(r.figures(), "figures"));
  BudgetEvents out(1);
  auto* a = out[0].mutable_line_added();
  a->set_line_id(line_id);
  a->set_activity_code(r.activity_code());
  a->set_pillar(r.pillar());
  a->set_item_code(r.item_code());
  a->set_description(description);
  *a->mutable_figures() = std::move(f);
  NCM_RETURN_IF_ERROR(TotalsFitAfter(s, out, "figures"));
  return out;
}

absl::StatusOr<BudgetEvents> DecideReviseLine(
    const BudgetState& s, const pb::ReviseBudgetLineRequest& r) {
  NCM_RETURN_IF_ERROR(MustExist(s));
  const Line* line = s.FindLine(r.line_id());
  if (line == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("line_id ", r.line_id(), ": no such line in this budget"));
  }
  NCM_ASSIGN_OR_RETURN(std::string reason, CleanText(r.reason(), "reason", 1000, true));
  NCM_ASSIGN_OR_RETURN(pb::LineFigures f, Figures(r.figures(), "figures"));
  if (f.SerializeAsString() == line->Current().SerializeAsString()) {
    return BudgetEvents{};
  }
  BudgetEvents out(1);
  auto* v = out[0].mutable_line_revised();
  v->set_line_id(r.line_id());
  *v->mutable_figures() = std::move(f);
  v->set_reason(reason);
  NCM_RETURN_IF_ERROR(TotalsFitAfter(s, out, "figures"));
  return out;
}

absl::StatusOr<BudgetEvents> DecideDeclareTotal(
    const BudgetState& s, const pb::RecordDeclaredTotalRequest& r) {
  NCM_RETURN_IF_ERROR(MustExist(s));
  switch (r.scope()) {
    case pb::ACTIVITY:
      if (!s.HasActivity(r.key())) {
        return Invalid("key", absl::StrCat("activity \"", r.key(),
                                           "\" is not in the budget"));
      }
      break;
    case pb::PILLAR: {
      int pillar = 0;
      if (!absl::SimpleAtoi(r.key(), &pillar) || pillar < 1 ||
          absl::StrCat(pillar) != r.key()) {
        return Invalid("key", "must be the pillar's number, e.g. \"4\"");
      }
      if (!std::any_of(s.lines.begin(), s.lines.end(), [&](const Line& l) {
            return l.added.pillar() == pillar;
          })) {
        return Invalid("key", absl::StrCat("pillar ", pillar,
                                           " has no line in the budget; add "
                                           "its lines first"));
      }
      break;
    }
    case pb::BUDGET:
      if (!r.key().empty()) return Invalid("key", "must be empty for BUDGET");
      break;
    default:
      return Invalid("scope", "must be ACTIVITY, PILLAR or BUDGET");
  }
  if (r.amount_minor() < 0) return Invalid("amount_minor", "must not be negative");
  NCM_ASSIGN_OR_RETURN(std::string source, CleanText(r.source(), "source", 200, false));
  BudgetEvents out(1);
  auto* d = out[0].mutable_declared_total();
  d->set_scope(r.scope());
  d->set_key(r.key());
  d->set_amount_minor(r.amount_minor());
  d->set_source(source);
  return out;
}

absl::StatusOr<BudgetEvents> DecideTransaction(
    const BudgetState& s, const std::string& transaction_id,
    const pb::RecordTransactionRequest& r, const OrganisationState& org) {
  NCM_RETURN_IF_ERROR(MustExist(s));
  switch (r.type()) {
    case pb::INCOMING_PLEDGE:
    case pb::INCOMING_COMMITMENT:
    case pb::INCOMING_FUNDS:
    case pb::EXPENDITURE:
      break;
    default:
      return Invalid("type",
                     "must be INCOMING_PLEDGE (13), INCOMING_COMMITMENT (11), "
                     "INCOMING_FUNDS (1) or EXPENDITURE (4)");
  }
  NCM_RETURN_IF_ERROR(services::CheckUuid(r.organisation_id(), "organisation_id"));
  NCM_RETURN_IF_ERROR(CheckUsable(org, "organisation_id", r.organisation_id()));
  const std::optional<int> exp = CurrencyExponent(r.amount().currency());
  if (!exp) {
    return Invalid("amount.currency",
                   absl::StrCat("\"", r.amount().currency(),
                                "\" is not an ISO 4217 code this service "
                                "knows"));
  }
  if (r.amount().minor_units() <= 0) {
    return Invalid("amount.minor_units", "must be greater than zero");
  }
  if (!services::IsSet(r.value_date())) return Invalid("value_date", "is required");
  NCM_RETURN_IF_ERROR(services::FromProto(r.value_date(), "value_date").status());

  Decimal rate{1, 0};
  if (r.amount().currency() == s.opened.currency()) {
    if (!r.exchange_rate().empty()) {
      NCM_ASSIGN_OR_RETURN(rate, ParseDecimal(r.exchange_rate(), "exchange_rate"));
      if (rate.digits != 1 || rate.scale != 0) {
        // Normalise "1.00" and refuse anything else.
        int64_t one = 1;
        for (int i = 0; i < rate.scale; ++i) one *= 10;
        if (rate.digits != one) {
          return Invalid("exchange_rate",
                         absl::StrCat("must be 1 when the amount is in the "
                                      "budget currency (",
                                      s.opened.currency(), ")"));
        }
        rate = Decimal{1, 0};
      }
    }
  } else {
    if (r.exchange_rate().empty()) {
      return Invalid("exchange_rate",
                     absl::StrCat("is required: units of ", s.opened.currency(),
                                  " per ", r.amount().currency()));
    }
    NCM_ASSIGN_OR_RETURN(rate, ParseDecimal(r.exchange_rate(), "exchange_rate"));
  }
  NCM_ASSIGN_OR_RETURN(int64_t converted,
                       Convert(r.amount().minor_units(), *exp, rate, s.exponent));

  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < r.activity_codes_size(); ++i) {
    const std::string& code = r.activity_codes(i);
    const std::string f = absl::StrCat("activity_codes[", i, "]");
    if (!s.HasActivity(code)) {
      return Invalid(f, absl::StrCat("\"", code, "\" is not an activity of "
                                     "this budget; add a budget line for it "
                                     "first"));
    }
    if (!seen.insert(code).second) return Invalid(f, "repeats an activity");
  }
  NCM_ASSIGN_OR_RETURN(std::string description,
                       CleanText(r.description(), "description", 500, false));
  NCM_ASSIGN_OR_RETURN(std::string reference,
                       CleanText(r.reference(), "reference", 100, false));
  BudgetEvents out(1);
  auto* t = out[0].mutable_transaction();
  t->set_transaction_id(transaction_id);
  t->set_type(r.type());
  t->set_organisation_id(r.organisation_id());
  *t->mutable_amount() = r.amount();
  *t->mutable_value_date() = r.value_date();
  t->set_exchange_rate(FormatDecimal(rate));
  t->set_budget_amount_minor(converted);
  *t->mutable_activity_codes() = r.activity_codes();
  t->set_description(description);
  t->set_reference(reference);
  NCM_RETURN_IF_ERROR(TotalsFitAfter(s, out, "amount.minor_units"));
  return out;
}

// --------------------------------------------------------------- totals

namespace {

// Adds `v` to `*into`, capping at the int64 range; false when it capped.
bool AddTo(int64_t* into, int64_t v) {
  if (!__builtin_add_overflow(*into, v, into)) return true;
  *into = v > 0 ? std::numeric_limits<int64_t>::max()
                : std::numeric_limits<int64_t>::min();
  return false;
}

const char* FlowName(pb::TransactionType type) {
  switch (type) {
    case pb::INCOMING_PLEDGE: return "pledged";
    case pb::INCOMING_COMMITMENT: return "committed";
    case pb::INCOMING_FUNDS: return "received";
    default: return "spent";
  }
}

std::string TotalName(const pb::Totals& t) {
  switch (t.scope()) {
    case pb::ACTIVITY: return absl::StrCat("activity ", t.key(), "'s");
    case pb::PILLAR: return absl::StrCat("pillar ", t.key(), "'s");
    default: return "the budget's";
  }
}

int64_t FlowOf(const pb::Totals& t, pb::TransactionType type) {
  switch (type) {
    case pb::INCOMING_PLEDGE: return t.pledged_minor();
    case pb::INCOMING_COMMITMENT: return t.committed_minor();
    case pb::INCOMING_FUNDS: return t.received_minor();
    default: return t.spent_minor();
  }
}

void SetFlow(pb::Totals* t, pb::TransactionType type, int64_t v) {
  switch (type) {
    case pb::INCOMING_PLEDGE: t->set_pledged_minor(v); break;
    case pb::INCOMING_COMMITMENT: t->set_committed_minor(v); break;
    case pb::INCOMING_FUNDS: t->set_received_minor(v); break;
    default: t->set_spent_minor(v); break;
  }
}

}  // namespace

AllTotals ComputeTotals(const BudgetState& s) {
  std::string overflowed;
  auto capped = [&](pb::Totals* t, const char* what) {
    t->set_overflowed(true);
    if (overflowed.empty()) overflowed = absl::StrCat(TotalName(*t), " ", what);
  };
  std::map<std::string, pb::Totals> activities;
  std::map<int, pb::Totals> pillars;
  pb::Totals budget;
  budget.set_scope(pb::BUDGET);
  auto activity = [&](const std::string& code) -> pb::Totals& {
    pb::Totals& t = activities[code];
    t.set_scope(pb::ACTIVITY);
    t.set_key(code);
    return t;
  };
  auto pillar = [&](int p) -> pb::Totals& {
    pb::Totals& t = pillars[p];
    t.set_scope(pb::PILLAR);
    t.set_key(absl::StrCat(p));
    return t;
  };
  for (const Line& l : s.lines) {
    for (pb::Totals* t : {&activity(l.added.activity_code()),
                          &pillar(l.added.pillar()), &budget}) {
      int64_t original = t->original_minor();
      int64_t current = t->current_minor();
      if (!AddTo(&original, l.added.figures().total_minor())) {
        capped(t, "original total");
      }
      if (!AddTo(&current, l.Current().total_minor())) {
        capped(t, "current total");
      }
      t->set_original_minor(original);
      t->set_current_minor(current);
    }
  }
  for (const TransactionEntry& e : s.transactions) {
    const pb::TransactionRecorded& tx = e.transaction;
    std::vector<pb::Totals*> targets = {&budget};
    std::set<int> touched;
    for (const std::string& code : tx.activity_codes()) {
      targets.push_back(&activity(code));
      touched.insert(FirstNumber(code));
    }
    for (int p : touched) targets.push_back(&pillar(p));
    for (pb::Totals* t : targets) {
      int64_t v = FlowOf(*t, tx.type());
      if (!AddTo(&v, tx.budget_amount_minor())) capped(t, FlowName(tx.type()));
      SetFlow(t, tx.type(), v);
    }
  }
  auto finish = [&](pb::Totals* t) {
    int64_t gap = 0;
    if (__builtin_sub_overflow(t->current_minor(), t->received_minor(), &gap)) {
      gap = std::numeric_limits<int64_t>::min();
      t->set_overflowed(true);
    }
    t->set_gap_minor(gap);
    auto it = s.declared.find({t->scope(), t->key()});
    if (it != s.declared.end()) {
      t->set_declared_minor(it->second.amount_minor());
      t->set_declared_mismatch(it->second.amount_minor() != t->current_minor());
    }
  };
  AllTotals out;
  for (auto& [code, t] : activities) {
    finish(&t);
    out.activities.push_back(t);
  }
  // Activity codes in numeric order: "1.10" after "1.9".
  std::sort(out.activities.begin(), out.activities.end(),
            [](const pb::Totals& a, const pb::Totals& b) {
              std::vector<int> x, y;
              for (absl::string_view p : absl::StrSplit(a.key(), '.')) {
                int n = 0;
                (void)absl::SimpleAtoi(p, &n);
                x.push_back(n);
              }
              for (absl::string_view p : absl::StrSplit(b.key(), '.')) {
                int n = 0;
                (void)absl::SimpleAtoi(p, &n);
                y.push_back(n);
              }
              return x < y;
            });
  for (auto& [p, t] : pillars) {
    finish(&t);
    out.pillars.push_back(t);
  }
  finish(&budget);
  out.budget = budget;
  out.overflowed = std::move(overflowed);
  return out;
}

namespace {

absl::Status TotalsFitAfter(const BudgetState& s, const BudgetEvents& events,
                            const std::string& field) {
  BudgetState after = s;
  for (const pb::BudgetEvent& e : events) Apply(e, EventMeta{}, &after);
  const AllTotals t = ComputeTotals(after);
  if (t.overflowed.empty()) return absl::OkStatus();
  return Invalid(field, absl::StrCat(
                            "would make ", t.overflowed,
                            " go past the largest sum of minor units (",
                            std::numeric_limits<int64_t>::max(),
                            "); check the figures"));
}

}  // namespace

}  // namespace ncm::resources
