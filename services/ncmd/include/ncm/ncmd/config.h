// ncmd's configuration file: one "key = value" a line, the keys being the
// command-line flags' names (deploy/ncmd.conf.example lists them all).
#ifndef NCM_NCMD_CONFIG_H_
#define NCM_NCMD_CONFIG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ncm::ncmd {

// Sets the flags named in the file at `path`: blank lines and lines
// starting with '#' are skipped; a value may be quoted ("..."). Only flags
// defined in a source file whose path ends with `flags_file` are keys.
// INVALID_ARGUMENT naming the line and the key for an unknown key, a key
// given twice, a line without '=' or a value the flag refuses; NOT_FOUND
// when the file cannot be read. Flags given on the command line are parsed
// afterwards, so they override the file.
absl::Status ApplyConfigFile(const std::string& path,
                             absl::string_view flags_file);

// The value of --config in argv ("--config=F", "--config F", one or two
// dashes), or "" when none.
std::string ConfigFileFromArgs(int argc, char** argv);

}  // namespace ncm::ncmd

#endif  // NCM_NCMD_CONFIG_H_
