#include "ncm/access/registry.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ncm/eventstore/status_macros.h"
#include "ncm/services/dates.h"
#include "ncm/services/ids.h"
#include "ncm/stakeholders/domain.h"

namespace ncm::access {

namespace {

// Certificate bindings are kept apart by kind: a binding with '=' is a
// full subject ("CN=iom-sync,O=IOM"), one without is a common name.
std::string SubjectKey(absl::string_view subject) {
  return absl::StrCat("subject\n", subject);
}
std::string CommonNameKey(absl::string_view cn) {
  return absl::StrCat("cn\n", cn);
}
std::string BindingKey(absl::string_view binding) {
  return absl::StrContains(binding, '=') ? SubjectKey(binding)
                                         : CommonNameKey(binding);
}

}  // namespace

namespace es = ::ncm::eventstore;
using services::Outcome;

std::string PrincipalStream(const std::string& principal_id) {
  return absl::StrCat(kPrincipalCategory, "-", principal_id);
}

void Apply(const pb::PrincipalEvent& e, const services::EventMeta& m,
           PrincipalState* s) {
  s->view.set_revision(m.revision);
  switch (e.event_case()) {
    case pb::PrincipalEvent::kRegistered: {
      const pb::PrincipalRegistered& r = e.registered();
      s->exists = true;
      s->view.set_principal_id(r.principal_id());
      s->view.set_role(r.role());
      s->view.set_organisation_id(r.organisation_id());
      s->view.set_description(r.description());
      s->view.set_credential(r.certificate_subject().empty()
                                 ? pb::CREDENTIAL_KIND_TOKEN
                                 : pb::CREDENTIAL_KIND_CERTIFICATE);
      s->view.set_certificate_subject(r.certificate_subject());
      *s->view.mutable_issued_on() = services::ToProto(m.occurred_on);
      s->view.set_issued_by(m.actor);
      if (r.has_expires_on()) *s->view.mutable_expires_on() = r.expires_on();
      s->view.set_reads_personal_data(ReadsPersonalData(r.role()));
      s->token_sha256 = r.token_sha256();
      break;
    }
    case pb::PrincipalEvent::kRevoked:
      s->view.set_revoked(true);
      *s->view.mutable_revoked_on() = services::ToProto(m.occurred_on);
      s->view.set_revoked_by(m.actor);
      s->view.set_revoke_reason(e.revoked().reason());
      break;
    case pb::PrincipalEvent::EVENT_NOT_SET:
      break;
  }
}

absl::Status CheckPrincipalId(absl::string_view id, absl::string_view field) {
  if (id == "ncmd" || id == "anonymous") {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " \"", id, "\" is reserved (the server's own actor names)"));
  }
  bool ok = !id.empty() && id.size() <= 64 &&
            (absl::ascii_islower(id[0]) || absl::ascii_isdigit(id[0]));
  for (char c : id) {
    ok = ok && (absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '.' ||
                c == '_' || c == '-');
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      field, " \"", absl::CHexEscape(id.substr(0, 80)),
      "\" must be 1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a "
      "letter or digit"));
}

bool ReadsPersonalData(pb::Role role) {
  return role == pb::ROLE_ADMIN || role == pb::ROLE_SECRETARIAT;
}

bool NeedsOrganisation(pb::Role role) {
  return role == pb::ROLE_PARTNER || role == pb::ROLE_DATA_PROVIDER;
}

std::string NewToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) std::abort();
  std::string raw(reinterpret_cast<const char*>(bytes), sizeof bytes);
  return absl::StrCat("ncm_", absl::WebSafeBase64Escape(raw));
}

std::string TokenHash(absl::string_view token) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(),
         digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

PrincipalRegistry::PrincipalRegistry(
    es::EventStore* store, stakeholders::StakeholdersHandler* stakeholders,
    services::Clock clock)
    : store_(store), stakeholders_(stakeholders), clock_(clock) {}

