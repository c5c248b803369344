// mous draft and amend; budget create, add-line, revise-line, import;
// funding pledge, commit, receive, spend.
#include <openssl/sha.h>

#include <fstream>
#include <limits>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "clients/ncmctl/extra.h"
#include "ncm/mous/v1/mous.pb.h"
#include "ncm/resources/budget_csv.h"
#include "ncm/resources/money.h"
#include "ncm/resources/v1/resources.pb.h"

namespace ncm::ctl {
namespace {

using google::protobuf::Message;
namespace mpb = ::ncm::mous::v1;
namespace fpb = ::ncm::resources::v1;

// --- MOUs ---

// Sets the terms the flags give; parties and datasets are replaced when any
// is given.
void FillTerms(Env& env, const Args& a, mpb::MouTerms* t) {
  if (a.Has("secretariat") || a.Has("provider")) t->clear_parties();
  if (a.Has("dataset")) t->clear_datasets();
  if (auto v = a.Get("title")) t->set_title(*v);
  if (auto v = a.Get("purpose")) t->set_purpose(*v);
  if (auto v = a.Get("legal-basis")) t->set_legal_basis(*v);
  if (auto v = a.Get("dp-terms")) t->set_data_protection_terms(*v);
  if (auto v = a.Get("from")) SetField(env, t, "valid_from", *v);
  if (auto v = a.Get("until")) SetField(env, t, "valid_until", *v);
  if (auto v = a.Get("secretariat")) {
    auto* p = t->add_parties();
    p->set_organisation_id(OrganisationId(env, *v));
    p->set_role(mpb::SECRETARIAT);
  }
  for (const std::string& v : a.All("provider")) {
    for (absl::string_view org : absl::StrSplit(v, ',', absl::SkipEmpty())) {
      auto* p = t->add_parties();
      p->set_organisation_id(OrganisationId(env, std::string(org)));
      p->set_role(mpb::PROVIDER);
    }
  }
  for (const std::string& v : a.All("dataset")) {
    std::vector<std::string> f = absl::StrSplit(v, absl::MaxSplits(':', 4));
    if (f.size() < 3) {
      UsageError(absl::StrCat("--dataset \"", v,
                              "\": write code:frequency:offset-days[:provider[:name]]"));
    }
    auto* d = t->add_datasets();
    d->set_code(f[0]);
    SetField(env, d, "frequency", f[1]);
    SetField(env, d, "due_offset_days", f[2]);
    if (f.size() > 3 && !f[3].empty()) {
      d->set_provider_organisation_id(OrganisationId(env, f[3]));
    }
    d->set_name(f.size() > 4 ? f[4] : f[0]);
  }
}

std::vector<FlagSpec> TermFlags() {
  return {FlagSpec{"title", "", "title", false},
          FlagSpec{"secretariat", "", "the receiving party", false},
          FlagSpec{"provider", "", "providing parties (repeatable)", false},
          FlagSpec{"dataset", "",
                   "code:frequency:offset-days[:provider[:name]] (repeatable); "
                   "frequency monthly, quarterly or annual",
                   false},
          FlagSpec{"purpose", "", "purpose", false},
          FlagSpec{"legal-basis", "", "legal basis", false},
          FlagSpec{"dp-terms", "", "data-protection terms", false},
          FlagSpec{"from", "", "first day of validity", false},
          FlagSpec{"until", "", "last day of validity", false}};
}

// --- budgets ---

std::string CurrencyOf(Env& env, const std::string& budget_id) {
  fpb::GetBudgetRequest r;
  r.set_budget_id(budget_id);
  auto resp = Call(env, "ncm.resources.v1.Resources/GetBudget", r);
  return static_cast<const fpb::Budget&>(*resp).currency();
}

// Whole units ("3500", "1,250.50") of `currency` in minor units.
int64_t Minor(const std::string& flag, const std::string& value,
              const std::string& currency) {
  const int exp = resources::CurrencyExponent(currency).value_or(2);
  std::string clean;
  for (char c : value) {
    if (c == ',') continue;
    if (c != '.' && !absl::ascii_isdigit(c)) clean = "?";  // refused below
    clean += c;
  }
  std::vector<std::string> parts = absl::StrSplit(clean, '.');
  int64_t whole = 0, frac = 0;
  const bool ok = parts.size() <= 2 && absl::SimpleAtoi(parts[0], &whole) &&
                  whole >= 0 &&
                  (parts.size() == 1 ||
                   (static_cast<int>(parts[1].size()) <= exp &&
                    absl::SimpleAtoi(parts[1], &frac)));
  if (!ok) {
    UsageError(absl::StrCat("--", flag, ": \"", value, "\" is not an amount in ",
                            currency, " with at most ", exp, " decimals"));
  }
  __int128 scale = 1;
  for (int i = 0; i < exp; ++i) scale *= 10;
  if (parts.size() == 2) {
    for (int i = static_cast<int>(parts[1].size()); i < exp; ++i) frac *= 10;
  }
  const __int128 minor = whole * scale + frac;
  if (minor > std::numeric_limits<int64_t>::max()) {
    UsageError(absl::StrCat("--", flag, ": ", value, " is too large"));
  }
  return static_cast<int64_t>(minor);
}

void FillFigures(Env& env, const Args& a, const std::string& currency,
                 fpb::LineInput* f) {
  if (auto v = a.Get("unit-cost")) f->set_unit_cost_minor(Minor("unit-cost", *v, currency));
  if (auto v = a.Get("quantity")) SetField(env, f, "quantity", *v);
  if (auto v = a.Get("days")) SetField(env, f, "days", *v);
  if (auto v = a.Get("occurrences")) SetField(env, f, "occurrences", *v);
  if (auto v = a.Get("declared-total")) {
    f->set_declared_total_minor(Minor("declared-total", *v, currency));
  }
}

std::vector<FlagSpec> FigureFlags() {
  return {FlagSpec{"unit-cost", "", "unit cost in the budget's currency", true},
          FlagSpec{"quantity", "", "persons or units (default 1)", false},
          FlagSpec{"days", "", "days (default 1)", false},
          FlagSpec{"occurrences", "", "occurrences (default 1)", false},
          FlagSpec{"declared-total", "", "the total the source states", false}};
}

std::string Sha256Hex(const std::string& data) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(d), sizeof d));
}

