#include "ncm/resolutions/read_model.h"

#include <algorithm>
#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ncm/eventstore/status_macros.h"
#include "ncm/resolutions/view.h"
#include "ncm/services/command.h"
#include "ncm/services/dates.h"
#include "ncm/services/ids.h"

namespace ncm::resolutions {
namespace {

namespace es = ::ncm::eventstore;

constexpr absl::string_view kStreamPrefix = "resolution-";

std::string RecordKey(absl::string_view id) { return absl::StrCat("r/", id); }

std::string DayKey(const ncm::common::v1::Date& d) {
  return absl::StrFormat("%04d%02d%02d", d.year(), d.month(), d.day());
}

std::string DueKey(const pb::Resolution& v) {
  return absl::StrCat("d/", DayKey(v.terms().due_date()), "/",
                      v.resolution_id());
}

std::string AdoptedKey(const pb::Resolution& v) {
  return absl::StrCat("a/", DayKey(v.adopted_on()), "/", v.resolution_id());
}

absl::CivilDay Day(const ncm::common::v1::Date& d) {
  return absl::CivilDay(d.year(), d.month(), d.day());
}

// Keeps the page's resolutions decoded while the page is applied, and
// writes each once at the end of the page.
class ResolutionsProjection final : public readside::Projection {
 public:
  std::string name() const override { return kResolutionsModel; }

  std::vector<std::string> StreamPrefixes() const override {
    return {std::string(kStreamPrefix)};
  }

  absl::Status Apply(const es::RecordedEvent& e,
                     readside::ProjectionTxn* txn) override {
    if (!absl::StartsWith(e.stream_id, kStreamPrefix)) return absl::OkStatus();
    const std::string id(e.stream_id.substr(kStreamPrefix.size()));
    pb::ResolutionEvent w;
    NCM_RETURN_IF_ERROR(services::DecodeEvent(e, &w));
    auto it = page_.find(id);
    if (it == page_.end()) {
      Pending p;
      // A stream's first event starts its record: nothing to read.
      std::optional<std::string> bytes;
      if (e.revision > 0) {
        NCM_ASSIGN_OR_RETURN(bytes, txn->Get(RecordKey(id)));
      }
      if (bytes.has_value()) {
        pb::Resolution before;
        if (!before.ParseFromString(*bytes)) {
          return absl::DataLossError(
              absl::StrCat("read model record ", RecordKey(id),
                           " does not parse"));
        }
        p.due_key = DueKey(before);
        p.adopted_key = AdoptedKey(before);
        p.state = FromView(before);
      }
      it = page_.emplace(id, std::move(p)).first;
    }
    Pending& p = it->second;
    services::EventMeta meta{e.revision,
                             e.position,
                             services::TimeToDay(e.occurred_at),
                             e.recorded_at,
                             e.actor,
                             e.command_id};
    resolutions::Apply(w, meta, &p.state);
    p.revision = e.revision;
    p.position = e.position;
    return absl::OkStatus();
  }

  absl::Status EndPage(readside::ProjectionTxn* txn) override {
    if (txn != nullptr) {
      for (auto& [id, p] : page_) {
        if (!p.state.exists) continue;  // nothing before an adoption
        const pb::Resolution after = ToView(p.state, p.revision, p.position);
        const std::string due = DueKey(after), adopted = AdoptedKey(after);
        if (!p.due_key.empty() && p.due_key != due) txn->Delete(p.due_key);
        if (!p.adopted_key.empty() && p.adopted_key != adopted) {
          txn->Delete(p.adopted_key);
        }
        txn->Put(due, "");
        txn->Put(adopted, "");
        txn->Put(RecordKey(id), after.SerializeAsString());
      }
    }
    page_.clear();
    return absl::OkStatus();
  }

