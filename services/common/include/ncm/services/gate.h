// Who is calling, and whether they may: the gate every RPC passes before
// its handler runs (see services/access for the implementation).
#ifndef NCM_SERVICES_GATE_H_
#define NCM_SERVICES_GATE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"
#include "ncm/access/v1/access.pb.h"

namespace ncm::services {

using Role = ::ncm::access::v1::Role;

// An authenticated caller.
struct Principal {
  std::string id;  // the `actor` of the events it records
  Role role = Role::ROLE_UNSPECIFIED;
  std::string organisation_id;  // partners and data providers
};

// How a call was let in.
struct Admission {
  Principal principal;
  // The role may make this call only within its organisation's scope; the
  // method's scope check decides (see RawService::Unary).
  bool scoped = false;
  // Personal data is shown in clear (admin and secretariat); otherwise a
  // person's details are withheld from every answer.
  bool clear_personal_data = false;
};

// Why a call was refused.
enum class Refusal {
  kCredential,  // none, or one unknown, revoked or expired
  kRole,        // the role may not call the method
  kStanding,    // the principal's organisation is no longer an active member
  kScope,       // outside the records of the principal's organisation
  kReadNode,    // a call that appends, sent to a read node
};
inline constexpr int kRefusalKinds = 5;
// "credential", "role", "standing", "scope", "read_node".
const char* RefusalName(Refusal r);

class Gate {
 public:
  virtual ~Gate() = default;
  // Authenticates the caller of `method` ("/package.Service/Method") and
  // checks the access rule: UNAUTHENTICATED without a valid credential,
  // PERMISSION_DENIED when the role may not call it. Refusals are logged.
  virtual absl::StatusOr<Admission> Admit(grpc::ServerContextBase* ctx,
                                          absl::string_view method) const = 0;
  // OK unless the principal's credential was revoked or has expired since
  // (UNAUTHENTICATED), or it acts for an organisation that is no longer an
  // active member (PERMISSION_DENIED). May read the log, so it runs where
  // the call's work runs, not on gRPC's threads. Open subscriptions are held
  // to it too (eventstore_service.h).
  virtual absl::Status CheckStanding(const Principal& principal) const = 0;
  // Logs (and counts) a refusal decided after admission: `why` is
  // kStanding or kScope.
  virtual void LogRefusal(const Principal& principal, absl::string_view method,
                          const absl::Status& status, Refusal why) const = 0;
};

// Clears the details of every ncm.stakeholders.v1.Person in `message` that
// is not erased and marks it withheld.
void WithholdPersonalData(google::protobuf::Message* message);

}  // namespace ncm::services

#endif  // NCM_SERVICES_GATE_H_
