#include "ncm/stakeholders/read_model.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "ncm/eventstore/status_macros.h"
#include "ncm/resolutions/v1/events.pb.h"
#include "ncm/services/dates.h"
#include "ncm/services/ids.h"

namespace ncm::stakeholders {
namespace {

namespace es = ::ncm::eventstore;
namespace rpb = ::ncm::resolutions::v1;

absl::CivilDay Day(const ncm::common::v1::Date& d) {
  return absl::CivilDay(d.year(), d.month(), d.day());
}

std::string NameKey(const pb::Organisation& v) {
  return absl::StrCat("n/", absl::AsciiStrToUpper(v.profile().acronym()), "/",
                      v.organisation_id());
}

class DirectoryProjection final : public readside::Projection {
 public:
  std::string name() const override { return kDirectoryModel; }

  std::vector<std::string> StreamPrefixes() const override {
    return {"organisation-", "meeting-"};
  }

  absl::Status Apply(const es::RecordedEvent& e,
                     readside::ProjectionTxn* txn) override {
    if (absl::StartsWith(e.stream_id, "organisation-")) {
      return ApplyOrganisation(e, txn);
    }
    if (absl::StartsWith(e.stream_id, "meeting-")) return ApplyMeeting(e, txn);
    return absl::OkStatus();
  }

 private:
  absl::Status ApplyOrganisation(const es::RecordedEvent& e,
                                 readside::ProjectionTxn* txn) {
    const std::string id = e.stream_id.substr(13);
    pb::OrganisationEvent w;
    NCM_RETURN_IF_ERROR(services::DecodeEvent(e, &w));
    const std::string key = absl::StrCat("o/", id);
    NCM_ASSIGN_OR_RETURN(std::optional<std::string> bytes, txn->Get(key));
    pb::Organisation before;
    if (bytes.has_value() && !before.ParseFromString(*bytes)) {
      return absl::DataLossError(absl::StrCat("read model record ", key));
    }
    OrganisationState s = FromView(before);
    stakeholders::Apply(w,
                        services::EventMeta{e.revision, e.position,
                                            services::TimeToDay(e.occurred_at),
                                            e.recorded_at, e.actor,
                                            e.command_id},
                        &s);
    if (!s.exists) return absl::OkStatus();
    const pb::Organisation after = ToView(s, e.revision);
    if (bytes.has_value() && NameKey(before) != NameKey(after)) {
      txn->Delete(NameKey(before));
    }
    txn->Put(NameKey(after), "");
    txn->Put(key, after.SerializeAsString());
    return absl::OkStatus();
  }

