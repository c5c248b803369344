#include "ncm/stakeholders/domain.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ncm/services/dates.h"

namespace ncm::stakeholders {

using services::FormatDay;

std::string OrganisationStream(const std::string& id) {
  return "organisation-" + id;
}
std::string PersonStream(const std::string& id) { return "person-" + id; }
std::string WorkingGroupStream(const std::string& id) {
  return "workinggroup-" + id;
}
std::string AcronymStream(const std::string& acronym) {
  return "acronym-" + absl::AsciiStrToUpper(acronym);
}

absl::Status CheckUsable(const OrganisationState& o,
                                absl::string_view field,
                                const std::string& id) {
  if (!o.exists) {
    return absl::NotFoundError(
        absl::StrCat(field, " ", id, ": no such organisation"));
  }
  if (o.status == pb::WITHDRAWN) {
    return absl::FailedPreconditionError(absl::StrCat(
        field, " ", id, " (", o.profile.acronym(),
        ") has WITHDRAWN from the mechanism; reinstate it first or name "
        "another organisation"));
  }
  return absl::OkStatus();
}

std::string StatusName(pb::MembershipStatus s) {
  return pb::MembershipStatus_Name(s);
}

// ---------------------------------------------------------------- apply

const Appointment* OrganisationState::FindAppointment(
    const std::string& id) const {
  for (const Appointment& a : appointments) {
    if (a.appointment_id == id) return &a;
  }
  return nullptr;
}

void Apply(const pb::OrganisationEvent& e, const EventMeta& m,
           OrganisationState* s) {
  auto record = [&](const std::string& reason) {
    s->history.push_back({m.occurred_on, s->status, s->role, reason});
  };
  switch (e.event_case()) {
    case pb::OrganisationEvent::kRegistered:
      s->exists = true;
      s->organisation_id = e.registered().organisation_id();
      s->profile = e.registered().profile();
      s->role = e.registered().role();
      s->status = pb::ACTIVE;
      s->registered_on = m.occurred_on;
      record("registered");
      break;
    case pb::OrganisationEvent::kAmended:
      s->profile = e.amended().profile();
      break;
    case pb::OrganisationEvent::kRoleChanged:
      s->role = e.role_changed().role();
      record("role changed");
      break;
    case pb::OrganisationEvent::kSuspended:
      s->status = pb::SUSPENDED;
      record(e.suspended().reason());
      break;
    case pb::OrganisationEvent::kReinstated:
      s->status = pb::ACTIVE;
      record(e.reinstated().reason());
      break;
    case pb::OrganisationEvent::kWithdrawn:
      s->status = pb::WITHDRAWN;
      record(e.withdrawn().reason());
      break;
    case pb::OrganisationEvent::kFocalPointAppointed: {
      const auto& a = e.focal_point_appointed();
      s->appointments.push_back(
          {a.appointment_id(), a.person_id(), a.kind(), m.occurred_on, {}, ""});
      break;
    }
    case pb::OrganisationEvent::kFocalPointEnded:
      for (Appointment& a : s->appointments) {
        if (a.appointment_id == e.focal_point_ended().appointment_id()) {
          a.until = m.occurred_on;
          a.end_reason = e.focal_point_ended().reason();
        }
      }
      break;
    case pb::OrganisationEvent::EVENT_NOT_SET:
      break;
  }
}

void Apply(const pb::PersonEvent& e, const EventMeta& m, PersonState* s) {
  switch (e.event_case()) {
    case pb::PersonEvent::kRegistered:
      s->exists = true;
      s->person_id = e.registered().person_id();
      s->details = e.registered().details();
      break;
    case pb::PersonEvent::kRectified:
      s->details = e.rectified().details();
      break;
    case pb::PersonEvent::kForgotten:
      s->forgotten = true;
      s->forgotten_on = m.occurred_on;
      break;
    case pb::PersonEvent::EVENT_NOT_SET:
      break;
  }
}

void Apply(const pb::WorkingGroupEvent& e, const EventMeta& m,
           WorkingGroupState* s) {
  switch (e.event_case()) {
    case pb::WorkingGroupEvent::kCreated:
      s->exists = true;
      s->working_group_id = e.created().working_group_id();
      s->name = e.created().name();
      s->mandate = e.created().mandate();
      s->thematic_areas.assign(e.created().thematic_areas().begin(),
                               e.created().thematic_areas().end());
      s->created_on = m.occurred_on;
      break;
    case pb::WorkingGroupEvent::kMemberAdded:
      s->members.push_back(e.member_added().organisation_id());
      break;
    case pb::WorkingGroupEvent::kMemberRemoved: {
      auto& v = s->members;
      v.erase(std::remove(v.begin(), v.end(),
                          e.member_removed().organisation_id()),
              v.end());
      break;
    }
    case pb::WorkingGroupEvent::EVENT_NOT_SET:
      break;
  }
}

void Apply(const pb::AcronymEvent& e, const EventMeta&, AcronymState* s) {
  if (e.has_claimed()) s->holder = e.claimed().organisation_id();
  if (e.has_released()) s->holder.clear();
}

// ----------------------------------------------------------- validation

namespace {

// The code point at `s[*i]` (valid UTF-8, as protobuf checks text fields);
// advances *i past it.
char32_t NextCodePoint(absl::string_view s, size_t* i) {
  const unsigned char c = static_cast<unsigned char>(s[*i]);
  int n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  if (*i + n > s.size()) n = 1;
  char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (int k = 1; k < n; ++k) {
    cp = (cp << 6) | (static_cast<unsigned char>(s[*i + k]) & 0x3F);
  }
  *i += n;
  return cp;
}

// White space and characters that show nothing (zero-width, joiners,
// direction marks, the byte-order mark, soft hyphen): a text made only of
// them is empty, and they are trimmed from both ends.
bool Invisible(char32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f' || c == 0x00A0 || c == 0x00AD || c == 0x034F ||
         c == 0x115F || c == 0x1160 || c == 0x1680 || c == 0x180E ||
         (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) ||
         (c >= 0x205F && c <= 0x206F) || c == 0x3000 || c == 0x3164 ||
         c == 0xFEFF || c == 0xFFA0;
}

}  // namespace

absl::StatusOr<std::string> CleanText(const std::string& text,
                                      const std::string& field, size_t max,
                                      bool required) {
  // Trim what shows nothing from both ends.
  size_t begin = text.size(), end = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t at = i;
    if (!Invisible(NextCodePoint(text, &i))) {
      begin = std::min(begin, at);
      end = i;
    }
  }
  std::string t = begin < end ? text.substr(begin, end - begin) : std::string();
  if (t.empty()) {
    if (required) {
      return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
    }
    return t;
  }
  size_t chars = 0;
  for (size_t i = 0; i < t.size();) {
    const char32_t c = NextCodePoint(t, &i);
    ++chars;
    if (c < 0x20 || (c >= 0x7f && c < 0xA0)) {
      if (c == '\n' && max > 200) continue;  // long text may have lines
      return absl::InvalidArgumentError(
          absl::StrCat(field, " holds a control character; send plain text"));
    }
  }
  if (chars > max) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " has ", chars, " characters; the limit is ", max));
  }
  return t;
}

