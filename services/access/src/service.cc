#include "ncm/access/service.h"

namespace ncm::access {

AccessService::AccessService(PrincipalRegistry* registry,
                             services::WorkerPool* pool)
    : DomainService(
          pb::IssueTokenRequest::descriptor()->file()->FindServiceByName("Access"),
          pool) {
  using R = PrincipalRegistry;
  Command("IssueToken", registry, &R::IssueToken);
  Command("BindCertificate", registry, &R::BindCertificate);
  Command("RevokePrincipal", registry, &R::RevokePrincipal);
  Unary<pb::ListPrincipalsRequest, pb::ListPrincipalsResponse>(
      "ListPrincipals",
      [registry](const services::Admission&, const pb::ListPrincipalsRequest& r,
                 pb::ListPrincipalsResponse* out) -> absl::Status {
        auto v = registry->ListPrincipals(r);
        if (!v.ok()) return v.status();
        *out = std::move(*v);
        return absl::OkStatus();
      });
  Unary<pb::WhoAmIRequest, pb::Principal>(
      "WhoAmI",
      [registry](const services::Admission& a, const pb::WhoAmIRequest&,
                 pb::Principal* out) -> absl::Status {
        auto v = registry->Get(a.principal.id);
        if (!v.ok()) return v.status();
        *out = std::move(*v);
        return absl::OkStatus();
      });
}

}  // namespace ncm::access