  absl::Status ApplyMeeting(const es::RecordedEvent& e,
                            readside::ProjectionTxn* txn) {
    const std::string id = e.stream_id.substr(8);
    rpb::MeetingEvent w;
    NCM_RETURN_IF_ERROR(services::DecodeEvent(e, &w));
    const std::string key = absl::StrCat("m/", id);
    NCM_ASSIGN_OR_RETURN(std::optional<std::string> bytes, txn->Get(key));
    std::string date = bytes.has_value() ? bytes->substr(0, 8) : "";
    int status = 0;
    if (bytes.has_value() && bytes->size() > 9) {
      (void)absl::SimpleAtoi(bytes->substr(9), &status);
    }
    auto day = [](const ncm::common::v1::Date& d) {
      return absl::StrFormat("%04d%02d%02d", d.year(), d.month(), d.day());
    };
    switch (w.event_case()) {
      case rpb::MeetingEvent::kScheduled:
        date = day(w.scheduled().details().date());
        status = rpb::SCHEDULED;
        break;
      case rpb::MeetingEvent::kRescheduled:
        date = day(w.rescheduled().details().date());
        break;
      case rpb::MeetingEvent::kClosed:
        status = rpb::CLOSED;
        break;
      case rpb::MeetingEvent::kCancelled:
        status = rpb::CANCELLED;
        break;
      case rpb::MeetingEvent::kAttendanceRecorded:
        txn->Put(absl::StrCat("a/", w.attendance_recorded().organisation_id(),
                              "/", id),
                 "");
        return absl::OkStatus();
      default:
        return absl::OkStatus();
    }
    txn->Put(key, absl::StrCat(date, " ", status));
    return absl::OkStatus();
  }
};

bool Matches(const pb::ListOrganisationsRequest& r, const pb::Organisation& v) {
  const auto& p = v.profile();
  if (r.kind() != pb::ORGANISATION_KIND_UNSPECIFIED && p.kind() != r.kind()) {
    return false;
  }
  if (r.level() != pb::LEVEL_UNSPECIFIED && p.level() != r.level()) return false;
  if (!r.county_code().empty() && p.county_code() != r.county_code()) {
    return false;
  }
  if (r.role() != pb::MEMBERSHIP_ROLE_UNSPECIFIED && v.role() != r.role()) {
    return false;
  }
  if (r.status() != pb::MEMBERSHIP_STATUS_UNSPECIFIED &&
      v.status() != r.status()) {
    return false;
  }
  if (!r.thematic_area().empty()) {
    bool any = false;
    for (const auto& a : p.thematic_areas()) {
      any |= absl::EqualsIgnoreCase(a, r.thematic_area());
    }
    if (!any) return false;
  }
  return true;
}

}  // namespace

std::unique_ptr<readside::Projection> NewDirectoryProjection() {
  return std::make_unique<DirectoryProjection>();
}

pb::Organisation ToView(const OrganisationState& s, uint64_t revision) {
  pb::Organisation out;
  out.set_organisation_id(s.organisation_id);
  *out.mutable_profile() = s.profile;
  out.set_role(s.role);
  out.set_status(s.status);
  *out.mutable_registered_on() = services::ToProto(s.registered_on);
  for (const MembershipEntry& m : s.history) {
    auto* h = out.add_membership_history();
    *h->mutable_occurred_on() = services::ToProto(m.on);
    h->set_status(m.status);
    h->set_role(m.role);
    h->set_reason(m.reason);
  }
  for (const Appointment& a : s.appointments) {
    auto* f = out.add_focal_points();
    f->set_appointment_id(a.appointment_id);
    f->set_kind(a.kind);
    *f->mutable_from() = services::ToProto(a.from);
    if (a.until.has_value()) *f->mutable_until() = services::ToProto(*a.until);
    f->set_end_reason(a.end_reason);
    f->mutable_person()->set_person_id(a.person_id);
  }
  out.set_revision(revision);
  return out;
}

OrganisationState FromView(const pb::Organisation& v) {
  OrganisationState s;
  s.exists = !v.organisation_id().empty();
  s.organisation_id = v.organisation_id();
  s.profile = v.profile();
  s.role = v.role();
  s.status = v.status();
  s.registered_on = Day(v.registered_on());
  for (const auto& h : v.membership_history()) {
    s.history.push_back({Day(h.occurred_on()), h.status(), h.role(), h.reason()});
  }
  for (const auto& f : v.focal_points()) {
    Appointment a{f.appointment_id(), f.person().person_id(), f.kind(),
                  Day(f.from()), std::nullopt, f.end_reason()};
    if (services::IsSet(f.until())) a.until = Day(f.until());
    s.appointments.push_back(std::move(a));
  }
  return s;
}

absl::StatusOr<pb::ListOrganisationsResponse> ListOrganisations(
    const readside::ReadModelView& view,
    const pb::ListOrganisationsRequest& r) {
  if (r.page_size() < 0 || r.page_size() > 1000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "page_size must be 0 to 1000 (0: 100); got ", r.page_size()));
  }
  const int page_size = r.page_size() == 0 ? 100 : r.page_size();
  std::string start;
  if (!r.page_token().empty()) {
    if (!absl::WebSafeBase64Unescape(r.page_token(), &start) ||
        !absl::StartsWith(start, "n/")) {
      return absl::InvalidArgumentError(
          "page_token is not one this list gave; start again without it");
    }
    start.push_back('\0');
  }
  // Index keys first, records between chunks (no view read in a scan).
  pb::ListOrganisationsResponse out;
  std::string cursor = start, last;
  bool more = false;
  for (bool done = false; !done && !more;) {
    std::vector<std::string> keys;
    NCM_RETURN_IF_ERROR(
        view.Scan("n/", cursor, [&](absl::string_view k, absl::string_view) {
          keys.emplace_back(k);
          return keys.size() < 256;
        }));
    done = keys.size() < 256;
    for (const std::string& key : keys) {
      if (out.organisations_size() == page_size) {
        more = true;
        break;
      }
      last = key;
      NCM_ASSIGN_OR_RETURN(
          std::optional<std::string> bytes,
          view.Get(absl::StrCat("o/", key.substr(key.rfind('/') + 1))));
      pb::Organisation v;
      if (!bytes.has_value() || !v.ParseFromString(*bytes)) continue;
      if (Matches(r, v)) *out.add_organisations() = std::move(v);
    }
    if (!keys.empty()) cursor = keys.back() + std::string(1, '\0');
  }
  if (more) out.set_next_page_token(absl::WebSafeBase64Escape(last));
  return out;
}

