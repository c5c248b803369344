// Which role may call which RPC. The README's access table is this table;
// a test holds the two, and the server's behaviour, to each other.
#ifndef NCM_ACCESS_POLICY_H_
#define NCM_ACCESS_POLICY_H_

#include <array>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "ncm/access/v1/access.pb.h"

namespace ncm::access {

enum class Access : char {
  kDenied = '-',
  kAllowed = 'Y',
  // Allowed within the principal's organisation: the method's scope check
  // decides on the request (its own progress reports, funding, MOUs).
  kOwn = 'o',
};

// The table's columns, in order.
inline constexpr std::array<ncm::access::v1::Role, 6> kRoles = {
    ncm::access::v1::ROLE_ADMIN,         ncm::access::v1::ROLE_SECRETARIAT,
    ncm::access::v1::ROLE_PARTNER,       ncm::access::v1::ROLE_DATA_PROVIDER,
    ncm::access::v1::ROLE_AUDITOR,       ncm::access::v1::ROLE_READER};

// "admin", "secretariat", "partner", "data_provider", "auditor", "reader".
std::string RoleLabel(ncm::access::v1::Role role);

struct MethodRule {
  std::string method;  // "ncm.resolutions.v1.Resolutions/ReportProgress"
  std::array<Access, kRoles.size()> access;
  Access For(ncm::access::v1::Role role) const;
};

// Every rule, grouped by service.
const std::vector<MethodRule>& AccessRules();
// The rule of "/package.Service/Method" (or without the leading '/');
// nullptr when there is none (the call is then refused to everyone).
const MethodRule* FindRule(absl::string_view method);

// Whether "/package.Service/Method" (or without the leading '/') appends
// to the log: every command (a request with ncm.common.v1.CommandOptions),
// the event store's Append and the principal changes of the Access
// service. A read node refuses these before anything else looks at them.
bool WritesLog(absl::string_view method);

// The table as Markdown, as the README shows it.
std::string AccessTableMarkdown();

}  // namespace ncm::access

#endif  // NCM_ACCESS_POLICY_H_
