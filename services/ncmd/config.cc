#include "ncm/ncmd/config.h"

#include <fstream>

#include "absl/container/flat_hash_set.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace ncm::ncmd {

absl::Status ApplyConfigFile(const std::string& path,
                             absl::string_view flags_file) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read the configuration file ", path));
  }
  absl::flat_hash_set<std::string> seen;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty() || text[0] == '#') continue;
    auto where = [&](absl::string_view what) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " line ", n, ": ", what));
    };
    const size_t eq = text.find('=');
    if (eq == absl::string_view::npos) {
      return where("expected key = value");
    }
    const std::string key(absl::StripAsciiWhitespace(text.substr(0, eq)));
    absl::string_view value = absl::StripAsciiWhitespace(text.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(key);
    if (key == "config" || flag == nullptr ||
        !absl::EndsWith(flag->Filename(), flags_file)) {
      return where(absl::StrCat("unknown key \"", absl::CHexEscape(key),
                                "\"; the keys are ncmd's flags (ncmd --help)"));
    }
    if (!seen.insert(key).second) {
      return where(absl::StrCat("\"", key, "\" is given twice"));
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return where(absl::StrCat(key, ": ", error));
    }
  }
  return absl::OkStatus();
}

std::string ConfigFileFromArgs(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view a = argv[i];
    if (a == "--") break;
    if (!absl::ConsumePrefix(&a, "--")) {
      if (!absl::ConsumePrefix(&a, "-")) continue;
    }
    if (absl::ConsumePrefix(&a, "config=")) return std::string(a);
    if (a == "config" && i + 1 < argc) return argv[i + 1];
  }
  return "";
}

}  // namespace ncm::ncmd
