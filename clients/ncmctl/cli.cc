#include "clients/ncmctl/cli.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/common/connect.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/impl/codegen/client_unary_call.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "ncm/common/v1/common.pb.h"
#include "ncm/resources/money.h"
#include "ncm/stakeholders/v1/stakeholders.pb.h"

namespace ncm::ctl {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

Command MakeCommand(std::string group, std::string verb, std::string summary,
                    std::string method) {
  Command c;
  c.group = std::move(group);
  c.verb = std::move(verb);
  c.summary = std::move(summary);
  c.method = std::move(method);
  return c;
}

void Fail(int code, std::string message) {
  throw Failure{code, std::move(message)};
}
void UsageError(std::string message) { Fail(kUsage, std::move(message)); }

std::optional<std::string> Args::Get(const std::string& name) const {
  auto it = flags.find(name);
  if (it == flags.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Args::All(const std::string& name) const {
  std::vector<std::string> out;
  auto [b, e] = flags.equal_range(name);
  for (auto it = b; it != e; ++it) out.push_back(it->second);
  return out;
}

Args ParseArgs(const std::vector<std::string>& argv,
               const std::vector<std::string>& bool_flags) {
  Args a;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& s = argv[i];
    if (s == "--") {
      for (++i; i < argv.size(); ++i) a.positional.push_back(argv[i]);
      break;
    }
    if (absl::StartsWith(s, "--") && s.size() > 2) {
      std::string name = s.substr(2), value;
      auto eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else if (std::find(bool_flags.begin(), bool_flags.end(), name) !=
                 bool_flags.end()) {
        value = "true";
      } else if (i + 1 < argv.size()) {
        value = argv[++i];
      } else {
        UsageError(absl::StrCat("--", name, " needs a value"));
      }
      a.flags.emplace(name, value);
    } else if (s == "-o" || s == "-f" || s == "-h") {
      if (s == "-h") {
        a.flags.emplace("help", "true");
      } else if (s == "-f") {
        a.flags.emplace("follow", "true");
      } else if (i + 1 < argv.size()) {
        a.flags.emplace("output", argv[++i]);
      } else {
        UsageError("-o needs json, csv or table");
      }
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

namespace {

std::string Normalise(absl::string_view v) {
  return absl::AsciiStrToUpper(absl::StrReplaceAll(v, {{"-", "_"}, {" ", "_"}}));
}

// An enum value's name without the enum's own prefix ("ROLE_PARTNER" beside
// "ROLE_UNSPECIFIED" -> "PARTNER").
std::string Stripped(const google::protobuf::EnumValueDescriptor* v) {
  absl::string_view name = v->name();
  const std::string& zero = v->type()->value(0)->name();
  const auto cut = zero.rfind("UNSPECIFIED");
  if (cut != std::string::npos && cut > 0) {
    absl::ConsumePrefix(&name, zero.substr(0, cut));
  }
  return std::string(name);
}

const google::protobuf::EnumValueDescriptor* FindEnum(
    const google::protobuf::EnumDescriptor* e, absl::string_view text) {
  const std::string want = Normalise(text);
  if (const auto* v = e->FindValueByName(want)) return v;
  // Exact on the stripped name, then a unique prefix or word suffix of it.
  for (int i = 0; i < e->value_count(); ++i) {
    if (e->value(i)->number() != 0 && Stripped(e->value(i)) == want) {
      return e->value(i);
    }
  }
  const google::protobuf::EnumValueDescriptor* found = nullptr;
  int matches = 0;
  for (int i = 0; i < e->value_count(); ++i) {
    const auto* v = e->value(i);
    if (v->number() == 0) continue;  // UNSPECIFIED
    const std::string n = Stripped(v);
    if (absl::StartsWith(n, want) || absl::EndsWith(n, "_" + want)) {
      found = v;
      ++matches;
    }
  }
  return matches == 1 ? found : nullptr;
}

std::string EnumChoices(const google::protobuf::EnumDescriptor* e) {
  std::vector<std::string> names;
  for (int i = 0; i < e->value_count(); ++i) {
    if (e->value(i)->number() == 0) continue;
    names.push_back(EnumValueText(e->value(i)));
  }
  return absl::StrJoin(names, ", ");
}

}  // namespace

std::string EnumValueText(const google::protobuf::EnumValueDescriptor* v) {
  if (v->number() == 0) return "";
  return absl::AsciiStrToLower(absl::StrReplaceAll(Stripped(v), {{"_", "-"}}));
}

namespace {

bool IsUuid(absl::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!absl::ascii_isxdigit(s[i])) {
      return false;
    }
  }
  return true;
}

void SetDate(const std::string& field, const std::string& value, Message* m) {
  auto* d = static_cast<ncm::common::v1::Date*>(m);
  absl::CivilDay day;
  if (value == "today") {
    day = absl::ToCivilDay(absl::Now(), absl::LocalTimeZone());
  } else if (!absl::ParseCivilTime(value, &day)) {
    UsageError(absl::StrCat("--", field, ": \"", value,
                            "\" is not a date; write YYYY-MM-DD"));
  }
  d->set_year(static_cast<int>(day.year()));
  d->set_month(day.month());
  d->set_day(day.day());
}

void SetMoney(const std::string& field, const std::string& value, Message* m) {
  auto* money = static_cast<ncm::common::v1::Money*>(m);
  std::vector<std::string> parts =
      absl::StrSplit(value, ' ', absl::SkipWhitespace());
  if (parts.size() != 2) {
    UsageError(absl::StrCat("--", field, ": write an amount and a currency, "
                            "e.g. \"1500.50 EUR\""));
  }
  std::string amount = parts[0], currency = parts[1];
  if (!absl::ascii_isdigit(amount[0])) std::swap(amount, currency);
  currency = absl::AsciiStrToUpper(currency);
  auto exp = resources::CurrencyExponent(currency);
  if (!exp) UsageError(absl::StrCat("--", field, ": unknown currency ", currency));
  amount = absl::StrReplaceAll(amount, {{",", ""}});
  auto dec = resources::ParseDecimal(amount, field);
  if (!dec.ok()) UsageError(std::string(dec.status().message()));
  if (dec->scale > *exp) {
    UsageError(absl::StrCat("--", field, ": ", currency, " has ", *exp,
                            " decimal places"));
  }
  __int128 minor = dec->digits;
  for (int i = dec->scale; i < *exp; ++i) minor *= 10;
  if (minor > std::numeric_limits<int64_t>::max()) {
    UsageError(absl::StrCat("--", field, ": ", value, " is too large"));
  }
  money->set_minor_units(static_cast<int64_t>(minor));
  money->set_currency(currency);
}

void SetPeriod(const std::string& field, const std::string& value, Message* m) {
  // year = 1, number = 2 (month, quarter, or 0 for a year)
  const Descriptor* d = m->GetDescriptor();
  const auto* refl = m->GetReflection();
  // A year is period 1 of an annual dataset; a month 1-12; a quarter 1-4.
  int year = 0, number = 1;
  std::vector<std::string> p = absl::StrSplit(value, '-');
  bool ok = !p.empty() && p.size() <= 2 && absl::SimpleAtoi(p[0], &year) &&
            year >= 1900 && year <= 9999;
  if (ok && p.size() == 2) {
    absl::string_view n = p[1];
    const bool quarter =
        absl::ConsumePrefix(&n, "Q") || absl::ConsumePrefix(&n, "q");
    ok = absl::SimpleAtoi(n, &number) && number >= 1 &&
         number <= (quarter ? 4 : 12);
  }
  if (!ok) {
    UsageError(absl::StrCat("--", field, ": \"", value,
                            "\" is not a period; write 2021-03 (a month), "
                            "2021-Q2 (a quarter) or 2021 (a year)"));
  }
  refl->SetInt32(m, d->FindFieldByName("year"), year);
  refl->SetInt32(m, d->FindFieldByName("number"), number);
}

void SetScalar(Env& env, Message* m, const FieldDescriptor* f,
               const std::string& path, const std::string& raw) {
  const auto* refl = m->GetReflection();
  const bool rep = f->is_repeated();
  std::string value(absl::StripAsciiWhitespace(raw));
  auto bad = [&](absl::string_view what) {
    UsageError(absl::StrCat("--", path, ": \"", value, "\" is not ", what));
  };
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      if (absl::EndsWith(f->name(), "organisation_id") ||
          absl::EndsWith(f->name(), "organisation_ids")) {
        value = OrganisationId(env, value);
      }
      rep ? refl->AddString(m, f, value) : refl->SetString(m, f, value);
      return;
    }
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      absl::string_view t = value;
      if (f->name() == "strategic_priority" || f->name() == "strategic_priorities") {
        absl::ConsumePrefix(&t, "SP");
        absl::ConsumePrefix(&t, "sp");
      }
      if (!absl::SimpleAtoi(t, &v)) bad("a whole number");
      rep ? refl->AddInt32(m, f, v) : refl->SetInt32(m, f, v);
      return;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!absl::SimpleAtoi(absl::StrReplaceAll(value, {{",", ""}}), &v)) {
        bad("a whole number");
      }
      rep ? refl->AddInt64(m, f, v) : refl->SetInt64(m, f, v);
      return;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!absl::SimpleAtoi(value, &v)) bad("a whole number");
      rep ? refl->AddUInt32(m, f, v) : refl->SetUInt32(m, f, v);
      return;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!absl::SimpleAtoi(value, &v)) bad("a whole number");
      rep ? refl->AddUInt64(m, f, v) : refl->SetUInt64(m, f, v);
      return;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (!absl::SimpleAtob(value, &v)) bad("true or false");
      rep ? refl->AddBool(m, f, v) : refl->SetBool(m, f, v);
      return;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* v = FindEnum(f->enum_type(), value);
      if (v == nullptr) {
        UsageError(absl::StrCat("--", path, ": \"", value, "\" is not one of ",
                                EnumChoices(f->enum_type())));
      }
      rep ? refl->AddEnum(m, f, v) : refl->SetEnum(m, f, v);
      return;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      Message* sub = rep ? refl->AddMessage(m, f) : refl->MutableMessage(m, f);
      const std::string& type = f->message_type()->full_name();
      if (type == "ncm.common.v1.Date") return SetDate(path, value, sub);
      if (type == "ncm.common.v1.Money") return SetMoney(path, value, sub);
      if (f->message_type()->name() == "Period") {
        return SetPeriod(path, value, sub);
      }
      UsageError(absl::StrCat("--", path, " cannot be given as text"));
    }
    default:
      UsageError(absl::StrCat("--", path, " cannot be given as text"));
  }
}

}  // namespace

