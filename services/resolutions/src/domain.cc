#include "ncm/resolutions/domain.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ncm/services/dates.h"
#include "ncm/services/ids.h"

namespace ncm::resolutions {

using services::FormatDay;
using stakeholders::CleanText;

std::string MeetingStream(const std::string& id) { return "meeting-" + id; }
std::string ResolutionStream(const std::string& id) {
  return "resolution-" + id;
}

std::string StatusName(pb::ResolutionStatus s) {
  return pb::ResolutionStatus_Name(s);
}

std::string AllowedFrom(pb::ResolutionStatus s) {
  switch (s) {
    case pb::ADOPTED:
      return "start implementation (IN_PROGRESS), report progress, be "
             "deferred, blocked, rescinded or superseded, and change lead";
    case pb::IN_PROGRESS:
      return "report progress, be marked IMPLEMENTED (with evidence), be "
             "deferred, blocked, rescinded or superseded, and change lead";
    case pb::DEFERRED:
      return "resume implementation (IN_PROGRESS), report progress, be "
             "deferred again, blocked, rescinded or superseded, and change "
             "lead";
    case pb::BLOCKED:
      return "be unblocked, report progress, be rescinded or superseded, "
             "and change lead";
    case pb::IMPLEMENTED:
      return "be VERIFIED, or have its verification rejected (back to "
             "IN_PROGRESS)";
    case pb::VERIFIED:
    case pb::RESCINDED:
    case pb::SUPERSEDED:
      return "nothing: it is final";
    default:
      return "nothing";
  }
}

namespace {

absl::Status Invalid(absl::string_view field, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat(field, " ", rule));
}

// ------------------------------------------------------------ meetings

absl::Status MeetingMustExist(const MeetingState& s) {
  if (!s.exists) {
    return absl::NotFoundError("no such meeting; check the meeting_id");
  }
  return absl::OkStatus();
}

absl::Status RefuseMeeting(const MeetingState& s, absl::string_view what) {
  absl::string_view allowed;
  switch (s.status) {
    case pb::SCHEDULED:
      allowed =
          "be rescheduled (before any attendance or resolution), record "
          "attendance and adopt resolutions once held, be closed or "
          "cancelled (before any resolution)";
      break;
    case pb::CLOSED:
      allowed = "adopt resolutions from its minutes, nothing else";
      break;
    default:
      allowed = "nothing: it is final";
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "meeting ", s.meeting_id, " is ", pb::MeetingStatus_Name(s.status),
      "; cannot ", what, ". From ", pb::MeetingStatus_Name(s.status),
      " it can ", allowed));
}

