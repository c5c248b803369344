// reports implementation: the quarterly status implementation report as a
// table, CSV, JSON, or one self-contained HTML page with SVG charts.
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "clients/ncmctl/extra.h"

namespace ncm::ctl {
namespace {

namespace rpb = ::ncm::resolutions::v1;
using GroupBy = rpb::ImplementationReportRequest::GroupBy;

GroupBy ParseBy(const std::string& by) {
  if (by == "org" || by == "organisation") return rpb::ImplementationReportRequest::LEAD_ORGANISATION;
  if (by == "sp") return rpb::ImplementationReportRequest::STRATEGIC_PRIORITY;
  if (by == "pillar") return rpb::ImplementationReportRequest::PILLAR;
  if (by == "meeting") return rpb::ImplementationReportRequest::MEETING;
  if (by == "quarter") return rpb::ImplementationReportRequest::ADOPTION_QUARTER;
  UsageError("--by is org, sp, pillar, meeting or quarter");
}

// `at_least`: the log position the answer must reflect, so that several
// groupings describe one state.
rpb::ImplementationReportResponse Fetch(Env& env, const Args& args, GroupBy by,
                                        uint64_t at_least = 0) {
  rpb::ImplementationReportRequest r;
  if (auto d = args.Get("as-of")) SetField(env, &r, "as_of", *d);
  r.set_group_by(by);
  r.set_min_position(at_least);
  auto resp = Call(env, "ncm.resolutions.v1.Resolutions/ImplementationReport", r);
  return static_cast<const rpb::ImplementationReportResponse&>(*resp);
}

std::string Escape(const std::string& s) {
  return absl::StrReplaceAll(
      s, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}});
}

int64_t Count(const rpb::ReportGroup& g, rpb::ResolutionStatus s) {
  for (const auto& c : g.by_status()) {
    if (c.status() == s) return c.count();
  }
  return 0;
}

// Stacked horizontal bars: implemented (verified + implemented), in
// progress, not started or stalled, per group; the width is the count.
std::string Chart(Env& env, const std::string& title,
                  const rpb::ImplementationReportResponse& r, bool orgs) {
  int64_t most = 1;
  for (const auto& g : r.groups()) most = std::max(most, g.resolutions());
  const int label_w = 150, bar_w = 460, row_h = 26;
  const int height = 40 + row_h * r.groups_size() + 30;
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "role=\"img\" aria-label=\"%s\">\n<text x=\"0\" y=\"18\" "
      "class=\"t\">%s</text>\n",
      label_w + bar_w + 80, height, Escape(title), Escape(title));
  int y = 34;
  for (const auto& g : r.groups()) {
    const std::string label = orgs ? Acronym(env, g.key()) : g.key();
    const int64_t done = Count(g, rpb::IMPLEMENTED) + Count(g, rpb::VERIFIED);
    const int64_t going = Count(g, rpb::IN_PROGRESS);
    const int64_t rest = g.resolutions() - done - going;
    int x = label_w;
    absl::StrAppendFormat(&svg,
                          "<text x=\"0\" y=\"%d\" class=\"l\">%s</text>\n",
                          y + 15, Escape(label));
    const std::pair<int64_t, const char*> parts[] = {
        {done, "#2e7d32"}, {going, "#f9a825"}, {rest, "#9e9e9e"}};
    for (auto [n, colour] : parts) {
      const int w = static_cast<int>(n * bar_w / most);
      if (w > 0) {
        absl::StrAppendFormat(&svg,
                              "<rect x=\"%d\" y=\"%d\" width=\"%d\" "
                              "height=\"18\" fill=\"%s\"/>\n",
                              x, y + 2, w, colour);
      }
      x += w;
    }
    absl::StrAppendFormat(&svg,
                          "<text x=\"%d\" y=\"%d\" class=\"l\">%d (%s)</text>\n",
                          x + 6, y + 15, g.resolutions(),
                          BasisPoints(g.implemented_basis_points()));
    y += row_h;
  }
  absl::StrAppendFormat(
      &svg,
      "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"#2e7d32\"/>"
      "<text x=\"%d\" y=\"%d\" class=\"l\">implemented or verified</text>"
      "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"#f9a825\"/>"
      "<text x=\"%d\" y=\"%d\" class=\"l\">in progress</text>"
      "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"#9e9e9e\"/>"
      "<text x=\"%d\" y=\"%d\" class=\"l\">other</text>\n</svg>\n",
      label_w, y + 6, label_w + 16, y + 17, label_w + 200, y + 6, label_w + 216,
      y + 17, label_w + 320, y + 6, label_w + 336, y + 17);
  return svg;
}

