#include "ncm/resources/handler.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ncm/eventstore/status_macros.h"
#include "ncm/services/ids.h"
#include "ncm/resources/read_model.h"
#include "ncm/stakeholders/v1/events.pb.h"

namespace ncm::resources {

namespace es = ::ncm::eventstore;
using services::CheckUuid;
using services::CommandContext;
using services::Decided;
using services::Loaded;

ResourcesHandler::ResourcesHandler(
    es::EventStore* store, stakeholders::StakeholdersHandler* stakeholders,
    services::Clock clock)
    : store_(store), stakeholders_(stakeholders), clock_(std::move(clock)) {}

std::string ResourcesHandler::BudgetId(const std::string& owner,
                                       int fiscal_year,
                                       const std::string& currency) {
  return services::DeriveUuid(
      {"budget", owner, absl::StrCat(fiscal_year), currency});
}

absl::StatusOr<Loaded<BudgetState>> ResourcesHandler::LoadBudget(
    const std::string& id) {
  return services::Load<pb::BudgetEvent, BudgetState>(store_, BudgetStream(id),
                                                      id);
}

template <typename Req>
absl::StatusOr<Outcome> ResourcesHandler::OnBudget(absl::string_view method,
                                                   const Req& r,
                                                   const std::string& actor,
                                                   const Decider& decide) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, method, clock_, actor));
  NCM_RETURN_IF_ERROR(CheckUuid(r.budget_id(), "budget_id"));
  return services::Execute<pb::BudgetEvent, BudgetState>(
      store_, BudgetStream(r.budget_id()), r.budget_id(), ctx,
      services::ApplyFn(),
      [&](const Loaded<BudgetState>& l) { return Decided(decide(l, ctx)); });
}

absl::StatusOr<Outcome> ResourcesHandler::OpenBudget(
    const pb::OpenBudgetRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  NCM_RETURN_IF_ERROR(
      CheckUuid(r.owner_organisation_id(), "owner_organisation_id"));
  const std::string id =
      BudgetId(r.owner_organisation_id(), r.fiscal_year(), r.currency());
  return services::Execute<pb::BudgetEvent, BudgetState>(
      store_, BudgetStream(id), id, ctx, services::ApplyFn(),
      [&](const Loaded<BudgetState>& l)
          -> absl::StatusOr<services::Decision<pb::BudgetEvent>> {
        // The owner, read in this attempt; the append depends on it.
        NCM_ASSIGN_OR_RETURN(
            OrganisationState owner,
            stakeholders_->LoadOrganisation(r.owner_organisation_id()));
        NCM_ASSIGN_OR_RETURN(auto d,
                             Decided(DecideOpen(l.state, id, r, owner)));
        stakeholders::DependOn(owner, &d);
        return d;
      });
}

absl::StatusOr<pb::AddBudgetLineResponse> ResourcesHandler::AddBudgetLine(
    const pb::AddBudgetLineRequest& r, const std::string& actor) {
  std::string line_id;
  NCM_ASSIGN_OR_RETURN(
      Outcome o,
      OnBudget(__func__, r, actor,
               [&](const Loaded<BudgetState>& l, const CommandContext& ctx) {
                 line_id = services::NewAggregateId(ctx, "budget-line",
                                                    r.budget_id());
                 return DecideAddLine(l.state, line_id, r);
               }));
  if (line_id.empty()) {  // a replay: the line id follows from the command id
    NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                         MakeContext(r, __func__, clock_, actor));
    line_id = services::NewAggregateId(ctx, "budget-line", r.budget_id());
  }
  NCM_ASSIGN_OR_RETURN(auto l, LoadBudget(r.budget_id()));
  pb::AddBudgetLineResponse out;
  services::ToProto(o, out.mutable_result());
  out.set_line_id(line_id);
  if (const Line* line = l.state.FindLine(line_id)) {
    const pb::LineFigures& f = line->added.figures();
    out.set_total_minor(f.total_minor());
    out.set_declared_total_mismatch(f.has_declared_total_minor() &&
                                    f.declared_total_minor() != f.total_minor());
  }
  return out;
}

absl::StatusOr<Outcome> ResourcesHandler::ReviseBudgetLine(
    const pb::ReviseBudgetLineRequest& r, const std::string& actor) {
  return OnBudget(__func__, r, actor, [&](const Loaded<BudgetState>& l,
                                const CommandContext&) {
    return DecideReviseLine(l.state, r);
  });
}

absl::StatusOr<Outcome> ResourcesHandler::RecordDeclaredTotal(
    const pb::RecordDeclaredTotalRequest& r, const std::string& actor) {
  return OnBudget(__func__, r, actor, [&](const Loaded<BudgetState>& l,
                                const CommandContext&) {
    return DecideDeclareTotal(l.state, r);
  });
}

