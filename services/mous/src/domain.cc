#include "ncm/mous/domain.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ncm/services/dates.h"
#include "ncm/services/ids.h"

namespace ncm::mous {

using services::FormatDay;
using stakeholders::CheckUsable;
using stakeholders::CleanText;

std::string MouStream(const std::string& id) { return "mou-" + id; }

std::string StatusName(pb::MouStatus s) { return pb::MouStatus_Name(s); }

namespace {

absl::Status Invalid(absl::string_view field, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat(field, " ", rule));
}

absl::CivilDay Day(const ncm::common::v1::Date& d) {
  return absl::CivilDay(d.year(), d.month(), d.day());
}

absl::string_view Allowed(pb::MouStatus s) {
  switch (s) {
    case pb::DRAFT:
      return "be amended, submitted for legal review or terminated";
    case pb::IN_LEGAL_REVIEW:
      return "take the review's outcome (approved, or changes requested) "
             "or be terminated";
    case pb::APPROVED:
      return "be signed by each party (ACTIVE with the last signature) or "
             "terminated";
    case pb::ACTIVE:
      return "record deliveries, be renewed or terminated";
    default:
      return "nothing: it is final";
  }
}

absl::Status Require(const MouState& s, std::initializer_list<pb::MouStatus> in,
                     absl::string_view what) {
  if (!s.exists) return absl::NotFoundError("no such MOU; check the mou_id");
  for (pb::MouStatus st : in) {
    if (s.status == st) return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "MOU ", s.mou_id, " is ", StatusName(s.status), "; it cannot ", what,
      ". From ", StatusName(s.status), " it can ", Allowed(s.status)));
}

absl::Status NotBeforeLastChange(const MouState& s, absl::CivilDay on) {
  if (on < s.last_change_on) {
    return Invalid("options.occurred_on",
                   absl::StrCat(FormatDay(on), " is before the MOU's last "
                                "change (", FormatDay(s.last_change_on),
                                "); record changes in date order"));
  }
  return absl::OkStatus();
}

