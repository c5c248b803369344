// ncmctl: the NCM backend's command line for the secretariat and auditors.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "clients/common/connect.h"
#include "clients/ncmctl/cli.h"
#include "clients/ncmctl/extra.h"
#include "google/protobuf/descriptor.h"

namespace ncm::ctl {
namespace {

const std::vector<std::string> kBoolFlags = {
    "help", "follow", "backward", "overdue", "lead-only", "all",
    "keep-as-supporting", "version", "for-log", "compare"};

struct GlobalFlag {
  const char* name;
  const char* help;
};
constexpr GlobalFlag kGlobal[] = {
    {"server", "host:port of ncmd ($NCM_SERVER; default 127.0.0.1:50051)"},
    {"token", "bearer token ($NCM_TOKEN)"},
    {"token-file", "file holding the token ($NCM_TOKEN_FILE; default "
                   "var/ncm/admin.token when it exists)"},
    {"tls-ca", "CA certificate of the server (PEM): use TLS ($NCM_TLS_CA)"},
    {"tls-cert", "client certificate (PEM), mutual TLS"},
    {"tls-key", "key of --tls-cert"},
    {"server-name", "name to check the server certificate against"},
    {"context", "a named context of the config file ($NCM_CONTEXT)"},
    {"config", "config file ($NCM_CONFIG; default ~/.config/ncm/config)"},
    {"output", "-o table (default), json or csv"},
    {"timeout", "seconds per call (default 30)"},
    {"on", "commands: the day it happened (YYYY-MM-DD; default today)"},
    {"command-id", "commands: an id making a retry safe"},
    {"help", "-h: help"},
};

std::string Env_(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

std::string Home(const std::string& path) {
  if (absl::StartsWith(path, "~/")) return Env_("HOME") + path.substr(1);
  return path;
}

// The config file: "current-context = NAME" and "[context NAME]" sections
// of "key = value" lines (server, token-file, token, tls-ca, tls-cert,
// tls-key, server-name).
struct Config {
  std::string path;
  std::string current;
  std::map<std::string, std::map<std::string, std::string>> contexts;
};

Config LoadConfig(const Args& a) {
  Config c;
  c.path = a.Get("config").value_or(Env_("NCM_CONFIG"));
  if (c.path.empty() && !Env_("HOME").empty()) {
    c.path = Env_("HOME") + "/.config/ncm/config";
  }
  std::ifstream in(c.path);
  std::string line, section;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    absl::string_view l = absl::StripAsciiWhitespace(line);
    if (l.empty() || l[0] == '#') continue;
    if (absl::ConsumePrefix(&l, "[context ") && absl::ConsumeSuffix(&l, "]")) {
      section = std::string(absl::StripAsciiWhitespace(l));
      c.contexts[section];
      continue;
    }
    std::vector<std::string> kv = absl::StrSplit(l, absl::MaxSplits('=', 1));
    if (kv.size() != 2) {
      UsageError(absl::StrCat(c.path, ":", n, ": expected key = value"));
    }
    std::string key(absl::StripAsciiWhitespace(kv[0]));
    std::string value(absl::StripAsciiWhitespace(kv[1]));
    if (section.empty()) {
      if (key == "current-context") c.current = value;
    } else {
      c.contexts[section][key] = value;
    }
  }
  return c;
}

int ConfigCommand(Env& env, const Args& a) {
  Config c = LoadConfig(a);
  const std::string verb = a.positional.size() > 1 ? a.positional[1] : "";
  if (a.Has("help") || verb.empty()) {
    *(a.Has("help") ? env.out : env.err)
        << "usage: ncmctl config view | ncmctl config use-context NAME\n";
    if (a.Has("help")) return kOk;
  }
  if (verb == "view" || verb == "get-contexts") {
    Table t({"current", "name", "server", "tls", "token file"});
    for (const auto& [name, kv] : c.contexts) {
      auto get = [&](const char* k) {
        auto it = kv.find(k);
        return it == kv.end() ? std::string() : it->second;
      };
      t.Row({name == c.current ? "*" : "", name, get("server"),
             get("tls-ca").empty() ? "no" : "yes", get("token-file")});
    }
    *env.out << "config file: " << c.path << "\n";
    t.Print(env);
    return kOk;
  }
  if (verb == "use-context" && a.positional.size() == 3) {
    const std::string name = a.positional[2];
    if (!c.contexts.count(name)) {
      UsageError(absl::StrCat("no context \"", name, "\" in ", c.path));
    }
    std::ifstream in(c.path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::vector<std::string> lines = absl::StrSplit(ss.str(), '\n');
    bool set = false;
    for (auto& l : lines) {
      if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(l), "current-context")) {
        l = "current-context = " + name;
        set = true;
      }
    }
    if (!set) lines.insert(lines.begin(), "current-context = " + name);
    std::ofstream out(c.path, std::ios::trunc);
    out << absl::StrJoin(lines, "\n");
    *env.out << "current context: " << name << "\n";
    return kOk;
  }
  UsageError(
      "usage: ncmctl config view | ncmctl config use-context NAME\n"
      "The file (~/.config/ncm/config, or $NCM_CONFIG) reads:\n"
      "  current-context = local\n"
      "  [context local]\n"
      "  server = 127.0.0.1:50051\n"
      "  token-file = var/ncm/admin.token\n"
      "  [context nairobi]\n"
      "  server = ncm.example.go.ke:443\n"
      "  tls-ca = /etc/ncm/ca.pem\n"
      "  token-file = ~/.config/ncm/nairobi.token");
}

void Connect(Env& env, const Args& a) {
  Config c = LoadConfig(a);
  std::string name = a.Get("context").value_or(Env_("NCM_CONTEXT"));
  if (name.empty()) name = c.current;
  std::map<std::string, std::string> ctx;
  if (!name.empty()) {
    auto it = c.contexts.find(name);
    if (it == c.contexts.end()) {
      UsageError(absl::StrCat("no context \"", name, "\" in ", c.path));
    }
    ctx = it->second;
  }
  // Flags first; then a context named on the command line; then the
  // environment; then the config file's current context.
  const bool named = a.Has("context");
  auto pick = [&](const char* flag, const char* env_name,
                  const char* key) -> std::string {
    if (auto v = a.Get(flag)) return *v;
    auto it = ctx.find(key);
    if (named && it != ctx.end()) return Home(it->second);
    if (env_name != nullptr && !Env_(env_name).empty()) return Env_(env_name);
    return it == ctx.end() ? "" : Home(it->second);
  };
  client::ConnectOptions o;
  o.server = pick("server", "NCM_SERVER", "server");
  if (o.server.empty()) o.server = "127.0.0.1:50051";
  o.ca_file = pick("tls-ca", "NCM_TLS_CA", "tls-ca");
  o.cert_file = pick("tls-cert", "NCM_TLS_CERT", "tls-cert");
  o.key_file = pick("tls-key", "NCM_TLS_KEY", "tls-key");
  o.server_name = pick("server-name", nullptr, "server-name");
  o.token = pick("token", "NCM_TOKEN", "token");
  if (o.token.empty()) {
    std::string file = pick("token-file", "NCM_TOKEN_FILE", "token-file");
    if (file.empty() && client::IsLoopbackTarget(o.server)) {
      file = "var/ncm/admin.token";  // a local deploy/run.sh server
      if (access(file.c_str(), R_OK) != 0) file.clear();
    }
    if (!file.empty()) {
      auto t = client::ReadTokenFile(file);
      if (!t.ok()) UsageError(std::string(t.status().message()));
      o.token = *t;
    }
  }
  env.server = o.server;
  auto ch = client::Connect(o);
  if (!ch.ok()) UsageError(std::string(ch.status().message()));
  env.channel = *ch;
  if (!env.channel->WaitForConnected(std::chrono::system_clock::now() +
                                     std::chrono::seconds(5))) {
    Fail(kNoServer, absl::StrCat("cannot connect to ", o.server,
                                 "; is ncmd running? (deploy/run.sh starts one)"));
  }
}

void TopHelp(std::ostream& out) {
  out << "ncmctl: track resolutions, stakeholders, MOUs and funding of the "
         "NCM backend; audit its log.\n\n"
         "Usage: ncmctl GROUP VERB [ARGS] [--flags]\n\nGroups:\n";
  std::vector<std::string> groups;
  for (const auto& c : Commands()) {
    if (std::find(groups.begin(), groups.end(), c.group) == groups.end()) {
      groups.push_back(c.group);
    }
  }
  for (const auto& g : groups) {
    std::vector<std::string> verbs;
    for (const auto& c : Commands()) {
      if (c.group == g) verbs.push_back(c.verb);
    }
    out << "  " << g << std::string(14 - std::min<size_t>(13, g.size()), ' ')
        << absl::StrJoin(verbs, ", ") << "\n";
  }
  out << "  config        view, use-context\n\nGlobal flags:\n";
  for (const auto& f : kGlobal) {
    out << "  --" << f.name << std::string(16 - std::min<size_t>(15, strlen(f.name)), ' ')
        << f.help << "\n";
  }
  out << "\nExit codes: 0 ok, 1 refused by the server, 2 usage, 3 cannot connect.\n"
         "Organisations may be named by acronym wherever an id is asked for.\n"
         "Examples:\n"
         "  ncmctl resolutions list --status in-progress\n"
         "  ncmctl reports implementation --as-of 2021-06-30 --by sp\n"
         "  ncmctl audit verify\n"
         "`ncmctl GROUP --help` and `ncmctl GROUP VERB --help` tell more.\n";
}

void GroupHelp(std::ostream& out, const std::string& group) {
  out << "Usage: ncmctl " << group << " VERB [ARGS] [--flags]\n\nVerbs:\n";
  for (const auto& c : Commands()) {
    if (c.group != group) continue;
    out << "  " << c.verb << std::string(18 - std::min<size_t>(17, c.verb.size()), ' ')
        << c.summary << "\n";
  }
}

bool TakesOptions(const Command& c) {
  if (c.method.empty()) return c.verb == "import";
  auto req = NewRequest(c.method);
  return req->GetDescriptor()->FindFieldByName("options") != nullptr;
}

void CommandHelp(std::ostream& out, const Command& c) {
  out << c.summary << ".\n\nUsage: ncmctl " << c.group << " " << c.verb;
  for (const auto& p : c.positionals) out << " " << p.second;
  out << (c.flags.empty() ? "" : " [--flags]") << "\n";
  if (!c.more.empty()) out << "\n" << c.more << "\n";
  if (!c.flags.empty() || TakesOptions(c)) out << "\nFlags:\n";
  for (const auto& f : c.flags) {
    out << "  --" << f.name << std::string(20 - std::min<size_t>(19, f.name.size()), ' ')
        << f.help << (f.required ? " (required)" : "") << "\n";
  }
  if (TakesOptions(c)) {
    out << "  --on                  the day it happened (default today)\n"
           "  --command-id          an id that makes a retry safe\n";
  }
  out << "\nExamples:\n";
  for (const auto& e : c.examples) out << "  " << e << "\n";
  if (c.examples.empty()) {
    // One built from the usage: the arguments and the required flags.
    std::string e = absl::StrCat("ncmctl ", c.group, " ", c.verb);
    for (const auto& p : c.positionals) absl::StrAppend(&e, " ", p.second);
    for (const auto& f : c.flags) {
      if (f.required) {
        absl::StrAppend(&e, " --", f.name, " ", absl::AsciiStrToUpper(f.name));
      }
    }
    out << "  " << e << "\n";
  }
  out << "\nOutput: -o table (default), json or csv. Global flags: ncmctl --help.\n";
}

int Run(Env& env, const Command& cmd, const Args& args) {
  if (cmd.run) return cmd.run(env, cmd, args);
  auto req = BuildRequest(env, cmd, args);
  if (cmd.prepare) cmd.prepare(env, args, req.get());
  auto resp = Call(env, cmd.method, *req);
  PrintResponse(env, cmd, *resp);
  return kOk;
}

}  // namespace

