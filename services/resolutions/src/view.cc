#include "ncm/resolutions/view.h"

#include <algorithm>

#include "ncm/services/dates.h"

namespace ncm::resolutions {

namespace {

absl::CivilDay Day(const ncm::common::v1::Date& d) {
  return absl::CivilDay(d.year(), d.month(), d.day());
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

bool IsOpen(pb::ResolutionStatus s) {
  return s == pb::ADOPTED || s == pb::IN_PROGRESS || s == pb::DEFERRED ||
         s == pb::BLOCKED;
}

}  // namespace

pb::Resolution ToView(const ResolutionState& s, uint64_t revision,
                      uint64_t position) {
  pb::Resolution out;
  out.set_resolution_id(s.resolution_id);
  out.set_meeting_id(s.meeting_id);
  *out.mutable_meeting_date() = services::ToProto(s.meeting_date);
  *out.mutable_terms() = s.terms;
  out.set_status(s.status);
  out.set_status_before_block(s.status_before_block);
  *out.mutable_adopted_on() = services::ToProto(s.adopted_on);
  out.set_percent_complete(s.PercentComplete());
  for (const Report& rep : s.reports) {
    auto* p = out.add_progress_reports();
    p->set_report_id(rep.report.report_id());
    p->set_reporting_organisation_id(rep.report.reporting_organisation_id());
    p->set_percent_complete(rep.report.percent_complete());
    p->set_narrative(rep.report.narrative());
    *p->mutable_evidence_references() = rep.report.evidence_references();
    *p->mutable_occurred_on() = services::ToProto(rep.occurred_on);
    *p->mutable_recorded_at() = services::ToTimestamp(rep.recorded_at);
    p->set_actor(rep.actor);
  }
  for (const StatusEntry& h : s.history) {
    auto* c = out.add_history();
    *c->mutable_occurred_on() = services::ToProto(h.on);
    c->set_status(h.status);
    c->set_reason(h.reason);
    *c->mutable_recorded_at() = services::ToTimestamp(h.recorded_at);
    c->set_actor(h.actor);
    *c->mutable_due_date() = services::ToProto(h.due);
  }
  for (const LeadEntry& l : s.leads) {
    auto* c = out.add_lead_history();
    *c->mutable_occurred_on() = services::ToProto(l.on);
    c->set_lead_organisation_id(l.lead);
    for (const auto& id : l.supporting) c->add_supporting_organisation_ids(id);
    c->set_reason(l.reason);
    *c->mutable_recorded_at() = services::ToTimestamp(l.recorded_at);
    c->set_actor(l.actor);
  }
  for (const auto& e : s.evidence_references) out.add_evidence_references(e);
  out.set_superseded_by_resolution_id(s.superseded_by);
  out.set_revision(revision);
  out.set_position(position);
  return out;
}

ResolutionState FromView(const pb::Resolution& v) {
  ResolutionState s;
  s.exists = !v.resolution_id().empty();
  s.resolution_id = v.resolution_id();
  s.meeting_id = v.meeting_id();
  s.meeting_date = Day(v.meeting_date());
  s.terms = v.terms();
  s.status = v.status();
  s.status_before_block = v.status_before_block();
  s.adopted_on = Day(v.adopted_on());
  for (const auto& p : v.progress_reports()) {
    Report r;
    r.report.set_report_id(p.report_id());
    r.report.set_reporting_organisation_id(p.reporting_organisation_id());
    r.report.set_percent_complete(p.percent_complete());
    r.report.set_narrative(p.narrative());
    *r.report.mutable_evidence_references() = p.evidence_references();
    r.occurred_on = Day(p.occurred_on());
    r.recorded_at = FromTimestamp(p.recorded_at());
    r.actor = p.actor();
    s.reports.push_back(std::move(r));
  }
  for (const auto& c : v.history()) {
    s.history.push_back({Day(c.occurred_on()), c.status(), c.reason(),
                         FromTimestamp(c.recorded_at()), c.actor(),
                         Day(c.due_date())});
  }
  for (const auto& c : v.history()) {
    s.last_change_on = std::max(s.last_change_on, Day(c.occurred_on()));
  }
  for (const auto& c : v.lead_history()) {
    s.leads.push_back({Day(c.occurred_on()),
                       c.lead_organisation_id(),
                       {c.supporting_organisation_ids().begin(),
                        c.supporting_organisation_ids().end()},
                       c.reason(),
                       FromTimestamp(c.recorded_at()),
                       c.actor()});
  }
  s.evidence_references.assign(v.evidence_references().begin(),
                               v.evidence_references().end());
  s.superseded_by = v.superseded_by_resolution_id();
  return s;
}

AsOf StatusAsOf(const pb::Resolution& v, absl::CivilDay day) {
  AsOf out;
  // The domain records changes in date order; histories recorded before it
  // held them to it are read as if sorted by date.
  absl::CivilDay best;
  bool any_change = false;
  for (const auto& c : v.history()) {
    const absl::CivilDay d = Day(c.occurred_on());
    if (d > day || (any_change && d < best)) continue;
    best = d;
    any_change = true;
    out.status = c.status();
    out.due = Day(c.due_date());
  }
  any_change = false;
  for (const auto& c : v.lead_history()) {
    const absl::CivilDay d = Day(c.occurred_on());
    if (d > day || (any_change && d < best)) continue;
    best = d;
    any_change = true;
    out.lead = &c;
  }
  if (out.status == pb::RESOLUTION_STATUS_UNSPECIFIED) return out;
  if (out.status == pb::IMPLEMENTED || out.status == pb::VERIFIED) {
    out.percent_complete = 100;
  } else {
    absl::CivilDay latest;
    bool any = false;
    for (const auto& p : v.progress_reports()) {
      const absl::CivilDay d = Day(p.occurred_on());
      if (d > day) continue;
      if (!any || d >= latest) {
        latest = d;
        out.percent_complete = p.percent_complete();
        any = true;
      }
    }
  }
  out.overdue = IsOpen(out.status) && out.due < day;
  return out;
}

const std::string& LeadAsOf(const pb::Resolution& v, const AsOf& a) {
  return a.lead != nullptr ? a.lead->lead_organisation_id()
                           : v.terms().lead_organisation_id();
}

pb::Resolution AsOfView(const pb::Resolution& v, absl::CivilDay day) {
  const AsOf a = StatusAsOf(v, day);
  pb::Resolution out = v;
  out.set_status(a.status);
  out.set_percent_complete(a.percent_complete);
  out.set_overdue(a.overdue);
  *out.mutable_as_of() = services::ToProto(day);
  if (a.status != pb::RESOLUTION_STATUS_UNSPECIFIED) {
    *out.mutable_terms()->mutable_due_date() = services::ToProto(a.due);
  }
  if (a.lead != nullptr) {
    out.mutable_terms()->set_lead_organisation_id(a.lead->lead_organisation_id());
    *out.mutable_terms()->mutable_supporting_organisation_ids() =
        a.lead->supporting_organisation_ids();
  }
  out.clear_history();
  for (const auto& c : v.history()) {
    if (Day(c.occurred_on()) <= day) *out.add_history() = c;
  }
  out.clear_lead_history();
  for (const auto& c : v.lead_history()) {
    if (Day(c.occurred_on()) <= day) *out.add_lead_history() = c;
  }
  out.clear_progress_reports();
  for (const auto& p : v.progress_reports()) {
    if (Day(p.occurred_on()) <= day) *out.add_progress_reports() = p;
  }
  if (a.status != pb::IMPLEMENTED && a.status != pb::VERIFIED) {
    out.clear_evidence_references();
  }
  if (a.status != pb::SUPERSEDED) out.clear_superseded_by_resolution_id();
  // What a block in force that day interrupted: the status before it.
  out.clear_status_before_block();
  if (a.status == pb::BLOCKED) {
    std::vector<const pb::StatusChange*> upto(out.history().pointer_begin(),
                                              out.history().pointer_end());
    std::stable_sort(upto.begin(), upto.end(),
                     [](const pb::StatusChange* x, const pb::StatusChange* y) {
                       return Day(x->occurred_on()) < Day(y->occurred_on());
                     });
    for (size_t i = 1; i < upto.size(); ++i) {
      if (upto[i]->status() == pb::BLOCKED) {
        out.set_status_before_block(upto[i - 1]->status());
      }
    }
  }
  return out;
}

}  // namespace ncm::resolutions
