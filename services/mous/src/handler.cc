#include "ncm/mous/handler.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ncm/eventstore/status_macros.h"
#include "ncm/services/ids.h"
#include "ncm/mous/read_model.h"

namespace ncm::mous {

namespace es = ::ncm::eventstore;
using services::CheckUuid;
using services::CommandContext;
using services::Decided;
using services::Loaded;

MousHandler::MousHandler(es::EventStore* store,
                         stakeholders::StakeholdersHandler* stakeholders,
                         services::Clock clock)
    : store_(store), stakeholders_(stakeholders), clock_(std::move(clock)) {}

template <typename Req>
absl::StatusOr<Outcome> MousHandler::OnMou(absl::string_view method,
                                           const Req& r,
                                           const std::string& actor,
                                           const Decider& decide) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, method, clock_, actor));
  NCM_RETURN_IF_ERROR(CheckUuid(r.mou_id(), "mou_id"));
  return services::Execute<pb::MouEvent, MouState>(
      store_, MouStream(r.mou_id()), r.mou_id(), ctx, services::ApplyFn(),
      [&](const Loaded<MouState>& l) { return Decided(decide(l, ctx)); });
}

absl::StatusOr<Organisations> MousHandler::PartiesOf(const pb::MouTerms& t) {
  Organisations orgs;
  for (int i = 0; i < t.parties_size(); ++i) {
    const std::string& id = t.parties(i).organisation_id();
    NCM_RETURN_IF_ERROR(CheckUuid(
        id, absl::StrCat("terms.parties[", i, "].organisation_id")));
    if (orgs.contains(id)) continue;
    NCM_ASSIGN_OR_RETURN(OrganisationState o, stakeholders_->LoadOrganisation(id));
    orgs.emplace(id, std::move(o));
  }
  return orgs;
}

absl::StatusOr<Outcome> MousHandler::DraftMou(const pb::DraftMouRequest& r,
                                              const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  const std::string id = services::NewAggregateId(ctx, "mou");
  return services::Execute<pb::MouEvent, MouState>(
      store_, MouStream(id), id, ctx, services::ApplyFn(),
      [&](const Loaded<MouState>& l)
          -> absl::StatusOr<services::Decision<pb::MouEvent>> {
        // The parties, read in this attempt; the append depends on them.
        NCM_ASSIGN_OR_RETURN(Organisations orgs, PartiesOf(r.terms()));
        NCM_ASSIGN_OR_RETURN(auto d,
                             Decided(DecideDraft(l.state, id, r.terms(), orgs)));
        for (const auto& [org, o] : orgs) stakeholders::DependOn(o, &d);
        return d;
      });
}

absl::StatusOr<Outcome> MousHandler::AmendMou(const pb::AmendMouRequest& r,
                                              const std::string& actor) {
  NCM_ASSIGN_OR_RETURN(CommandContext ctx,
                       MakeContext(r, __func__, clock_, actor));
  NCM_RETURN_IF_ERROR(CheckUuid(r.mou_id(), "mou_id"));
  return services::Execute<pb::MouEvent, MouState>(
      store_, MouStream(r.mou_id()), r.mou_id(), ctx, services::ApplyFn(),
      [&](const Loaded<MouState>& l)
          -> absl::StatusOr<services::Decision<pb::MouEvent>> {
        NCM_ASSIGN_OR_RETURN(Organisations orgs, PartiesOf(r.terms()));
        NCM_ASSIGN_OR_RETURN(
            auto d, Decided(DecideAmend(l.state, r.terms(), orgs, r.note())));
        for (const auto& [org, o] : orgs) stakeholders::DependOn(o, &d);
        return d;
      });
}

absl::StatusOr<Outcome> MousHandler::SubmitForLegalReview(
    const pb::MouChangeRequest& r, const std::string& actor) {
  return OnMou(__func__, r, actor,
               [&](const Loaded<MouState>& l, const CommandContext& ctx) {
                 return DecideSubmit(l.state, r.reason(), ctx.occurred_on);
               });
}