absl::StatusOr<std::vector<std::string>> CleanReferences(
    const std::vector<std::string>& in, const std::string& field) {
  if (in.size() > 50) {
    return Invalid(field, absl::StrCat("has ", in.size(),
                                       " entries; the limit is 50"));
  }
  std::vector<std::string> out;
  absl::flat_hash_set<std::string> seen;
  for (size_t i = 0; i < in.size(); ++i) {
    auto t = CleanText(in[i], absl::StrCat(field, "[", i, "]"), 500, true);
    if (!t.ok()) return t.status();
    if (seen.insert(*t).second) out.push_back(*t);
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------- apply

absl::CivilDay MeetingState::Date() const {
  const auto& d = details.date();
  return absl::CivilDay(d.year(), d.month(), d.day());
}

void Apply(const pb::MeetingEvent& e, const EventMeta& m, MeetingState* s) {
  switch (e.event_case()) {
    case pb::MeetingEvent::kScheduled:
      s->exists = true;
      s->meeting_id = e.scheduled().meeting_id();
      s->details = e.scheduled().details();
      s->status = pb::SCHEDULED;
      s->scheduled_on = m.occurred_on;
      break;
    case pb::MeetingEvent::kRescheduled:
      s->details = e.rescheduled().details();
      break;
    case pb::MeetingEvent::kAttendanceRecorded:
      s->attendance.push_back(e.attendance_recorded());
      break;
    case pb::MeetingEvent::kClosed:
      s->status = pb::CLOSED;
      s->minutes_reference = e.closed().minutes_reference();
      s->closed_on = m.occurred_on;
      break;
    case pb::MeetingEvent::kCancelled:
      s->status = pb::CANCELLED;
      s->cancel_reason = e.cancelled().reason();
      break;
    case pb::MeetingEvent::kResolutionAdopted:
      s->resolution_ids.push_back(e.resolution_adopted().resolution_id());
      break;
    case pb::MeetingEvent::EVENT_NOT_SET:
      break;
  }
}

absl::CivilDay ResolutionState::DueDate() const {
  const auto& d = terms.due_date();
  return absl::CivilDay(d.year(), d.month(), d.day());
}

int ResolutionState::PercentComplete() const {
  if (status == pb::IMPLEMENTED || status == pb::VERIFIED) return 100;
  const Report* latest = nullptr;
  for (const Report& r : reports) {  // in recorded order: later wins ties
    if (latest == nullptr || r.occurred_on >= latest->occurred_on) latest = &r;
  }
  return latest == nullptr ? 0 : latest->report.percent_complete();
}

bool ResolutionState::Open() const {
  switch (status) {
    case pb::ADOPTED:
    case pb::IN_PROGRESS:
    case pb::DEFERRED:
    case pb::BLOCKED:
      return true;
    default:
      return false;
  }
}

bool ResolutionState::Overdue(absl::CivilDay as_of) const {
  return exists && Open() && DueDate() < as_of;
}

bool ResolutionState::Involves(const std::string& org) const {
  if (terms.lead_organisation_id() == org) return true;
  for (const std::string& s : terms.supporting_organisation_ids()) {
    if (s == org) return true;
  }
  return false;
}

void Apply(const pb::ResolutionEvent& e, const EventMeta& m,
           ResolutionState* s) {
  auto change = [&](pb::ResolutionStatus to, const std::string& reason) {
    s->status = to;
    s->last_change_on = m.occurred_on;
    s->history.push_back(
        {m.occurred_on, to, reason, m.recorded_at, m.actor, s->DueDate()});
  };
  switch (e.event_case()) {
    case pb::ResolutionEvent::kAdopted: {
      const auto& a = e.adopted();
      s->exists = true;
      s->resolution_id = a.resolution_id();
      s->meeting_id = a.meeting_id();
      s->meeting_date = absl::CivilDay(a.meeting_date().year(),
                                       a.meeting_date().month(),
                                       a.meeting_date().day());
      s->terms = a.terms();
      s->adopted_on = m.occurred_on;
      s->leads.push_back({m.occurred_on, a.terms().lead_organisation_id(),
                          {a.terms().supporting_organisation_ids().begin(),
                           a.terms().supporting_organisation_ids().end()},
                          "adopted", m.recorded_at, m.actor});
      change(pb::ADOPTED, "adopted");
      break;
    }
    case pb::ResolutionEvent::kStarted:
      change(pb::IN_PROGRESS, e.started().note());
      break;
    case pb::ResolutionEvent::kProgressReported:
      s->reports.push_back(
          {e.progress_reported(), m.occurred_on, m.recorded_at, m.actor});
      break;
    case pb::ResolutionEvent::kImplemented:
      s->evidence_references.assign(
          e.implemented().evidence_references().begin(),
          e.implemented().evidence_references().end());
      change(pb::IMPLEMENTED, e.implemented().narrative());
      break;
    case pb::ResolutionEvent::kVerified:
      change(pb::VERIFIED, e.verified().note());
      break;
    case pb::ResolutionEvent::kVerificationRejected:
      change(pb::IN_PROGRESS, e.verification_rejected().reason());
      break;
    case pb::ResolutionEvent::kDeferred:
      *s->terms.mutable_due_date() = e.deferred().new_due_date();
      change(pb::DEFERRED, e.deferred().reason());
      break;
    case pb::ResolutionEvent::kResumed:
      change(pb::IN_PROGRESS, e.resumed().note());
      break;
    case pb::ResolutionEvent::kBlocked:
      s->status_before_block = s->status;
      change(pb::BLOCKED, e.blocked().reason());
      break;
    case pb::ResolutionEvent::kUnblocked:
      change(e.unblocked().resumed_status(), e.unblocked().note());
      break;
    case pb::ResolutionEvent::kRescinded:
      change(pb::RESCINDED, e.rescinded().reason());
      break;
    case pb::ResolutionEvent::kSuperseded:
      s->superseded_by = e.superseded().superseded_by_resolution_id();
      change(pb::SUPERSEDED, e.superseded().reason());
      break;
    case pb::ResolutionEvent::kLeadReassigned:
      s->terms.set_lead_organisation_id(
          e.lead_reassigned().lead_organisation_id());
      s->terms.mutable_supporting_organisation_ids()->CopyFrom(
          e.lead_reassigned().supporting_organisation_ids());
      s->leads.push_back(
          {m.occurred_on, e.lead_reassigned().lead_organisation_id(),
           {e.lead_reassigned().supporting_organisation_ids().begin(),
            e.lead_reassigned().supporting_organisation_ids().end()},
           e.lead_reassigned().reason(), m.recorded_at, m.actor});
      break;
    case pb::ResolutionEvent::EVENT_NOT_SET:
      break;
  }
}

// ------------------------------------------------------------ meetings

absl::StatusOr<pb::MeetingDetails> ValidateMeetingDetails(
    const pb::MeetingDetails& d, const CountyList& counties,
    const std::string& field) {
  pb::MeetingDetails out;
  if (!pb::MeetingKind_IsValid(d.kind()) ||
      d.kind() == pb::MEETING_KIND_UNSPECIFIED) {
    return Invalid(field + ".kind",
                   "must be QUARTERLY_STAKEHOLDER_MEETING, "
                   "COUNTY_OUTREACH_FORUM, CONSULTATIVE_FORUM or WORKSHOP");
  }
  out.set_kind(d.kind());
  NCM_ASSIGN_OR_RETURN(std::string title,
                       CleanText(d.title(), field + ".title", 200, true));
  out.set_title(title);
  if (!services::IsSet(d.date())) return Invalid(field + ".date", "is required");
  NCM_ASSIGN_OR_RETURN(absl::CivilDay day,
                       services::FromProto(d.date(), field + ".date"));
  *out.mutable_date() = services::ToProto(day);
  NCM_ASSIGN_OR_RETURN(std::string venue,
                       CleanText(d.venue(), field + ".venue", 200, false));
  out.set_venue(venue);
  if (!d.county_code().empty()) {
    if (counties.Find(d.county_code()) == nullptr) {
      return Invalid(field + ".county_code",
                     absl::StrCat("\"", d.county_code(),
                                  "\" is not in the county list (see "
                                  "ListCounties)"));
    }
    out.set_county_code(d.county_code());
  } else if (d.kind() == pb::COUNTY_OUTREACH_FORUM) {
    return Invalid(field + ".county_code",
                   "is required for a COUNTY_OUTREACH_FORUM");
  }
  return out;
}

absl::StatusOr<MeetingEvents> DecideSchedule(const MeetingState& s,
                                             const std::string& meeting_id,
                                             const pb::MeetingDetails& details,
                                             const CountyList& counties) {
  if (s.exists) {
    return absl::AlreadyExistsError(
        absl::StrCat("meeting ", meeting_id, " is already scheduled"));
  }
  NCM_ASSIGN_OR_RETURN(pb::MeetingDetails d,
                       ValidateMeetingDetails(details, counties, "details"));
  MeetingEvents out(1);
  auto* e = out[0].mutable_scheduled();
  e->set_meeting_id(meeting_id);
  *e->mutable_details() = std::move(d);
  return out;
}

absl::StatusOr<MeetingEvents> DecideReschedule(
    const MeetingState& s, const pb::MeetingDetails& details,
    const std::string& reason, const CountyList& counties) {
  NCM_RETURN_IF_ERROR(MeetingMustExist(s));
  if (s.status != pb::SCHEDULED) return RefuseMeeting(s, "be rescheduled");
  if (!s.attendance.empty() || !s.resolution_ids.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "meeting ", s.meeting_id,
        " has been held: it has attendance or resolutions recorded, so its "
        "details can no longer change; schedule a new meeting instead"));
  }
  NCM_ASSIGN_OR_RETURN(pb::MeetingDetails d,
                       ValidateMeetingDetails(details, counties, "details"));
  NCM_ASSIGN_OR_RETURN(std::string why,
                       CleanText(reason, "reason", 1000, false));
  if (d.SerializeAsString() == s.details.SerializeAsString()) {
    return MeetingEvents{};  // nothing changes
  }
  MeetingEvents out(1);
  *out[0].mutable_rescheduled()->mutable_details() = std::move(d);
  out[0].mutable_rescheduled()->set_reason(why);
  return out;
}