namespace {

absl::Status CheckAcronym(const std::string& a, const std::string& field) {
  if (a.empty() || a.size() > 20) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must be 1 to 20 characters"));
  }
  for (char c : a) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '&' &&
        c != '.' && c != '-' && c != '/') {
      return absl::InvalidArgumentError(absl::StrCat(
          field, " \"", a,
          "\" may hold letters, digits and & . - / only (e.g. IOM, NCTC)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> CleanAreas(
    const google::protobuf::RepeatedPtrField<std::string>& in,
    const std::string& field) {
  if (in.size() > 30) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " has ", in.size(), " entries; the limit is 30"));
  }
  std::vector<std::string> out;
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < in.size(); ++i) {
    auto t = CleanText(in[i], absl::StrCat(field, "[", i, "]"), 100, true);
    if (!t.ok()) return t.status();
    if (seen.insert(absl::AsciiStrToLower(*t)).second) out.push_back(*t);
  }
  return out;
}

absl::Status Refuse(const OrganisationState& s, absl::string_view what,
                    absl::string_view allowed) {
  return absl::FailedPreconditionError(absl::StrCat(
      "organisation ", s.organisation_id, " is ", StatusName(s.status),
      "; cannot ", what, ". From ", StatusName(s.status), " it can ",
      allowed));
}

