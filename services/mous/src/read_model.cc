#include "ncm/mous/read_model.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ncm/eventstore/status_macros.h"
#include "ncm/mous/domain.h"

namespace ncm::mous {
namespace {

constexpr absl::string_view kStreamPrefix = "mou-";

class MousProjection final : public readside::Projection {
 public:
  std::string name() const override { return kMousModel; }

  std::vector<std::string> StreamPrefixes() const override {
    return {std::string(kStreamPrefix)};
  }

  absl::Status Apply(const eventstore::RecordedEvent& e,
                     readside::ProjectionTxn* txn) override {
    if (!absl::StartsWith(e.stream_id, kStreamPrefix)) return absl::OkStatus();
    const std::string id(e.stream_id.substr(kStreamPrefix.size()));
    pb::MouEvent w;
    NCM_RETURN_IF_ERROR(services::DecodeEvent(e, &w));
    const pb::MouTerms* terms = nullptr;
    if (w.has_drafted()) terms = &w.drafted().terms();
    if (w.has_amended()) terms = &w.amended().terms();
    if (terms == nullptr) return absl::OkStatus();
    txn->Put(absl::StrCat("m/", id), "");
    for (const pb::Party& p : terms->parties()) {
      txn->Put(absl::StrCat("p/", p.organisation_id(), "/", id), "");
    }
    return absl::OkStatus();
  }
};

}  // namespace

std::unique_ptr<readside::Projection> NewMousProjection() {
  return std::make_unique<MousProjection>();
}

}  // namespace ncm::mous