void SetField(Env& env, Message* m, const std::string& path,
              const std::string& value) {
  std::vector<std::string> parts = absl::StrSplit(path, '.');
  Message* cur = m;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const FieldDescriptor* f = cur->GetDescriptor()->FindFieldByName(parts[i]);
    if (f == nullptr || f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
        f->is_repeated()) {
      Fail(kUsage, absl::StrCat("internal: no field ", path));
    }
    cur = cur->GetReflection()->MutableMessage(cur, f);
  }
  const FieldDescriptor* f = cur->GetDescriptor()->FindFieldByName(parts.back());
  if (f == nullptr) Fail(kUsage, absl::StrCat("internal: no field ", path));
  const bool split = f->is_repeated() &&
                     f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE;
  if (split) {
    for (absl::string_view v : absl::StrSplit(value, ',', absl::SkipEmpty())) {
      SetScalar(env, cur, f, path, std::string(v));
    }
  } else {
    SetScalar(env, cur, f, path, value);
  }
}

std::unique_ptr<Message> NewRequest(const std::string& method) {
  const auto* m = google::protobuf::DescriptorPool::generated_pool()
                      ->FindMethodByName(absl::StrReplaceAll(method, {{"/", "."}}));
  if (m == nullptr) Fail(kUsage, absl::StrCat("internal: no method ", method));
  return std::unique_ptr<Message>(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(m->input_type())
          ->New());
}