absl::StatusOr<Outcome> MousHandler::RecordLegalReview(
    const pb::RecordLegalReviewRequest& r, const std::string& actor) {
  return OnMou(__func__, r, actor,
               [&](const Loaded<MouState>& l, const CommandContext& ctx) {
                 return DecideReview(l.state, r.outcome(), r.note(),
                                     ctx.occurred_on);
               });
}

absl::StatusOr<Outcome> MousHandler::SignMou(const pb::SignMouRequest& r,
                                             const std::string& actor) {
  NCM_RETURN_IF_ERROR(CheckUuid(r.organisation_id(), "organisation_id"));
  NCM_RETURN_IF_ERROR(
      CheckUuid(r.signatory_person_id(), "signatory_person_id"));
  NCM_ASSIGN_OR_RETURN(PersonState person,
                       stakeholders_->LoadPerson(r.signatory_person_id()));
  return OnMou(__func__, r, actor,
               [&](const Loaded<MouState>& l, const CommandContext& ctx) {
                 return DecideSign(l.state, r.organisation_id(),
                                   r.signatory_person_id(), person,
                                   ctx.occurred_on);
               });
}

absl::StatusOr<Outcome> MousHandler::RenewMou(const pb::RenewMouRequest& r,
                                              const std::string& actor) {
  if (!services::IsSet(r.valid_until())) {
    return absl::InvalidArgumentError("valid_until is required");
  }
  NCM_ASSIGN_OR_RETURN(absl::CivilDay until,
                       services::FromProto(r.valid_until(), "valid_until"));
  return OnMou(__func__, r, actor,
               [&](const Loaded<MouState>& l, const CommandContext& ctx) {
                 return DecideRenew(l.state, until, r.note(), ctx.occurred_on);
               });
}

absl::StatusOr<Outcome> MousHandler::TerminateMou(const pb::MouChangeRequest& r,
                                                  const std::string& actor) {
  return OnMou(__func__, r, actor,
               [&](const Loaded<MouState>& l, const CommandContext& ctx) {
                 return DecideTerminate(l.state, r.reason(), ctx.occurred_on);
               });
}

absl::StatusOr<Outcome> MousHandler::RecordDelivery(
    const pb::RecordDeliveryRequest& r, const std::string& actor) {
  return OnMou(__func__, r, actor,
               [&](const Loaded<MouState>& l, const CommandContext& ctx) {
                 const std::string id =
                     services::NewAggregateId(ctx, "delivery", r.mou_id());
                 return DecideRecordDelivery(l.state, id, r.dataset_code(),
                                             r.period(), r.notes(),
                                             ctx.occurred_on);
               });
}

absl::Status MousHandler::CheckParty(const std::string& mou_id,
                                     const std::string& organisation_id) {
  absl::Status refused = absl::PermissionDeniedError(absl::StrCat(
      "organisation ", organisation_id, " is not a party to MOU \"", mou_id,
      "\"; a data provider works only on its own MOUs"));
  if (!CheckUuid(mou_id, "mou_id").ok()) return refused;
  NCM_ASSIGN_OR_RETURN(auto l, (services::Load<pb::MouEvent, MouState>(
                                   store_, MouStream(mou_id), mou_id)));
  if (!l.state.exists || !l.state.IsParty(organisation_id)) return refused;
  return absl::OkStatus();
}