absl::string_view Allowed(pb::MembershipStatus s) {
  switch (s) {
    case pb::ACTIVE:
      return "be amended, change role, be suspended or withdrawn, and "
             "appoint or end focal points";
    case pb::SUSPENDED:
      return "be reinstated or withdrawn, be amended, and end focal points";
    case pb::WITHDRAWN:
      return "only be reinstated (re-admitted)";
    default:
      return "nothing";
  }
}

absl::Status MustExist(const OrganisationState& s) {
  if (!s.exists) {
    return absl::NotFoundError(
        "no such organisation; check the organisation_id");
  }
  return absl::OkStatus();
}

// Membership changes are recorded in date order.
absl::Status NotBeforeLastChange(const OrganisationState& s,
                                 absl::CivilDay on) {
  const absl::CivilDay last =
      s.history.empty() ? s.registered_on : s.history.back().on;
  if (on < last) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.occurred_on ", FormatDay(on),
        " is before the organisation's last membership change on ",
        FormatDay(last), "; membership history is recorded in date order"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Reason(const std::string& reason, bool required) {
  return CleanText(reason, "reason", 1000, required);
}

}  // namespace

absl::StatusOr<pb::OrganisationProfile> ValidateProfile(
    const pb::OrganisationProfile& p, const CountyList& counties,
    const std::string& field) {
  pb::OrganisationProfile out;
  auto name = CleanText(p.name(), field + ".name", 200, true);
  if (!name.ok()) return name.status();
  out.set_name(*name);
  std::string acronym(absl::StripAsciiWhitespace(p.acronym()));
  if (absl::Status s = CheckAcronym(acronym, field + ".acronym"); !s.ok()) {
    return s;
  }
  out.set_acronym(acronym);
  if (p.kind() == pb::ORGANISATION_KIND_UNSPECIFIED ||
      !pb::OrganisationKind_IsValid(p.kind())) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".kind must be one of MINISTRY, DEPARTMENT_OR_AGENCY, "
               "COUNTY_GOVERNMENT, CIVIL_SOCIETY, ACADEMIA, FAITH_BASED, "
               "INTERNATIONAL_ORGANISATION, DEVELOPMENT_PARTNER, "
               "PRIVATE_SECTOR"));
  }
  out.set_kind(p.kind());
  if (p.level() == pb::LEVEL_UNSPECIFIED || !pb::Level_IsValid(p.level())) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".level must be COUNTY, NATIONAL, REGIONAL or INTERNATIONAL"));
  }
  out.set_level(p.level());
  std::string county(absl::StripAsciiWhitespace(p.county_code()));
  const bool needs_county =
      p.level() == pb::COUNTY || p.kind() == pb::COUNTY_GOVERNMENT;
  if (county.empty() && needs_county) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".county_code is required for a county-level organisation or "
               "a county government; ListCounties gives the codes"));
  }
  if (!county.empty() && counties.Find(county) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".county_code \"", county.substr(0, 16),
        "\" is not in the county list; ListCounties gives the codes (e.g. "
        "047 for Nairobi City in Kenya's list)"));
  }
  out.set_county_code(county);
  auto areas = CleanAreas(p.thematic_areas(), field + ".thematic_areas");
  if (!areas.ok()) return areas.status();
  for (auto& a : *areas) out.add_thematic_areas(std::move(a));
  return out;
}

absl::StatusOr<pb::PersonDetails> ValidatePersonDetails(
    const pb::PersonDetails& d, const std::string& field) {
  pb::PersonDetails out;
  auto name = CleanText(d.full_name(), field + ".full_name", 200, true);
  if (!name.ok()) return name.status();
  out.set_full_name(*name);
  auto title = CleanText(d.title(), field + ".title", 200, false);
  if (!title.ok()) return title.status();
  out.set_title(*title);
  auto phone = CleanText(d.phone(), field + ".phone", 32, false);
  if (!phone.ok()) return phone.status();
  for (char c : *phone) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '+' &&
        c != ' ' && c != '-' && c != '(' && c != ')') {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".phone may hold digits, spaces and + - ( ) only, e.g. "
                 "+254 20 1234567"));
    }
  }
  out.set_phone(*phone);
  auto email = CleanText(d.email(), field + ".email", 254, false);
  if (!email.ok()) return email.status();
  if (!email->empty()) {
    const size_t at = email->find('@');
    if (at == std::string::npos || at == 0 || at + 1 >= email->size() ||
        email->find('.', at) == std::string::npos ||
        email->find(' ') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".email is not an e-mail address (name@example.org)"));
    }
  }
  out.set_email(*email);
  return out;
}