absl::StatusOr<MeetingEvents> DecideRecordAttendance(
    const MeetingState& s, const OrganisationState& org,
    const std::string& person_id, const PersonState* person,
    absl::CivilDay today) {
  NCM_RETURN_IF_ERROR(MeetingMustExist(s));
  if (s.status != pb::SCHEDULED) return RefuseMeeting(s, "record attendance");
  if (s.Date() > today) {
    return absl::FailedPreconditionError(absl::StrCat(
        "meeting ", s.meeting_id, " takes place on ", FormatDay(s.Date()),
        "; attendance can be recorded from that day"));
  }
  NCM_RETURN_IF_ERROR(
      stakeholders::CheckUsable(org, "organisation_id", org.organisation_id));
  if (!person_id.empty()) {
    if (person == nullptr || !person->exists) {
      return absl::NotFoundError(
          absl::StrCat("person_id ", person_id, ": no such person"));
    }
    if (person->forgotten) {
      return absl::FailedPreconditionError(absl::StrCat(
          "person ", person_id,
          " has been forgotten (erased); their attendance cannot be "
          "recorded"));
    }
  }
  for (const auto& a : s.attendance) {
    if (a.organisation_id() == org.organisation_id &&
        a.person_id() == person_id) {
      return MeetingEvents{};  // already recorded
    }
  }
  MeetingEvents out(1);
  out[0].mutable_attendance_recorded()->set_organisation_id(
      org.organisation_id);
  out[0].mutable_attendance_recorded()->set_person_id(person_id);
  return out;
}