absl::Status PrincipalRegistry::Fold(
    uint64_t from, absl::flat_hash_map<std::string, PrincipalState>* states,
    uint64_t* head) {
  es::ReadAllOptions o;
  o.filter.stream_prefixes = {absl::StrCat(kPrincipalCategory, "-")};
  o.max_count = 1000;
  o.from_position = from + 1;
  *head = from;
  for (;;) {
    NCM_ASSIGN_OR_RETURN(es::ReadAllResult r, store_->ReadAll(o));
    for (const es::RecordedEvent& e : r.events) {
      pb::PrincipalEvent w;
      NCM_RETURN_IF_ERROR(services::DecodeEvent(e, &w));
      services::EventMeta meta{e.revision,
                               e.position,
                               services::TimeToDay(e.occurred_at),
                               e.recorded_at,
                               e.actor,
                               e.command_id};
      Apply(w, meta, &(*states)[e.stream_id]);
    }
    if (r.end_of_log) {
      *head = std::max(*head, r.head_position);
      break;
    }
    o.from_position = r.next_position;
  }
  return absl::OkStatus();
}

absl::Status PrincipalRegistry::Load() {
  absl::MutexLock c(&catch_up_mu_);
  absl::flat_hash_map<std::string, PrincipalState> states;
  uint64_t head = 0;
  NCM_RETURN_IF_ERROR(Fold(0, &states, &head));
  loaded_to_ = head;
  absl::MutexLock l(&mu_);
  for (auto& [stream, s] : states) Index(std::move(s));
  return absl::OkStatus();
}

absl::Status PrincipalRegistry::CatchUp() {
  absl::MutexLock c(&catch_up_mu_);
  absl::flat_hash_map<std::string, PrincipalState> states;
  {
    // Start from what is held, so that the new events fold onto it.
    absl::ReaderMutexLock l(&mu_);
    for (const auto& [id, s] : principals_) states[PrincipalStream(id)] = s;
  }
  uint64_t head = loaded_to_;
  NCM_RETURN_IF_ERROR(Fold(loaded_to_, &states, &head));
  loaded_to_ = head;
  std::vector<std::string> revoked;
  {
    absl::MutexLock l(&mu_);
    for (auto& [stream, s] : states) {
      auto known = principals_.find(s.view.principal_id());
      if (known != principals_.end() &&
          known->second.view.revision() == s.view.revision()) {
        continue;  // unchanged
      }
      if (s.view.revoked() &&
          (known == principals_.end() || !known->second.view.revoked())) {
        revoked.push_back(s.view.principal_id());
      }
      Index(std::move(s));
    }
  }
  if (on_revoke_) {
    for (const std::string& id : revoked) on_revoke_(id);
  }
  return absl::OkStatus();
}

bool PrincipalRegistry::Empty() const {
  absl::ReaderMutexLock l(&mu_);
  return principals_.empty();
}

void PrincipalRegistry::Index(PrincipalState s) {
  const std::string id = s.view.principal_id();
  auto known = principals_.find(id);
  if (known != principals_.end() &&
      known->second.view.revision() > s.view.revision()) {
    return;  // an older state than the one held
  }
  if (!s.token_sha256.empty()) by_token_[s.token_sha256] = id;
  const std::string& binding = s.view.certificate_subject();
  if (!binding.empty()) {
    const std::string subject = BindingKey(binding);
    // A revoked principal never takes a subject from a live one (the
    // order principals are loaded in is not the order they were bound in).
    auto bound = by_subject_.find(subject);
    const bool other_live =
        bound != by_subject_.end() && bound->second != id &&
        !principals_[bound->second].view.revoked();
    if (!(other_live && s.view.revoked())) by_subject_[subject] = id;
  }
  principals_[id] = std::move(s);
}

void PrincipalRegistry::Record(const std::string& principal_id,
                               const pb::PrincipalEvent& e, const Outcome& o,
                               const services::CommandContext& ctx) {
  absl::MutexLock l(&mu_);
  PrincipalState s;
  if (auto it = principals_.find(principal_id); it != principals_.end()) {
    s = it->second;
  }
  services::EventMeta meta;
  meta.revision = o.revision;
  meta.position = o.position;
  meta.occurred_on = ctx.occurred_on;
  meta.actor = ctx.actor;
  Apply(e, meta, &s);
  Index(std::move(s));
}

