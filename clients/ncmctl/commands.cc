// The command table of ncmctl and the printers of what the server answers.
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "clients/ncmctl/cli.h"
#include "clients/ncmctl/extra.h"
#include "google/protobuf/timestamp.pb.h"
#include "ncm/access/v1/access.pb.h"
#include "ncm/admin/v1/admin.pb.h"
#include "ncm/common/v1/common.pb.h"
#include "ncm/mous/v1/mous.pb.h"
#include "ncm/readside/v1/readside.pb.h"
#include "ncm/resolutions/v1/resolutions.pb.h"
#include "ncm/resources/money.h"
#include "ncm/resources/v1/resources.pb.h"
#include "ncm/stakeholders/v1/stakeholders.pb.h"

namespace ncm::ctl {

using google::protobuf::Message;
namespace apb = ::ncm::access::v1;
namespace cpb = ::ncm::common::v1;
namespace mpb = ::ncm::mous::v1;
namespace rpb = ::ncm::resolutions::v1;
namespace fpb = ::ncm::resources::v1;
namespace spb = ::ncm::stakeholders::v1;
namespace xpb = ::ncm::readside::v1;
namespace opb = ::ncm::admin::v1;

std::string DateText(const Message& m) {
  const auto& d = static_cast<const cpb::Date&>(m);
  if (d.year() == 0) return "";
  return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
}

std::string EnumText(const Message& m, const char* field) {
  const auto* f = m.GetDescriptor()->FindFieldByName(field);
  return EnumValueText(m.GetReflection()->GetEnum(m, f));
}

std::string BasisPoints(int64_t bp) {
  return absl::StrFormat("%d.%02d%%", bp / 100, bp % 100);
}

std::string TimestampText(const Message& m) {
  const auto& ts = static_cast<const google::protobuf::Timestamp&>(m);
  if (ts.seconds() == 0) return "";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixSeconds(ts.seconds()),
                          absl::UTCTimeZone());
}

namespace {

std::string StatusText(rpb::ResolutionStatus s) {
  return EnumValueText(rpb::ResolutionStatus_descriptor()->FindValueByNumber(s));
}

std::string Money(int64_t minor, const std::string& currency) {
  auto exp = resources::CurrencyExponent(currency);
  return resources::FormatMinor(minor, exp.value_or(2));
}

// --- printers ---

void PrintResult(Env& env, const Message& m, const Command& cmd) {
  const auto* result = &m;
  // Responses that wrap a CommandResult (AddBudgetLine, IssueToken, ...).
  if (m.GetDescriptor() != cpb::CommandResult::descriptor()) {
    const auto* f = m.GetDescriptor()->FindFieldByName("result");
    if (f != nullptr) result = &m.GetReflection()->GetMessage(m, f);
  }
  const auto& r = static_cast<const cpb::CommandResult&>(*result);
  *env.out << cmd.group << " " << r.aggregate_id() << ": " << cmd.verb
           << (r.replayed() ? " (already recorded)" : "") << " (revision "
           << r.revision() << ", position " << r.position() << ")\n";
  // The ids the next command may need (a line, an appointment, a person,
  // a transaction) and computed figures.
  if (result == &m) return;
  const auto* refl = m.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  refl->ListFields(m, &fields);
  for (const auto* f : fields) {
    if (f->name() == "result" || f->is_repeated()) continue;
    std::string v;
    switch (f->cpp_type()) {
      case google::protobuf::FieldDescriptor::CPPTYPE_STRING:
        v = refl->GetString(m, f);
        break;
      case google::protobuf::FieldDescriptor::CPPTYPE_INT64:
        v = absl::StrCat(refl->GetInt64(m, f));
        break;
      case google::protobuf::FieldDescriptor::CPPTYPE_BOOL:
        v = refl->GetBool(m, f) ? "true" : "false";
        break;
      default:
        continue;
    }
    *env.out << "  " << f->name() << ": " << v << "\n";
  }
}

void PrintOrganisations(Env& env, const std::vector<spb::Organisation>& orgs) {
  Table t({"acronym", "name", "kind", "level", "county", "role", "status",
           "id"});
  for (const auto& o : orgs) {
    t.Row({o.profile().acronym(), o.profile().name(),
           EnumText(o.profile(), "kind"), EnumText(o.profile(), "level"),
           o.profile().county_code(), EnumText(o, "role"), EnumText(o, "status"),
           o.organisation_id()});
  }
  t.Print(env);
}

std::string PersonText(const spb::Person& p) {
  if (p.erased()) return "(erased)";
  if (p.withheld()) return "(withheld)";
  std::string s = p.details().full_name();
  if (!p.details().title().empty()) absl::StrAppend(&s, ", ", p.details().title());
  if (!p.details().email().empty()) absl::StrAppend(&s, " <", p.details().email(), ">");
  return s;
}

void PrintOrganisation(Env& env, const Message& m) {
  const auto& o = static_cast<const spb::Organisation&>(m);
  std::ostream& out = *env.out;
  out << o.profile().name() << " (" << o.profile().acronym() << ")\n"
      << "  id:             " << o.organisation_id() << "\n"
      << "  kind:           " << EnumText(o.profile(), "kind") << ", "
      << EnumText(o.profile(), "level")
      << (o.profile().county_code().empty() ? ""
                                            : ", county " + o.profile().county_code())
      << "\n"
      << "  membership:     " << EnumText(o, "role") << ", "
      << EnumText(o, "status") << " (registered " << DateText(o.registered_on())
      << ")\n";
  if (o.profile().thematic_areas_size() > 0) {
    out << "  thematic areas: " << absl::StrJoin(o.profile().thematic_areas(), ", ")
        << "\n";
  }
  out << "\nMembership history\n";
  Table h({"date", "status", "role", "reason"});
  for (const auto& c : o.membership_history()) {
    h.Row({DateText(c.occurred_on()), EnumText(c, "status"), EnumText(c, "role"),
           c.reason()});
  }
  h.Print(env);
  out << "\nFocal points\n";
  Table f({"from", "until", "kind", "person", "person id", "appointment"});
  for (const auto& a : o.focal_points()) {
    f.Row({DateText(a.from()), a.has_until() ? DateText(a.until()) : "(current)",
           EnumText(a, "kind"), PersonText(a.person()), a.person().person_id(),
           a.appointment_id()});
  }
  f.Print(env);
}

void PrintFocalPoints(Env& env, const Message& m) {
  const auto& r = static_cast<const spb::GetFocalPointsAsOfResponse&>(m);
  Table f({"from", "until", "kind", "person", "person id"});
  for (const auto& a : r.focal_points()) {
    f.Row({DateText(a.from()), a.has_until() ? DateText(a.until()) : "",
           EnumText(a, "kind"), PersonText(a.person()), a.person().person_id()});
  }
  f.Print(env);
}

void PrintPerson(Env& env, const Message& m) {
  const auto& p = static_cast<const spb::Person&>(m);
  Table t({"person id", "name", "title", "phone", "e-mail", "state"});
  t.Row({p.person_id(), p.details().full_name(), p.details().title(),
         p.details().phone(), p.details().email(),
         p.erased() ? "erased" : p.withheld() ? "withheld" : ""});
  t.Print(env);
}

void PrintAttendance(Env& env, const Message& m) {
  const auto& r = static_cast<const spb::GetAttendanceRatesResponse&>(m);
  Table t({"organisation", "meetings held", "attended", "rate"});
  for (const auto& x : r.rates()) {
    t.Row({x.acronym(), absl::StrCat(x.meetings_held()),
           absl::StrCat(x.meetings_attended()), BasisPoints(x.rate_basis_points())});
  }
  t.Print(env);
}

void PrintResolutions(Env& env, const std::vector<rpb::Resolution>& list) {
  Table t({"id", "reference", "status", "due", "lead", "done", "overdue",
           "adopted"});
  for (const auto& r : list) {
    t.Row({r.resolution_id(), r.terms().reference(), StatusText(r.status()),
           DateText(r.terms().due_date()),
           Acronym(env, r.terms().lead_organisation_id()),
           absl::StrCat(r.percent_complete(), "%"), r.overdue() ? "yes" : "",
           DateText(r.adopted_on())});
  }
  t.Print(env);
}

void PrintResolution(Env& env, const Message& m) {
  const auto& r = static_cast<const rpb::Resolution&>(m);
  std::ostream& out = *env.out;
  std::vector<std::string> supporting;
  for (const auto& s : r.terms().supporting_organisation_ids()) {
    supporting.push_back(Acronym(env, s));
  }
  out << "Resolution " << r.resolution_id()
      << (r.terms().reference().empty() ? "" : " (" + r.terms().reference() + ")")
      << "\n  " << r.terms().text() << "\n\n"
      << "  status:      " << StatusText(r.status())
      << (r.overdue() ? " — OVERDUE" : "") << " (as of " << DateText(r.as_of())
      << ")\n"
      << "  done:        " << r.percent_complete() << "%\n"
      << "  due:         " << DateText(r.terms().due_date()) << "\n"
      << "  lead:        " << Acronym(env, r.terms().lead_organisation_id()) << "\n"
      << "  supporting:  " << absl::StrJoin(supporting, ", ") << "\n"
      << "  priority:    SP" << r.terms().strategic_priority() << ", pillar "
      << r.terms().pillar() << ", GCM objectives "
      << absl::StrJoin(r.terms().gcm_objectives(), ", ") << "\n"
      << "  indicator:   " << r.terms().indicator() << "\n"
      << "  adopted:     " << DateText(r.adopted_on()) << " at meeting "
      << r.meeting_id() << "\n";
  if (!r.superseded_by_resolution_id().empty()) {
    out << "  superseded by " << r.superseded_by_resolution_id() << "\n";
  }
  out << "\nHistory\n";
  Table h({"date", "status", "due", "reason", "by", "recorded"});
  for (const auto& c : r.history()) {
    h.Row({DateText(c.occurred_on()), StatusText(c.status()), DateText(c.due_date()),
           c.reason(), c.actor(), TimestampText(c.recorded_at())});
  }
  h.Print(env);
  out << "\nProgress reports\n";
  Table p({"date", "by", "done", "narrative", "evidence"});
  for (const auto& rep : r.progress_reports()) {
    p.Row({DateText(rep.occurred_on()), Acronym(env, rep.reporting_organisation_id()),
           absl::StrCat(rep.percent_complete(), "%"), rep.narrative(),
           absl::StrJoin(rep.evidence_references(), " ")});
  }
  p.Print(env);
}

std::string GroupLabel(Env& env, rpb::ImplementationReportRequest::GroupBy by,
                       const std::string& key) {
  if (by == rpb::ImplementationReportRequest::LEAD_ORGANISATION) {
    return Acronym(env, key);
  }
  if (by == rpb::ImplementationReportRequest::PILLAR) return "Pillar " + key;
  return key;
}

}  // namespace

