// The data-sharing MOU command handler: validate -> load the MOU by folding
// its stream -> decide (domain.h) -> append with the revision read, plus
// reads. Organisations and persons are checked through the stakeholders
// handler. Thread-safe; blocking.
#ifndef NCM_MOUS_HANDLER_H_
#define NCM_MOUS_HANDLER_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "ncm/eventstore/event_store.h"
#include "ncm/readside/runner.h"
#include "ncm/mous/domain.h"
#include "ncm/mous/v1/mous.pb.h"
#include "ncm/services/command.h"
#include "ncm/stakeholders/handler.h"

namespace ncm::mous {

using services::Outcome;

class MousHandler {
 public:
  // REQUIRES: every pointer outlives the handler.
  MousHandler(eventstore::EventStore* store,
              stakeholders::StakeholdersHandler* stakeholders,
              services::Clock clock = {});

  absl::StatusOr<Outcome> DraftMou(const pb::DraftMouRequest& r,
                                   const std::string& actor);
  absl::StatusOr<Outcome> AmendMou(const pb::AmendMouRequest& r,
                                   const std::string& actor);
  absl::StatusOr<Outcome> SubmitForLegalReview(const pb::MouChangeRequest& r,
                                               const std::string& actor);
  absl::StatusOr<Outcome> RecordLegalReview(
      const pb::RecordLegalReviewRequest& r, const std::string& actor);
  absl::StatusOr<Outcome> SignMou(const pb::SignMouRequest& r,
                                  const std::string& actor);
  absl::StatusOr<Outcome> RenewMou(const pb::RenewMouRequest& r,
                                   const std::string& actor);
  absl::StatusOr<Outcome> TerminateMou(const pb::MouChangeRequest& r,
                                       const std::string& actor);
  absl::StatusOr<Outcome> RecordDelivery(const pb::RecordDeliveryRequest& r,
                                         const std::string& actor);

  absl::StatusOr<pb::Mou> GetMou(const pb::GetMouRequest& r);
  absl::StatusOr<pb::GetComplianceResponse> GetCompliance(
      const pb::GetComplianceRequest& r);

  // OK when `organisation_id` is a party to the MOU; PERMISSION_DENIED
  // otherwise (an unknown MOU included, so that its existence is not told).
  absl::Status CheckParty(const std::string& mou_id,
                          const std::string& organisation_id);
  // OK when the MOU has the dataset and `organisation_id` provides it;
  // PERMISSION_DENIED otherwise.
  absl::Status CheckProvides(const std::string& mou_id,
                             const std::string& dataset_code,
                             const std::string& organisation_id);

  // The "mous" read model, for compliance per provider or over all MOUs;
  // without it those are UNAVAILABLE (one MOU still answers).
  void SetReadSide(readside::ReadSide* read_side, absl::Duration default_wait);

 private:
  using Decider = std::function<absl::StatusOr<MouEvents>(
      const services::Loaded<MouState>&, const services::CommandContext&)>;
  // Checks the options and the MOU id, then runs `decide` on the MOU.
  template <typename Req>
  absl::StatusOr<Outcome> OnMou(absl::string_view method, const Req& r,
                                const std::string& actor,
                                const Decider& decide);
  absl::StatusOr<Organisations> PartiesOf(const pb::MouTerms& terms);

  eventstore::EventStore* const store_;
  stakeholders::StakeholdersHandler* const stakeholders_;
  const services::Clock clock_;
  readside::ReadSide* read_side_ = nullptr;
  absl::Duration default_wait_ = absl::Seconds(2);
};

}  // namespace ncm::mous

#endif  // NCM_MOUS_HANDLER_H_