absl::StatusOr<pb::RecordTransactionResponse>
ResourcesHandler::RecordTransaction(const pb::RecordTransactionRequest& r,
                                    const std::string& actor) {
  NCM_RETURN_IF_ERROR(CheckUuid(r.organisation_id(), "organisation_id"));
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  NCM_RETURN_IF_ERROR(CheckUuid(r.budget_id(), "budget_id"));
  const std::string tx_id =
      services::NewAggregateId(ctx, "transaction", r.budget_id());
  NCM_ASSIGN_OR_RETURN(
      Outcome o,
      (services::Execute<pb::BudgetEvent, BudgetState>(
          store_, BudgetStream(r.budget_id()), r.budget_id(), ctx,
          services::ApplyFn(),
          [&](const Loaded<BudgetState>& l)
              -> absl::StatusOr<services::Decision<pb::BudgetEvent>> {
            // The funder, read in this attempt; the append depends on it.
            NCM_ASSIGN_OR_RETURN(
                OrganisationState org,
                stakeholders_->LoadOrganisation(r.organisation_id()));
            NCM_ASSIGN_OR_RETURN(
                auto d, Decided(DecideTransaction(l.state, tx_id, r, org)));
            stakeholders::DependOn(org, &d);
            return d;
          })));
  pb::RecordTransactionResponse out;
  services::ToProto(o, out.mutable_result());
  out.set_transaction_id(tx_id);
  NCM_ASSIGN_OR_RETURN(auto l, LoadBudget(r.budget_id()));
  for (const TransactionEntry& e : l.state.transactions) {
    if (e.transaction.transaction_id() == tx_id) {
      out.set_budget_amount_minor(e.transaction.budget_amount_minor());
    }
  }
  return out;
}

namespace {

constexpr int kMaxTransactionsPage = 1000;

// The budget as folded, with transactions [from, from + count).
pb::Budget BudgetOf(const Loaded<BudgetState>& l, size_t from, size_t count) {
  const BudgetState& s = l.state;
  pb::Budget out;
  out.set_budget_id(s.opened.budget_id());
  out.set_title(s.opened.title());
  out.set_fiscal_year(s.opened.fiscal_year());
  *out.mutable_starts_on() = services::ToProto(s.StartsOn());
  *out.mutable_ends_on() = services::ToProto(s.EndsOn());
  out.set_currency(s.opened.currency());
  out.set_owner_organisation_id(s.opened.owner_organisation_id());
  for (const Line& line : s.lines) {
    auto* b = out.add_lines();
    b->set_line_id(line.added.line_id());
    b->set_activity_code(line.added.activity_code());
    b->set_pillar(line.added.pillar());
    b->set_item_code(line.added.item_code());
    b->set_description(line.added.description());
    *b->mutable_original() = line.added.figures();
    if (line.revised) *b->mutable_revised() = *line.revised;
    const pb::LineFigures& f = line.Current();
    b->set_declared_total_mismatch(f.has_declared_total_minor() &&
                                   f.declared_total_minor() != f.total_minor());
  }
  AllTotals totals = ComputeTotals(s);
  for (auto& t : totals.activities) *out.add_activities() = std::move(t);
  for (auto& t : totals.pillars) *out.add_pillars() = std::move(t);
  *out.mutable_total() = std::move(totals.budget);
  out.set_transaction_count(static_cast<int32_t>(s.transactions.size()));
  const size_t to = std::min(s.transactions.size(), from + count);
  if (to < s.transactions.size()) {
    out.set_next_transactions_page_token(absl::StrCat(to));
  }
  for (size_t i = from; i < to; ++i) {
    const TransactionEntry& e = s.transactions[i];
    const pb::TransactionRecorded& t = e.transaction;
    auto* o = out.add_transactions();
    o->set_transaction_id(t.transaction_id());
    o->set_type(t.type());
    o->set_organisation_id(t.organisation_id());
    *o->mutable_amount() = t.amount();
    *o->mutable_value_date() = t.value_date();
    o->set_exchange_rate(t.exchange_rate());
    o->set_budget_amount_minor(t.budget_amount_minor());
    *o->mutable_activity_codes() = t.activity_codes();
    o->set_description(t.description());
    o->set_reference(t.reference());
    *o->mutable_recorded_at() = services::ToTimestamp(e.recorded_at);
  }
  out.set_revision(l.revision.value_or(0));
  return out;
}

}  // namespace