void PrintReport(Env& env, const rpb::ImplementationReportResponse& r,
                 rpb::ImplementationReportRequest::GroupBy by) {
  Table t({"group", "resolutions", "adopted", "in progress", "implemented",
           "verified", "deferred", "blocked", "rescinded", "superseded",
           "implemented %", "overdue", "mean days overdue"});
  auto row = [&](const std::string& label, const rpb::ReportGroup& g) {
    std::map<rpb::ResolutionStatus, int64_t> n;
    for (const auto& c : g.by_status()) n[c.status()] = c.count();
    t.Row({label, absl::StrCat(g.resolutions()), absl::StrCat(n[rpb::ADOPTED]),
           absl::StrCat(n[rpb::IN_PROGRESS]), absl::StrCat(n[rpb::IMPLEMENTED]),
           absl::StrCat(n[rpb::VERIFIED]), absl::StrCat(n[rpb::DEFERRED]),
           absl::StrCat(n[rpb::BLOCKED]), absl::StrCat(n[rpb::RESCINDED]),
           absl::StrCat(n[rpb::SUPERSEDED]), BasisPoints(g.implemented_basis_points()),
           absl::StrCat(g.overdue()),
           absl::StrFormat("%d.%02d", g.mean_days_overdue_centi() / 100,
                           g.mean_days_overdue_centi() % 100)});
  };
  for (const auto& g : r.groups()) row(GroupLabel(env, by, g.key()), g);
  if (env.format == Format::kTable) row("TOTAL", r.total());
  if (env.format == Format::kTable) {
    *env.out << "Implementation status as of " << DateText(r.as_of()) << "\n";
  }
  t.Print(env);
}