absl::Status PrincipalRegistry::Refresh(const std::string& principal_id) {
  NCM_ASSIGN_OR_RETURN(auto l, (services::Load<pb::PrincipalEvent, PrincipalState>(
                                   store_, PrincipalStream(principal_id),
                                   principal_id)));
  if (!l.state.exists) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  Index(std::move(l.state));
  return absl::OkStatus();
}

absl::StatusOr<Outcome> PrincipalRegistry::Register(
    const std::string& principal_id, pb::PrincipalRegistered event,
    const std::string& actor) {
  NCM_RETURN_IF_ERROR(CheckPrincipalId(principal_id, "principal_id"));
  if (event.role() == pb::ROLE_UNSPECIFIED || !pb::Role_IsValid(event.role())) {
    return absl::InvalidArgumentError(
        "role must be one of ROLE_ADMIN, ROLE_SECRETARIAT, ROLE_PARTNER, "
        "ROLE_DATA_PROVIDER, ROLE_AUDITOR, ROLE_READER");
  }
  if (NeedsOrganisation(event.role())) {
    if (event.organisation_id().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "organisation_id is required for ", pb::Role_Name(event.role()),
          ": the organisation it acts for"));
    }
    NCM_RETURN_IF_ERROR(
        services::CheckUuid(event.organisation_id(), "organisation_id"));
    NCM_ASSIGN_OR_RETURN(stakeholders::OrganisationState org,
                         stakeholders_->LoadOrganisation(event.organisation_id()));
    NCM_RETURN_IF_ERROR(stakeholders::CheckUsable(org, "organisation_id",
                                                  event.organisation_id()));
  } else if (!event.organisation_id().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "organisation_id is only for ROLE_PARTNER and ROLE_DATA_PROVIDER; ",
        pb::Role_Name(event.role()), " acts for no organisation"));
  }
  if (event.has_expires_on()) {
    NCM_ASSIGN_OR_RETURN(absl::CivilDay until,
                         services::FromProto(event.expires_on(), "expires_on"));
    if (until < clock_.Today()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "expires_on ", services::FormatDay(until), " is in the past"));
    }
  }
  event.set_principal_id(principal_id);
  services::CommandContext ctx;
  ctx.occurred_on = clock_.Today();
  ctx.actor = actor;
  NCM_ASSIGN_OR_RETURN(
      Outcome o,
      (services::Execute<pb::PrincipalEvent, PrincipalState>(
          store_, PrincipalStream(principal_id), principal_id, ctx,
          services::ApplyFn(),
          [&](const services::Loaded<PrincipalState>& l)
              -> absl::StatusOr<services::Decision<pb::PrincipalEvent>> {
            if (l.state.exists) {
              return absl::AlreadyExistsError(absl::StrCat(
                  "principal \"", principal_id,
                  "\" exists (ids are never reused); choose another"));
            }
            services::Decision<pb::PrincipalEvent> d;
            *d.events.emplace_back().mutable_registered() = event;
            return d;
          })));
  pb::PrincipalEvent recorded;
  *recorded.mutable_registered() = event;
  Record(principal_id, recorded, o, ctx);
  return o;
}

absl::StatusOr<pb::IssueTokenResponse> PrincipalRegistry::IssueToken(
    const pb::IssueTokenRequest& r, const std::string& actor) {
  return IssueTokenWith(r, NewToken(), actor);
}

absl::StatusOr<pb::IssueTokenResponse> PrincipalRegistry::IssueTokenWith(
    const pb::IssueTokenRequest& r, std::string token,
    const std::string& actor) {
  pb::PrincipalRegistered e;
  e.set_role(r.role());
  e.set_organisation_id(r.organisation_id());
  e.set_description(r.description());
  if (r.has_expires_on()) *e.mutable_expires_on() = r.expires_on();
  e.set_token_sha256(TokenHash(token));
  NCM_ASSIGN_OR_RETURN(Outcome o, Register(r.principal_id(), std::move(e), actor));
  pb::IssueTokenResponse out;
  services::ToProto(o, out.mutable_result());
  out.set_token(std::move(token));
  return out;
}

