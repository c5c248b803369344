// The principals: who may call ncmd, with which role, for which
// organisation. Kept as events on `principal-<id>` streams (a token only as
// its SHA-256) and in memory for authentication on every call.
#ifndef NCM_ACCESS_REGISTRY_H_
#define NCM_ACCESS_REGISTRY_H_

#include <functional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "ncm/access/v1/access.pb.h"
#include "ncm/access/v1/events.pb.h"
#include "ncm/eventstore/event_store.h"
#include "ncm/services/command.h"
#include "ncm/services/gate.h"
#include "ncm/stakeholders/domain.h"
#include "ncm/stakeholders/handler.h"

namespace ncm::access {

namespace pb = ::ncm::access::v1;

// The stream category only this registry writes.
inline constexpr char kPrincipalCategory[] = "principal";
std::string PrincipalStream(const std::string& principal_id);

// The folded state of one principal.
struct PrincipalState {
  bool exists = false;
  pb::Principal view;
  std::string token_sha256;  // raw 32 bytes; empty for a certificate
};
void Apply(const pb::PrincipalEvent& e, const services::EventMeta& m,
           PrincipalState* s);

// OK when `id` is 1-64 of [a-z0-9._-], starting with a letter or digit.
absl::Status CheckPrincipalId(absl::string_view id, absl::string_view field);

// Whether the role reads personal data in clear: admin and secretariat.
bool ReadsPersonalData(pb::Role role);
// Partners and data providers act for an organisation.
bool NeedsOrganisation(pb::Role role);

class PrincipalRegistry {
 public:
  // REQUIRES: `store` and `stakeholders` outlive the registry.
  PrincipalRegistry(eventstore::EventStore* store,
                    stakeholders::StakeholdersHandler* stakeholders,
                    services::Clock clock = {});

  // Reads every principal from the log.
  absl::Status Load();
  // Folds the principal events recorded since the last Load or CatchUp
  // (on a read node, where they arrive in the copied log); revocations
  // call the SetOnRevoke function.
  absl::Status CatchUp();
  // True when no principal was ever registered.
  bool Empty() const;

  // A new principal with a new token (shown once, in the answer).
  absl::StatusOr<pb::IssueTokenResponse> IssueToken(
      const pb::IssueTokenRequest& r, const std::string& actor);
  // IssueToken with a token made by the caller (ncmd's first start, which
  // writes it to a file before recording it).
  absl::StatusOr<pb::IssueTokenResponse> IssueTokenWith(
      const pb::IssueTokenRequest& r, std::string token,
      const std::string& actor);
  // A new principal for a client certificate's subject.
  absl::StatusOr<services::Outcome> BindCertificate(
      const pb::BindCertificateRequest& r, const std::string& actor);
  absl::StatusOr<services::Outcome> RevokePrincipal(
      const pb::RevokePrincipalRequest& r, const std::string& actor);
  absl::StatusOr<pb::ListPrincipalsResponse> ListPrincipals(
      const pb::ListPrincipalsRequest& r) const;
  // NOT_FOUND for an unknown id.
  absl::StatusOr<pb::Principal> Get(const std::string& principal_id) const;

  // The principal holding `token`: UNAUTHENTICATED when the token is
  // unknown, revoked or expired.
  absl::StatusOr<services::Principal> ByToken(absl::string_view token) const;
  // The principal bound to a certificate with this subject or common name.
  absl::StatusOr<services::Principal> ByCertificate(
      absl::string_view subject, absl::string_view common_name) const;

  // OK unless the principal's credential was revoked or expired
  // (UNAUTHENTICATED) or it acts for an organisation that is no longer an
  // active member (suspended, withdrawn): PERMISSION_DENIED then.
  absl::Status CheckActing(const services::Principal& principal) const;

  // Called with a principal's id once it is revoked (e.g. to end its open
  // subscriptions). REQUIRES: set before serving.
  void SetOnRevoke(std::function<void(const std::string&)> fn) {
    on_revoke_ = std::move(fn);
  }

 private:
  absl::StatusOr<services::Outcome> Register(
      const std::string& principal_id, pb::PrincipalRegistered event,
      const std::string& actor);
  absl::Status Refresh(const std::string& principal_id);
  // Folds one just-recorded event into the principal's state in memory.
  void Record(const std::string& principal_id, const pb::PrincipalEvent& e,
              const services::Outcome& o, const services::CommandContext& ctx);
  void Index(PrincipalState s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<services::Principal> Usable(const PrincipalState& s) const;
  // The organisation's state, folded again only when its stream moved on.
  absl::StatusOr<stakeholders::OrganisationState> Organisation(
      const std::string& id) const;
  static constexpr size_t kMaxCachedOrganisations = 10000;

  // Reads principal events in (from, head] into their states.
  absl::Status Fold(uint64_t from,
                    absl::flat_hash_map<std::string, PrincipalState>* states,
                    uint64_t* head);

  eventstore::EventStore* const store_;
  stakeholders::StakeholdersHandler* const stakeholders_;
  absl::Mutex catch_up_mu_;
  uint64_t loaded_to_ ABSL_GUARDED_BY(catch_up_mu_) = 0;
  const services::Clock clock_;
  std::function<void(const std::string&)> on_revoke_;
  // Serialises certificate bindings, so that a subject is bound once.
  absl::Mutex bind_mu_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, PrincipalState> principals_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> by_token_
      ABSL_GUARDED_BY(mu_);  // SHA-256 -> principal id
  absl::flat_hash_map<std::string, std::string> by_subject_
      ABSL_GUARDED_BY(mu_);  // bound subject -> principal id
  // The organisations partners act for, as last folded, each with the
  // stream revision it was folded at: a call refolds an organisation only
  // when its stream has moved on.
  mutable absl::Mutex orgs_mu_;
  mutable absl::flat_hash_map<std::string, stakeholders::OrganisationState>
      orgs_ ABSL_GUARDED_BY(orgs_mu_);
};

// A new random bearer token: "ncm_" and 43 URL-safe base64 characters
// (256 bits).
std::string NewToken();
// SHA-256 of the token's bytes, raw.
std::string TokenHash(absl::string_view token);

}  // namespace ncm::access

#endif  // NCM_ACCESS_REGISTRY_H_