namespace {

void PrintCompliance(Env& env, const Message& m) {
  const auto& c = static_cast<const mpb::GetComplianceResponse&>(m);
  Table t({"mou", "dataset", "provider", "expected", "on time", "late",
           "missing", "on-time rate"});
  for (const auto& d : c.datasets()) {
    const auto& f = d.figures();
    t.Row({d.mou_id(), d.dataset_code(), Acronym(env, d.provider_organisation_id()),
           absl::StrCat(f.expected()), absl::StrCat(f.on_time()),
           absl::StrCat(f.late()), absl::StrCat(f.missing()),
           BasisPoints(f.on_time_basis_points())});
  }
  if (env.format != Format::kTable) return t.Print(env);
  *env.out << "Data-sharing compliance as of " << DateText(c.as_of()) << "\n";
  t.Print(env);
  const auto& f = c.total();
  *env.out << "\nIn all: " << f.expected() << " expected, " << f.on_time()
           << " on time, " << f.late() << " late, " << f.missing()
           << " missing; on-time rate " << BasisPoints(f.on_time_basis_points())
           << "\n";
  if (c.overdue_size() > 0) {
    *env.out << "\nOverdue deliveries\n";
    Table o({"mou", "dataset", "provider", "period", "due", "days past due"});
    for (const auto& e : c.overdue()) {
      o.Row({e.mou_id(), e.dataset_code(), Acronym(env, e.provider_organisation_id()),
             absl::StrCat(e.period().year(), "-", e.period().number()),
             DateText(e.due_date()), absl::StrCat(e.days_past_due())});
    }
    o.Print(env);
  }
}

void PrintBudgetTotals(Env& env, const fpb::Budget& b) {
  Table t({"scope", "key", "original", "current", "declared", "pledged",
           "committed", "received", "spent", "gap"});
  auto row = [&](const fpb::Totals& x, const std::string& scope) {
    t.Row({scope, x.key(), Money(x.original_minor(), b.currency()),
           Money(x.current_minor(), b.currency()),
           x.has_declared_minor()
               ? Money(x.declared_minor(), b.currency()) +
                     (x.declared_mismatch() ? " (differs)" : "")
               : "",
           Money(x.pledged_minor(), b.currency()),
           Money(x.committed_minor(), b.currency()),
           Money(x.received_minor(), b.currency()),
           Money(x.spent_minor(), b.currency()),
           Money(x.gap_minor(), b.currency())});
  };
  for (const auto& p : b.pillars()) row(p, "pillar");
  row(b.total(), "budget");
  t.Print(env);
}

void PrintBudget(Env& env, const Message& m) {
  const auto& b = static_cast<const fpb::Budget&>(m);
  *env.out << b.title() << " — FY " << b.fiscal_year() << "/"
           << (b.fiscal_year() + 1) % 100 << ", " << b.currency() << " ("
           << DateText(b.starts_on()) << " to " << DateText(b.ends_on())
           << ")\n  id: " << b.budget_id() << "\n  owner: "
           << Acronym(env, b.owner_organisation_id()) << "\n\nLines\n";
  Table l({"line", "activity", "item", "description", "original", "revised",
           "flag"});
  for (const auto& x : b.lines()) {
    l.Row({x.line_id(), x.activity_code(), x.item_code(), x.description(),
           Money(x.original().total_minor(), b.currency()),
           x.has_revised() ? Money(x.revised().total_minor(), b.currency()) : "",
           x.declared_total_mismatch() ? "declared total differs" : ""});
  }
  l.Print(env);
  *env.out << "\nTotals\n";
  PrintBudgetTotals(env, b);
}

void PrintPosition(Env& env, const Message& m) {
  const auto& p = static_cast<const fpb::GetFundingPositionResponse&>(m);
  for (const auto& bp : p.budgets()) {
    const auto& b = bp.budget();
    if (env.format == Format::kTable) {
      *env.out << b.title() << " (" << b.currency() << ", FY " << b.fiscal_year()
               << ")\n  government share of funds received "
               << BasisPoints(bp.government_share_basis_points()) << ", donors "
               << BasisPoints(bp.donor_share_basis_points())
               << "; execution rate "
               << BasisPoints(bp.execution_rate_basis_points()) << "\n";
    }
    PrintBudgetTotals(env, b);
  }
}

void PrintPrincipals(Env& env, const Message& m) {
  const auto& l = static_cast<const apb::ListPrincipalsResponse&>(m);
  Table t({"principal", "role", "organisation", "credential", "issued", "by",
           "expires", "revoked"});
  for (const auto& p : l.principals()) {
    t.Row({p.principal_id(), EnumText(p, "role"), Acronym(env, p.organisation_id()),
           EnumText(p, "credential"), DateText(p.issued_on()), p.issued_by(),
           DateText(p.expires_on()), p.revoked() ? DateText(p.revoked_on()) : ""});
  }
  t.Print(env);
}

void PrintMeeting(Env& env, const Message& m) {
  const auto& mt = static_cast<const rpb::Meeting&>(m);
  *env.out << mt.details().title() << "\n  id:     " << mt.meeting_id()
           << "\n  kind:   " << EnumText(mt.details(), "kind") << "\n  date:   "
           << DateText(mt.details().date()) << ", " << mt.details().venue()
           << "\n  status: " << EnumText(mt, "status") << "\n\nAttendance\n";
  Table a({"organisation", "person"});
  for (const auto& x : mt.attendance()) {
    a.Row({Acronym(env, x.organisation_id()), x.person_id()});
  }
  a.Print(env);
  *env.out << "\nResolutions adopted: " << mt.resolution_ids_size() << "\n";
  for (const auto& id : mt.resolution_ids()) *env.out << "  " << id << "\n";
}

void PrintMou(Env& env, const Message& m) {
  const auto& mou = static_cast<const mpb::Mou&>(m);
  *env.out << mou.terms().title() << "\n  id:       " << mou.mou_id()
           << "\n  status:   " << EnumText(mou, "status") << "\n  validity: "
           << DateText(mou.terms().valid_from()) << " to "
           << DateText(mou.terms().valid_until()) << "\n\nParties\n";
  Table p({"organisation", "role"});
  for (const auto& x : mou.terms().parties()) {
    p.Row({Acronym(env, x.organisation_id()), EnumText(x, "role")});
  }
  p.Print(env);
  *env.out << "\nDatasets\n";
  Table d({"code", "name", "frequency", "due offset (days)", "provider"});
  for (const auto& x : mou.terms().datasets()) {
    d.Row({x.code(), x.name(), EnumText(x, "frequency"),
           absl::StrCat(x.due_offset_days()), Acronym(env, x.provider_organisation_id())});
  }
  d.Print(env);
  *env.out << "\nDeliveries\n";
  Table l({"dataset", "period", "due", "received", "late", "redelivery"});
  for (const auto& x : mou.deliveries()) {
    l.Row({x.dataset_code(), absl::StrCat(x.period().year(), "-", x.period().number()),
           DateText(x.due_date()), DateText(x.received_on()), x.late() ? "late" : "",
           x.redelivery() ? "yes" : ""});
  }
  l.Print(env);
}

void PrintReadModels(Env& env, const Message& m) {
  const auto& l = static_cast<const xpb::ListReadModelsResponse&>(m);
  Table t({"read model", "applied position", "head position", "error"});
  for (const auto& x : l.models()) {
    t.Row({x.name(), absl::StrCat(x.applied_position()),
           absl::StrCat(x.head_position()), x.error()});
  }
  t.Print(env);
}

std::string Mib(uint64_t bytes) {
  return absl::StrFormat("%.1f MiB", static_cast<double>(bytes) / (1 << 20));
}

void PrintBackupInfo(Env& env, const opb::BackupInfo& b) {
  *env.out << "backup " << b.backup_id() << " in " << b.dir() << ": log head position "
           << b.head_position() << ", hash " << absl::BytesToHexString(b.head_hash()) << "\n"
           << absl::StrFormat("  %.2f s (appends paused %.3f s), added %s, folder %s\n",
                              b.seconds(), b.paused_seconds(), Mib(b.added_bytes()),
                              Mib(b.folder_bytes()));
}

void PrintServerStatus(Env& env, const Message& m) {
  const auto& s = static_cast<const opb::ServerStatus&>(m);
  *env.out << "ncmd " << s.version() << ", " << s.role() << " node, up "
           << absl::FormatDuration(absl::Seconds(s.uptime_seconds())) << "\n"
           << "log head position " << s.head_position() << ", hash "
           << absl::BytesToHexString(s.head_hash()) << "\n"
           << "storage: live data " << Mib(s.live_data_bytes()) << ", table files "
           << Mib(s.sst_files_bytes()) << "\n";
  if (!s.storage_failure().empty()) {
    *env.out << "STORAGE FAILED, appends stopped: " << s.storage_failure() << "\n";
  }
  for (const auto& r : s.read_models()) {
    *env.out << "read model " << r.name() << ": applied " << r.applied_position() << ", lag "
             << r.lag() << (r.error().empty() ? "" : ", stopped: " + r.error()) << "\n";
  }
  const auto& p = s.bus().publisher();
  if (s.bus().has_copy()) {
    *env.out << "bus: copy of " << s.bus().copy().write_node() << ", lag "
             << s.bus().copy().lag() << "\n";
  } else if (p.state() != xpb::BUS_STATE_DISABLED && p.state() != xpb::BUS_STATE_UNSPECIFIED) {
    *env.out << "bus: " << xpb::BusState_Name(p.state()) << ", lag " << p.lag() << "\n";
  } else {
    *env.out << "bus: off (in-process only)\n";
  }
  if (s.has_last_backup()) {
    *env.out << "last ";
    PrintBackupInfo(env, s.last_backup());
  } else {
    *env.out << "no backup taken since this start\n";
  }
}

void PrintBusStatus(Env& env, const Message& m) {
  const auto& b = static_cast<const xpb::BusStatus&>(m);
  const auto& p = b.publisher();
  *env.out << "role " << b.role() << ", log head position "
           << b.head_position() << "\n";
  std::string state = xpb::BusState_Name(p.state());
  if (absl::StartsWith(state, "BUS_STATE_")) state = state.substr(10);
  if (!b.has_copy()) {
    *env.out << "publisher " << state;
    if (!p.stream().empty()) *env.out << " to stream " << p.stream();
    if (!p.server().empty()) *env.out << " via " << p.server();
    *env.out << "\n";
    if (!p.detail().empty()) *env.out << "  " << p.detail() << "\n";
    if (p.state() != xpb::BUS_STATE_DISABLED) {
      *env.out << "  acknowledged position " << p.acked_position() << ", lag "
               << p.lag() << " events, " << p.published()
               << " published since start, " << p.resyncs() << " resyncs\n";
      if (p.commit_to_ack_p99_ms() > 0) {
        *env.out << absl::StrFormat(
            "  commit to acknowledgement: p50 %.1f ms, p99 %.1f ms\n",
            p.commit_to_ack_p50_ms(), p.commit_to_ack_p99_ms());
      }
    }
  }
  if (b.has_copy()) {
    const auto& c = b.copy();
    std::string cs = xpb::BusState_Name(c.state());
    if (absl::StartsWith(cs, "BUS_STATE_")) cs = cs.substr(10);
    *env.out << "copy of the write node " << c.write_node() << ": " << cs
             << (c.server().empty() ? "" : " via " + c.server()) << "\n";
    if (!c.detail().empty()) *env.out << "  " << c.detail() << "\n";
    *env.out << "  stream at " << c.stream_last_sequence() << ", lag " << c.lag()
             << " events; " << c.copied() << " copied since start, "
             << c.filled() << " filled from the write node, " << c.refused()
             << " refused\n";
  }
  Table t({"read model", "applied position", "head position", "error"});
  for (const auto& x : b.models()) {
    t.Row({x.name(), absl::StrCat(x.applied_position()),
           absl::StrCat(x.head_position()), x.error()});
  }
  t.Print(env);
}

void PrintPrincipal(Env& env, const Message& m) {
  const auto& p = static_cast<const apb::Principal&>(m);
  *env.out << p.principal_id() << " (" << EnumText(p, "role") << ")"
           << (p.organisation_id().empty()
                   ? ""
                   : " for " + Acronym(env, p.organisation_id()))
           << (p.reads_personal_data() ? "; reads personal data in clear" : "")
           << "\n";
}

// A runner that lists every page of a paginated query.
template <typename Resp, typename Item>
Runner Paged(const char* repeated_field,
             std::function<void(Env&, const std::vector<Item>&)> print) {
  return [repeated_field, print](Env& env, const Command& cmd,
                                 const Args& args) {
    auto req = BuildRequest(env, cmd, args);
    if (cmd.prepare) cmd.prepare(env, args, req.get());
    const auto* token = req->GetDescriptor()->FindFieldByName("page_token");
    const auto* size = req->GetDescriptor()->FindFieldByName("page_size");
    req->GetReflection()->SetInt32(req.get(), size, 1000);
    std::vector<Item> items;
    Resp all;
    for (;;) {
      auto resp = Call(env, cmd.method, *req);
      const auto& page = static_cast<const Resp&>(*resp);
      const auto* f = page.GetDescriptor()->FindFieldByName(repeated_field);
      for (int i = 0; i < page.GetReflection()->FieldSize(page, f); ++i) {
        items.push_back(static_cast<const Item&>(
            page.GetReflection()->GetRepeatedMessage(page, f, i)));
      }
      all.MergeFrom(page);
      if (page.next_page_token().empty()) break;
      req->GetReflection()->SetString(req.get(), token, page.next_page_token());
    }
    all.clear_next_page_token();
    if (env.format == Format::kJson) {
      PrintJson(env, all);
    } else {
      print(env, items);
    }
    return kOk;
  };
}

FlagSpec F(std::string name, std::string field, std::string help,
           bool required = false) {
  return FlagSpec{std::move(name), std::move(field), std::move(help), required};
}

const char* kReason = "why (kept in the history)";

std::vector<Command> Build() {
  std::vector<Command> c;
  auto add = [&](Command cmd) { c.push_back(std::move(cmd)); };
  auto change = [&](std::string group, std::string verb, std::string summary,
                    std::string method, std::string id_field, std::string id_name,
                    std::vector<FlagSpec> flags, std::vector<std::string> ex) {
    Command cmd = MakeCommand(std::move(group), std::move(verb),
                              std::move(summary), std::move(method));
    cmd.positionals = {{std::move(id_field), std::move(id_name)}};
    cmd.flags = std::move(flags);
    cmd.examples = std::move(ex);
    add(std::move(cmd));
  };

  // ---------------- stakeholders ----------------
  {
    Command cmd = MakeCommand("stakeholders", "register", "Register an organisation", "ncm.stakeholders.v1.Stakeholders/RegisterOrganisation");
    cmd.flags = {F("name", "profile.name", "full name", true),
                 F("acronym", "profile.acronym", "unique among active ones", true),
                 F("kind", "profile.kind",
                   "ministry, department-or-agency, county-government, "
                   "civil-society, academia, faith-based, "
                   "international-organisation, development-partner, "
                   "private-sector, ...",
                   true),
                 F("level", "profile.level", "county, national, regional, international",
                   true),
                 F("county", "profile.county_code", "county code, e.g. 040 (Busia)"),
                 F("thematic-area", "profile.thematic_areas",
                   "repeatable or comma-separated"),
                 F("role", "role", "member (default), partner, observer")};
    cmd.prepare = [](Env&, const Args& a, Message* m) {
      auto* r = static_cast<spb::RegisterOrganisationRequest*>(m);
      if (!a.Has("role")) r->set_role(spb::MEMBER);
    };
    cmd.examples = {
        "ncmctl stakeholders register --name \"International Organization for "
        "Migration\" --acronym IOM --kind international-organisation --level "
        "international --thematic-area \"labour migration,data\""};
    add(cmd);
  }
  {
    Command cmd = MakeCommand("stakeholders", "amend", "Change an organisation's profile (only the fields given)", "ncm.stakeholders.v1.Stakeholders/AmendOrganisation");
    cmd.positionals = {{"organisation_id", "ORGANISATION"}};
    cmd.flags = {F("name", "profile.name", "full name"),
                 F("acronym", "profile.acronym", "acronym"),
                 F("kind", "profile.kind", "kind"),
                 F("level", "profile.level", "level"),
                 F("county", "profile.county_code", "county code"),
                 F("thematic-area", "profile.thematic_areas", "all of them")};
    cmd.prepare = [](Env&, const Args& a, Message* m) {
      auto* r = static_cast<spb::AmendOrganisationRequest*>(m);
      const std::pair<const char*, const char*> masks[] = {
          {"name", "name"},   {"acronym", "acronym"},
          {"kind", "kind"},   {"level", "level"},
          {"county", "county_code"}, {"thematic-area", "thematic_areas"}};
      for (auto [flag, field] : masks) {
        if (a.Has(flag)) r->add_update_mask(field);
      }
      if (r->update_mask().empty()) UsageError("give at least one field to change");
    };
    cmd.examples = {"ncmctl stakeholders amend IOM --name \"IOM Kenya\""};
    add(cmd);
  }
  {
    Command cmd = MakeCommand("stakeholders", "list", "List organisations (by acronym)", "ncm.stakeholders.v1.Stakeholders/ListOrganisations");
    cmd.flags = {F("kind", "kind", "a kind"), F("level", "level", "a level"),
                 F("county", "county_code", "a county code"),
                 F("thematic-area", "thematic_area", "one thematic area"),
                 F("role", "role", "member, partner, observer"),
                 F("status", "status", "active, suspended, withdrawn")};
    cmd.run = Paged<spb::ListOrganisationsResponse, spb::Organisation>(
        "organisations", PrintOrganisations);
    cmd.examples = {"ncmctl stakeholders list --level county",
                    "ncmctl stakeholders list --thematic-area diaspora -o csv"};
    add(cmd);
  }
  {
    Command cmd = MakeCommand("stakeholders", "show", "An organisation with its membership and focal-point history", "ncm.stakeholders.v1.Stakeholders/GetOrganisation");
    cmd.positionals = {{"organisation_id", "ORGANISATION"}};
    cmd.print = PrintOrganisation;
    cmd.examples = {"ncmctl stakeholders show IOM"};
    add(cmd);
  }
  {
    Command cmd = MakeCommand("stakeholders", "focal-points", "Who were an organisation's focal points on a day", "ncm.stakeholders.v1.Stakeholders/GetFocalPointsAsOf");
    cmd.positionals = {{"organisation_id", "ORGANISATION"}};
    cmd.flags = {F("as-of", "as_of", "the day", true)};
    cmd.print = PrintFocalPoints;
    cmd.examples = {"ncmctl stakeholders focal-points IOM --as-of 2021-03-31"};
    add(cmd);
  }
  {
    Command cmd = MakeCommand("stakeholders", "appoint", "Appoint a focal point (a registered person or a new one)", "ncm.stakeholders.v1.Stakeholders/AppointFocalPoint");
    cmd.positionals = {{"organisation_id", "ORGANISATION"}};
    cmd.flags = {F("person", "person_id", "a registered person's id"),
                 F("name", "new_person.full_name", "a new person's full name"),
                 F("title", "new_person.title", "job title"),
                 F("phone", "new_person.phone", "phone"),
                 F("email", "new_person.email", "e-mail"),
                 F("kind", "kind", "primary (default) or alternate")};
    cmd.prepare = [](Env&, const Args& a, Message* m) {
      auto* r = static_cast<spb::AppointFocalPointRequest*>(m);
      if (!a.Has("kind")) r->set_kind(spb::PRIMARY);
      if (a.Has("person") == a.Has("name")) {
        UsageError("give --person (registered) or --name (new), not both");
      }
      if (a.Has("person") &&
          (a.Has("title") || a.Has("phone") || a.Has("email"))) {
        UsageError("--title, --phone and --email describe a new person (--name)");
      }
    };
    cmd.examples = {
        "ncmctl stakeholders appoint IOM --name \"Jane Wanjiru\" --title "
        "\"Programme Officer\" --email jane@example.org --on 2021-01-04"};
    add(cmd);
  }
  change("stakeholders", "end-appointment", "End a focal point's appointment",
         "ncm.stakeholders.v1.Stakeholders/EndFocalPointAppointment",
         "organisation_id", "ORGANISATION",
         {F("appointment", "appointment_id", "the appointment id (stakeholders show)",
            true),
          F("reason", "reason", kReason)},
         {"ncmctl stakeholders end-appointment IOM --appointment 5c1e... "
          "--reason \"moved to Geneva\" --on 2021-06-30"});
  change("stakeholders", "forget-person",
         "Erase a person's personal data for good (crypto-shredding)",
         "ncm.stakeholders.v1.Stakeholders/ForgetPerson", "person_id", "PERSON",
         {F("reason", "reason", "the legal ground", true)},
         {"ncmctl stakeholders forget-person 0d6f... --reason \"erasure request "
          "under DPA 2019 s.40\""});
  for (auto [verb, method, summary] :
       {std::tuple{"suspend", "SuspendMembership", "Suspend a membership"},
        std::tuple{"reinstate", "ReinstateMembership", "Reinstate a membership"},
        std::tuple{"withdraw", "WithdrawMembership", "Record a withdrawal"}}) {
    change("stakeholders", verb, summary,
           absl::StrCat("ncm.stakeholders.v1.Stakeholders/", method),
           "organisation_id", "ORGANISATION", {F("reason", "reason", kReason)},
           {absl::StrCat("ncmctl stakeholders ", verb,
                         " KRCS --reason \"...\" --on 2021-05-01")});
  }
  {
    Command cmd = MakeCommand("stakeholders", "person", "A person's details (admin and secretariat read them in clear)", "ncm.stakeholders.v1.Stakeholders/GetPerson");
    cmd.positionals = {{"person_id", "PERSON"}};
    cmd.print = PrintPerson;
    cmd.examples = {"ncmctl stakeholders person 0d6f..."};
    add(cmd);
  }
  {
    Command cmd = MakeCommand("stakeholders", "attendance", "Meeting attendance rate per organisation", "ncm.stakeholders.v1.Stakeholders/GetAttendanceRates");
    cmd.flags = {F("from", "from", "first day"), F("to", "to", "last day"),
                 F("org", "organisation_id", "one organisation")};
    cmd.print = PrintAttendance;
    cmd.examples = {"ncmctl stakeholders attendance --from 2021-01-01"};
    add(cmd);
  }

  // ---------------- meetings ----------------
  {
    Command cmd = MakeCommand("meetings", "schedule", "Schedule a meeting", "ncm.resolutions.v1.Resolutions/ScheduleMeeting");
    cmd.flags = {F("kind", "details.kind",
                   "quarterly, county-outreach, consultative, workshop", true),
                 F("title", "details.title", "title", true),
                 F("date", "details.date", "the day it is held", true),
                 F("venue", "details.venue", "venue"),
                 F("county", "details.county_code", "county code (outreach forums)")};
    cmd.examples = {
        "ncmctl meetings schedule --kind quarterly --title \"Q1 2021 "
        "stakeholder meeting\" --date 2021-03-10 --venue Nairobi"};
    add(cmd);
  }
  change("meetings", "attendance", "Record an organisation's attendance",
         "ncm.resolutions.v1.Resolutions/RecordAttendance", "meeting_id", "MEETING",
         {F("org", "organisation_id", "the organisation", true),
          F("person", "person_id", "its representative (a person id)")},
         {"ncmctl meetings attendance 3f2a... --org IOM --on 2021-03-10"});
  change("meetings", "close", "Close a meeting",
         "ncm.resolutions.v1.Resolutions/CloseMeeting", "meeting_id", "MEETING",
         {F("minutes", "minutes_reference", "where the minutes are")},
         {"ncmctl meetings close 3f2a... --minutes NCM/QSM/2021/1 --on 2021-03-10"});
  change("meetings", "cancel", "Cancel a meeting",
         "ncm.resolutions.v1.Resolutions/CancelMeeting", "meeting_id", "MEETING",
         {F("reason", "reason", kReason, true)}, {});
  {
    Command cmd = MakeCommand("meetings", "show", "A meeting, its attendance and resolutions", "ncm.resolutions.v1.Resolutions/GetMeeting");
    cmd.positionals = {{"meeting_id", "MEETING"}};
    cmd.print = PrintMeeting;
    add(cmd);
  }

  // ---------------- resolutions ----------------
  {
    Command cmd = MakeCommand("resolutions", "adopt", "Adopt a resolution at a meeting", "ncm.resolutions.v1.Resolutions/AdoptResolution");
    cmd.positionals = {{"meeting_id", "MEETING"}};
    cmd.flags = {F("text", "terms.text", "what is resolved", true),
                 F("reference", "terms.reference", "the secretariat's number"),
                 F("lead", "terms.lead_organisation_id", "lead organisation", true),
                 F("supporting", "terms.supporting_organisation_ids",
                   "supporting organisations, comma-separated"),
                 F("due", "terms.due_date", "due date", true),
                 F("sp", "terms.strategic_priority", "strategic priority SP1-SP6",
                   true),
                 F("pillar", "terms.pillar", "pillar 1-4", true),
                 F("gcm", "terms.gcm_objectives", "GCM objectives 1-23, comma-separated"),
                 F("indicator", "terms.indicator", "how completion is measured")};
    cmd.examples = {
        "ncmctl resolutions adopt 3f2a... --reference QSM-2021-1/04 --text "
        "\"Map labour migration data flows\" --lead IOM --supporting NCMS,NIS "
        "--due 2021-09-30 --sp SP2 --pillar 1 --gcm 1,3 --indicator \"a data "
        "flow map\" --on 2021-03-10"};
    add(cmd);
  }
  change("resolutions", "start", "Start implementation",
         "ncm.resolutions.v1.Resolutions/StartImplementation", "resolution_id",
         "RESOLUTION", {F("reason", "reason", kReason)},
         {"ncmctl resolutions start 8c1d... --on 2021-04-01"});
  change("resolutions", "progress", "Report progress (lead or supporting)",
         "ncm.resolutions.v1.Resolutions/ReportProgress", "resolution_id",
         "RESOLUTION",
         {F("org", "reporting_organisation_id", "the reporting organisation", true),
          F("percent", "percent_complete", "0-100", true),
          F("narrative", "narrative", "what was done", true),
          F("evidence", "evidence_references", "references, comma-separated")},
         {"ncmctl resolutions progress 8c1d... --org IOM --percent 40 "
          "--narrative \"two counties mapped\" --on 2021-05-20"});
  change("resolutions", "implement", "Mark implemented (evidence required)",
         "ncm.resolutions.v1.Resolutions/MarkImplemented", "resolution_id",
         "RESOLUTION",
         {F("evidence", "evidence_references", "references, comma-separated", true),
          F("narrative", "narrative", "summary")},
         {"ncmctl resolutions implement 8c1d... --evidence NCM/RPT/2021/7"});
  change("resolutions", "verify", "Verify an implementation",
         "ncm.resolutions.v1.Resolutions/VerifyImplementation", "resolution_id",
         "RESOLUTION",
         {F("by", "verified_by_organisation_id", "verifying organisation"),
          F("note", "note", "note")},
         {"ncmctl resolutions verify 8c1d... --by NCMS"});
  change("resolutions", "reject", "Reject a verification (back to in progress)",
         "ncm.resolutions.v1.Resolutions/RejectVerification", "resolution_id",
         "RESOLUTION", {F("reason", "reason", kReason, true)}, {});
  change("resolutions", "defer", "Defer to a later due date",
         "ncm.resolutions.v1.Resolutions/DeferResolution", "resolution_id",
         "RESOLUTION",
         {F("until", "new_due_date", "the new due date", true),
          F("reason", "reason", kReason, true)},
         {"ncmctl resolutions defer 8c1d... --until 2022-03-31 --reason "
          "\"awaiting funds\""});
  change("resolutions", "resume", "Resume a deferred resolution",
         "ncm.resolutions.v1.Resolutions/ResumeImplementation", "resolution_id",
         "RESOLUTION", {F("reason", "reason", kReason)}, {});
  change("resolutions", "block", "Record a blocker",
         "ncm.resolutions.v1.Resolutions/BlockResolution", "resolution_id",
         "RESOLUTION", {F("reason", "reason", kReason, true)},
         {"ncmctl resolutions block 8c1d... --reason \"data-sharing MOU pending\""});
  change("resolutions", "unblock", "Lift a blocker",
         "ncm.resolutions.v1.Resolutions/UnblockResolution", "resolution_id",
         "RESOLUTION", {F("reason", "reason", kReason)}, {});
  change("resolutions", "rescind", "Rescind",
         "ncm.resolutions.v1.Resolutions/RescindResolution", "resolution_id",
         "RESOLUTION", {F("reason", "reason", kReason, true)}, {});
  change("resolutions", "supersede", "Supersede by another resolution",
         "ncm.resolutions.v1.Resolutions/SupersedeResolution", "resolution_id",
         "RESOLUTION",
         {F("by", "superseded_by_resolution_id", "the replacing resolution", true),
          F("reason", "reason", kReason)},
         {});
  change("resolutions", "reassign-lead", "Give the lead to another organisation",
         "ncm.resolutions.v1.Resolutions/ReassignLead", "resolution_id",
         "RESOLUTION",
         {F("lead", "lead_organisation_id", "the new lead", true),
          F("keep-as-supporting", "keep_previous_as_supporting",
            "true: the old lead stays as supporting"),
          F("reason", "reason", kReason)},
         {});
  const std::vector<FlagSpec> list_flags = {
      F("status", "statuses", "statuses, comma-separated (e.g. in-progress,blocked)"),
      F("org", "organisation_id", "lead or supporting organisation"),
      F("lead-only", "lead_only", "with --org: as lead only"),
      F("meeting", "meeting_id", "adopted at this meeting"),
      F("sp", "strategic_priority", "strategic priority"),
      F("pillar", "pillar", "pillar"),
      F("gcm", "gcm_objective", "GCM objective"),
      F("due-from", "due_from", "due on or after"),
      F("due-to", "due_to", "due on or before"),
      F("overdue", "overdue_only", "overdue only"),
      F("as-of", "as_of", "judge everything as of this day (default today)"),
      F("order", "", "id (default), due or adoption")};
  auto order = [](Env&, const Args& a, Message* m) {
    auto* r = static_cast<rpb::ListResolutionsRequest*>(m);
    const std::string o = a.Get("order").value_or("id");
    if (o == "due") {
      r->set_order_by(rpb::ListResolutionsRequest::BY_DUE_DATE);
    } else if (o == "adoption") {
      r->set_order_by(rpb::ListResolutionsRequest::BY_ADOPTION_DATE);
    } else if (o != "id") {
      UsageError("--order is id, due or adoption");
    }
  };
  {
    Command cmd = MakeCommand("resolutions", "list", "List resolutions with filters", "ncm.resolutions.v1.Resolutions/ListResolutions");
    cmd.flags = list_flags;
    cmd.prepare = order;
    cmd.run = Paged<rpb::ListResolutionsResponse, rpb::Resolution>(
        "resolutions", PrintResolutions);
    cmd.examples = {"ncmctl resolutions list --status in-progress,blocked --order due",
                    "ncmctl resolutions list --org IOM --as-of 2021-06-30 -o csv"};
    add(cmd);
  }
  {
    Command cmd = MakeCommand("resolutions", "overdue", "Resolutions past their due date, by due date", "ncm.resolutions.v1.Resolutions/ListResolutions");
    cmd.flags = {F("as-of", "as_of", "as of this day (default today)"),
                 F("org", "organisation_id", "lead or supporting organisation")};
    cmd.prepare = [](Env&, const Args&, Message* m) {
      auto* r = static_cast<rpb::ListResolutionsRequest*>(m);
      r->set_overdue_only(true);
      r->set_order_by(rpb::ListResolutionsRequest::BY_DUE_DATE);
    };
    cmd.run = Paged<rpb::ListResolutionsResponse, rpb::Resolution>(
        "resolutions", PrintResolutions);
    cmd.examples = {"ncmctl resolutions overdue --as-of 2021-12-31"};
    add(cmd);
  }
  {
    Command cmd = MakeCommand("resolutions", "show", "A resolution with its status history and progress reports", "ncm.resolutions.v1.Resolutions/GetResolution");
    cmd.positionals = {{"resolution_id", "RESOLUTION"}};
    cmd.flags = {F("as-of", "as_of", "as it stood on this day")};
    cmd.print = PrintResolution;
    cmd.examples = {"ncmctl resolutions show 8c1d...",
                    "ncmctl resolutions show 8c1d... --as-of 2021-06-30"};
    add(cmd);
  }

  // ---------------- reports ----------------
  add(ReportCommand());

  // ---------------- mous ----------------
  for (Command& cmd : MouCommands()) add(std::move(cmd));
  change("mous", "submit", "Submit for legal review",
         "ncm.mous.v1.Mous/SubmitForLegalReview", "mou_id", "MOU",
         {F("reason", "reason", "note")}, {});
  change("mous", "review", "Record the legal review's outcome",
         "ncm.mous.v1.Mous/RecordLegalReview", "mou_id", "MOU",
         {F("outcome", "outcome", "approved or changes-requested", true),
          F("note", "note", "required when changes are requested")},
         {"ncmctl mous review 51aa... --outcome approved --on 2021-01-20"});
  change("mous", "sign", "Sign for a party", "ncm.mous.v1.Mous/SignMou", "mou_id",
         "MOU",
         {F("org", "organisation_id", "the signing party", true),
          F("signatory", "signatory_person_id", "the signatory (a person id)", true)},
         {"ncmctl mous sign 51aa... --org NIS --signatory 0d6f... --on 2021-02-01"});
  change("mous", "renew", "Extend the validity", "ncm.mous.v1.Mous/RenewMou",
         "mou_id", "MOU",
         {F("until", "valid_until", "the new last day", true),
          F("note", "note", "note")},
         {});
  change("mous", "terminate", "Terminate", "ncm.mous.v1.Mous/TerminateMou", "mou_id",
         "MOU", {F("reason", "reason", kReason, true)}, {});
  change("mous", "delivery", "Record a dataset delivery",
         "ncm.mous.v1.Mous/RecordDelivery", "mou_id", "MOU",
         {F("dataset", "dataset_code", "dataset code", true),
          F("period", "period", "2021-03, 2021-Q1 or 2021", true),
          F("notes", "notes", "notes")},
         {"ncmctl mous delivery 51aa... --dataset border-crossings --period "
          "2021-03 --on 2021-04-12"});
  {
    Command cmd = MakeCommand("mous", "show", "An MOU: parties, datasets, deliveries", "ncm.mous.v1.Mous/GetMou");
    cmd.positionals = {{"mou_id", "MOU"}};
    cmd.flags = {F("as-of", "as_of", "status as of this day")};
    cmd.print = PrintMou;
    add(cmd);
  }
  {
    Command cmd = MakeCommand("mous", "compliance", "Expected, on-time, late and missing deliveries", "ncm.mous.v1.Mous/GetCompliance");
    cmd.flags = {F("mou", "mou_id", "one MOU"),
                 F("provider", "provider_organisation_id", "one provider"),
                 F("as-of", "as_of", "as of this day (default today)")};
    cmd.print = PrintCompliance;
    cmd.examples = {"ncmctl mous compliance --as-of 2021-12-31",
                    "ncmctl mous compliance --provider NIS -o csv"};
    add(cmd);
  }

  // ---------------- budget and funding ----------------
  for (Command& cmd : BudgetCommands()) add(std::move(cmd));
  {
    Command cmd = MakeCommand("budget", "show", "A budget's lines and totals", "ncm.resources.v1.Resources/GetBudget");
    cmd.positionals = {{"budget_id", "BUDGET"}};
    cmd.print = PrintBudget;
    add(cmd);
  }
  {
    Command cmd = MakeCommand("funding", "position", "Funding position of a fiscal year", "ncm.resources.v1.Resources/GetFundingPosition");
    cmd.flags = {F("fy", "fiscal_year", "the year it starts in, e.g. 2020", true)};
    cmd.print = PrintPosition;
    cmd.examples = {"ncmctl funding position --fy 2020"};
    add(cmd);
  }

  // ---------------- events, audit ----------------
  for (Command& cmd : EventCommands()) add(std::move(cmd));
  for (Command& cmd : TransparencyCommands()) add(std::move(cmd));

  // ---------------- tokens ----------------
  {
    Command cmd = MakeCommand("tokens", "issue", "Issue a bearer token to a new principal (shown once)", "ncm.access.v1.Access/IssueToken");
    cmd.positionals = {{"principal_id", "PRINCIPAL"}};
    cmd.flags = {F("role", "role",
                   "admin, secretariat, partner, data-provider, auditor, reader",
                   true),
                 F("org", "organisation_id", "partners and data providers"),
                 F("description", "description", "who holds it"),
                 F("expires", "expires_on", "last day it works")};
    cmd.print = [](Env& env, const Message& m) {
      const auto& r = static_cast<const apb::IssueTokenResponse&>(m);
      *env.out << r.token() << "\n";
      *env.err << "token of principal " << r.result().aggregate_id()
               << ": shown once, keep it secret\n";
    };
    cmd.examples = {"ncmctl tokens issue iom-sync --role partner --org IOM "
                    "--description \"IOM DTM integration\" > iom.token"};
    add(cmd);
  }
  {
    Command cmd = MakeCommand("tokens", "list", "List principals", "ncm.access.v1.Access/ListPrincipals");
    cmd.flags = {F("all", "include_revoked", "revoked ones too")};
    cmd.print = PrintPrincipals;
    add(cmd);
  }
  change("tokens", "revoke", "Revoke a principal", "ncm.access.v1.Access/RevokePrincipal",
         "principal_id", "PRINCIPAL", {F("reason", "reason", kReason, true)},
         {"ncmctl tokens revoke iom-sync --reason \"rotated\""});
  {
    Command cmd = MakeCommand("tokens", "bind-certificate", "A principal for a client certificate subject", "ncm.access.v1.Access/BindCertificate");
    cmd.positionals = {{"principal_id", "PRINCIPAL"}};
    cmd.flags = {F("subject", "certificate_subject", "subject or common name", true),
                 F("role", "role", "role", true),
                 F("org", "organisation_id", "partners and data providers"),
                 F("description", "description", "who holds it")};
    add(cmd);
  }
  {
    Command cmd = MakeCommand("tokens", "whoami", "The principal you call as", "ncm.access.v1.Access/WhoAmI");
    cmd.print = PrintPrincipal;
    add(cmd);
  }
  {
    Command cmd = MakeCommand("readmodels", "list", "How far each read model has applied the log", "ncm.readside.v1.ReadModels/ListReadModels");
    cmd.print = PrintReadModels;
    add(cmd);
  }
  {
    Command cmd = MakeCommand("bus", "status", "The log's publishing to NATS JetStream, its lag, and the read models", "ncm.readside.v1.ReadModels/GetBusStatus");
    cmd.print = PrintBusStatus;
    add(cmd);
  }
  {
    Command cmd = MakeCommand("readmodels", "rebuild", "Drop a read model and build it again from the log", "ncm.readside.v1.ReadModels/RebuildReadModel");
    cmd.positionals = {{"name", "NAME"}};
    cmd.flags = {F("wait", "", "seconds to wait for the rebuild (default 120)")};
    cmd.run = [](Env& env, const Command& c, const Args& a) {
      auto req = BuildRequest(env, c, a);
      int wait = 120;
      if (auto w = a.Get("wait")) {
        if (!absl::SimpleAtoi(*w, &wait) || wait <= 0) UsageError("--wait is seconds");
      }
      auto* r = static_cast<xpb::RebuildReadModelRequest*>(req.get());
      r->set_wait_ms(wait * 1000);
      env.timeout_s = std::max(env.timeout_s, wait + 10);
      auto resp = Call(env, c.method, *req);
      PrintResponse(env, c, *resp);
      return kOk;
    };
    cmd.print = [](Env& env, const Message& m) {
      const auto& s = static_cast<const xpb::ReadModelStatus&>(m);
      *env.out << "read model " << s.name() << " rebuilt to position "
               << s.applied_position() << "\n";
    };
    add(cmd);
  }
  {
    Command cmd = MakeCommand("admin", "status", "Version, uptime, the log's head, storage, lags and the last backup", "ncm.admin.v1.Admin/GetStatus");
    cmd.print = PrintServerStatus;
    cmd.examples = {"ncmctl admin status", "ncmctl admin status --output=json"};
    add(cmd);
  }
  {
    Command cmd = MakeCommand("admin", "backup", "A consistent, incremental backup of the event store into a folder on the server's machine", "ncm.admin.v1.Admin/Backup");
    cmd.positionals = {{"dir", "DIR"}};
    cmd.examples = {"ncmctl admin backup /var/backups/ncm"};
    cmd.run = [](Env& env, const Command& c, const Args& a) {
      auto req = BuildRequest(env, c, a);
      env.timeout_s = std::max(env.timeout_s, 3600);  // a first backup copies everything
      auto resp = Call(env, c.method, *req);
      PrintResponse(env, c, *resp);
      return kOk;
    };
    cmd.print = [](Env& env, const Message& m) {
      PrintBackupInfo(env, static_cast<const opb::BackupResponse&>(m).backup());
    };
    add(cmd);
  }
  return c;
}

}  // namespace

void PrintResponse(Env& env, const Command& cmd, const Message& m) {
  if (env.format == Format::kJson) return PrintJson(env, m);
  if (cmd.print) return cmd.print(env, m);
  const auto* d = m.GetDescriptor();
  if (d == cpb::CommandResult::descriptor() ||
      (d->FindFieldByName("result") != nullptr &&
       d->FindFieldByName("result")->message_type() ==
           cpb::CommandResult::descriptor())) {
    return PrintResult(env, m, cmd);
  }
  PrintJson(env, m);
}

const std::vector<Command>& Commands() {
  // Links every served .proto's descriptors into the pool the generic
  // calls look methods up in.
  (void)apb::IssueTokenRequest::descriptor();
  (void)cpb::CommandResult::descriptor();
  (void)mpb::GetMouRequest::descriptor();
  (void)rpb::GetResolutionRequest::descriptor();
  (void)fpb::GetBudgetRequest::descriptor();
  (void)spb::GetOrganisationRequest::descriptor();
  (void)xpb::ListReadModelsRequest::descriptor();
  (void)xpb::GetBusStatusRequest::descriptor();
  static const auto* const commands = new std::vector<Command>(Build());
  return *commands;
}

}  // namespace ncm::ctl