absl::StatusOr<MeetingEvents> DecideClose(const MeetingState& s,
                                          const std::string& minutes_reference,
                                          absl::CivilDay on) {
  NCM_RETURN_IF_ERROR(MeetingMustExist(s));
  if (s.status != pb::SCHEDULED) return RefuseMeeting(s, "be closed");
  if (on < s.Date()) {
    return Invalid("options.occurred_on",
                   absl::StrCat(FormatDay(on), " is before the meeting (",
                                FormatDay(s.Date()),
                                "); a meeting closes on or after its day"));
  }
  NCM_ASSIGN_OR_RETURN(
      std::string minutes,
      CleanText(minutes_reference, "minutes_reference", 500, false));
  MeetingEvents out(1);
  out[0].mutable_closed()->set_minutes_reference(minutes);
  return out;
}

absl::StatusOr<MeetingEvents> DecideCancel(const MeetingState& s,
                                           const std::string& reason) {
  NCM_RETURN_IF_ERROR(MeetingMustExist(s));
  if (s.status != pb::SCHEDULED) return RefuseMeeting(s, "be cancelled");
  if (!s.resolution_ids.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "meeting ", s.meeting_id, " has adopted ", s.resolution_ids.size(),
        " resolution(s); it took place and cannot be cancelled (rescind "
        "the resolutions instead)"));
  }
  NCM_ASSIGN_OR_RETURN(std::string why, CleanText(reason, "reason", 1000, true));
  MeetingEvents out(1);
  out[0].mutable_cancelled()->set_reason(why);
  return out;
}

absl::StatusOr<MeetingEvents> DecideRecordAdoption(
    const MeetingState& s, const std::string& resolution_id,
    absl::CivilDay on) {
  if (!s.exists) {
    return absl::NotFoundError("meeting_id: no such meeting");
  }
  if (s.status == pb::CANCELLED) {
    return RefuseMeeting(s, "adopt resolutions");
  }
  if (on < s.Date()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "meeting ", s.meeting_id, " takes place on ", FormatDay(s.Date()),
        "; a resolution can be adopted there from that day (options."
        "occurred_on is ", FormatDay(on), ")"));
  }
  MeetingEvents out(1);
  out[0].mutable_resolution_adopted()->set_resolution_id(resolution_id);
  return out;
}

// ---------------------------------------------------------- resolutions