std::unique_ptr<Message> BuildRequest(Env& env, const Command& cmd,
                                      const Args& args) {
  std::unique_ptr<Message> req = NewRequest(cmd.method);
  if (args.positional.size() > cmd.positionals.size()) {
    UsageError(absl::StrCat("too many arguments; see ncmctl ", cmd.group, " ",
                            cmd.verb, " --help"));
  }
  if (args.positional.size() < cmd.positionals.size()) {
    UsageError(absl::StrCat("missing ", cmd.positionals[args.positional.size()].second,
                            "; see ncmctl ", cmd.group, " ", cmd.verb,
                            " --help"));
  }
  for (size_t i = 0; i < cmd.positionals.size(); ++i) {
    SetField(env, req.get(), cmd.positionals[i].first, args.positional[i]);
  }
  for (const FlagSpec& f : cmd.flags) {
    std::vector<std::string> values = args.All(f.name);
    if (values.empty() && f.required) {
      UsageError(absl::StrCat("--", f.name, " is required (", f.help, ")"));
    }
    if (f.field.empty()) continue;
    for (const std::string& v : values) SetField(env, req.get(), f.field, v);
  }
  const FieldDescriptor* options = req->GetDescriptor()->FindFieldByName("options");
  if (options != nullptr &&
      options->message_type() == ncm::common::v1::CommandOptions::descriptor()) {
    if (auto on = args.Get("on")) SetField(env, req.get(), "options.occurred_on", *on);
    if (auto id = args.Get("command-id")) {
      SetField(env, req.get(), "options.command_id", *id);
    }
  }
  return req;
}