bool ValidCode(const std::string& c) {
  if (c.empty() || c.size() > 64) return false;
  for (char ch : c) {
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<std::pair<absl::CivilDay, absl::CivilDay>> PeriodBounds(
    pb::Frequency f, const pb::Period& p, const std::string& field) {
  if (p.year() < 1900 || p.year() > 9999) {
    return Invalid(field + ".year", absl::StrCat("must be 1900 to 9999; got ",
                                                 p.year()));
  }
  switch (f) {
    case pb::MONTHLY:
      if (p.number() < 1 || p.number() > 12) {
        return Invalid(field + ".number",
                       absl::StrCat("must be a month, 1 to 12, for a monthly "
                                    "dataset; got ", p.number()));
      }
      return std::make_pair(
          absl::CivilDay(p.year(), p.number(), 1),
          absl::CivilDay(absl::CivilMonth(p.year(), p.number()) + 1) - 1);
    case pb::QUARTERLY:
      if (p.number() < 1 || p.number() > 4) {
        return Invalid(field + ".number",
                       absl::StrCat("must be a quarter, 1 to 4, for a "
                                    "quarterly dataset; got ", p.number()));
      }
      return std::make_pair(
          absl::CivilDay(p.year(), 3 * p.number() - 2, 1),
          absl::CivilDay(absl::CivilMonth(p.year(), 3 * p.number()) + 1) - 1);
    case pb::ANNUAL:
      if (p.number() != 1) {
        return Invalid(field + ".number",
                       absl::StrCat("must be 1 for an annual dataset; got ",
                                    p.number()));
      }
      return std::make_pair(absl::CivilDay(p.year(), 1, 1),
                            absl::CivilDay(p.year(), 12, 31));
    default:
      return absl::InternalError("dataset without a frequency");
  }
}

// ---------------------------------------------------------------- state

absl::CivilDay MouState::ValidFrom() const { return Day(terms.valid_from()); }
absl::CivilDay MouState::ValidUntil() const { return Day(terms.valid_until()); }

bool MouState::InForce(absl::CivilDay day) const {
  return InForceDuring(day, day);
}

bool MouState::InForceDuring(absl::CivilDay first, absl::CivilDay last) const {
  for (const auto& [from, until] : windows) {
    if (first <= until && last >= from) return true;
  }
  return false;
}

pb::MouStatus MouState::StatusAsOf(absl::CivilDay as_of) const {
  if (status == pb::ACTIVE && as_of >= ValidFrom() && !InForce(as_of)) {
    return pb::EXPIRED;
  }
  return status;
}

namespace {

bool SamePeriod(const pb::DeliveryRecorded& a, const pb::DeliveryRecorded& b) {
  return a.dataset_code() == b.dataset_code() &&
         a.period().year() == b.period().year() &&
         a.period().number() == b.period().number();
}

}  // namespace

bool MouState::IsRedelivery(const DeliveryEntry& d) const {
  bool before = true;  // `other` was recorded before d
  for (const DeliveryEntry& other : deliveries) {
    if (&other == &d) {
      before = false;
      continue;
    }
    if (!SamePeriod(other.delivery, d.delivery)) continue;
    if (other.received_on < d.received_on ||
        (before && other.received_on == d.received_on)) {
      return true;
    }
  }
  return false;
}

const pb::Dataset* MouState::FindDataset(const std::string& code) const {
  for (const pb::Dataset& d : terms.datasets()) {
    if (d.code() == code) return &d;
  }
  return nullptr;
}

bool MouState::HasSigned(const std::string& org) const {
  for (const auto& sig : signatures) {
    if (sig.organisation_id == org) return true;
  }
  return false;
}

bool MouState::IsParty(const std::string& org) const {
  for (const pb::Party& p : terms.parties()) {
    if (p.organisation_id() == org) return true;
  }
  return false;
}

void Apply(const pb::MouEvent& e, const EventMeta& m, MouState* s) {
  auto change = [&](pb::MouStatus to) {
    s->status = to;
    s->last_change_on = m.occurred_on;
  };
  switch (e.event_case()) {
    case pb::MouEvent::kDrafted:
      s->exists = true;
      s->mou_id = e.drafted().mou_id();
      s->terms = e.drafted().terms();
      s->drafted_on = m.occurred_on;
      s->windows = {{s->ValidFrom(), s->ValidUntil()}};
      change(pb::DRAFT);
      break;
    case pb::MouEvent::kAmended:
      s->terms = e.amended().terms();
      s->windows = {{s->ValidFrom(), s->ValidUntil()}};
      break;
    case pb::MouEvent::kSubmitted:
      change(pb::IN_LEGAL_REVIEW);
      break;
    case pb::MouEvent::kReviewed:
      s->last_review_note = e.reviewed().note();
      change(e.reviewed().outcome() == pb::REVIEW_APPROVED ? pb::APPROVED
                                                           : pb::DRAFT);
      break;
    case pb::MouEvent::kSigned:
      s->signatures.push_back({e.signed_().organisation_id(),
                               e.signed_().signatory_person_id(),
                               m.occurred_on});
      s->last_change_on = m.occurred_on;
      break;
    case pb::MouEvent::kActivated:
      s->activated_on = m.occurred_on;
      change(pb::ACTIVE);
      break;
    case pb::MouEvent::kRenewed: {
      *s->terms.mutable_valid_until() = e.renewed().valid_until();
      s->last_change_on = m.occurred_on;
      const absl::CivilDay until = s->ValidUntil();
      if (s->windows.empty() || m.occurred_on <= s->windows.back().second + 1) {
        // Renewed while in force (or the day after it ended): extended.
        if (s->windows.empty()) s->windows.push_back({s->ValidFrom(), until});
        s->windows.back().second = until;
      } else {
        // Renewed after it lapsed: in force again from the renewal's day.
        s->windows.push_back({m.occurred_on, until});
      }
      break;
    }
    case pb::MouEvent::kTerminated:
      s->termination_reason = e.terminated().reason();
      change(pb::TERMINATED);
      break;
    case pb::MouEvent::kDeliveryRecorded:
      s->deliveries.push_back({e.delivery_recorded(), m.occurred_on,
                               m.recorded_at});
      break;
    case pb::MouEvent::EVENT_NOT_SET:
      break;
  }
}

// -------------------------------------------------------------- decide

absl::StatusOr<pb::MouTerms> ValidateTerms(const pb::MouTerms& t,
                                           const Organisations& orgs,
                                           const std::string& field) {
  pb::MouTerms out;
  NCM_ASSIGN_OR_RETURN(std::string title,
                       CleanText(t.title(), field + ".title", 200, true));
  out.set_title(title);

  absl::flat_hash_set<std::string> parties;
  std::vector<std::string> providers;
  int secretariats = 0;
  for (int i = 0; i < t.parties_size(); ++i) {
    const pb::Party& p = t.parties(i);
    const std::string f = absl::StrCat(field, ".parties[", i, "]");
    NCM_RETURN_IF_ERROR(
        services::CheckUuid(p.organisation_id(), f + ".organisation_id"));
    auto it = orgs.find(p.organisation_id());
    static const OrganisationState kMissing;
    NCM_RETURN_IF_ERROR(CheckUsable(it == orgs.end() ? kMissing : it->second,
                                    f + ".organisation_id",
                                    p.organisation_id()));
    if (!parties.insert(p.organisation_id()).second) {
      return Invalid(f + ".organisation_id",
                     "repeats a party already named");
    }
    if (p.role() == pb::SECRETARIAT) {
      ++secretariats;
    } else if (p.role() == pb::PROVIDER) {
      providers.push_back(p.organisation_id());
    } else {
      return Invalid(f + ".role", "must be SECRETARIAT or PROVIDER");
    }
    *out.add_parties() = p;
  }
  if (secretariats != 1) {
    return Invalid(field + ".parties",
                   absl::StrCat("must name exactly one SECRETARIAT party; "
                                "names ", secretariats));
  }
  if (providers.empty()) {
    return Invalid(field + ".parties", "must name at least one PROVIDER");
  }

  if (t.datasets_size() == 0) {
    return Invalid(field + ".datasets", "must name at least one dataset");
  }
  absl::flat_hash_set<std::string> codes;
  for (int i = 0; i < t.datasets_size(); ++i) {
    const pb::Dataset& d = t.datasets(i);
    const std::string f = absl::StrCat(field, ".datasets[", i, "]");
    if (!ValidCode(d.code())) {
      return Invalid(f + ".code",
                     absl::StrCat("\"", d.code(), "\" must be 1 to 64 lower-"
                                  "case letters, digits or '-'"));
    }
    if (!codes.insert(d.code()).second) {
      return Invalid(f + ".code", absl::StrCat("repeats \"", d.code(), "\""));
    }
    pb::Dataset& o = *out.add_datasets();
    o.set_code(d.code());
    NCM_ASSIGN_OR_RETURN(std::string name,
                         CleanText(d.name(), f + ".name", 200, true));
    o.set_name(name);
    if (d.frequency() != pb::MONTHLY && d.frequency() != pb::QUARTERLY &&
        d.frequency() != pb::ANNUAL) {
      return Invalid(f + ".frequency", "must be MONTHLY, QUARTERLY or ANNUAL");
    }
    o.set_frequency(d.frequency());
    if (d.due_offset_days() < 0 || d.due_offset_days() > 366) {
      return Invalid(f + ".due_offset_days",
                     absl::StrCat("must be 0 to 366; got ",
                                  d.due_offset_days()));
    }
    o.set_due_offset_days(d.due_offset_days());
    std::string provider = d.provider_organisation_id();
    if (provider.empty()) {
      if (providers.size() != 1) {
        return Invalid(f + ".provider_organisation_id",
                       "is required when the MOU has several providers");
      }
      provider = providers[0];
    } else if (std::find(providers.begin(), providers.end(), provider) ==
               providers.end()) {
      return Invalid(f + ".provider_organisation_id",
                     absl::StrCat(provider, " is not a PROVIDER party of "
                                  "this MOU"));
    }
    o.set_provider_organisation_id(provider);
  }

  NCM_ASSIGN_OR_RETURN(std::string purpose,
                       CleanText(t.purpose(), field + ".purpose", 4000, true));
  out.set_purpose(purpose);
  NCM_ASSIGN_OR_RETURN(
      std::string basis,
      CleanText(t.legal_basis(), field + ".legal_basis", 4000, true));
  out.set_legal_basis(basis);
  NCM_ASSIGN_OR_RETURN(std::string dp,
                       CleanText(t.data_protection_terms(),
                                 field + ".data_protection_terms", 8000, true));
  out.set_data_protection_terms(dp);

  for (const char* name : {"valid_from", "valid_until"}) {
    const auto& d = std::string(name) == "valid_from" ? t.valid_from()
                                                      : t.valid_until();
    if (!services::IsSet(d)) return Invalid(field + "." + name, "is required");
    NCM_ASSIGN_OR_RETURN(absl::CivilDay day,
                         services::FromProto(d, field + "." + name));
    (std::string(name) == "valid_from" ? *out.mutable_valid_from()
                                       : *out.mutable_valid_until()) =
        services::ToProto(day);
  }
  if (Day(out.valid_until()) < Day(out.valid_from())) {
    return Invalid(field + ".valid_until",
                   absl::StrCat(FormatDay(Day(out.valid_until())),
                                " is before valid_from (",
                                FormatDay(Day(out.valid_from())), ")"));
  }
  return out;
}

absl::StatusOr<MouEvents> DecideDraft(const MouState& s, const std::string& id,
                                      const pb::MouTerms& terms,
                                      const Organisations& orgs) {
  if (s.exists) {
    return absl::AlreadyExistsError(absl::StrCat("MOU ", id, " exists"));
  }
  NCM_ASSIGN_OR_RETURN(pb::MouTerms t, ValidateTerms(terms, orgs, "terms"));
  MouEvents out(1);
  out[0].mutable_drafted()->set_mou_id(id);
  *out[0].mutable_drafted()->mutable_terms() = std::move(t);
  return out;
}

absl::StatusOr<MouEvents> DecideAmend(const MouState& s,
                                      const pb::MouTerms& terms,
                                      const Organisations& orgs,
                                      const std::string& note) {
  NCM_RETURN_IF_ERROR(Require(s, {pb::DRAFT}, "be amended"));
  NCM_ASSIGN_OR_RETURN(pb::MouTerms t, ValidateTerms(terms, orgs, "terms"));
  NCM_ASSIGN_OR_RETURN(std::string n, CleanText(note, "note", 1000, false));
  if (t.SerializeAsString() == s.terms.SerializeAsString()) return MouEvents{};
  MouEvents out(1);
  *out[0].mutable_amended()->mutable_terms() = std::move(t);
  out[0].mutable_amended()->set_note(n);
  return out;
}

absl::StatusOr<MouEvents> DecideSubmit(const MouState& s,
                                       const std::string& note,
                                       absl::CivilDay on) {
  NCM_RETURN_IF_ERROR(Require(s, {pb::DRAFT}, "be submitted for legal review"));
  NCM_RETURN_IF_ERROR(NotBeforeLastChange(s, on));
  NCM_ASSIGN_OR_RETURN(std::string n, CleanText(note, "reason", 1000, false));
  MouEvents out(1);
  out[0].mutable_submitted()->set_note(n);
  return out;
}

absl::StatusOr<MouEvents> DecideReview(const MouState& s,
                                       pb::ReviewOutcome outcome,
                                       const std::string& note,
                                       absl::CivilDay on) {
  NCM_RETURN_IF_ERROR(
      Require(s, {pb::IN_LEGAL_REVIEW}, "take a legal review's outcome"));
  NCM_RETURN_IF_ERROR(NotBeforeLastChange(s, on));
  if (outcome != pb::REVIEW_APPROVED && outcome != pb::CHANGES_REQUESTED) {
    return Invalid("outcome", "must be REVIEW_APPROVED or CHANGES_REQUESTED");
  }
  NCM_ASSIGN_OR_RETURN(
      std::string n,
      CleanText(note, "note", 4000, outcome == pb::CHANGES_REQUESTED));
  MouEvents out(1);
  out[0].mutable_reviewed()->set_outcome(outcome);
  out[0].mutable_reviewed()->set_note(n);
  return out;
}

absl::StatusOr<MouEvents> DecideSign(const MouState& s,
                                     const std::string& org,
                                     const std::string& person_id,
                                     const PersonState& signatory,
                                     absl::CivilDay on) {
  NCM_RETURN_IF_ERROR(Require(s, {pb::APPROVED}, "be signed"));
  NCM_RETURN_IF_ERROR(NotBeforeLastChange(s, on));
  if (!s.IsParty(org)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "organisation ", org, " is not a party to MOU ", s.mou_id));
  }
  if (s.HasSigned(org)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "organisation ", org, " has already signed MOU ", s.mou_id));
  }
  if (!signatory.exists) {
    return absl::NotFoundError(
        absl::StrCat("signatory_person_id ", person_id, ": no such person"));
  }
  if (signatory.forgotten) {
    return absl::FailedPreconditionError(absl::StrCat(
        "person ", person_id, " has been forgotten (erased); name a "
        "current signatory"));
  }
  MouEvents out(1);
  out[0].mutable_signed_()->set_organisation_id(org);
  out[0].mutable_signed_()->set_signatory_person_id(person_id);
  if (s.signatures.size() + 1 ==
      static_cast<size_t>(s.terms.parties_size())) {
    out.emplace_back().mutable_activated();
  }
  return out;
}