 private:
  struct Pending {
    ResolutionState state;
    std::string due_key, adopted_key;  // as stored before the page
    uint64_t revision = 0, position = 0;
  };
  std::map<std::string, Pending> page_;
};

bool Matches(const pb::ListResolutionsRequest& r, const pb::Resolution& v,
             const pb::Resolution& as_of) {
  if (as_of.status() == pb::RESOLUTION_STATUS_UNSPECIFIED) return false;
  if (r.statuses_size() > 0 &&
      std::find(r.statuses().begin(), r.statuses().end(), as_of.status()) ==
          r.statuses().end()) {
    return false;
  }
  if (!r.organisation_id().empty()) {
    const auto& t = as_of.terms();  // the organisations in force that day
    bool involved = t.lead_organisation_id() == r.organisation_id();
    if (!r.lead_only()) {
      for (const auto& s : t.supporting_organisation_ids()) {
        involved |= s == r.organisation_id();
      }
    }
    if (!involved) return false;
  }
  if (!r.meeting_id().empty() && v.meeting_id() != r.meeting_id()) return false;
  if (r.strategic_priority() != 0 &&
      v.terms().strategic_priority() != r.strategic_priority()) {
    return false;
  }
  if (r.pillar() != 0 && v.terms().pillar() != r.pillar()) return false;
  if (r.gcm_objective() != 0 &&
      std::find(v.terms().gcm_objectives().begin(),
                v.terms().gcm_objectives().end(),
                r.gcm_objective()) == v.terms().gcm_objectives().end()) {
    return false;
  }
  const absl::CivilDay due = Day(as_of.terms().due_date());
  if (services::IsSet(r.due_from()) && due < Day(r.due_from())) return false;
  if (services::IsSet(r.due_to()) && due > Day(r.due_to())) return false;
  if (r.overdue_only() && !as_of.overdue()) return false;
  return true;
}

}  // namespace

std::unique_ptr<readside::Projection> NewResolutionsProjection() {
  return std::make_unique<ResolutionsProjection>();
}

absl::StatusOr<pb::ListResolutionsResponse> ListResolutions(
    const readside::ReadModelView& view, const pb::ListResolutionsRequest& r,
    absl::CivilDay today) {
  absl::CivilDay as_of = today;
  if (services::IsSet(r.as_of())) {
    NCM_ASSIGN_OR_RETURN(as_of, services::FromProto(r.as_of(), "as_of"));
  }
  for (const char* f : {"due_from", "due_to"}) {
    const auto& d = std::string(f) == "due_from" ? r.due_from() : r.due_to();
    if (services::IsSet(d)) {
      NCM_RETURN_IF_ERROR(services::FromProto(d, f).status());
    }
  }
  if (!r.organisation_id().empty()) {
    NCM_RETURN_IF_ERROR(services::CheckUuid(r.organisation_id(), "organisation_id"));
  }
  if (!r.meeting_id().empty()) {
    NCM_RETURN_IF_ERROR(services::CheckUuid(r.meeting_id(), "meeting_id"));
  }
  if (r.page_size() < 0 || r.page_size() > 1000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "page_size must be 0 to 1000 (0: 100); got ", r.page_size()));
  }
  const size_t page_size = r.page_size() == 0 ? 100 : r.page_size();
  std::string prefix;
  switch (r.order_by()) {
    case pb::ListResolutionsRequest::BY_ID: prefix = "r/"; break;
    case pb::ListResolutionsRequest::BY_DUE_DATE: prefix = "d/"; break;
    case pb::ListResolutionsRequest::BY_ADOPTION_DATE: prefix = "a/"; break;
    default:
      return absl::InvalidArgumentError(
          "order_by must be BY_ID, BY_DUE_DATE or BY_ADOPTION_DATE");
  }
  std::string start;
  if (!r.page_token().empty()) {
    if (!absl::WebSafeBase64Unescape(r.page_token(), &start) ||
        !absl::StartsWith(start, prefix)) {
      return absl::InvalidArgumentError(
          "page_token is not one this list gave (or the order changed); "
          "start again without it");
    }
    start.push_back('\0');  // just after the last key of the previous page
  }
  pb::ListResolutionsResponse out;
  if (prefix == "d/" && services::IsSet(r.as_of())) {
    // By the due date in force on as_of, which the index (by today's due
    // date) does not order: every record is read, matched and sorted by
    // the key the index would give it on that day.
    std::vector<std::pair<std::string, pb::Resolution>> matched;
    pb::Resolution v;
    absl::Status bad;
    NCM_RETURN_IF_ERROR(view.Scan(
        "r/", "", [&](absl::string_view key, absl::string_view value) {
          if (!v.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
            bad = absl::DataLossError(absl::StrCat("read model record ", key));
            return false;
          }
          pb::Resolution at = AsOfView(v, as_of);
          if (!Matches(r, v, at)) return true;
          std::string k = DueKey(at);
          if (k >= start) matched.emplace_back(std::move(k), std::move(at));
          return true;
        }));
    NCM_RETURN_IF_ERROR(bad);
    std::sort(matched.begin(), matched.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
    for (auto& [key, at] : matched) {
      if (out.resolutions_size() == static_cast<int>(page_size)) {
        out.set_next_page_token(absl::WebSafeBase64Escape(
            DueKey(out.resolutions(out.resolutions_size() - 1))));
        break;
      }
      *out.add_resolutions() = std::move(at);
    }
    return out;
  }
  std::string last;
  bool more = false;
  // Keys are read in chunks and records looked up between chunks: a view
  // read must not run inside a scan.
  constexpr size_t kChunk = 256;
  std::string cursor = start;
  for (bool done = false; !done && !more;) {
    std::vector<std::pair<std::string, std::string>> chunk;
    NCM_RETURN_IF_ERROR(view.Scan(
        prefix, cursor, [&](absl::string_view key, absl::string_view value) {
          chunk.emplace_back(std::string(key), std::string(value));
          return chunk.size() < kChunk;
        }));
    done = chunk.size() < kChunk;
    for (auto& [key, value] : chunk) {
      if (out.resolutions_size() == static_cast<int>(page_size)) {
        more = true;
        break;
      }
      pb::Resolution v;
      if (prefix == "r/") {
        if (!v.ParseFromString(value)) {
          return absl::DataLossError(absl::StrCat("read model record ", key));
        }
      } else {
        const std::string id = key.substr(key.rfind('/') + 1);
        NCM_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                             view.Get(RecordKey(id)));
        if (!bytes.has_value() || !v.ParseFromString(*bytes)) {
          last = key;  // an index entry whose record is being replaced
          continue;
        }
      }
      last = key;
      pb::Resolution at = AsOfView(v, as_of);
      if (Matches(r, v, at)) *out.add_resolutions() = std::move(at);
    }
    if (!chunk.empty()) cursor = chunk.back().first + std::string(1, '\0');
  }
  if (more) out.set_next_page_token(absl::WebSafeBase64Escape(last));
  return out;
}