std::unique_ptr<Message> Call(Env& env, const std::string& method,
                              const Message& req) {
  const auto* m = google::protobuf::DescriptorPool::generated_pool()
                      ->FindMethodByName(absl::StrReplaceAll(method, {{"/", "."}}));
  if (m == nullptr) Fail(kUsage, absl::StrCat("internal: no method ", method));
  std::unique_ptr<Message> resp(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(m->output_type())
          ->New());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::seconds(env.timeout_s));
  const std::string name = absl::StrCat("/", method);
  grpc::Status s =
      grpc::internal::BlockingUnaryCall<Message, Message>(
          env.channel.get(),
          grpc::internal::RpcMethod(name.c_str(),
                                    grpc::internal::RpcMethod::NORMAL_RPC),
          &ctx, req, resp.get());
  if (!s.ok()) FailWith(env, s);
  return resp;
}

void FailWith(Env& env, const grpc::Status& s) {
  {
    // The channel, not the message, says whether the server was reached.
    const auto state = env.channel->GetState(false);
    if ((s.error_code() == grpc::StatusCode::UNAVAILABLE ||
         s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) &&
        (state == GRPC_CHANNEL_TRANSIENT_FAILURE ||
         state == GRPC_CHANNEL_CONNECTING || state == GRPC_CHANNEL_IDLE)) {
      Fail(kNoServer, absl::StrCat("cannot connect to ", env.server, ": ",
                                   s.error_message()));
    }
    static const char* const kNames[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
        "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
        "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
        "UNAUTHENTICATED"};
    const int code = static_cast<int>(s.error_code());
    Fail(kRefused, absl::StrCat(code >= 0 && code <= 16 ? kNames[code] : "ERROR",
                                ": ", s.error_message()));
  }
}

namespace {

void LoadOrganisations(Env& env) {
  if (env.orgs_loaded) return;
  env.orgs_loaded = true;
  ncm::stakeholders::v1::ListOrganisationsRequest r;
  r.set_page_size(1000);
  for (;;) {
    auto resp = Call(env, "ncm.stakeholders.v1.Stakeholders/ListOrganisations", r);
    const auto& page =
        static_cast<const ncm::stakeholders::v1::ListOrganisationsResponse&>(*resp);
    for (const auto& o : page.organisations()) {
      env.acronym_by_org[o.organisation_id()] = o.profile().acronym();
      // A withdrawn organisation freed its acronym for another.
      if (o.status() == ncm::stakeholders::v1::WITHDRAWN) continue;
      env.org_by_acronym[absl::AsciiStrToUpper(o.profile().acronym())] =
          o.organisation_id();
    }
    if (page.next_page_token().empty()) break;
    r.set_page_token(page.next_page_token());
  }
}

}  // namespace