int Import(Env& env, const Command& cmd, const Args& a) {
  if (a.positional.size() != 2) UsageError("usage: ncmctl budget import BUDGET FILE.csv");
  const std::string budget = a.positional[0], path = a.positional[1];
  std::ifstream in(path);
  if (!in) UsageError(absl::StrCat("cannot read ", path));  // exit 2
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string csv = ss.str();
  const std::string currency = CurrencyOf(env, budget);
  auto sheet = resources::ParseBudgetCsv(
      csv, resources::CurrencyExponent(currency).value_or(2));
  if (!sheet.ok()) UsageError(std::string(sheet.status().message()));
  // Command ids from the file's content: importing the same file again
  // records nothing new.
  const std::string tag = Sha256Hex(csv).substr(0, 16);
  const size_t total = sheet->lines.size() + sheet->totals.size();
  Progress bar(env, "importing", total);
  size_t done = 0, recorded = 0, mismatches = 0;
  for (size_t i = 0; i < sheet->lines.size(); ++i) {
    fpb::AddBudgetLineRequest r = sheet->lines[i];
    r.set_budget_id(budget);
    r.mutable_options()->set_command_id(absl::StrCat("import-", tag, "-line-", i));
    if (auto on = a.Get("on")) SetField(env, &r, "options.occurred_on", *on);
    auto resp = Call(env, "ncm.resources.v1.Resources/AddBudgetLine", r);
    const auto& added = static_cast<const fpb::AddBudgetLineResponse&>(*resp);
    recorded += added.result().replayed() ? 0 : 1;
    mismatches += added.declared_total_mismatch() ? 1 : 0;
    bar.Set(++done);
  }
  for (size_t i = 0; i < sheet->totals.size(); ++i) {
    fpb::RecordDeclaredTotalRequest r = sheet->totals[i];
    r.set_budget_id(budget);
    r.mutable_options()->set_command_id(absl::StrCat("import-", tag, "-total-", i));
    if (auto on = a.Get("on")) SetField(env, &r, "options.occurred_on", *on);
    auto resp = Call(env, "ncm.resources.v1.Resources/RecordDeclaredTotal", r);
    recorded += static_cast<const ncm::common::v1::CommandResult&>(*resp).replayed()
                    ? 0
                    : 1;
    bar.Set(++done);
  }
  *env.out << "imported " << sheet->lines.size() << " lines and "
           << sheet->totals.size() << " declared totals into budget " << budget
           << " (" << recorded << " new, " << total - recorded
           << " already recorded; " << mismatches
           << " lines whose declared total differs)\n";
  return kOk;
}