namespace {

struct Tally {
  int64_t resolutions = 0;
  std::map<int, int64_t> by_status;
  int64_t implemented = 0;
  int64_t countable = 0;
  int64_t overdue = 0;
  int64_t overdue_days = 0;

  void Add(const pb::Resolution& at, absl::CivilDay as_of) {
    ++resolutions;
    ++by_status[at.status()];
    if (at.status() == pb::IMPLEMENTED || at.status() == pb::VERIFIED) {
      ++implemented;
    }
    if (at.status() != pb::RESCINDED && at.status() != pb::SUPERSEDED) {
      ++countable;
    }
    if (at.overdue()) {
      ++overdue;
      overdue_days += as_of - Day(at.terms().due_date());
    }
  }

  pb::ReportGroup ToProto(std::string key) const {
    pb::ReportGroup g;
    g.set_key(std::move(key));
    g.set_resolutions(resolutions);
    for (const auto& [status, n] : by_status) {
      auto* c = g.add_by_status();
      c->set_status(static_cast<pb::ResolutionStatus>(status));
      c->set_count(n);
    }
    g.set_implemented(implemented);
    // Rounded half up, in exact integers.
    if (countable > 0) {
      g.set_implemented_basis_points((implemented * 20000 + countable) /
                                     (2 * countable));
    }
    if (overdue > 0) {
      g.set_mean_days_overdue_centi((overdue_days * 200 + overdue) /
                                    (2 * overdue));
    }
    g.set_overdue(overdue);
    return g;
  }
};

}  // namespace

absl::StatusOr<pb::ImplementationReportResponse> ImplementationReport(
    const readside::ReadModelView& view,
    const pb::ImplementationReportRequest& r, absl::CivilDay today) {
  absl::CivilDay as_of = today;
  if (services::IsSet(r.as_of())) {
    NCM_ASSIGN_OR_RETURN(as_of, services::FromProto(r.as_of(), "as_of"));
  }
  if (!pb::ImplementationReportRequest::GroupBy_IsValid(r.group_by())) {
    return absl::InvalidArgumentError(
        "group_by must be LEAD_ORGANISATION, STRATEGIC_PRIORITY, PILLAR, "
        "MEETING or ADOPTION_QUARTER");
  }
  std::map<std::string, Tally> groups;
  Tally total;
  absl::Status bad;
  pb::Resolution v;  // reused: parsing into it again keeps its allocations
  pb::Resolution at;
  NCM_RETURN_IF_ERROR(view.Scan(
      "r/", "", [&](absl::string_view key, absl::string_view value) {
        if (!v.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          bad = absl::DataLossError(absl::StrCat("read model record ", key));
          return false;
        }
        const AsOf a = StatusAsOf(v, as_of);
        if (a.status == pb::RESOLUTION_STATUS_UNSPECIFIED) return true;
        at.set_status(a.status);
        at.set_overdue(a.overdue);
        *at.mutable_terms()->mutable_due_date() = services::ToProto(a.due);
        std::string group;
        switch (r.group_by()) {
          case pb::ImplementationReportRequest::LEAD_ORGANISATION:
            group = LeadAsOf(v, a);
            break;
          case pb::ImplementationReportRequest::STRATEGIC_PRIORITY:
            group = absl::StrCat("SP", v.terms().strategic_priority());
            break;
          case pb::ImplementationReportRequest::PILLAR:
            group = absl::StrCat(v.terms().pillar());
            break;
          case pb::ImplementationReportRequest::MEETING:
            group = v.meeting_id();
            break;
          default:
            group = absl::StrCat(v.adopted_on().year(), "-Q",
                                 (v.adopted_on().month() + 2) / 3);
        }
        groups[group].Add(at, as_of);
        total.Add(at, as_of);
        return true;
      }));
  NCM_RETURN_IF_ERROR(bad);
  pb::ImplementationReportResponse out;
  *out.mutable_as_of() = services::ToProto(as_of);
  for (const auto& [key, t] : groups) *out.add_groups() = t.ToProto(key);
  *out.mutable_total() = total.ToProto("total");
  return out;
}

}  // namespace ncm::resolutions
