#include "ncm/resources/handler.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "ncm/eventstore/status_macros.h"
#include "ncm/services/ids.h"

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
absl::StatusOr<Outcome> ResourcesHandler::OnBudget(const Req& r,
                                                   const std::string& actor,
                                                   const Decider& decide) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r.options(), clock_, actor));
  NCM_RETURN_IF_ERROR(CheckUuid(r.budget_id(), "budget_id"));
  return services::Execute<pb::BudgetEvent, BudgetState>(
      store_, BudgetStream(r.budget_id()), r.budget_id(), ctx,
      services::ApplyFn(),
      [&](const Loaded<BudgetState>& l) { return Decided(decide(l, ctx)); });
}

absl::StatusOr<Outcome> ResourcesHandler::OpenBudget(
    const pb::OpenBudgetRequest& r, const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r.options(), clock_, actor));
  NCM_RETURN_IF_ERROR(
      CheckUuid(r.owner_organisation_id(), "owner_organisation_id"));
  NCM_ASSIGN_OR_RETURN(OrganisationState owner,
                       stakeholders_->LoadOrganisation(r.owner_organisation_id()));
  const std::string id =
      BudgetId(r.owner_organisation_id(), r.fiscal_year(), r.currency());
  return services::Execute<pb::BudgetEvent, BudgetState>(
      store_, BudgetStream(id), id, ctx, services::ApplyFn(),
      [&](const Loaded<BudgetState>& l) {
        return Decided(DecideOpen(l.state, id, r, owner));
      });
}

absl::StatusOr<pb::AddBudgetLineResponse> ResourcesHandler::AddBudgetLine(
    const pb::AddBudgetLineRequest& r, const std::string& actor) {
  std::string line_id;
  NCM_ASSIGN_OR_RETURN(
      Outcome o,
      OnBudget(r, actor,
               [&](const Loaded<BudgetState>& l, const CommandContext& ctx) {
                 line_id = services::NewAggregateId(ctx, "budget-line",
                                                    r.budget_id());
                 return DecideAddLine(l.state, line_id, r);
               }));
  if (line_id.empty()) {  // a replay: the line id follows from the command id
    NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                         MakeContext(r.options(), clock_, actor));
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
  return OnBudget(r, actor, [&](const Loaded<BudgetState>& l,
                                const CommandContext&) {
    return DecideReviseLine(l.state, r);
  });
}

absl::StatusOr<Outcome> ResourcesHandler::RecordDeclaredTotal(
    const pb::RecordDeclaredTotalRequest& r, const std::string& actor) {
  return OnBudget(r, actor, [&](const Loaded<BudgetState>& l,
                                const CommandContext&) {
    return DecideDeclareTotal(l.state, r);
  });
}

absl::StatusOr<pb::RecordTransactionResponse>
ResourcesHandler::RecordTransaction(const pb::RecordTransactionRequest& r,
                                    const std::string& actor) {
  NCM_RETURN_IF_ERROR(CheckUuid(r.organisation_id(), "organisation_id"));
  NCM_ASSIGN_OR_RETURN(OrganisationState org,
                       stakeholders_->LoadOrganisation(r.organisation_id()));
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r.options(), clock_, actor));
  const std::string tx_id =
      services::NewAggregateId(ctx, "transaction", r.budget_id());
  NCM_ASSIGN_OR_RETURN(
      Outcome o, OnBudget(r, actor, [&](const Loaded<BudgetState>& l,
                                        const CommandContext&) {
        return DecideTransaction(l.state, tx_id, r, org);
      }));
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

absl::StatusOr<pb::Budget> ResourcesHandler::GetBudget(
    const pb::GetBudgetRequest& r) {
  NCM_RETURN_IF_ERROR(CheckUuid(r.budget_id(), "budget_id"));
  NCM_ASSIGN_OR_RETURN(auto l, LoadBudget(r.budget_id()));
  if (!l.state.exists) {
    return absl::NotFoundError(absl::StrCat("no budget ", r.budget_id()));
  }
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
  NCM_ASSIGN_OR_RETURN(AllTotals totals, ComputeTotals(s));
  for (auto& t : totals.activities) *out.add_activities() = std::move(t);
  for (auto& t : totals.pillars) *out.add_pillars() = std::move(t);
  *out.mutable_total() = std::move(totals.budget);
  for (const TransactionEntry& e : s.transactions) {
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

}  // namespace ncm::resources