absl::StatusOr<pb::ResolutionTerms> ValidateTerms(
    const pb::ResolutionTerms& t, const Organisations& orgs,
    absl::CivilDay meeting_date, const CodeLists& codes,
    const std::string& field) {
  pb::ResolutionTerms out;
  NCM_ASSIGN_OR_RETURN(std::string reference,
                       CleanText(t.reference(), field + ".reference", 64, false));
  out.set_reference(reference);
  NCM_ASSIGN_OR_RETURN(std::string text,
                       CleanText(t.text(), field + ".text", 4000, true));
  out.set_text(text);
  NCM_ASSIGN_OR_RETURN(std::string indicator,
                       CleanText(t.indicator(), field + ".indicator", 1000, false));
  out.set_indicator(indicator);

  auto org = [&](const std::string& id, const std::string& f) -> absl::Status {
    NCM_RETURN_IF_ERROR(services::CheckUuid(id, f));
    auto it = orgs.find(id);
    static const OrganisationState kMissing;
    return stakeholders::CheckUsable(it == orgs.end() ? kMissing : it->second, f, id);
  };
  NCM_RETURN_IF_ERROR(
      org(t.lead_organisation_id(), field + ".lead_organisation_id"));
  out.set_lead_organisation_id(t.lead_organisation_id());
  absl::flat_hash_set<std::string> seen = {t.lead_organisation_id()};
  for (int i = 0; i < t.supporting_organisation_ids_size(); ++i) {
    const std::string& id = t.supporting_organisation_ids(i);
    const std::string f =
        absl::StrCat(field, ".supporting_organisation_ids[", i, "]");
    NCM_RETURN_IF_ERROR(org(id, f));
    if (!seen.insert(id).second) {
      return Invalid(f, id == t.lead_organisation_id()
                            ? "is the lead organisation; it cannot also "
                              "support"
                            : "repeats an organisation already named");
    }
    out.add_supporting_organisation_ids(id);
  }

  if (!services::IsSet(t.due_date())) {
    return Invalid(field + ".due_date", "is required");
  }
  NCM_ASSIGN_OR_RETURN(absl::CivilDay due,
                       services::FromProto(t.due_date(), field + ".due_date"));
  if (due < meeting_date) {
    return Invalid(field + ".due_date",
                   absl::StrCat(FormatDay(due), " is before the meeting (",
                                FormatDay(meeting_date), ")"));
  }
  *out.mutable_due_date() = services::ToProto(due);

  if (t.strategic_priority() < 1 ||
      t.strategic_priority() > codes.strategic_priorities) {
    return Invalid(field + ".strategic_priority",
                   absl::StrCat("must be 1 to ", codes.strategic_priorities,
                                " (SP1-SP", codes.strategic_priorities,
                                "); got ", t.strategic_priority()));
  }
  out.set_strategic_priority(t.strategic_priority());
  if (t.pillar() < 1 || t.pillar() > codes.pillars) {
    return Invalid(field + ".pillar",
                   absl::StrCat("must be 1 to ", codes.pillars, "; got ",
                                t.pillar()));
  }
  out.set_pillar(t.pillar());
  absl::flat_hash_set<int> objectives;
  for (int i = 0; i < t.gcm_objectives_size(); ++i) {
    const int g = t.gcm_objectives(i);
    const std::string f = absl::StrCat(field, ".gcm_objectives[", i, "]");
    if (g < 1 || g > codes.gcm_objectives) {
      return Invalid(f, absl::StrCat("must be 1 to ", codes.gcm_objectives,
                                     "; got ", g));
    }
    if (!objectives.insert(g).second) {
      return Invalid(f, absl::StrCat("repeats objective ", g));
    }
  }
  std::vector<int> sorted(objectives.begin(), objectives.end());
  std::sort(sorted.begin(), sorted.end());
  for (int g : sorted) out.add_gcm_objectives(g);
  return out;
}

namespace {

absl::Status ResolutionMustExist(const ResolutionState& s) {
  if (!s.exists) {
    return absl::NotFoundError("no such resolution; check the resolution_id");
  }
  return absl::OkStatus();
}

// FAILED_PRECONDITION unless the status is one of `from`.
absl::Status Require(const ResolutionState& s,
                     std::initializer_list<pb::ResolutionStatus> from,
                     absl::string_view what) {
  NCM_RETURN_IF_ERROR(ResolutionMustExist(s));
  for (pb::ResolutionStatus f : from) {
    if (s.status == f) return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "resolution ", s.resolution_id, " is ", StatusName(s.status),
      "; it cannot ", what, ". From ", StatusName(s.status), " it can ",
      AllowedFrom(s.status)));
}

// Status changes are recorded in date order, none before the adoption.
absl::Status NotBeforeLastChange(const ResolutionState& s, absl::CivilDay on) {
  if (on < s.last_change_on) {
    return Invalid("options.occurred_on",
                   absl::StrCat(FormatDay(on), " is before the resolution's "
                                "last status change (",
                                FormatDay(s.last_change_on),
                                "); record changes in date order"));
  }
  return absl::OkStatus();
}

const std::initializer_list<pb::ResolutionStatus> kOpen = {
    pb::ADOPTED, pb::IN_PROGRESS, pb::DEFERRED, pb::BLOCKED};

}  // namespace