absl::Status MousHandler::CheckProvides(const std::string& mou_id,
                                        const std::string& dataset_code,
                                        const std::string& organisation_id) {
  absl::Status refused = absl::PermissionDeniedError(absl::StrCat(
      "organisation ", organisation_id, " does not provide dataset \"",
      dataset_code, "\" under MOU \"", mou_id,
      "\"; a data provider records deliveries of its own datasets only"));
  if (!CheckUuid(mou_id, "mou_id").ok()) return refused;
  NCM_ASSIGN_OR_RETURN(auto l, (services::Load<pb::MouEvent, MouState>(
                                   store_, MouStream(mou_id), mou_id)));
  if (!l.state.exists) return refused;
  const pb::Dataset* d = l.state.FindDataset(dataset_code);
  if (d == nullptr || d->provider_organisation_id() != organisation_id) {
    return refused;
  }
  return absl::OkStatus();
}

absl::StatusOr<pb::Mou> MousHandler::GetMou(const pb::GetMouRequest& r) {
  NCM_RETURN_IF_ERROR(CheckUuid(r.mou_id(), "mou_id"));
  NCM_RETURN_IF_ERROR(services::CheckMinPosition(store_, r.min_position()));
  absl::CivilDay as_of = clock_.Today();
  if (services::IsSet(r.as_of())) {
    NCM_ASSIGN_OR_RETURN(as_of, services::FromProto(r.as_of(), "as_of"));
  }
  NCM_ASSIGN_OR_RETURN(auto l, (services::Load<pb::MouEvent, MouState>(
                                   store_, MouStream(r.mou_id()), r.mou_id())));
  if (!l.state.exists) {
    return absl::NotFoundError(absl::StrCat("no MOU ", r.mou_id()));
  }
  const MouState& s = l.state;
  pb::Mou out;
  out.set_mou_id(s.mou_id);
  *out.mutable_terms() = s.terms;
  out.set_status(s.StatusAsOf(as_of));
  for (const SignatureEntry& e : s.signatures) {
    auto* sig = out.add_signatures();
    sig->set_organisation_id(e.organisation_id);
    sig->set_signatory_person_id(e.person_id);
    *sig->mutable_signed_on() = services::ToProto(e.on);
  }
  *out.mutable_drafted_on() = services::ToProto(s.drafted_on);
  if (s.activated_on) {
    *out.mutable_activated_on() = services::ToProto(*s.activated_on);
  }
  out.set_termination_reason(s.termination_reason);
  out.set_last_review_note(s.last_review_note);
  for (const DeliveryEntry& e : s.deliveries) {
    auto* d = out.add_deliveries();
    d->set_delivery_id(e.delivery.delivery_id());
    d->set_dataset_code(e.delivery.dataset_code());
    *d->mutable_period() = e.delivery.period();
    *d->mutable_due_date() = e.delivery.due_date();
    *d->mutable_received_on() = services::ToProto(e.received_on);
    const auto& due = e.delivery.due_date();
    d->set_late(e.received_on > absl::CivilDay(due.year(), due.month(), due.day()));
    d->set_redelivery(s.IsRedelivery(e));
    d->set_notes(e.delivery.notes());
    *d->mutable_recorded_at() = services::ToTimestamp(e.recorded_at);
  }
  *out.mutable_as_of() = services::ToProto(as_of);
  out.set_revision(l.revision.value_or(0));
  return out;
}

void MousHandler::SetReadSide(readside::ReadSide* read_side,
                              absl::Duration default_wait) {
  read_side_ = read_side;
  default_wait_ = default_wait;
}