// ---------------------------------------------------------- organisation

absl::StatusOr<OrganisationEvents> DecideRegister(
    const OrganisationState& s, const std::string& organisation_id,
    const pb::OrganisationProfile& profile, pb::MembershipRole role,
    const CountyList& counties) {
  if (s.exists) {
    return absl::AlreadyExistsError(absl::StrCat(
        "organisation ", organisation_id, " is already registered"));
  }
  auto p = ValidateProfile(profile, counties, "profile");
  if (!p.ok()) return p.status();
  if (role == pb::MEMBERSHIP_ROLE_UNSPECIFIED ||
      !pb::MembershipRole_IsValid(role)) {
    return absl::InvalidArgumentError(
        "role must be MEMBER, PARTNER or OBSERVER");
  }
  pb::OrganisationEvent e;
  auto* r = e.mutable_registered();
  r->set_organisation_id(organisation_id);
  *r->mutable_profile() = std::move(*p);
  r->set_role(role);
  return OrganisationEvents{std::move(e)};
}

absl::StatusOr<OrganisationEvents> DecideAmend(
    const OrganisationState& s, const pb::OrganisationProfile& changes,
    const std::vector<std::string>& update_mask, const CountyList& counties) {
  if (absl::Status st = MustExist(s); !st.ok()) return st;
  if (s.status == pb::WITHDRAWN) {
    return Refuse(s, "be amended", Allowed(s.status));
  }
  if (update_mask.empty()) {
    return absl::InvalidArgumentError(
        "update_mask is empty; name the fields to change: name, acronym, "
        "kind, level, county_code, thematic_areas");
  }
  pb::OrganisationProfile next = s.profile;
  std::vector<std::string> changed;
  for (const std::string& f : update_mask) {
    if (f == "name") {
      next.set_name(changes.name());
    } else if (f == "acronym") {
      next.set_acronym(changes.acronym());
    } else if (f == "kind") {
      next.set_kind(changes.kind());
    } else if (f == "level") {
      next.set_level(changes.level());
    } else if (f == "county_code") {
      next.set_county_code(changes.county_code());
    } else if (f == "thematic_areas") {
      *next.mutable_thematic_areas() = changes.thematic_areas();
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "update_mask names \"", f.substr(0, 40),
          "\", which is not a profile field; use name, acronym, kind, level, "
          "county_code or thematic_areas"));
    }
  }
  auto p = ValidateProfile(next, counties, "profile");
  if (!p.ok()) return p.status();
  for (const std::string& f : update_mask) {
    const auto* fd = pb::OrganisationProfile::descriptor()->FindFieldByName(f);
    const auto* refl = pb::OrganisationProfile::GetReflection();
    bool differs;
    if (fd->is_repeated()) {
      differs = p->thematic_areas_size() != s.profile.thematic_areas_size() ||
                !std::equal(p->thematic_areas().begin(),
                            p->thematic_areas().end(),
                            s.profile.thematic_areas().begin());
    } else if (fd->type() == google::protobuf::FieldDescriptor::TYPE_ENUM) {
      differs = refl->GetEnumValue(*p, fd) != refl->GetEnumValue(s.profile, fd);
    } else {
      differs = refl->GetString(*p, fd) != refl->GetString(s.profile, fd);
    }
    if (differs && std::find(changed.begin(), changed.end(), f) == changed.end()) {
      changed.push_back(f);
    }
  }
  if (changed.empty()) return OrganisationEvents{};  // nothing changes
  pb::OrganisationEvent e;
  *e.mutable_amended()->mutable_profile() = std::move(*p);
  for (auto& f : changed) e.mutable_amended()->add_changed_fields(f);
  return OrganisationEvents{std::move(e)};
}