absl::StatusOr<ResolutionEvents> DecideAdopt(
    const ResolutionState& s, const std::string& resolution_id,
    const MeetingState& meeting, const pb::ResolutionTerms& terms,
    const Organisations& orgs, const CodeLists& codes, absl::CivilDay on) {
  if (s.exists) {
    return absl::AlreadyExistsError(
        absl::StrCat("resolution ", resolution_id, " is already adopted"));
  }
  NCM_RETURN_IF_ERROR(DecideRecordAdoption(meeting, resolution_id, on).status());
  NCM_ASSIGN_OR_RETURN(pb::ResolutionTerms t,
                       ValidateTerms(terms, orgs, meeting.Date(), codes, "terms"));
  ResolutionEvents out(1);
  auto* a = out[0].mutable_adopted();
  a->set_resolution_id(resolution_id);
  a->set_meeting_id(meeting.meeting_id);
  *a->mutable_meeting_date() = services::ToProto(meeting.Date());
  *a->mutable_terms() = std::move(t);
  return out;
}

absl::StatusOr<ResolutionEvents> DecideStart(const ResolutionState& s,
                                             const std::string& note,
                                             absl::CivilDay on) {
  NCM_RETURN_IF_ERROR(Require(s, {pb::ADOPTED}, "start implementation"));
  NCM_RETURN_IF_ERROR(NotBeforeLastChange(s, on));
  NCM_ASSIGN_OR_RETURN(std::string n, CleanText(note, "reason", 1000, false));
  ResolutionEvents out(1);
  out[0].mutable_started()->set_note(n);
  return out;
}

absl::StatusOr<ResolutionEvents> DecideReportProgress(
    const ResolutionState& s, const std::string& report_id,
    const std::string& org, int percent, const std::string& narrative,
    const std::vector<std::string>& evidence, absl::CivilDay on) {
  NCM_RETURN_IF_ERROR(Require(s, kOpen, "take progress reports"));
  NCM_RETURN_IF_ERROR(services::CheckUuid(org, "reporting_organisation_id"));
  if (!s.Involves(org)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "organisation ", org, " is neither the lead nor a supporting "
        "organisation of resolution ", s.resolution_id,
        "; only they report its progress"));
  }
  if (percent < 0 || percent > 100) {
    return Invalid("percent_complete",
                   absl::StrCat("must be 0 to 100; got ", percent));
  }
  NCM_ASSIGN_OR_RETURN(std::string text,
                       CleanText(narrative, "narrative", 4000, true));
  NCM_ASSIGN_OR_RETURN(std::vector<std::string> refs,
                       CleanReferences(evidence, "evidence_references"));
  if (on < s.adopted_on) {
    return Invalid("options.occurred_on",
                   absl::StrCat(FormatDay(on), " is before the resolution "
                                "was adopted (", FormatDay(s.adopted_on), ")"));
  }
  ResolutionEvents out;
  if (s.status == pb::ADOPTED && percent > 0) {
    // Work reported on an adopted resolution starts its implementation on
    // the report's day: a status change, held to date order like any.
    if (on < s.last_change_on) {
      return Invalid(
          "options.occurred_on",
          absl::StrCat(FormatDay(on), " is before the resolution's last "
                       "status change (", FormatDay(s.last_change_on),
                       "), and a report of work on an ADOPTED resolution "
                       "starts its implementation that day; date the report "
                       "on or after ", FormatDay(s.last_change_on)));
    }
    out.emplace_back().mutable_started()->set_note(
        "implementation reported under way");
  }
  auto* r = out.emplace_back().mutable_progress_reported();
  r->set_report_id(report_id);
  r->set_reporting_organisation_id(org);
  r->set_percent_complete(percent);
  r->set_narrative(text);
  for (auto& ref : refs) r->add_evidence_references(std::move(ref));
  return out;
}

absl::StatusOr<ResolutionEvents> DecideMarkImplemented(
    const ResolutionState& s, const std::string& narrative,
    const std::vector<std::string>& evidence, absl::CivilDay on) {
  NCM_RETURN_IF_ERROR(Require(s, {pb::IN_PROGRESS}, "be marked IMPLEMENTED"));
  NCM_RETURN_IF_ERROR(NotBeforeLastChange(s, on));
  NCM_ASSIGN_OR_RETURN(std::string text,
                       CleanText(narrative, "narrative", 4000, false));
  NCM_ASSIGN_OR_RETURN(std::vector<std::string> refs,
                       CleanReferences(evidence, "evidence_references"));
  if (refs.empty()) {
    return Invalid("evidence_references",
                   "needs at least one reference (a report, minutes, a "
                   "gazette notice...) to mark a resolution implemented");
  }
  ResolutionEvents out(1);
  auto* e = out[0].mutable_implemented();
  e->set_narrative(text);
  for (auto& ref : refs) e->add_evidence_references(std::move(ref));
  return out;
}