absl::StatusOr<MouEvents> DecideRenew(const MouState& s,
                                      absl::CivilDay valid_until,
                                      const std::string& note,
                                      absl::CivilDay on) {
  NCM_RETURN_IF_ERROR(Require(s, {pb::ACTIVE}, "be renewed"));
  NCM_RETURN_IF_ERROR(NotBeforeLastChange(s, on));
  if (valid_until <= s.ValidUntil()) {
    return Invalid("valid_until",
                   absl::StrCat(FormatDay(valid_until), " must be after the "
                                "current end (", FormatDay(s.ValidUntil()),
                                ")"));
  }
  NCM_ASSIGN_OR_RETURN(std::string n, CleanText(note, "note", 1000, false));
  MouEvents out(1);
  *out[0].mutable_renewed()->mutable_valid_until() =
      services::ToProto(valid_until);
  *out[0].mutable_renewed()->mutable_previous_valid_until() =
      s.terms.valid_until();
  out[0].mutable_renewed()->set_note(n);
  return out;
}

absl::StatusOr<MouEvents> DecideTerminate(const MouState& s,
                                          const std::string& reason,
                                          absl::CivilDay on) {
  NCM_RETURN_IF_ERROR(Require(
      s, {pb::DRAFT, pb::IN_LEGAL_REVIEW, pb::APPROVED, pb::ACTIVE},
      "be terminated"));
  NCM_RETURN_IF_ERROR(NotBeforeLastChange(s, on));
  NCM_ASSIGN_OR_RETURN(std::string why, CleanText(reason, "reason", 1000, true));
  MouEvents out(1);
  out[0].mutable_terminated()->set_reason(why);
  return out;
}