absl::StatusOr<pb::Budget> ResourcesHandler::GetBudget(
    const pb::GetBudgetRequest& r) {
  NCM_RETURN_IF_ERROR(CheckUuid(r.budget_id(), "budget_id"));
  NCM_RETURN_IF_ERROR(services::CheckMinPosition(store_, r.min_position()));
  const int size = r.transactions_page_size() == 0 ? kMaxTransactionsPage
                                                   : r.transactions_page_size();
  if (size < 1 || size > kMaxTransactionsPage) {
    return absl::InvalidArgumentError(absl::StrCat(
        "transactions_page_size must be 0 to ", kMaxTransactionsPage, " (0: ",
        kMaxTransactionsPage, "); got ", r.transactions_page_size()));
  }
  NCM_ASSIGN_OR_RETURN(auto l, LoadBudget(r.budget_id()));
  if (!l.state.exists) {
    return absl::NotFoundError(absl::StrCat("no budget ", r.budget_id()));
  }
  size_t from = 0;
  if (!r.transactions_page_token().empty() &&
      (!absl::SimpleAtoi(r.transactions_page_token(), &from) ||
       from > l.state.transactions.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "transactions_page_token \"", r.transactions_page_token(),
        "\" is not one this budget gave; start without one"));
  }
  return BudgetOf(l, from, static_cast<size_t>(size));
}

void ResourcesHandler::SetReadSide(readside::ReadSide* read_side,
                                   absl::Duration default_wait) {
  read_side_ = read_side;
  default_wait_ = default_wait;
}

namespace {

// Hundredths of a percent, rounded half up; 0 over a zero base.
int64_t BasisPoints(int64_t part, int64_t whole) {
  if (whole <= 0) return 0;
  const __int128 bp = (static_cast<__int128>(part) * 20000 + whole) / (2 * whole);
  return static_cast<int64_t>(bp);
}

}  // namespace

absl::StatusOr<pb::GetFundingPositionResponse>
ResourcesHandler::GetFundingPosition(const pb::GetFundingPositionRequest& r) {
  if (read_side_ == nullptr) {
    return absl::UnavailableError("this server keeps no read models");
  }
  if (r.fiscal_year() < 1900 || r.fiscal_year() > 9998) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fiscal_year must be 1900 to 9998; got ", r.fiscal_year()));
  }
  if (r.wait_ms() < 0 || r.wait_ms() > 60000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "wait_ms must be 0 to 60000 (0: the server's default); got ",
        r.wait_ms()));
  }
  if (r.min_position() > 0) {
    NCM_RETURN_IF_ERROR(read_side_->WaitFor(
        kBudgetsModel, r.min_position(),
        r.wait_ms() == 0 ? default_wait_ : absl::Milliseconds(r.wait_ms())));
  }
  NCM_ASSIGN_OR_RETURN(readside::ModelStatus st,
                       read_side_->Status(kBudgetsModel));
  NCM_ASSIGN_OR_RETURN(const readside::ReadModelView* view,
                       read_side_->View(kBudgetsModel));
  std::vector<std::string> ids;
  NCM_RETURN_IF_ERROR(view->Scan(
      absl::StrFormat("fy/%04d/", r.fiscal_year()), "",
      [&](absl::string_view key, absl::string_view) {
        ids.emplace_back(key.substr(key.rfind('/') + 1));
        return true;
      }));
  pb::GetFundingPositionResponse out;
  out.set_fiscal_year(r.fiscal_year());
  out.set_position(st.applied_position);
  for (const std::string& id : ids) {
    NCM_ASSIGN_OR_RETURN(auto l, LoadBudget(id));
    if (!l.state.exists) continue;
    pb::Budget b = BudgetOf(l, 0, 0);  // transactions: GetBudget
    b.clear_next_transactions_page_token();
    pb::BudgetPosition* p = out.add_budgets();
    int64_t gov = 0, donor = 0;
    for (const TransactionEntry& e : l.state.transactions) {
      const pb::TransactionRecorded& t = e.transaction;
      if (t.type() != pb::INCOMING_FUNDS) continue;
      NCM_ASSIGN_OR_RETURN(std::optional<std::string> kind,
                           view->Get(absl::StrCat("o/", t.organisation_id())));
      int k = 0;
      if (kind.has_value()) (void)absl::SimpleAtoi(*kind, &k);
      const bool government = k == stakeholders::v1::MINISTRY ||
                              k == stakeholders::v1::DEPARTMENT_OR_AGENCY ||
                              k == stakeholders::v1::COUNTY_GOVERNMENT;
      int64_t& sum = government ? gov : donor;
      if (__builtin_add_overflow(sum, t.budget_amount_minor(), &sum)) {
        sum = std::numeric_limits<int64_t>::max();  // capped, as totals are
      }
    }
    p->set_government_received_minor(gov);
    p->set_donor_received_minor(donor);
    p->set_government_share_basis_points(BasisPoints(gov, gov + donor));
    p->set_donor_share_basis_points(BasisPoints(donor, gov + donor));
    p->set_execution_rate_basis_points(
        BasisPoints(b.total().spent_minor(), b.total().current_minor()));
    *p->mutable_budget() = std::move(b);
  }
  return out;
}

}  // namespace ncm::resources