absl::StatusOr<ResolutionEvents> DecideVerify(const ResolutionState& s,
                                              const OrganisationState* verifier,
                                              const std::string& note,
                                              absl::CivilDay on) {
  NCM_RETURN_IF_ERROR(Require(s, {pb::IMPLEMENTED}, "be VERIFIED"));
  NCM_RETURN_IF_ERROR(NotBeforeLastChange(s, on));
  if (verifier != nullptr) {
    NCM_RETURN_IF_ERROR(stakeholders::CheckUsable(
        *verifier, "verified_by_organisation_id", verifier->organisation_id));
  }
  NCM_ASSIGN_OR_RETURN(std::string n, CleanText(note, "note", 1000, false));
  ResolutionEvents out(1);
  if (verifier != nullptr) {
    out[0].mutable_verified()->set_verified_by_organisation_id(
        verifier->organisation_id);
  }
  out[0].mutable_verified()->set_note(n);
  return out;
}

absl::StatusOr<ResolutionEvents> DecideRejectVerification(
    const ResolutionState& s, const std::string& reason, absl::CivilDay on) {
  NCM_RETURN_IF_ERROR(
      Require(s, {pb::IMPLEMENTED}, "have its verification rejected"));
  NCM_RETURN_IF_ERROR(NotBeforeLastChange(s, on));
  NCM_ASSIGN_OR_RETURN(std::string why, CleanText(reason, "reason", 1000, true));
  ResolutionEvents out(1);
  out[0].mutable_verification_rejected()->set_reason(why);
  return out;
}

absl::StatusOr<ResolutionEvents> DecideDefer(const ResolutionState& s,
                                             absl::CivilDay new_due_date,
                                             const std::string& reason,
                                             absl::CivilDay on) {
  NCM_RETURN_IF_ERROR(Require(s, {pb::ADOPTED, pb::IN_PROGRESS, pb::DEFERRED},
                              "be deferred"));
  NCM_RETURN_IF_ERROR(NotBeforeLastChange(s, on));
  if (new_due_date <= s.DueDate()) {
    return Invalid("new_due_date",
                   absl::StrCat(FormatDay(new_due_date),
                                " must be after the current due date (",
                                FormatDay(s.DueDate()), ")"));
  }
  NCM_ASSIGN_OR_RETURN(std::string why, CleanText(reason, "reason", 1000, true));
  ResolutionEvents out(1);
  auto* e = out[0].mutable_deferred();
  *e->mutable_new_due_date() = services::ToProto(new_due_date);
  *e->mutable_previous_due_date() = s.terms.due_date();
  e->set_reason(why);
  return out;
}

absl::StatusOr<ResolutionEvents> DecideResume(const ResolutionState& s,
                                              const std::string& note,
                                              absl::CivilDay on) {
  NCM_RETURN_IF_ERROR(Require(s, {pb::DEFERRED}, "resume implementation"));
  NCM_RETURN_IF_ERROR(NotBeforeLastChange(s, on));
  NCM_ASSIGN_OR_RETURN(std::string n, CleanText(note, "reason", 1000, false));
  ResolutionEvents out(1);
  out[0].mutable_resumed()->set_note(n);
  return out;
}

absl::StatusOr<ResolutionEvents> DecideBlock(const ResolutionState& s,
                                             const std::string& reason,
                                             absl::CivilDay on) {
  NCM_RETURN_IF_ERROR(Require(s, {pb::ADOPTED, pb::IN_PROGRESS, pb::DEFERRED},
                              "be blocked"));
  NCM_RETURN_IF_ERROR(NotBeforeLastChange(s, on));
  NCM_ASSIGN_OR_RETURN(std::string why, CleanText(reason, "reason", 1000, true));
  ResolutionEvents out(1);
  out[0].mutable_blocked()->set_reason(why);
  return out;
}

