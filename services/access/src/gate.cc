#include "ncm/access/gate.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/escaping.h"
#include "grpc/grpc_security_constants.h"
#include "ncm/access/policy.h"

namespace ncm::access {
namespace {

std::string FirstProperty(const grpc::AuthContext& auth, const char* name) {
  std::vector<grpc::string_ref> v = auth.FindPropertyValues(name);
  return v.empty() ? std::string() : std::string(v[0].data(), v[0].size());
}

// A log value: at most 300 bytes, quotes and control characters escaped.
std::string Quoted(absl::string_view s) {
  const bool cut = s.size() > 300;
  std::string out = absl::StrCat("\"", absl::CHexEscape(s.substr(0, 300)));
  if (cut) out += "...";
  return out + "\"";
}

}  // namespace

AccessGate::AccessGate(const PrincipalRegistry* registry, LogFn log)
    : registry_(registry), log_(std::move(log)) {}

absl::StatusOr<services::Principal> AccessGate::Authenticate(
    grpc::ServerContextBase* ctx) const {
  const auto& md = ctx->client_metadata();
  auto it = md.find("authorization");
  if (it != md.end()) {
    absl::string_view value(it->second.data(), it->second.size());
    value = absl::StripAsciiWhitespace(value);
    if (value.size() < 7 || !absl::EqualsIgnoreCase(value.substr(0, 7), "bearer ")) {
      return absl::UnauthenticatedError(
          "the authorization metadata must read \"Bearer <token>\"");
    }
    return registry_->ByToken(absl::StripAsciiWhitespace(value.substr(7)));
  }
  std::shared_ptr<const grpc::AuthContext> auth = ctx->auth_context();
  if (auth != nullptr && auth->IsPeerAuthenticated()) {
    return registry_->ByCertificate(
        FirstProperty(*auth, GRPC_X509_SUBJECT_PROPERTY_NAME),
        FirstProperty(*auth, GRPC_X509_CN_PROPERTY_NAME));
  }
  return absl::UnauthenticatedError(
      "this call needs a principal: send \"authorization: Bearer <token>\" "
      "metadata (an admin issues tokens), or a client certificate bound to "
      "one");
}

absl::StatusOr<services::Admission> AccessGate::Admit(
    grpc::ServerContextBase* ctx, absl::string_view method) const {
  absl::StatusOr<services::Principal> p = Authenticate(ctx);
  if (!p.ok()) {
    Log("-", method, ctx->peer(), p.status(), services::Refusal::kCredential);
    return p.status();
  }
  const MethodRule* rule = FindRule(method);
  const Access access = rule == nullptr ? Access::kDenied : rule->For(p->role);
  if (access == Access::kDenied) {
    absl::Status refused = absl::PermissionDeniedError(
        rule == nullptr
            ? absl::StrCat(method, " has no access rule; nobody may call it")
            : absl::StrCat("role ", RoleLabel(p->role), " may not call ",
                           method, " (principal \"", p->id,
                           "\"); the README's access table says who may"));
    Log(p->id, method, ctx->peer(), refused, services::Refusal::kRole);
    return refused;
  }
  if (!write_node_.empty() && WritesLog(method)) {
    if (on_refused_) on_refused_(services::Refusal::kReadNode);
    return absl::FailedPreconditionError(absl::StrCat(
        "this is a read node; send ", method, " to the write node at ",
        write_node_));
  }
  services::Admission a;
  a.scoped = access == Access::kOwn;
  a.clear_personal_data = ReadsPersonalData(p->role);
  a.principal = std::move(*p);
  return a;
}

absl::Status AccessGate::CheckStanding(
    const services::Principal& principal) const {
  return registry_->CheckActing(principal);
}

void AccessGate::LogRefusal(const services::Principal& principal,
                            absl::string_view method, const absl::Status& status,
                            services::Refusal why) const {
  // A credential revoked or expired since the call was admitted.
  if (status.code() == absl::StatusCode::kUnauthenticated) {
    why = services::Refusal::kCredential;
  }
  Log(principal.id, method, "", status, why);
}

void AccessGate::Log(absl::string_view principal, absl::string_view method,
                     absl::string_view peer, const absl::Status& status,
                     services::Refusal why) const {
  if (on_refused_) on_refused_(why);
  if (!log_) return;
  std::string fields = absl::StrCat(
      "msg=\"call refused\" principal=", principal, " method=", method,
      " code=", absl::StatusCodeToString(status.code()),
      " refusal=", services::RefusalName(why));
  if (!peer.empty()) absl::StrAppend(&fields, " peer=", peer);
  absl::StrAppend(&fields, " reason=", Quoted(status.message()));
  log_(fields);
}

}  // namespace ncm::access
