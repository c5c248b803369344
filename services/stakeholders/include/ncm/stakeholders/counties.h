// The list of counties (or other sub-national units) organisations may be
// placed in. It is data: Kenya's 47 counties ship as the default, and a
// country that copies the NCM model loads its own list.
#ifndef NCM_STAKEHOLDERS_COUNTIES_H_
#define NCM_STAKEHOLDERS_COUNTIES_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ncm::stakeholders {

class CountyList {
 public:
  // Parses "code,name" lines; '#' lines and a "code,name" header are
  // skipped. INVALID_ARGUMENT naming the line for a malformed or repeated
  // code, or an empty list.
  static absl::StatusOr<CountyList> Parse(absl::string_view csv);
  // Reads and parses a file.
  static absl::StatusOr<CountyList> Load(const std::string& path);
  // Kenya's counties, numbered as in the Constitution's First Schedule.
  static const CountyList& Kenya();

  // The county's name, or nullptr when the code is not in the list.
  const std::string* Find(absl::string_view code) const;
  const std::vector<std::pair<std::string, std::string>>& entries() const {
    return entries_;
  }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;  // code, name
};

}  // namespace ncm::stakeholders

#endif  // NCM_STAKEHOLDERS_COUNTIES_H_