Command Funding(const std::string& verb, fpb::TransactionType type,
                const std::string& summary) {
  Command cmd = MakeCommand("funding", verb, summary, "ncm.resources.v1.Resources/RecordTransaction");
  cmd.positionals = {{"budget_id", "BUDGET"}};
  cmd.flags = {
      FlagSpec{"org", "organisation_id", "funder (or, spending, the spender)", true},
      FlagSpec{"amount", "amount", "amount and currency, e.g. \"25000 EUR\"", true},
      FlagSpec{"rate", "exchange_rate",
               "to the budget currency, exact (unless the same currency)", false},
      FlagSpec{"date", "value_date", "value date (default today)", false},
      FlagSpec{"activities", "activity_codes", "earmarked activity codes", false},
      FlagSpec{"description", "description", "description", false},
      FlagSpec{"reference", "reference", "reference", false}};
  cmd.prepare = [type](Env& env, const Args& a, Message* m) {
    auto* r = static_cast<fpb::RecordTransactionRequest*>(m);
    r->set_type(type);
    if (!a.Has("date")) SetField(env, r, "value_date", "today");
  };
  cmd.examples = {absl::StrCat("ncmctl funding ", verb,
                               " fcf3... --org GIZ --amount \"25000 EUR\" --rate "
                               "128.45 --date 2021-02-01 --activities 1.1,2.3")};
  return cmd;
}

}  // namespace

std::vector<Command> MouCommands() {
  std::vector<Command> out;
  Command draft = MakeCommand("mous", "draft", "Draft a data-sharing MOU", "ncm.mous.v1.Mous/DraftMou");
  draft.flags = TermFlags();
  draft.prepare = [](Env& env, const Args& a, Message* m) {
    FillTerms(env, a, static_cast<mpb::DraftMouRequest*>(m)->mutable_terms());
  };
  draft.examples = {
      "ncmctl mous draft --title \"Border crossing statistics\" --secretariat "
      "NCMS --provider NIS --dataset border-crossings:monthly:10:NIS:\"Border "
      "crossings\" --purpose \"...\" --legal-basis \"...\" --dp-terms \"...\" "
      "--from 2021-01-01 --until 2022-12-31"};
  out.push_back(draft);
  Command amend = draft;
  amend.verb = "amend";
  amend.summary = "Change a draft MOU's terms (those the flags give)";
  amend.method = "ncm.mous.v1.Mous/AmendMou";
  amend.positionals = {{"mou_id", "MOU"}};
  amend.flags.push_back(FlagSpec{"note", "note", "what changed", false});
  amend.prepare = [](Env& env, const Args& a, Message* m) {
    auto* r = static_cast<mpb::AmendMouRequest*>(m);
    mpb::GetMouRequest g;
    g.set_mou_id(r->mou_id());
    auto current = Call(env, "ncm.mous.v1.Mous/GetMou", g);
    *r->mutable_terms() = static_cast<const mpb::Mou&>(*current).terms();
    FillTerms(env, a, r->mutable_terms());
  };
  amend.examples = {"ncmctl mous amend 51aa... --until 2023-06-30 --note \"as the "
                    "legal review asked\""};
  out.push_back(amend);
  return out;
}