absl::StatusOr<pb::GetComplianceResponse> MousHandler::GetCompliance(
    const pb::GetComplianceRequest& r) {
  absl::CivilDay as_of = clock_.Today();
  if (services::IsSet(r.as_of())) {
    NCM_ASSIGN_OR_RETURN(as_of, services::FromProto(r.as_of(), "as_of"));
  }
  if (!r.mou_id().empty() && !r.provider_organisation_id().empty()) {
    return absl::InvalidArgumentError(
        "give mou_id or provider_organisation_id, not both");
  }
  if (r.wait_ms() < 0 || r.wait_ms() > 60000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "wait_ms must be 0 to 60000 (0: the server's default); got ",
        r.wait_ms()));
  }
  pb::GetComplianceResponse out;
  std::vector<std::string> mous;
  if (!r.mou_id().empty()) {
    NCM_RETURN_IF_ERROR(CheckUuid(r.mou_id(), "mou_id"));
    mous.push_back(r.mou_id());
    out.set_position(store_->HeadPosition());
  } else {
    if (read_side_ == nullptr) {
      return absl::UnavailableError(
          "this server keeps no read models; ask for one mou_id");
    }
    if (!r.provider_organisation_id().empty()) {
      NCM_RETURN_IF_ERROR(CheckUuid(r.provider_organisation_id(),
                                    "provider_organisation_id"));
    }
    if (r.min_position() > 0) {
      NCM_RETURN_IF_ERROR(read_side_->WaitFor(
          kMousModel, r.min_position(),
          r.wait_ms() == 0 ? default_wait_ : absl::Milliseconds(r.wait_ms())));
    }
    NCM_ASSIGN_OR_RETURN(readside::ModelStatus st, read_side_->Status(kMousModel));
    out.set_position(st.applied_position);
    NCM_ASSIGN_OR_RETURN(const readside::ReadModelView* view,
                         read_side_->View(kMousModel));
    const std::string prefix =
        r.provider_organisation_id().empty()
            ? std::string("m/")
            : absl::StrCat("p/", r.provider_organisation_id(), "/");
    NCM_RETURN_IF_ERROR(view->Scan(prefix, "",
                                   [&](absl::string_view key, absl::string_view) {
                                     mous.emplace_back(key.substr(key.rfind('/') + 1));
                                     return true;
                                   }));
  }
  std::map<std::string, pb::ComplianceFigures> providers;
  for (const std::string& id : mous) {
    NCM_ASSIGN_OR_RETURN(auto l, (services::Load<pb::MouEvent, MouState>(
                                     store_, MouStream(id), id)));
    if (!l.state.exists) {
      if (!r.mou_id().empty()) {
        return absl::NotFoundError(absl::StrCat("no MOU ", id));
      }
      continue;
    }
    Compliance c = ComplianceOf(l.state, as_of);
    for (const pb::Dataset& d : l.state.terms.datasets()) {
      if (!r.provider_organisation_id().empty() &&
          d.provider_organisation_id() != r.provider_organisation_id()) {
        continue;
      }
      auto* dc = out.add_datasets();
      dc->set_mou_id(id);
      dc->set_dataset_code(d.code());
      dc->set_provider_organisation_id(d.provider_organisation_id());
      *dc->mutable_figures() = c.by_dataset[d.code()];
    }
    for (const pb::ExpectedDelivery& e : c.expected) {
      if (!r.provider_organisation_id().empty() &&
          e.provider_organisation_id() != r.provider_organisation_id()) {
        continue;
      }
      Count(e, &providers[e.provider_organisation_id()]);
      Count(e, out.mutable_total());
      if (!e.has_received_on()) *out.add_overdue() = e;
      if (e.late()) *out.add_late() = e;
    }
  }
  for (auto& [org, f] : providers) {
    auto* p = out.add_providers();
    p->set_provider_organisation_id(org);
    *p->mutable_figures() = f;
  }
  std::stable_sort(out.mutable_overdue()->begin(), out.mutable_overdue()->end(),
                   [](const pb::ExpectedDelivery& a,
                      const pb::ExpectedDelivery& b) {
                     return a.days_past_due() > b.days_past_due();
                   });
  auto day = [](const ncm::common::v1::Date& d) {
    return std::make_tuple(d.year(), d.month(), d.day());
  };
  std::stable_sort(out.mutable_late()->begin(), out.mutable_late()->end(),
                   [&](const pb::ExpectedDelivery& a,
                       const pb::ExpectedDelivery& b) {
                     return day(a.received_on()) > day(b.received_on());
                   });
  *out.mutable_as_of() = services::ToProto(as_of);
  return out;
}

}  // namespace ncm::mous
