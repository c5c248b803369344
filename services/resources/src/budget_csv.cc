#include "ncm/resources/budget_csv.h"

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "ncm/resources/money.h"

namespace ncm::resources {

namespace pb = ::ncm::resources::v1;

absl::StatusOr<BudgetSheet> ParseBudgetCsv(absl::string_view csv,
                                           int exponent) {
  BudgetSheet out;
  int64_t scale = 1;
  for (int i = 0; i < exponent; ++i) scale *= 10;
  int number = 0;
  for (absl::string_view raw : absl::StrSplit(csv, '\n')) {
    ++number;
    absl::string_view line = absl::StripTrailingAsciiWhitespace(raw);
    if (line.empty() || line.front() == '#' ||
        absl::StartsWith(line, "kind,")) {
      continue;
    }
    std::vector<std::string> f = absl::StrSplit(line, ',');
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("budget CSV line ", number, ": ", why));
    };
    if (f.size() != 10) return bad("expected 10 comma-separated fields");
    auto amount = [&](const std::string& s, int64_t* v) -> bool {
      int64_t whole = 0;
      return absl::SimpleAtoi(s, &whole) &&
             !__builtin_mul_overflow(whole, scale, v);
    };
    auto integer = [](const std::string& s, int64_t* v) {
      return absl::SimpleAtoi(s, v);
    };
    if (f[0] == "line") {
      pb::AddBudgetLineRequest r;
      int pillar = 0;
      if (!absl::SimpleAtoi(f[1], &pillar)) return bad("pillar is not a number");
      r.set_pillar(pillar);
      r.set_activity_code(f[2]);
      r.set_item_code(f[3]);
      r.set_description(f[4]);
      int64_t unit = 0, pax = 0, days = 0, occ = 0;
      if (!amount(f[5], &unit) || !integer(f[6], &pax) ||
          !integer(f[7], &days) || !integer(f[8], &occ)) {
        return bad("unit_cost, pax, days and occurrences must be numbers");
      }
      auto* fig = r.mutable_figures();
      fig->set_unit_cost_minor(unit);
      fig->set_quantity(pax);
      fig->set_days(days);
      fig->set_occurrences(occ);
      if (!f[9].empty()) {
        int64_t declared = 0;
        if (!amount(f[9], &declared)) return bad("declared is not a number");
        fig->set_declared_total_minor(declared);
      }
      out.lines.push_back(std::move(r));
    } else if (f[0] == "total") {
      pb::RecordDeclaredTotalRequest r;
      if (!f[2].empty()) {
        r.set_scope(pb::ACTIVITY);
        r.set_key(f[2]);
      } else if (!f[1].empty()) {
        r.set_scope(pb::PILLAR);
        r.set_key(f[1]);
      } else {
        r.set_scope(pb::BUDGET);
      }
      int64_t declared = 0;
      if (!amount(f[9], &declared)) return bad("declared is not a number");
      r.set_amount_minor(declared);
      r.set_source(f[4]);
      out.totals.push_back(std::move(r));
    } else {
      return bad(absl::StrCat("unknown kind \"", f[0], "\""));
    }
  }
  return out;
}

absl::StatusOr<BudgetSheet> LoadBudgetCsv(const std::string& path,
                                          int exponent) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseBudgetCsv(ss.str(), exponent);
}

}  // namespace ncm::resources
