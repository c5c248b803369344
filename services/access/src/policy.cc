#include "ncm/access/policy.h"

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.h"
#include "ncm/common/v1/common.pb.h"

namespace ncm::access {
namespace {

namespace pb = ::ncm::access::v1;

// Columns: admin, secretariat, partner, data_provider, auditor, reader.
// 'Y' allowed, 'o' within the principal's own organisation, '-' refused.
constexpr char kAdminOnly[] = "Y-----";
constexpr char kWrite[] = "YY----";     // domain commands
constexpr char kQuery[] = "YYY-YY";     // domain queries
constexpr char kHistory[] = "YYo-Y-";   // the log: partners, their categories
constexpr char kOperate[] = "YY--Y-";   // verification, read-model status
constexpr char kAnyone[] = "YYYYYY";

struct Row {
  const char* method;
  const char* access;
};

constexpr Row kRows[] = {
    {"ncm.access.v1.Access/IssueToken", kAdminOnly},
    {"ncm.access.v1.Access/BindCertificate", kAdminOnly},
    {"ncm.access.v1.Access/RevokePrincipal", kAdminOnly},
    {"ncm.access.v1.Access/ListPrincipals", "Y---Y-"},
    {"ncm.access.v1.Access/WhoAmI", kAnyone},

    {"ncm.eventstore.v1.EventStore/Append", kAdminOnly},
    {"ncm.eventstore.v1.EventStore/AppendSession", kAdminOnly},
    {"ncm.eventstore.v1.EventStore/ReadStream", kHistory},
    {"ncm.eventstore.v1.EventStore/ReadAll", kHistory},
    {"ncm.eventstore.v1.EventStore/Subscribe", kHistory},
    {"ncm.eventstore.v1.EventStore/GetStreamInfo", kHistory},
    {"ncm.eventstore.v1.EventStore/VerifyChain", kOperate},

    {"ncm.eventstore.v1.Transparency/GetCheckpoint", kOperate},
    {"ncm.eventstore.v1.Transparency/ListCheckpoints", kOperate},
    {"ncm.eventstore.v1.Transparency/GetInclusionProof", kOperate},
    {"ncm.eventstore.v1.Transparency/GetConsistencyProof", kOperate},
    {"ncm.eventstore.v1.Transparency/GetLogKey", kOperate},
    // A witness is an auditor: it cosigns what it checked.
    {"ncm.eventstore.v1.Transparency/AddCosignature", "Y---Y-"},

    {"ncm.stakeholders.v1.Stakeholders/RegisterOrganisation", kWrite},
    {"ncm.stakeholders.v1.Stakeholders/AmendOrganisation", kWrite},
    {"ncm.stakeholders.v1.Stakeholders/ChangeMembershipRole", kWrite},
    {"ncm.stakeholders.v1.Stakeholders/SuspendMembership", kWrite},
    {"ncm.stakeholders.v1.Stakeholders/ReinstateMembership", kWrite},
    {"ncm.stakeholders.v1.Stakeholders/WithdrawMembership", kWrite},
    {"ncm.stakeholders.v1.Stakeholders/AppointFocalPoint", kWrite},
    {"ncm.stakeholders.v1.Stakeholders/EndFocalPointAppointment", kWrite},
    {"ncm.stakeholders.v1.Stakeholders/RectifyPerson", kWrite},
    {"ncm.stakeholders.v1.Stakeholders/ForgetPerson", kWrite},
    {"ncm.stakeholders.v1.Stakeholders/CreateWorkingGroup", kWrite},
    {"ncm.stakeholders.v1.Stakeholders/AddWorkingGroupMember", kWrite},
    {"ncm.stakeholders.v1.Stakeholders/RemoveWorkingGroupMember", kWrite},
    {"ncm.stakeholders.v1.Stakeholders/GetOrganisation", kQuery},
    {"ncm.stakeholders.v1.Stakeholders/GetPerson", kQuery},
    {"ncm.stakeholders.v1.Stakeholders/GetWorkingGroup", kQuery},
    {"ncm.stakeholders.v1.Stakeholders/ListCounties", kQuery},
    {"ncm.stakeholders.v1.Stakeholders/GetFocalPointsAsOf", kQuery},
    {"ncm.stakeholders.v1.Stakeholders/ListOrganisations", kQuery},
    {"ncm.stakeholders.v1.Stakeholders/GetAttendanceRates", kQuery},

    {"ncm.resolutions.v1.Resolutions/ScheduleMeeting", kWrite},
    {"ncm.resolutions.v1.Resolutions/RescheduleMeeting", kWrite},
    {"ncm.resolutions.v1.Resolutions/RecordAttendance", kWrite},
    {"ncm.resolutions.v1.Resolutions/CloseMeeting", kWrite},
    {"ncm.resolutions.v1.Resolutions/CancelMeeting", kWrite},
    {"ncm.resolutions.v1.Resolutions/AdoptResolution", kWrite},
    {"ncm.resolutions.v1.Resolutions/StartImplementation", kWrite},
    {"ncm.resolutions.v1.Resolutions/ReportProgress", "YYo---"},
    {"ncm.resolutions.v1.Resolutions/MarkImplemented", kWrite},
    {"ncm.resolutions.v1.Resolutions/VerifyImplementation", kWrite},
    {"ncm.resolutions.v1.Resolutions/RejectVerification", kWrite},
    {"ncm.resolutions.v1.Resolutions/DeferResolution", kWrite},
    {"ncm.resolutions.v1.Resolutions/ResumeImplementation", kWrite},
    {"ncm.resolutions.v1.Resolutions/BlockResolution", kWrite},
    {"ncm.resolutions.v1.Resolutions/UnblockResolution", kWrite},
    {"ncm.resolutions.v1.Resolutions/RescindResolution", kWrite},
    {"ncm.resolutions.v1.Resolutions/SupersedeResolution", kWrite},
    {"ncm.resolutions.v1.Resolutions/ReassignLead", kWrite},
    {"ncm.resolutions.v1.Resolutions/GetMeeting", kQuery},
    {"ncm.resolutions.v1.Resolutions/GetResolution", kQuery},
    {"ncm.resolutions.v1.Resolutions/ListResolutions", kQuery},
    {"ncm.resolutions.v1.Resolutions/ImplementationReport", kQuery},

    {"ncm.mous.v1.Mous/DraftMou", kWrite},
    {"ncm.mous.v1.Mous/AmendMou", kWrite},
    {"ncm.mous.v1.Mous/SubmitForLegalReview", kWrite},
    {"ncm.mous.v1.Mous/RecordLegalReview", kWrite},
    {"ncm.mous.v1.Mous/SignMou", kWrite},
    {"ncm.mous.v1.Mous/RenewMou", kWrite},
    {"ncm.mous.v1.Mous/TerminateMou", kWrite},
    {"ncm.mous.v1.Mous/RecordDelivery", "YY-o--"},
    {"ncm.mous.v1.Mous/GetMou", "YYYoYY"},
    {"ncm.mous.v1.Mous/GetCompliance", "YYYoYY"},

    {"ncm.resources.v1.Resources/OpenBudget", kWrite},
    {"ncm.resources.v1.Resources/AddBudgetLine", kWrite},
    {"ncm.resources.v1.Resources/ReviseBudgetLine", kWrite},
    {"ncm.resources.v1.Resources/RecordDeclaredTotal", kWrite},
    {"ncm.resources.v1.Resources/RecordTransaction", "YYo---"},
    {"ncm.resources.v1.Resources/GetBudget", kQuery},
    {"ncm.resources.v1.Resources/GetFundingPosition", kQuery},

    {"ncm.readside.v1.ReadModels/ListReadModels", kOperate},
    {"ncm.readside.v1.ReadModels/RebuildReadModel", kAdminOnly},
    {"ncm.readside.v1.ReadModels/GetBusStatus", kOperate},

    {"ncm.admin.v1.Admin/GetStatus", kAdminOnly},
    {"ncm.admin.v1.Admin/Backup", kAdminOnly},
};

std::vector<MethodRule> BuildRules() {
  std::vector<MethodRule> out;
  for (const Row& row : kRows) {
    MethodRule r;
    r.method = row.method;
    for (size_t i = 0; i < kRoles.size(); ++i) {
      r.access[i] = static_cast<Access>(row.access[i]);
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

std::string RoleLabel(pb::Role role) {
  switch (role) {
    case pb::ROLE_ADMIN: return "admin";
    case pb::ROLE_SECRETARIAT: return "secretariat";
    case pb::ROLE_PARTNER: return "partner";
    case pb::ROLE_DATA_PROVIDER: return "data_provider";
    case pb::ROLE_AUDITOR: return "auditor";
    case pb::ROLE_READER: return "reader";
    default: return "unknown";
  }
}

Access MethodRule::For(pb::Role role) const {
  for (size_t i = 0; i < kRoles.size(); ++i) {
    if (kRoles[i] == role) return access[i];
  }
  return Access::kDenied;
}

const std::vector<MethodRule>& AccessRules() {
  static const auto* const rules = new std::vector<MethodRule>(BuildRules());
  return *rules;
}

const MethodRule* FindRule(absl::string_view method) {
  static const auto* const index = [] {
    auto* m = new absl::flat_hash_map<std::string, const MethodRule*>;
    for (const MethodRule& r : AccessRules()) (*m)[r.method] = &r;
    return m;
  }();
  absl::ConsumePrefix(&method, "/");
  auto it = index->find(method);
  return it == index->end() ? nullptr : it->second;
}

bool WritesLog(absl::string_view method) {
  absl::ConsumePrefix(&method, "/");
  static const auto* const writers = new absl::flat_hash_set<std::string>{
      "ncm.eventstore.v1.EventStore/Append",
      "ncm.eventstore.v1.EventStore/AppendSession",
      "ncm.access.v1.Access/IssueToken",
      "ncm.access.v1.Access/BindCertificate",
      "ncm.access.v1.Access/RevokePrincipal",
  };
  if (writers->contains(method)) return true;
  const size_t slash = method.find('/');
  if (slash == absl::string_view::npos) return false;
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          std::string(method.substr(0, slash)));
  const google::protobuf::MethodDescriptor* m =
      service == nullptr
          ? nullptr
          : service->FindMethodByName(std::string(method.substr(slash + 1)));
  if (m == nullptr) return false;
  const google::protobuf::FieldDescriptor* f =
      m->input_type()->FindFieldByName("options");
  return f != nullptr &&
         f->message_type() == ncm::common::v1::CommandOptions::descriptor();
}

std::string AccessTableMarkdown() {
  std::string out = "| RPC |";
  std::string rule = "|---|";
  for (pb::Role role : kRoles) {
    absl::StrAppend(&out, " ", RoleLabel(role), " |");
    absl::StrAppend(&rule, ":-:|");
  }
  absl::StrAppend(&out, "\n", rule, "\n");
  for (const MethodRule& r : AccessRules()) {
    // "ncm.resolutions.v1.Resolutions/ReportProgress" -> "Resolutions/ReportProgress"
    std::vector<absl::string_view> parts = absl::StrSplit(r.method, '.');
    absl::StrAppend(&out, "| `", parts.back(), "` |");
    for (Access a : r.access) {
      absl::StrAppend(&out, " ",
                      a == Access::kAllowed ? "yes"
                      : a == Access::kOwn   ? "own"
                                            : "—",
                      " |");
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

}  // namespace ncm::access