absl::StatusOr<OrganisationEvents> DecideChangeRole(const OrganisationState& s,
                                                    pb::MembershipRole role,
                                                    absl::CivilDay on) {
  if (absl::Status st = MustExist(s); !st.ok()) return st;
  if (role == pb::MEMBERSHIP_ROLE_UNSPECIFIED ||
      !pb::MembershipRole_IsValid(role)) {
    return absl::InvalidArgumentError(
        "role must be MEMBER, PARTNER or OBSERVER");
  }
  if (s.status != pb::ACTIVE) {
    return Refuse(s, "change its membership role", Allowed(s.status));
  }
  if (absl::Status st = NotBeforeLastChange(s, on); !st.ok()) return st;
  if (role == s.role) return OrganisationEvents{};
  pb::OrganisationEvent e;
  e.mutable_role_changed()->set_role(role);
  e.mutable_role_changed()->set_previous_role(s.role);
  return OrganisationEvents{std::move(e)};
}

absl::StatusOr<OrganisationEvents> DecideSuspend(const OrganisationState& s,
                                                 const std::string& reason,
                                                 absl::CivilDay on) {
  if (absl::Status st = MustExist(s); !st.ok()) return st;
  if (s.status != pb::ACTIVE) return Refuse(s, "be suspended", Allowed(s.status));
  auto r = Reason(reason, true);
  if (!r.ok()) return r.status();
  if (absl::Status st = NotBeforeLastChange(s, on); !st.ok()) return st;
  pb::OrganisationEvent e;
  e.mutable_suspended()->set_reason(*r);
  return OrganisationEvents{std::move(e)};
}

absl::StatusOr<OrganisationEvents> DecideReinstate(const OrganisationState& s,
                                                   const std::string& reason,
                                                   absl::CivilDay on) {
  if (absl::Status st = MustExist(s); !st.ok()) return st;
  if (s.status == pb::ACTIVE) {
    return Refuse(s, "be reinstated", Allowed(s.status));
  }
  auto r = Reason(reason, false);
  if (!r.ok()) return r.status();
  if (absl::Status st = NotBeforeLastChange(s, on); !st.ok()) return st;
  pb::OrganisationEvent e;
  e.mutable_reinstated()->set_reason(*r);
  return OrganisationEvents{std::move(e)};
}

absl::StatusOr<OrganisationEvents> DecideWithdraw(const OrganisationState& s,
                                                  const std::string& reason,
                                                  absl::CivilDay on) {
  if (absl::Status st = MustExist(s); !st.ok()) return st;
  if (s.status == pb::WITHDRAWN) {
    return Refuse(s, "be withdrawn", Allowed(s.status));
  }
  auto r = Reason(reason, true);
  if (!r.ok()) return r.status();
  if (absl::Status st = NotBeforeLastChange(s, on); !st.ok()) return st;
  OrganisationEvents out;
  // A withdrawn organisation keeps no focal points: each open appointment
  // ends on the withdrawal's day, which cannot come before it began.
  for (const Appointment& a : s.appointments) {
    if (!a.until.has_value() && on < a.from) {
      return absl::InvalidArgumentError(absl::StrCat(
          "options.occurred_on ", FormatDay(on),
          " is before focal-point appointment ", a.appointment_id,
          " began (", FormatDay(a.from),
          "), which the withdrawal would end; date it on or after ",
          FormatDay(a.from)));
    }
  }
  for (const Appointment& a : s.appointments) {
    if (a.until.has_value()) continue;
    pb::OrganisationEvent end;
    end.mutable_focal_point_ended()->set_appointment_id(a.appointment_id);
    end.mutable_focal_point_ended()->set_person_id(a.person_id);
    end.mutable_focal_point_ended()->set_reason("organisation withdrew");
    out.push_back(std::move(end));
  }
  pb::OrganisationEvent e;
  e.mutable_withdrawn()->set_reason(*r);
  out.push_back(std::move(e));
  return out;
}

