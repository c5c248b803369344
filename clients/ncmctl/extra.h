// The command groups with runners of their own, and shared printers.
#ifndef NCM_CLIENTS_NCMCTL_EXTRA_H_
#define NCM_CLIENTS_NCMCTL_EXTRA_H_

#include <vector>

#include "clients/ncmctl/cli.h"
#include "ncm/resolutions/v1/resolutions.pb.h"

namespace ncm::ctl {

// reports implementation (tables, CSV, JSON, --html).
Command ReportCommand();
// mous draft and amend (terms from flags).
std::vector<Command> MouCommands();
// budget create, add-line, revise-line, import; funding pledge, commit,
// receive, spend.
std::vector<Command> BudgetCommands();
// events read and tail; audit verify, export, replay.
std::vector<Command> EventCommands();
// audit key, keygen, checkpoint, prove, consistency, cosign.
std::vector<Command> TransparencyCommands();

// Prints a response in env.format, with the command's printer if any.
void PrintResponse(Env& env, const Command& cmd,
                   const google::protobuf::Message& response);
void PrintReport(Env& env, const ncm::resolutions::v1::ImplementationReportResponse& r,
                 ncm::resolutions::v1::ImplementationReportRequest::GroupBy by);

// One self-contained HTML page: the report's tables and inline SVG bar
// charts by organisation and by strategic priority.
std::string ReportHtml(Env& env,
                       const ncm::resolutions::v1::ImplementationReportResponse& by_org,
                       const ncm::resolutions::v1::ImplementationReportResponse& by_sp);

}  // namespace ncm::ctl

#endif  // NCM_CLIENTS_NCMCTL_EXTRA_H_