absl::StatusOr<Outcome> PrincipalRegistry::BindCertificate(
    const pb::BindCertificateRequest& r, const std::string& actor) {
  const std::string subject(absl::StripAsciiWhitespace(r.certificate_subject()));
  if (subject.empty()) {
    return absl::InvalidArgumentError(
        "certificate_subject is required, e.g. \"CN=iom-sync,O=IOM\" or "
        "\"iom-sync\"");
  }
  absl::MutexLock serial(&bind_mu_);
  {
    absl::MutexLock l(&mu_);
    auto it = by_subject_.find(BindingKey(subject));
    if (it != by_subject_.end() && !principals_[it->second].view.revoked()) {
      return absl::AlreadyExistsError(absl::StrCat(
          "certificate subject \"", subject, "\" is bound to principal \"",
          it->second, "\"; revoke it first"));
    }
  }
  pb::PrincipalRegistered e;
  e.set_role(r.role());
  e.set_organisation_id(r.organisation_id());
  e.set_description(r.description());
  e.set_certificate_subject(subject);
  return Register(r.principal_id(), std::move(e), actor);
}

absl::StatusOr<Outcome> PrincipalRegistry::RevokePrincipal(
    const pb::RevokePrincipalRequest& r, const std::string& actor) {
  NCM_RETURN_IF_ERROR(CheckPrincipalId(r.principal_id(), "principal_id"));
  if (absl::StripAsciiWhitespace(r.reason()).empty()) {
    return absl::InvalidArgumentError("reason is required");
  }
  if (r.principal_id() == actor) {
    return absl::FailedPreconditionError(
        "a principal cannot revoke itself; ask another admin");
  }
  services::CommandContext ctx;
  ctx.occurred_on = clock_.Today();
  ctx.actor = actor;
  pb::PrincipalEvent recorded;
  recorded.mutable_revoked()->set_principal_id(r.principal_id());
  recorded.mutable_revoked()->set_reason(r.reason());
  absl::StatusOr<Outcome> o =
      services::Execute<pb::PrincipalEvent, PrincipalState>(
          store_, PrincipalStream(r.principal_id()), r.principal_id(), ctx,
          services::ApplyFn(),
          [&](const services::Loaded<PrincipalState>& l)
              -> absl::StatusOr<services::Decision<pb::PrincipalEvent>> {
            if (!l.state.exists) {
              return absl::NotFoundError(
                  absl::StrCat("no principal \"", r.principal_id(), "\""));
            }
            if (l.state.view.revoked()) {
              return absl::FailedPreconditionError(absl::StrCat(
                  "principal \"", r.principal_id(),
                  "\" is already revoked; nothing allows changing it"));
            }
            services::Decision<pb::PrincipalEvent> d;
            d.events.push_back(recorded);
            return d;
          });
  if (!o.ok()) {
    // A revocation recorded by an earlier call whose answer was lost: make
    // sure memory knows it too.
    if (o.status().code() == absl::StatusCode::kFailedPrecondition) {
      (void)Refresh(r.principal_id());
    }
    return o.status();
  }
  Record(r.principal_id(), recorded, *o, ctx);
  if (on_revoke_) on_revoke_(r.principal_id());
  return *o;
}

absl::StatusOr<pb::ListPrincipalsResponse> PrincipalRegistry::ListPrincipals(
    const pb::ListPrincipalsRequest& r) const {
  pb::ListPrincipalsResponse out;
  absl::ReaderMutexLock l(&mu_);
  for (const auto& [id, s] : principals_) {
    if (s.view.revoked() && !r.include_revoked()) continue;
    *out.add_principals() = s.view;
  }
  std::sort(out.mutable_principals()->begin(), out.mutable_principals()->end(),
            [](const pb::Principal& a, const pb::Principal& b) {
              return a.principal_id() < b.principal_id();
            });
  return out;
}

absl::StatusOr<pb::Principal> PrincipalRegistry::Get(
    const std::string& principal_id) const {
  absl::ReaderMutexLock l(&mu_);
  auto it = principals_.find(principal_id);
  if (it == principals_.end()) {
    return absl::NotFoundError(absl::StrCat("no principal \"", principal_id, "\""));
  }
  return it->second.view;
}

