// Reading samples back from the Prometheus text format, for tests.
#ifndef NCM_TESTING_PROMETHEUS_TEXT_H_
#define NCM_TESTING_PROMETHEUS_TEXT_H_

#include <sys/wait.h>

#include <cstdio>
#include <map>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace ncm::testing {

// The value of the sample named `name` whose labels are exactly `labels`;
// nullopt when there is none.
inline std::optional<double> SampleValue(const std::string& text, absl::string_view name,
                                         const std::map<std::string, std::string>& labels = {}) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == absl::string_view::npos) continue;
    absl::string_view series = line.substr(0, space);
    std::map<std::string, std::string> found;
    const size_t brace = series.find('{');
    if (series.substr(0, brace) != name) continue;
    if (brace != absl::string_view::npos) {
      absl::string_view inside = series.substr(brace + 1);
      if (!absl::ConsumeSuffix(&inside, "}")) continue;
      // Label values in these tests hold no commas or quotes.
      for (absl::string_view pair : absl::StrSplit(inside, ',', absl::SkipEmpty())) {
        const size_t eq = pair.find('=');
        if (eq == absl::string_view::npos) continue;
        absl::string_view v = pair.substr(eq + 1);
        absl::ConsumePrefix(&v, "\"");
        absl::ConsumeSuffix(&v, "\"");
        found[std::string(pair.substr(0, eq))] = std::string(v);
      }
    }
    if (found != labels) continue;
    double value = 0;
    if (!absl::SimpleAtod(line.substr(space + 1), &value)) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

// Runs `promtool check metrics` over `text`: its exit code and what it
// printed.
inline std::pair<int, std::string> PromtoolCheck(const std::string& text,
                                                 const std::string& scratch_file) {
  if (FILE* f = std::fopen(scratch_file.c_str(), "w"); f != nullptr) {
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  const std::string cmd = "promtool check metrics < '" + scratch_file + "' 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return {-1, "cannot run promtool"};
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace ncm::testing

#endif  // NCM_TESTING_PROMETHEUS_TEXT_H_
