// The gate of every RPC: authenticates the caller (bearer token, else a
// client certificate bound to a principal) and applies the access table.
#ifndef NCM_ACCESS_GATE_H_
#define NCM_ACCESS_GATE_H_

#include <functional>
#include <string>

#include "ncm/access/registry.h"
#include "ncm/services/gate.h"

namespace ncm::access {

class AccessGate final : public services::Gate {
 public:
  // Receives one log line's key=value fields (never a token).
  using LogFn = std::function<void(const std::string& fields)>;

  // REQUIRES: `registry` outlives the gate.
  AccessGate(const PrincipalRegistry* registry, LogFn log);

  // On a read node: every call that would append to the log is refused
  // (FAILED_PRECONDITION naming `write_node`) once its caller is
  // authenticated and allowed, before any handler looks at the request.
  void RefuseWrites(std::string write_node) { write_node_ = std::move(write_node); }

  absl::StatusOr<services::Admission> Admit(
      grpc::ServerContextBase* ctx, absl::string_view method) const override;
  absl::Status CheckStanding(
      const services::Principal& principal) const override;
  void LogRefusal(const services::Principal& principal,
                  absl::string_view method, const absl::Status& status,
                  services::Refusal why) const override;

  // Called with every refusal's reason (for metrics); set before serving.
  void set_on_refused(std::function<void(services::Refusal)> fn) {
    on_refused_ = std::move(fn);
  }

 private:
  absl::StatusOr<services::Principal> Authenticate(
      grpc::ServerContextBase* ctx) const;
  void Log(absl::string_view principal, absl::string_view method,
           absl::string_view peer, const absl::Status& status,
           services::Refusal why) const;

  const PrincipalRegistry* const registry_;
  const LogFn log_;
  std::string write_node_;  // empty: this node takes writes
  std::function<void(services::Refusal)> on_refused_;
};

}  // namespace ncm::access

#endif  // NCM_ACCESS_GATE_H_