int Main(const std::vector<std::string>& argv) {
  Env env;
  env.tty = isatty(2) != 0;
  try {
    Args args = ParseArgs(argv, kBoolFlags);
    const bool help = args.Has("help");
    if (args.positional.empty()) {
      TopHelp(help ? *env.out : *env.err);
      return help ? kOk : kUsage;
    }
    const std::string format = args.Get("output").value_or("table");
    if (format == "json") {
      env.format = Format::kJson;
    } else if (format == "csv") {
      env.format = Format::kCsv;
    } else if (format != "table") {
      UsageError("-o is table, json or csv");
    }
    if (auto t = args.Get("timeout")) {
      if (!absl::SimpleAtoi(*t, &env.timeout_s) || env.timeout_s <= 0) {
        UsageError("--timeout is a number of seconds");
      }
    }
    const std::string group = args.positional[0];
    if (group == "config") return ConfigCommand(env, args);
    bool known_group = false;
    for (const auto& c : Commands()) known_group = known_group || c.group == group;
    if (!known_group) {
      *env.err << "ncmctl: no command group \"" << group << "\"\n\n";
      TopHelp(*env.err);
      return kUsage;
    }
    if (args.positional.size() < 2) {
      GroupHelp(help ? *env.out : *env.err, group);
      return help ? kOk : kUsage;
    }
    const std::string verb = args.positional[1];
    const Command* cmd = nullptr;
    for (const auto& c : Commands()) {
      if (c.group == group && c.verb == verb) cmd = &c;
    }
    if (cmd == nullptr) {
      *env.err << "ncmctl: no command \"" << group << " " << verb << "\"\n\n";
      GroupHelp(*env.err, group);
      return kUsage;
    }
    if (help) {
      CommandHelp(*env.out, *cmd);
      return kOk;
    }
    for (const auto& [name, value] : args.flags) {
      bool ok = std::any_of(std::begin(kGlobal), std::end(kGlobal),
                            [&](const GlobalFlag& g) { return name == g.name; });
      for (const auto& f : cmd->flags) ok = ok || f.name == name;
      if (!ok) {
        UsageError(absl::StrCat("unknown flag --", name, " for ncmctl ", group,
                                " ", verb, "; see --help"));
      }
    }
    args.positional.erase(args.positional.begin(), args.positional.begin() + 2);
    if (cmd->offline_flag.empty() || !args.Has(cmd->offline_flag)) {
      Connect(env, args);
    }
    return Run(env, *cmd, args);
  } catch (const Failure& f) {
    env.out->flush();
    *env.err << "ncmctl: " << f.message << "\n";
    return f.code;
  } catch (const std::exception& e) {
    env.out->flush();
    *env.err << "ncmctl: " << e.what() << "\n";
    return kRefused;
  }
}

}  // namespace ncm::ctl

int main(int argc, char** argv) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::vector<std::string> args(argv + 1, argv + argc);
  return ncm::ctl::Main(args);
}
