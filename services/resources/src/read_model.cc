#include "ncm/resources/read_model.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ncm/eventstore/status_macros.h"
#include "ncm/resources/domain.h"
#include "ncm/stakeholders/v1/events.pb.h"

namespace ncm::resources {
namespace {

class BudgetsProjection final : public readside::Projection {
 public:
  std::string name() const override { return kBudgetsModel; }

  std::vector<std::string> StreamPrefixes() const override {
    return {"budget-", "organisation-"};
  }

  absl::Status Apply(const eventstore::RecordedEvent& e,
                     readside::ProjectionTxn* txn) override {
    if (absl::StartsWith(e.stream_id, "budget-")) {
      pb::BudgetEvent w;
      NCM_RETURN_IF_ERROR(services::DecodeEvent(e, &w));
      if (w.has_opened()) {
        txn->Put(absl::StrFormat("fy/%04d/%s", w.opened().fiscal_year(),
                                 w.opened().budget_id()),
                 "");
      }
    } else if (absl::StartsWith(e.stream_id, "organisation-")) {
      stakeholders::v1::OrganisationEvent w;
      NCM_RETURN_IF_ERROR(services::DecodeEvent(e, &w));
      const stakeholders::v1::OrganisationProfile* p = nullptr;
      if (w.has_registered()) p = &w.registered().profile();
      if (w.has_amended()) p = &w.amended().profile();
      if (p != nullptr) {
        txn->Put(absl::StrCat("o/", e.stream_id.substr(13)),
                 absl::StrCat(static_cast<int>(p->kind())));
      }
    }
    return absl::OkStatus();
  }
};

}  // namespace

std::unique_ptr<readside::Projection> NewBudgetsProjection() {
  return std::make_unique<BudgetsProjection>();
}

}  // namespace ncm::resources