absl::StatusOr<OrganisationEvents> DecideAppoint(
    const OrganisationState& s, const std::string& appointment_id,
    const PersonState& person, pb::FocalPointKind kind, absl::CivilDay on) {
  if (absl::Status st = MustExist(s); !st.ok()) return st;
  if (s.status != pb::ACTIVE) {
    return Refuse(s, "appoint a focal point", Allowed(s.status));
  }
  if (!person.exists) {
    return absl::NotFoundError("no such person; check person_id");
  }
  if (person.forgotten) {
    return absl::FailedPreconditionError(absl::StrCat(
        "person ", person.person_id,
        " was forgotten (erased); register the person again"));
  }
  if (kind == pb::FOCAL_POINT_KIND_UNSPECIFIED ||
      !pb::FocalPointKind_IsValid(kind)) {
    return absl::InvalidArgumentError("kind must be PRIMARY or ALTERNATE");
  }
  if (on < s.registered_on) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.occurred_on ", FormatDay(on),
        " is before the organisation was registered on ",
        FormatDay(s.registered_on)));
  }
  for (const Appointment& a : s.appointments) {
    if (a.person_id == person.person_id && !a.until.has_value()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "person ", person.person_id,
          " is already a focal point of this organisation (appointment ",
          a.appointment_id, " since ", FormatDay(a.from),
          "); end it first to change the kind"));
    }
  }
  if (s.FindAppointment(appointment_id) != nullptr) {
    return absl::AlreadyExistsError(
        absl::StrCat("appointment ", appointment_id, " already exists"));
  }
  pb::OrganisationEvent e;
  auto* a = e.mutable_focal_point_appointed();
  a->set_appointment_id(appointment_id);
  a->set_person_id(person.person_id);
  a->set_kind(kind);
  return OrganisationEvents{std::move(e)};
}

absl::StatusOr<OrganisationEvents> DecideEndAppointment(
    const OrganisationState& s, const std::string& appointment_id,
    const std::string& reason, absl::CivilDay on) {
  if (absl::Status st = MustExist(s); !st.ok()) return st;
  const Appointment* a = s.FindAppointment(appointment_id);
  if (a == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "organisation ", s.organisation_id, " has no appointment ",
        appointment_id));
  }
  if (a->until.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "appointment ", appointment_id, " already ended on ",
        FormatDay(*a->until)));
  }
  if (on < a->from) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.occurred_on ", FormatDay(on),
        " is before the appointment began on ", FormatDay(a->from)));
  }
  auto r = Reason(reason, false);
  if (!r.ok()) return r.status();
  pb::OrganisationEvent e;
  auto* end = e.mutable_focal_point_ended();
  end->set_appointment_id(appointment_id);
  end->set_person_id(a->person_id);
  end->set_reason(*r);
  return OrganisationEvents{std::move(e)};
}

// ---------------------------------------------------------------- person

absl::StatusOr<PersonEvents> DecideRegisterPerson(
    const PersonState& s, const std::string& person_id,
    const ncm::common::v1::Sealed& details) {
  if (s.exists) {
    return absl::AlreadyExistsError(
        absl::StrCat("person ", person_id, " is already registered"));
  }
  pb::PersonEvent e;
  e.mutable_registered()->set_person_id(person_id);
  *e.mutable_registered()->mutable_details() = details;
  return PersonEvents{std::move(e)};
}

absl::StatusOr<PersonEvents> DecideRectifyPerson(
    const PersonState& s, const ncm::common::v1::Sealed& details) {
  if (!s.exists) return absl::NotFoundError("no such person; check person_id");
  if (s.forgotten) {
    return absl::FailedPreconditionError(absl::StrCat(
        "person ", s.person_id, " was forgotten on ",
        FormatDay(s.forgotten_on), "; their details cannot be changed"));
  }
  pb::PersonEvent e;
  *e.mutable_rectified()->mutable_details() = details;
  return PersonEvents{std::move(e)};
}

absl::StatusOr<PersonEvents> DecideForgetPerson(const PersonState& s,
                                                const std::string& reason) {
  if (!s.exists) return absl::NotFoundError("no such person; check person_id");
  if (s.forgotten) {
    return absl::FailedPreconditionError(absl::StrCat(
        "person ", s.person_id, " was already forgotten on ",
        FormatDay(s.forgotten_on)));
  }
  auto r = Reason(reason, true);
  if (!r.ok()) return r.status();
  pb::PersonEvent e;
  e.mutable_forgotten()->set_reason(*r);
  return PersonEvents{std::move(e)};
}