std::string HtmlTable(Env& env, const rpb::ImplementationReportResponse& r,
                      bool orgs) {
  std::string h =
      "<table>\n<tr><th>Group</th><th>Resolutions</th><th>Adopted</th>"
      "<th>In progress</th><th>Implemented</th><th>Verified</th>"
      "<th>Deferred</th><th>Blocked</th><th>Rescinded</th>"
      "<th>Superseded</th><th>Implemented %</th><th>Overdue</th>"
      "<th>Mean days overdue</th></tr>\n";
  auto row = [&](const std::string& label, const rpb::ReportGroup& g,
                 bool total) {
    absl::StrAppend(&h, total ? "<tr class=\"total\">" : "<tr>", "<td>",
                    Escape(label), "</td>");
    for (int64_t n :
         {g.resolutions(), Count(g, rpb::ADOPTED), Count(g, rpb::IN_PROGRESS),
          Count(g, rpb::IMPLEMENTED), Count(g, rpb::VERIFIED),
          Count(g, rpb::DEFERRED), Count(g, rpb::BLOCKED),
          Count(g, rpb::RESCINDED), Count(g, rpb::SUPERSEDED)}) {
      absl::StrAppend(&h, "<td>", n, "</td>");
    }
    absl::StrAppend(&h, "<td>", BasisPoints(g.implemented_basis_points()),
                    "</td><td>", g.overdue(), "</td><td>",
                    absl::StrFormat("%d.%02d", g.mean_days_overdue_centi() / 100,
                                    g.mean_days_overdue_centi() % 100),
                    "</td></tr>\n");
  };
  for (const auto& g : r.groups()) row(orgs ? Acronym(env, g.key()) : g.key(), g, false);
  row("Total", r.total(), true);
  return h + "</table>\n";
}

}  // namespace

std::string ReportHtml(Env& env, const rpb::ImplementationReportResponse& by_org,
                       const rpb::ImplementationReportResponse& by_sp) {
  const std::string as_of = DateText(by_org.as_of());
  std::string h = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>NCM status implementation report as of ", as_of,
      "</title>\n<style>\n"
      "body{font-family:system-ui,sans-serif;margin:2em;color:#212121}\n"
      "table{border-collapse:collapse;margin:1em 0}\n"
      "th,td{border:1px solid #bdbdbd;padding:4px 8px;text-align:right}\n"
      "th:first-child,td:first-child{text-align:left}\n"
      "tr.total{font-weight:bold;background:#f5f5f5}\n"
      "svg .t{font-weight:bold;font-size:14px} svg .l{font-size:12px}\n"
      "</style>\n</head>\n<body>\n<h1>Status implementation report</h1>\n<p>As of ",
      as_of, "; ", by_org.total().resolutions(), " resolutions, ",
      BasisPoints(by_org.total().implemented_basis_points()), " implemented, ",
      by_org.total().overdue(), " overdue. Log position ", by_org.position(),
      ".</p>\n<h2>By lead organisation</h2>\n",
      Chart(env, "Resolutions by lead organisation", by_org, true),
      HtmlTable(env, by_org, true), "<h2>By strategic priority</h2>\n",
      Chart(env, "Resolutions by strategic priority", by_sp, false),
      HtmlTable(env, by_sp, false), "</body>\n</html>\n");
  return h;
}

Command ReportCommand() {
  Command cmd = MakeCommand("reports", "implementation", "The status implementation report as of a day");
  cmd.flags = {
      FlagSpec{"as-of", "", "the day (default today)", false},
      FlagSpec{"by", "", "org (default), sp, pillar, meeting or quarter", false},
      FlagSpec{"html", "", "also write one self-contained HTML page here", false}};
  cmd.examples = {
      "ncmctl reports implementation --as-of 2021-06-30 --by sp",
      "ncmctl reports implementation --as-of 2021-06-30 -o csv > q2.csv",
      "ncmctl reports implementation --as-of 2021-06-30 --html q2-report.html"};
  cmd.run = [](Env& env, const Command&, const Args& args) {
    if (!args.positional.empty()) UsageError("reports implementation takes no arguments");
    const GroupBy by = ParseBy(args.Get("by").value_or("org"));
    const auto report = Fetch(env, args, by);
    if (auto file = args.Get("html")) {
      const auto by_org =
          by == rpb::ImplementationReportRequest::LEAD_ORGANISATION
              ? report
              : Fetch(env, args, rpb::ImplementationReportRequest::LEAD_ORGANISATION,
                      report.position());
      const auto by_sp =
          by == rpb::ImplementationReportRequest::STRATEGIC_PRIORITY
              ? report
              : Fetch(env, args,
                      rpb::ImplementationReportRequest::STRATEGIC_PRIORITY,
                      by_org.position());
      std::ofstream out(*file, std::ios::trunc);
      out << ReportHtml(env, by_org, by_sp);
      out.close();
      if (!out) UsageError(absl::StrCat("cannot write ", *file));
      *env.err << "report written to " << *file << "\n";
    }
    if (env.format == Format::kJson) {
      PrintJson(env, report);
    } else {
      PrintReport(env, report, by);
    }
    return kOk;
  };
  return cmd;
}

}  // namespace ncm::ctl