absl::StatusOr<services::Principal> PrincipalRegistry::Usable(
    const PrincipalState& s) const {
  if (s.view.revoked()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the credential of principal \"", s.view.principal_id(),
        "\" was revoked on ", services::FormatDay(*services::FromProto(
                                  s.view.revoked_on(), "revoked_on"))));
  }
  if (s.view.has_expires_on()) {
    auto until = services::FromProto(s.view.expires_on(), "expires_on");
    if (until.ok() && *until < clock_.Today()) {
      return absl::UnauthenticatedError(absl::StrCat(
          "the token of principal \"", s.view.principal_id(), "\" expired on ",
          services::FormatDay(*until)));
    }
  }
  return services::Principal{s.view.principal_id(), s.view.role(),
                             s.view.organisation_id()};
}

absl::StatusOr<stakeholders::OrganisationState>
PrincipalRegistry::Organisation(const std::string& id) const {
  absl::StatusOr<eventstore::StreamInfo> info =
      store_->GetStreamInfo(stakeholders::OrganisationStream(id));
  if (absl::IsNotFound(info.status())) {
    return stakeholders::OrganisationState();  // not registered
  }
  if (!info.ok()) return info.status();
  {
    absl::MutexLock l(&orgs_mu_);
    auto it = orgs_.find(id);
    if (it != orgs_.end() && it->second.revision == info->last_revision) {
      return it->second;
    }
  }
  NCM_ASSIGN_OR_RETURN(stakeholders::OrganisationState org,
                       stakeholders_->LoadOrganisation(id));
  absl::MutexLock l(&orgs_mu_);
  // Organisations are few; a bound keeps a flood of ids from growing it.
  if (orgs_.size() >= kMaxCachedOrganisations) orgs_.clear();
  auto& slot = orgs_[id];
  if (org.revision >= slot.revision) slot = org;
  return org;
}

absl::Status PrincipalRegistry::CheckActing(
    const services::Principal& principal) const {
  {
    // The credential itself: revoked or expired since it was admitted.
    absl::ReaderMutexLock l(&mu_);
    auto it = principals_.find(principal.id);
    if (it != principals_.end()) {
      NCM_RETURN_IF_ERROR(Usable(it->second).status());
    }
  }
  if (!NeedsOrganisation(principal.role)) return absl::OkStatus();
  NCM_ASSIGN_OR_RETURN(stakeholders::OrganisationState org,
                       Organisation(principal.organisation_id));
  if (org.exists && org.status == ncm::stakeholders::v1::ACTIVE) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "principal \"", principal.id, "\" acts for organisation ",
      principal.organisation_id, ", which is ",
      org.exists ? stakeholders::StatusName(org.status) : "not registered",
      "; only an active member's principals may call"));
}

absl::StatusOr<services::Principal> PrincipalRegistry::ByToken(
    absl::string_view token) const {
  const std::string hash = TokenHash(token);
  absl::ReaderMutexLock l(&mu_);
  auto it = by_token_.find(hash);
  if (it == by_token_.end()) {
    return absl::UnauthenticatedError(
        "the bearer token is not one this server issued");
  }
  return Usable(principals_.at(it->second));
}

absl::StatusOr<services::Principal> PrincipalRegistry::ByCertificate(
    absl::string_view subject, absl::string_view common_name) const {
  absl::ReaderMutexLock l(&mu_);
  // A full subject matches subject bindings only, a common name common-name
  // bindings only: a certificate whose CN spells a bound subject is not
  // that principal.
  for (const std::string& key :
       {subject.empty() ? std::string() : SubjectKey(subject),
        common_name.empty() ? std::string() : CommonNameKey(common_name)}) {
    if (key.empty()) continue;
    auto it = by_subject_.find(key);
    if (it != by_subject_.end()) return Usable(principals_.at(it->second));
  }
  return absl::UnauthenticatedError(absl::StrCat(
      "the client certificate \"", subject,
      "\" is bound to no principal; an admin binds it with BindCertificate, "
      "or send a bearer token"));
}

}  // namespace ncm::access