// ---------------------------------------------------------- working group

absl::StatusOr<WorkingGroupEvents> DecideCreateWorkingGroup(
    const WorkingGroupState& s, const std::string& id, const std::string& name,
    const std::string& mandate, const std::vector<std::string>& areas) {
  if (s.exists) {
    return absl::AlreadyExistsError(
        absl::StrCat("working group ", id, " already exists"));
  }
  auto n = CleanText(name, "name", 200, true);
  if (!n.ok()) return n.status();
  auto m = CleanText(mandate, "mandate", 2000, false);
  if (!m.ok()) return m.status();
  google::protobuf::RepeatedPtrField<std::string> in(areas.begin(), areas.end());
  auto a = CleanAreas(in, "thematic_areas");
  if (!a.ok()) return a.status();
  pb::WorkingGroupEvent e;
  auto* c = e.mutable_created();
  c->set_working_group_id(id);
  c->set_name(*n);
  c->set_mandate(*m);
  for (auto& t : *a) c->add_thematic_areas(std::move(t));
  return WorkingGroupEvents{std::move(e)};
}

absl::StatusOr<WorkingGroupEvents> DecideAddMember(
    const WorkingGroupState& s, const OrganisationState& org) {
  if (!s.exists) {
    return absl::NotFoundError(
        "no such working group; check working_group_id");
  }
  if (!org.exists) {
    return absl::NotFoundError(
        "no such organisation; check organisation_id");
  }
  if (org.status == pb::WITHDRAWN) {
    return absl::FailedPreconditionError(absl::StrCat(
        "organisation ", org.organisation_id,
        " is WITHDRAWN; only member organisations can join a working group"));
  }
  if (std::find(s.members.begin(), s.members.end(), org.organisation_id) !=
      s.members.end()) {
    return WorkingGroupEvents{};  // already a member: nothing to record
  }
  if (s.members.size() >= 500) {
    return absl::ResourceExhaustedError(
        "a working group has at most 500 members");
  }
  pb::WorkingGroupEvent e;
  e.mutable_member_added()->set_organisation_id(org.organisation_id);
  return WorkingGroupEvents{std::move(e)};
}

absl::StatusOr<WorkingGroupEvents> DecideRemoveMember(
    const WorkingGroupState& s, const std::string& organisation_id,
    const std::string& reason) {
  if (!s.exists) {
    return absl::NotFoundError(
        "no such working group; check working_group_id");
  }
  if (std::find(s.members.begin(), s.members.end(), organisation_id) ==
      s.members.end()) {
    return absl::NotFoundError(absl::StrCat(
        "organisation ", organisation_id, " is not a member of working group ",
        s.working_group_id));
  }
  auto r = Reason(reason, false);
  if (!r.ok()) return r.status();
  pb::WorkingGroupEvent e;
  e.mutable_member_removed()->set_organisation_id(organisation_id);
  e.mutable_member_removed()->set_reason(*r);
  return WorkingGroupEvents{std::move(e)};
}

absl::StatusOr<std::vector<pb::AcronymEvent>> DecideClaimAcronym(
    const AcronymState& s, const std::string& acronym,
    const std::string& organisation_id) {
  if (s.holder == organisation_id) return std::vector<pb::AcronymEvent>{};
  if (!s.holder.empty()) {
    return absl::AlreadyExistsError(absl::StrCat(
        "acronym \"", acronym, "\" is held by active organisation ", s.holder,
        "; choose another, or withdraw that organisation first"));
  }
  pb::AcronymEvent e;
  e.mutable_claimed()->set_acronym(acronym);
  e.mutable_claimed()->set_organisation_id(organisation_id);
  return std::vector<pb::AcronymEvent>{std::move(e)};
}

absl::StatusOr<std::vector<pb::AcronymEvent>> DecideReleaseAcronym(
    const AcronymState& s, const std::string& acronym,
    const std::string& organisation_id) {
  if (s.holder != organisation_id) return std::vector<pb::AcronymEvent>{};
  pb::AcronymEvent e;
  e.mutable_released()->set_acronym(acronym);
  e.mutable_released()->set_organisation_id(organisation_id);
  return std::vector<pb::AcronymEvent>{std::move(e)};
}

}  // namespace ncm::stakeholders