std::vector<Command> BudgetCommands() {
  std::vector<Command> out;
  {
    Command cmd = MakeCommand("budget", "create", "Open a budget for a fiscal year and currency", "ncm.resources.v1.Resources/OpenBudget");
    cmd.flags = {FlagSpec{"title", "title", "title", true},
                 FlagSpec{"fy", "fiscal_year", "the year it starts in", true},
                 FlagSpec{"currency", "currency", "ISO 4217, e.g. KES", true},
                 FlagSpec{"owner", "owner_organisation_id", "the owner", true},
                 FlagSpec{"start-month", "fiscal_year_start_month", "default 7 (July)",
                          false}};
    cmd.examples = {"ncmctl budget create --title \"NCM action plan 2020/21\" --fy "
                    "2020 --currency KES --owner NCMS"};
    out.push_back(cmd);
  }
  {
    Command cmd = MakeCommand("budget", "add-line", "Add a budget line (its total is computed)", "ncm.resources.v1.Resources/AddBudgetLine");
    cmd.positionals = {{"budget_id", "BUDGET"}};
    cmd.flags = {FlagSpec{"activity", "activity_code", "activity code, e.g. 1.1", true},
                 FlagSpec{"pillar", "pillar", "default: the activity's first number",
                          false},
                 FlagSpec{"item", "item_code", "item code", false},
                 FlagSpec{"description", "description", "what it pays for", true}};
    for (auto& f : FigureFlags()) cmd.flags.push_back(f);
    cmd.prepare = [](Env& env, const Args& a, Message* m) {
      auto* r = static_cast<fpb::AddBudgetLineRequest*>(m);
      if (!a.Has("pillar")) {
        int p = 0;
        (void)absl::SimpleAtoi(r->activity_code().substr(0, r->activity_code().find('.')),
                               &p);
        r->set_pillar(p);
      }
      FillFigures(env, a, CurrencyOf(env, r->budget_id()), r->mutable_figures());
    };
    cmd.examples = {"ncmctl budget add-line fcf3... --activity 1.1 --description "
                    "\"Stakeholder mapping workshop\" --unit-cost 3500 --quantity 30 "
                    "--days 2"};
    out.push_back(cmd);
  }
  {
    Command cmd = MakeCommand("budget", "revise-line", "Revise a line (the original is kept)", "ncm.resources.v1.Resources/ReviseBudgetLine");
    cmd.positionals = {{"budget_id", "BUDGET"}, {"line_id", "LINE"}};
    cmd.flags = FigureFlags();
    cmd.flags.push_back(FlagSpec{"reason", "reason", "why", true});
    cmd.prepare = [](Env& env, const Args& a, Message* m) {
      auto* r = static_cast<fpb::ReviseBudgetLineRequest*>(m);
      FillFigures(env, a, CurrencyOf(env, r->budget_id()), r->mutable_figures());
    };
    out.push_back(cmd);
  }
  {
    Command cmd = MakeCommand("budget", "import", "Load budget lines and declared totals from a CSV sheet");
    cmd.positionals = {{"", "BUDGET"}, {"", "FILE.csv"}};
    cmd.more =
        "The sheet's format is that of services/resources/data/ncm-budget-2020.csv."
        " Importing the same file again records nothing new.";
    cmd.examples = {"ncmctl budget import fcf3... services/resources/data/ncm-budget-2020.csv"};
    cmd.run = Import;
    out.push_back(cmd);
  }
  out.push_back(Funding("pledge", fpb::INCOMING_PLEDGE, "Record a pledge (IATI 13)"));
  out.push_back(
      Funding("commit", fpb::INCOMING_COMMITMENT, "Record a commitment (IATI 11)"));
  out.push_back(
      Funding("receive", fpb::INCOMING_FUNDS, "Record funds received (IATI 1)"));
  out.push_back(Funding("spend", fpb::EXPENDITURE, "Record expenditure (IATI 4)"));
  return out;
}

}  // namespace ncm::ctl