std::string Acronym(Env& env, const std::string& organisation_id) {
  if (organisation_id.empty()) return "";
  try {
    LoadOrganisations(env);
  } catch (const Failure&) {
    return organisation_id;  // a role without directory access: ids then
  }
  auto it = env.acronym_by_org.find(organisation_id);
  return it == env.acronym_by_org.end() ? organisation_id : it->second;
}

std::string OrganisationId(Env& env, const std::string& acronym_or_id) {
  if (acronym_or_id.empty() || IsUuid(acronym_or_id)) return acronym_or_id;
  LoadOrganisations(env);
  auto it = env.org_by_acronym.find(absl::AsciiStrToUpper(acronym_or_id));
  if (it == env.org_by_acronym.end()) {
    UsageError(absl::StrCat("no organisation with the acronym \"",
                            acronym_or_id, "\"; ncmctl stakeholders list"));
  }
  return it->second;
}

void PrintJson(Env& env, const Message& m) {
  std::string json;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &json, o);
  *env.out << json;
  if (json.empty() || json.back() != '\n') *env.out << "\n";
}

namespace {

std::string CsvCell(std::string s) {
  // Text that a spreadsheet would take for a formula is neutralised
  // (negative amounts stay numbers).
  if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '@' ||
                     (s[0] == '-' && (s.size() == 1 || !absl::ascii_isdigit(s[1]))))) {
    s = "'" + s;
  }
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  return absl::StrCat("\"", absl::StrReplaceAll(s, {{"\"", "\"\""}}), "\"");
}

// Display width of UTF-8 text, one column per code point.
size_t Width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

namespace {

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

void Table::Print(Env& env) const {
  std::ostream& out = *env.out;
  if (env.format == Format::kJson) {
    // One object per row (JSON Lines), keyed by the column names.
    for (const auto& row : rows_) {
      std::vector<std::string> kv;
      for (size_t i = 0; i < row.size() && i < headers_.size(); ++i) {
        kv.push_back(absl::StrCat(
            JsonString(absl::StrReplaceAll(headers_[i], {{" ", "_"}})), ":",
            JsonString(row[i])));
      }
      out << "{" << absl::StrJoin(kv, ",") << "}\n";
    }
    return;
  }
  if (env.format == Format::kCsv) {
    std::vector<std::string> h;
    for (const auto& c : headers_) h.push_back(CsvCell(c));
    out << absl::StrJoin(h, ",") << "\n";
    for (const auto& row : rows_) {
      std::vector<std::string> cells;
      for (const auto& c : row) cells.push_back(CsvCell(c));
      out << absl::StrJoin(cells, ",") << "\n";
    }
    return;
  }
  std::vector<size_t> widths(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i) widths[i] = Width(headers_[i]);
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], Width(row[i]));
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t i = 0; i < cells.size() && i < widths.size(); ++i) {
      s += cells[i];
      if (i + 1 < cells.size()) s += std::string(widths[i] - Width(cells[i]) + 2, ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << "\n";
  };
  std::vector<std::string> upper;
  for (const auto& h : headers_) upper.push_back(absl::AsciiStrToUpper(h));
  line(upper);
  for (const auto& row : rows_) line(row);
}

Progress::Progress(Env& env, std::string label, uint64_t total)
    : env_(env), label_(std::move(label)), total_(total) {}

Progress::~Progress() {
  if (env_.tty && last_percent_ >= 0) *env_.err << "\n";
}

void Progress::Set(uint64_t done) {
  if (!env_.tty || total_ == 0) return;
  const int pct = static_cast<int>(std::min<uint64_t>(done, total_) * 100 / total_);
  if (pct == last_percent_) return;
  last_percent_ = pct;
  const int filled = pct * 30 / 100;
  *env_.err << "\r" << label_ << " [" << std::string(filled, '#')
            << std::string(30 - filled, '.') << "] " << pct << "% (" << done
            << "/" << total_ << ")" << std::flush;
}

}  // namespace ncm::ctl
