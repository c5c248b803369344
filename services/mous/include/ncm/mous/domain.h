// The data-sharing MOU domain, pure: the state of an MOU, how an event
// changes it (Apply) and what a command records (Decide*), with the
// organisations and persons it names passed in, folded by the caller.
#ifndef NCM_MOUS_DOMAIN_H_
#define NCM_MOUS_DOMAIN_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "ncm/mous/v1/events.pb.h"
#include "ncm/mous/v1/mous.pb.h"
#include "ncm/services/command.h"
#include "ncm/stakeholders/domain.h"

namespace ncm::mous {

namespace pb = ::ncm::mous::v1;
using services::EventMeta;
using stakeholders::OrganisationState;
using stakeholders::PersonState;

std::string MouStream(const std::string& id);

// Organisations named by a command, by id (a missing one: exists false).
using Organisations = absl::flat_hash_map<std::string, OrganisationState>;

// The first and last day of `period` for `frequency`; INVALID_ARGUMENT
// naming `field` for a number out of range.
absl::StatusOr<std::pair<absl::CivilDay, absl::CivilDay>> PeriodBounds(
    pb::Frequency frequency, const pb::Period& period, const std::string& field);

struct SignatureEntry {
  std::string organisation_id;
  std::string person_id;
  absl::CivilDay on;
};

struct DeliveryEntry {
  pb::DeliveryRecorded delivery;
  absl::CivilDay received_on;
  absl::Time recorded_at;
};

struct MouState {
  bool exists = false;
  std::string mou_id;
  pb::MouTerms terms;
  pb::MouStatus status = pb::MOU_STATUS_UNSPECIFIED;
  std::vector<SignatureEntry> signatures;
  std::vector<DeliveryEntry> deliveries;
  absl::CivilDay drafted_on;
  absl::CivilDay last_change_on;
  std::optional<absl::CivilDay> activated_on;
  std::string termination_reason;
  std::string last_review_note;
  // The days the MOU was in force, first to last, in date order: from
  // valid_from to valid_until, extended by each renewal made in force and
  // started anew by one made after it lapsed (the lapse stays a lapse).
  std::vector<std::pair<absl::CivilDay, absl::CivilDay>> windows;

  absl::CivilDay ValidFrom() const;
  absl::CivilDay ValidUntil() const;
  // Whether `day` lies in one of the windows.
  bool InForce(absl::CivilDay day) const;
  // Whether any day from `first` to `last` lies in one of the windows.
  bool InForceDuring(absl::CivilDay first, absl::CivilDay last) const;
  // ACTIVE, or EXPIRED when active, `as_of` is not before valid_from and
  // the MOU was not in force that day (past valid_until, or in a lapse
  // before a late renewal).
  pb::MouStatus StatusAsOf(absl::CivilDay as_of) const;
  // Whether `d` is a redelivery: another delivery of its dataset and period
  // was received before it (on the same day: recorded before it).
  bool IsRedelivery(const DeliveryEntry& d) const;
  const pb::Dataset* FindDataset(const std::string& code) const;
  bool HasSigned(const std::string& organisation_id) const;
  bool IsParty(const std::string& organisation_id) const;
};
void Apply(const pb::MouEvent& e, const EventMeta& m, MouState* s);

std::string StatusName(pb::MouStatus s);

// Checks the terms: title, one secretariat and at least one provider
// (registered, not withdrawn, no repeats), datasets (unique codes, a
// frequency, the offset, a providing party), the texts and the window.
// Returns them normalised (a dataset's provider filled in when there is
// only one).
absl::StatusOr<pb::MouTerms> ValidateTerms(const pb::MouTerms& t,
                                           const Organisations& orgs,
                                           const std::string& field);

using MouEvents = std::vector<pb::MouEvent>;

absl::StatusOr<MouEvents> DecideDraft(const MouState& s, const std::string& id,
                                      const pb::MouTerms& terms,
                                      const Organisations& orgs);
absl::StatusOr<MouEvents> DecideAmend(const MouState& s,
                                      const pb::MouTerms& terms,
                                      const Organisations& orgs,
                                      const std::string& note);
absl::StatusOr<MouEvents> DecideSubmit(const MouState& s,
                                       const std::string& note,
                                       absl::CivilDay on);
absl::StatusOr<MouEvents> DecideReview(const MouState& s,
                                       pb::ReviewOutcome outcome,
                                       const std::string& note,
                                       absl::CivilDay on);
// `signatory` is the folded person named by `signatory_person_id`.
absl::StatusOr<MouEvents> DecideSign(const MouState& s,
                                     const std::string& organisation_id,
                                     const std::string& signatory_person_id,
                                     const PersonState& signatory,
                                     absl::CivilDay on);
absl::StatusOr<MouEvents> DecideRenew(const MouState& s,
                                      absl::CivilDay valid_until,
                                      const std::string& note,
                                      absl::CivilDay on);
absl::StatusOr<MouEvents> DecideTerminate(const MouState& s,
                                          const std::string& reason,
                                          absl::CivilDay on);
// `on` is the day the data was received.
absl::StatusOr<MouEvents> DecideRecordDelivery(
    const MouState& s, const std::string& delivery_id,
    const std::string& dataset_code, const pb::Period& period,
    const std::string& notes, absl::CivilDay on);

// Delivery compliance of one MOU as of `as_of` (see GetCompliance in
// mous.proto): every expected delivery of every dataset, and the figures.
struct Compliance {
  std::vector<pb::ExpectedDelivery> expected;
  std::map<std::string, pb::ComplianceFigures> by_dataset;  // by code
};
Compliance ComplianceOf(const MouState& s, absl::CivilDay as_of);
// Adds `e` to `f` (and recomputes the rate).
void Count(const pb::ExpectedDelivery& e, pb::ComplianceFigures* f);

}  // namespace ncm::mous

#endif  // NCM_MOUS_DOMAIN_H_
