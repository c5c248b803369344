// The machinery of ncmctl: commands declared as data (the RPC they call,
// which arguments fill which request fields), requests built from the
// command line by protobuf reflection, generic unary calls, output as
// tables, JSON or CSV, exit codes.
#ifndef NCM_CLIENTS_NCMCTL_CLI_H_
#define NCM_CLIENTS_NCMCTL_CLI_H_

#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"

namespace ncm::ctl {

// Exit codes.
inline constexpr int kOk = 0;
inline constexpr int kRefused = 1;   // the server refused; its message shown
inline constexpr int kUsage = 2;
inline constexpr int kNoServer = 3;  // cannot connect

// Ends a command with an exit code and a message for stderr.
struct Failure {
  int code;
  std::string message;
};
[[noreturn]] void Fail(int code, std::string message);
[[noreturn]] void UsageError(std::string message);

enum class Format { kTable, kJson, kCsv };

// Everything a command runs with.
struct Env {
  std::shared_ptr<grpc::Channel> channel;
  Format format = Format::kTable;
  std::ostream* out = &std::cout;
  std::ostream* err = &std::cerr;
  bool tty = false;      // stderr is a terminal: progress bars
  int timeout_s = 30;    // per call
  std::string server;    // for messages
  // Organisation acronym -> id (and back), loaded on first use.
  std::map<std::string, std::string> org_by_acronym;
  std::map<std::string, std::string> acronym_by_org;
  bool orgs_loaded = false;
};

// The parsed command line of one command: positionals and --flags.
struct Args {
  std::vector<std::string> positional;
  std::multimap<std::string, std::string> flags;  // name without "--"
  bool Has(const std::string& name) const { return flags.count(name) > 0; }
  std::optional<std::string> Get(const std::string& name) const;
  std::vector<std::string> All(const std::string& name) const;
};

// A flag of a command, mapped onto a request field (dotted path) unless
// `field` is empty (the command reads it itself).
struct FlagSpec {
  std::string name;
  std::string field;
  std::string help;
  bool required = false;
};

struct Command;
using Runner = std::function<int(Env&, const Command&, const Args&)>;
using Printer =
    std::function<void(Env&, const google::protobuf::Message& response)>;

struct Command {
  std::string group;  // "resolutions"
  std::string verb;   // "defer"
  std::string summary;
  // "ncm.resolutions.v1.Resolutions/DeferResolution"; empty for commands
  // with their own runner.
  std::string method;
  // Request fields the positional arguments fill, in order, with names
  // for the usage line.
  std::vector<std::pair<std::string, std::string>> positionals;
  std::vector<FlagSpec> flags;
  std::vector<std::string> examples;
  // Adjusts the built request (fields the flags cannot name one to one).
  std::function<void(Env&, const Args&, google::protobuf::Message*)> prepare;
  Runner run;       // default: build the request, call, print
  Printer print;    // default: by response type
  std::string more;  // extra help text
  // With this flag the command works offline (no server is dialled).
  std::string offline_flag;
};

// A command calling `method` ("" for one with a runner of its own).
Command MakeCommand(std::string group, std::string verb, std::string summary,
                    std::string method = "");

// Every command, in help order.
const std::vector<Command>& Commands();

// Runs ncmctl with argv (without the program name); returns the exit code.
int Main(const std::vector<std::string>& argv);

// --- helpers for commands ---

// Splits argv into positionals and --name=value / --name value flags.
// `bool_flags` take no value.
Args ParseArgs(const std::vector<std::string>& argv,
               const std::vector<std::string>& bool_flags);

// Sets the field at `path` ("terms.due_date") of `m` from text: strings,
// numbers, booleans, enums (by name, any case, '-' for '_', a unique
// prefix or suffix will do), dates (YYYY-MM-DD or "today"), money
// ("1500.50 EUR"), periods ("2021-03", "2021-Q2", "2021"); repeated fields
// take comma-separated values. A field named *organisation_id(s) takes an
// acronym too.
void SetField(Env& env, google::protobuf::Message* m, const std::string& path,
              const std::string& value);

// Builds the request of `cmd` from `args`; fills options (command id,
// occurred_on) from --command-id and --on when the request has them.
std::unique_ptr<google::protobuf::Message> BuildRequest(Env& env,
                                                        const Command& cmd,
                                                        const Args& args);

// Calls a unary RPC; Fails with kNoServer or kRefused on error.
std::unique_ptr<google::protobuf::Message> Call(
    Env& env, const std::string& method, const google::protobuf::Message& req);

// Fails with kNoServer when the server cannot be reached, else kRefused
// with the status's code and message.
[[noreturn]] void FailWith(Env& env, const grpc::Status& status);

// A new empty request of `method`'s input type.
std::unique_ptr<google::protobuf::Message> NewRequest(const std::string& method);

// Organisation id -> acronym (the id itself when unknown), and back.
std::string Acronym(Env& env, const std::string& organisation_id);
std::string OrganisationId(Env& env, const std::string& acronym_or_id);

// Prints `m` as JSON (the protobuf JSON mapping, proto field names).
void PrintJson(Env& env, const google::protobuf::Message& m);

// Text for tables.
std::string DateText(const google::protobuf::Message& date);  // "2021-03-31"
// An enum value for people: lower case, '-' for '_', without the enum's
// own prefix ("ROLE_DATA_PROVIDER" -> "data-provider"); "" for the zero.
std::string EnumValueText(const google::protobuf::EnumValueDescriptor* v);
std::string EnumText(const google::protobuf::Message& m, const char* field);
std::string BasisPoints(int64_t bp);                            // "83.33%"
std::string TimestampText(const google::protobuf::Message& ts);

// A table (or CSV) of rows.
class Table {
 public:
  explicit Table(std::vector<std::string> headers)
      : headers_(std::move(headers)) {}
  void Row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  void Print(Env& env) const;
  size_t size() const { return rows_.size(); }

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// A progress bar on stderr when it is a terminal; quiet otherwise.
class Progress {
 public:
  Progress(Env& env, std::string label, uint64_t total);
  ~Progress();
  void Set(uint64_t done);

 private:
  Env& env_;
  std::string label_;
  uint64_t total_;
  int last_percent_ = -1;
};

}  // namespace ncm::ctl

#endif  // NCM_CLIENTS_NCMCTL_CLI_H_