absl::StatusOr<ResolutionEvents> DecideUnblock(const ResolutionState& s,
                                               const std::string& note,
                                               absl::CivilDay on) {
  NCM_RETURN_IF_ERROR(Require(s, {pb::BLOCKED}, "be unblocked"));
  NCM_RETURN_IF_ERROR(NotBeforeLastChange(s, on));
  NCM_ASSIGN_OR_RETURN(std::string n, CleanText(note, "reason", 1000, false));
  ResolutionEvents out(1);
  out[0].mutable_unblocked()->set_note(n);
  out[0].mutable_unblocked()->set_resumed_status(s.status_before_block);
  return out;
}

absl::StatusOr<ResolutionEvents> DecideRescind(const ResolutionState& s,
                                               const std::string& reason,
                                               absl::CivilDay on) {
  NCM_RETURN_IF_ERROR(Require(s, kOpen, "be rescinded"));
  NCM_RETURN_IF_ERROR(NotBeforeLastChange(s, on));
  NCM_ASSIGN_OR_RETURN(std::string why, CleanText(reason, "reason", 1000, true));
  ResolutionEvents out(1);
  out[0].mutable_rescinded()->set_reason(why);
  return out;
}

absl::StatusOr<ResolutionEvents> DecideSupersede(const ResolutionState& s,
                                                 const ResolutionState& by,
                                                 const std::string& reason,
                                                 absl::CivilDay on) {
  NCM_RETURN_IF_ERROR(Require(s, kOpen, "be superseded"));
  NCM_RETURN_IF_ERROR(NotBeforeLastChange(s, on));
  if (!by.exists) {
    return absl::NotFoundError(
        "superseded_by_resolution_id: no such resolution");
  }
  if (by.resolution_id == s.resolution_id) {
    return Invalid("superseded_by_resolution_id",
                   "names this very resolution; a resolution cannot "
                   "supersede itself");
  }
  if (by.status == pb::RESCINDED || by.status == pb::SUPERSEDED) {
    return absl::FailedPreconditionError(absl::StrCat(
        "resolution ", by.resolution_id, " is ", StatusName(by.status),
        "; only a live resolution can supersede another"));
  }
  if (on < by.adopted_on) {
    return Invalid("options.occurred_on",
                   absl::StrCat(FormatDay(on), " is before resolution ",
                                by.resolution_id, " was adopted (",
                                FormatDay(by.adopted_on),
                                "); a resolution is superseded by one that "
                                "exists on the day"));
  }
  NCM_ASSIGN_OR_RETURN(std::string why,
                       CleanText(reason, "reason", 1000, false));
  ResolutionEvents out(1);
  out[0].mutable_superseded()->set_superseded_by_resolution_id(
      by.resolution_id);
  out[0].mutable_superseded()->set_reason(why);
  return out;
}

absl::StatusOr<ResolutionEvents> DecideReassignLead(
    const ResolutionState& s, const OrganisationState& lead,
    bool keep_previous_as_supporting, const std::string& reason,
    absl::CivilDay on) {
  NCM_RETURN_IF_ERROR(Require(s, kOpen, "change its lead"));
  if (on < s.adopted_on) {
    return Invalid("options.occurred_on",
                   absl::StrCat(FormatDay(on), " is before the resolution "
                                "was adopted (", FormatDay(s.adopted_on), ")"));
  }
  if (!s.leads.empty() && on < s.leads.back().on) {
    return Invalid("options.occurred_on",
                   absl::StrCat(FormatDay(on), " is before the last change of "
                                "lead (", FormatDay(s.leads.back().on),
                                "); record lead changes in date order"));
  }
  NCM_RETURN_IF_ERROR(stakeholders::CheckUsable(lead, "lead_organisation_id",
                                         lead.organisation_id));
  const std::string& previous = s.terms.lead_organisation_id();
  if (lead.organisation_id == previous) {
    return Invalid("lead_organisation_id",
                   "already leads this resolution");
  }
  NCM_ASSIGN_OR_RETURN(std::string why,
                       CleanText(reason, "reason", 1000, false));
  ResolutionEvents out(1);
  auto* e = out[0].mutable_lead_reassigned();
  e->set_lead_organisation_id(lead.organisation_id);
  e->set_previous_lead_organisation_id(previous);
  for (const std::string& id : s.terms.supporting_organisation_ids()) {
    if (id != lead.organisation_id) e->add_supporting_organisation_ids(id);
  }
  if (keep_previous_as_supporting) e->add_supporting_organisation_ids(previous);
  e->set_reason(why);
  return out;
}

}  // namespace ncm::resolutions