absl::StatusOr<MouEvents> DecideRecordDelivery(
    const MouState& s, const std::string& delivery_id,
    const std::string& dataset_code, const pb::Period& period,
    const std::string& notes, absl::CivilDay on) {
  NCM_RETURN_IF_ERROR(Require(s, {pb::ACTIVE}, "record deliveries"));
  const pb::Dataset* d = s.FindDataset(dataset_code);
  if (d == nullptr) {
    std::vector<std::string> known;
    for (const auto& ds : s.terms.datasets()) known.push_back(ds.code());
    return Invalid("dataset_code",
                   absl::StrCat("\"", dataset_code, "\" is not a dataset of "
                                "this MOU (it covers: ",
                                absl::StrJoin(known, ", "), ")"));
  }
  NCM_ASSIGN_OR_RETURN(auto bounds,
                       PeriodBounds(d->frequency(), period, "period"));
  if (!s.InForceDuring(bounds.first, bounds.second)) {
    std::vector<std::string> windows;
    for (const auto& [from, until] : s.windows) {
      windows.push_back(absl::StrCat(FormatDay(from), " to ", FormatDay(until)));
    }
    return Invalid("period",
                   absl::StrCat(FormatDay(bounds.first), " to ",
                                FormatDay(bounds.second),
                                " lies outside the MOU's validity (",
                                absl::StrJoin(windows, ", "), ")"));
  }
  if (on < bounds.first) {
    return Invalid("options.occurred_on",
                   absl::StrCat("the received day ", FormatDay(on),
                                " is before the period starts (",
                                FormatDay(bounds.first), ")"));
  }
  NCM_ASSIGN_OR_RETURN(std::string n, CleanText(notes, "notes", 2000, false));
  // As recorded: delivered before, by the received days known now (views
  // judge again as deliveries received earlier are recorded later).
  bool again = false;
  for (const DeliveryEntry& e : s.deliveries) {
    again |= e.delivery.dataset_code() == dataset_code &&
             e.delivery.period().year() == period.year() &&
             e.delivery.period().number() == period.number() &&
             e.received_on <= on;
  }
  MouEvents out(1);
  auto* r = out[0].mutable_delivery_recorded();
  r->set_delivery_id(delivery_id);
  r->set_dataset_code(dataset_code);
  *r->mutable_period() = period;
  *r->mutable_period_start() = services::ToProto(bounds.first);
  *r->mutable_period_end() = services::ToProto(bounds.second);
  *r->mutable_due_date() =
      services::ToProto(bounds.second + d->due_offset_days());
  r->set_notes(n);
  r->set_redelivery(again);
  return out;
}