absl::StatusOr<pb::GetAttendanceRatesResponse> AttendanceRates(
    const readside::ReadModelView& view, const pb::GetAttendanceRatesRequest& r,
    absl::CivilDay today) {
  absl::CivilDay from(1900, 1, 1), to = today;
  if (services::IsSet(r.from())) {
    NCM_ASSIGN_OR_RETURN(from, services::FromProto(r.from(), "from"));
  }
  if (services::IsSet(r.to())) {
    NCM_ASSIGN_OR_RETURN(to, services::FromProto(r.to(), "to"));
  }
  if (to < from) {
    return absl::InvalidArgumentError("to is before from");
  }
  if (!r.organisation_id().empty()) {
    NCM_RETURN_IF_ERROR(services::CheckUuid(r.organisation_id(), "organisation_id"));
  }
  // Closed meetings within the dates, by day.
  std::map<std::string, absl::CivilDay> held;
  NCM_RETURN_IF_ERROR(
      view.Scan("m/", "", [&](absl::string_view k, absl::string_view v) {
        std::vector<std::string> parts = absl::StrSplit(v, ' ');
        int y, m, d, status;
        if (parts.size() != 2 || parts[0].size() != 8 ||
            !absl::SimpleAtoi(parts[0].substr(0, 4), &y) ||
            !absl::SimpleAtoi(parts[0].substr(4, 2), &m) ||
            !absl::SimpleAtoi(parts[0].substr(6, 2), &d) ||
            !absl::SimpleAtoi(parts[1], &status)) {
          return true;
        }
        const absl::CivilDay day(y, m, d);
        if (status == rpb::CLOSED && day >= from && day <= to) {
          held[std::string(k.substr(2))] = day;
        }
        return true;
      }));
  std::vector<pb::Organisation> orgs;
  NCM_RETURN_IF_ERROR(
      view.Scan("o/", "", [&](absl::string_view, absl::string_view v) {
        pb::Organisation o;
        if (o.ParseFromArray(v.data(), static_cast<int>(v.size())) &&
            (r.organisation_id().empty() ||
             o.organisation_id() == r.organisation_id())) {
          orgs.push_back(std::move(o));
        }
        return true;
      }));
  std::sort(orgs.begin(), orgs.end(), [](const auto& a, const auto& b) {
    return NameKey(a) < NameKey(b);
  });
  pb::GetAttendanceRatesResponse out;
  for (const pb::Organisation& o : orgs) {
    std::vector<std::string> attended_ids;
    NCM_RETURN_IF_ERROR(view.Scan(
        absl::StrCat("a/", o.organisation_id(), "/"), "",
        [&](absl::string_view k, absl::string_view) {
          attended_ids.emplace_back(k.substr(k.rfind('/') + 1));
          return true;
        }));
    const absl::CivilDay since = Day(o.registered_on());
    int64_t n_held = 0, n_attended = 0;
    for (const auto& [meeting, day] : held) {
      if (day < since) continue;
      ++n_held;
      n_attended += std::count(attended_ids.begin(), attended_ids.end(),
                               meeting) > 0;
    }
    auto* rate = out.add_rates();
    rate->set_organisation_id(o.organisation_id());
    rate->set_acronym(o.profile().acronym());
    rate->set_meetings_held(n_held);
    rate->set_meetings_attended(n_attended);
    if (n_held > 0) {
      rate->set_rate_basis_points((n_attended * 20000 + n_held) / (2 * n_held));
    }
  }
  return out;
}

}  // namespace ncm::stakeholders
