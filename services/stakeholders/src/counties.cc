#include "ncm/stakeholders/counties.h"

#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/strings/ascii.h"

namespace ncm::stakeholders {

extern const char kKenyaCountiesCsv[];  // generated from data/ke_counties.csv

absl::StatusOr<CountyList> CountyList::Parse(absl::string_view csv) {
  CountyList out;
  absl::flat_hash_set<std::string> codes;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(csv, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#' || line == "code,name") continue;
    std::pair<absl::string_view, absl::string_view> parts =
        absl::StrSplit(line, absl::MaxSplits(',', 1));
    absl::string_view code = absl::StripAsciiWhitespace(parts.first);
    absl::string_view name = absl::StripAsciiWhitespace(parts.second);
    if (code.empty() || name.empty() || code.size() > 16) {
      return absl::InvalidArgumentError(absl::StrCat(
          "county list line ", line_no, " is not \"code,name\": ", line));
    }
    if (!codes.insert(std::string(code)).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "county list line ", line_no, " repeats code ", code));
    }
    out.entries_.emplace_back(std::string(code), std::string(name));
  }
  if (out.entries_.empty()) {
    return absl::InvalidArgumentError("the county list is empty");
  }
  return out;
}

absl::StatusOr<CountyList> CountyList::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read the county list ", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str());
}

const CountyList& CountyList::Kenya() {
  static const CountyList* list = new CountyList(*Parse(kKenyaCountiesCsv));
  return *list;
}

const std::string* CountyList::Find(absl::string_view code) const {
  for (const auto& [c, name] : entries_) {
    if (c == code) return &name;
  }
  return nullptr;
}

}  // namespace ncm::stakeholders