void Count(const pb::ExpectedDelivery& e, pb::ComplianceFigures* f) {
  f->set_expected(f->expected() + 1);
  if (!e.has_received_on()) {
    f->set_missing(f->missing() + 1);
  } else if (e.late()) {
    f->set_late(f->late() + 1);
  } else {
    f->set_on_time(f->on_time() + 1);
  }
  f->set_on_time_basis_points((f->on_time() * 20000 + f->expected()) /
                              (2 * f->expected()));
}

Compliance ComplianceOf(const MouState& s, absl::CivilDay as_of) {
  Compliance out;
  if (!s.activated_on.has_value()) return out;  // never in force
  absl::CivilDay end = std::min(s.ValidUntil(), as_of);
  if (s.status == pb::TERMINATED) end = std::min(end, s.last_change_on);
  for (const pb::Dataset& d : s.terms.datasets()) {
    pb::ComplianceFigures& figures = out.by_dataset[d.code()];
    // The period holding valid_from, then each next one.
    pb::Period p;
    p.set_year(s.ValidFrom().year());
    switch (d.frequency()) {
      case pb::MONTHLY: p.set_number(s.ValidFrom().month()); break;
      case pb::QUARTERLY: p.set_number((s.ValidFrom().month() + 2) / 3); break;
      default: p.set_number(1);
    }
    const int per_year = d.frequency() == pb::MONTHLY     ? 12
                         : d.frequency() == pb::QUARTERLY ? 4
                                                          : 1;
    for (;;) {
      auto bounds = PeriodBounds(d.frequency(), p, "period");
      if (!bounds.ok() || bounds->first > end) break;
      const absl::CivilDay due = bounds->second + d.due_offset_days();
      if (!s.InForceDuring(bounds->first, bounds->second)) {
        // Wholly within a lapse: nothing was owed.
        if (p.number() == per_year) {
          p.set_year(p.year() + 1);
          p.set_number(1);
        } else {
          p.set_number(p.number() + 1);
        }
        continue;
      }
      pb::ExpectedDelivery e;
      e.set_mou_id(s.mou_id);
      e.set_dataset_code(d.code());
      e.set_provider_organisation_id(d.provider_organisation_id());
      *e.mutable_period() = p;
      *e.mutable_due_date() = services::ToProto(due);
      // The earliest received delivery of the period, by as_of (whatever
      // the order the deliveries were recorded in).
      const DeliveryEntry* first = nullptr;
      for (const DeliveryEntry& got : s.deliveries) {
        const auto& gp = got.delivery.period();
        if (got.delivery.dataset_code() != d.code() ||
            gp.year() != p.year() || gp.number() != p.number() ||
            got.received_on > as_of) {
          continue;
        }
        if (first == nullptr || got.received_on < first->received_on) {
          first = &got;
        }
      }
      if (first != nullptr) {
        *e.mutable_received_on() = services::ToProto(first->received_on);
        e.set_late(first->received_on > due);
        e.set_days_past_due(
            std::max(0, static_cast<int>(first->received_on - due)));
      }
      // Expected once delivered, or once its due day has passed.
      if (e.has_received_on() || due < as_of) {
        if (!e.has_received_on()) {
          e.set_days_past_due(static_cast<int>(as_of - due));
        }
        Count(e, &figures);
        out.expected.push_back(std::move(e));
      }
      if (p.number() == per_year) {
        p.set_year(p.year() + 1);
        p.set_number(1);
      } else {
        p.set_number(p.number() + 1);
      }
    }
  }
  return out;
}

}  // namespace ncm::mous
