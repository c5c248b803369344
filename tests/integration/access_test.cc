// Who may call what, over gRPC: every RPC the server lists through
// reflection, called as every role and as nobody, against the README's
// access table; then the scoped rules on real data (the demo dataset):
// partners and data providers within their organisation, personal data
// withheld, the principal recorded as each event's actor, refusals logged.
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "clients/demo/demo.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/client_unary_call.h"
#include "grpcpp/impl/codegen/sync_stream.h"
#include "gtest/gtest.h"
#include "ncm/access/v1/access.grpc.pb.h"
#include "ncm/eventstore/v1/eventstore.grpc.pb.h"
#include "ncm/mous/v1/mous.grpc.pb.h"
#include "ncm/resolutions/v1/resolutions.grpc.pb.h"
#include "ncm/resources/v1/resources.grpc.pb.h"
#include "ncm/stakeholders/v1/stakeholders.grpc.pb.h"
#include "testing/loopback_server.h"
#include "testing/raw_call.h"
#include "testing/read_file.h"
#include "testing/temp_dir.h"

namespace ncm {
namespace {

namespace apb = ::ncm::access::v1;
namespace espb = ::ncm::eventstore::v1;
namespace mpb = ::ncm::mous::v1;
namespace rpb = ::ncm::resolutions::v1;
namespace fpb = ::ncm::resources::v1;
namespace spb = ::ncm::stakeholders::v1;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kRoleColumns[] = {"admin",   "secretariat",
                                        "partner", "data_provider",
                                        "auditor", "reader"};

// The README's access table: "Service/Method" -> one cell per role.
std::map<std::string, std::vector<std::string>> ReadmeTable() {
  const std::string text = ::ncm::testing::ReadFile(NCM_README);
  std::map<std::string, std::vector<std::string>> out;
  auto at = text.find("<!-- access-table");
  EXPECT_NE(at, std::string::npos) << "README.md has no access table";
  if (at == std::string::npos) return out;
  std::vector<std::string> lines =
      absl::StrSplit(text.substr(at), '\n');
  bool header_seen = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    absl::string_view line = lines[i];
    if (!absl::StartsWith(line, "|")) {
      if (header_seen) break;
      continue;
    }
    std::vector<std::string> cells = absl::StrSplit(line, '|');
    // "", " `Svc/M` ", " yes ", ..., ""
    if (cells.size() != 9) continue;
    absl::string_view key = absl::StripAsciiWhitespace(cells[1]);
    if (!absl::ConsumePrefix(&key, "`")) {
      header_seen = true;
      continue;
    }
    absl::ConsumeSuffix(&key, "`");
    std::vector<std::string> access;
    for (size_t c = 2; c < 8; ++c) {
      access.emplace_back(absl::StripAsciiWhitespace(cells[c]));
    }
    out[std::string(key)] = access;
  }
  return out;
}

std::string Flatten(const grpc::ByteBuffer& b) {
  std::vector<grpc::Slice> slices;
  (void)b.Dump(&slices);
  std::string out;
  for (const auto& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

// The services the server lists through gRPC reflection (v1alpha), decoded
// by field number: ServerReflectionRequest.list_services = 7;
// ServerReflectionResponse.list_services_response = 6, whose field 1 holds
// services, each with its name in field 1.
std::vector<std::string> ListServices(grpc::Channel* channel) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>>
      stream(grpc::internal::ClientReaderWriterFactory<
             grpc::ByteBuffer, grpc::ByteBuffer>::
                 Create(channel,
                        grpc::internal::RpcMethod(
                            "/grpc.reflection.v1alpha.ServerReflection/"
                            "ServerReflectionInfo",
                            grpc::internal::RpcMethod::BIDI_STREAMING),
                        &ctx));
  grpc::Slice slice(std::string("\x3a\x00", 2));
  grpc::ByteBuffer request(&slice, 1), response;
  EXPECT_TRUE(stream->Write(request));
  stream->WritesDone();
  std::vector<std::string> names;
  if (stream->Read(&response)) {
    google::protobuf::UnknownFieldSet top;
    EXPECT_TRUE(top.ParseFromString(Flatten(response)));
    for (int i = 0; i < top.field_count(); ++i) {
      if (top.field(i).number() != 6) continue;
      google::protobuf::UnknownFieldSet list;
      EXPECT_TRUE(list.ParseFromString(top.field(i).length_delimited()));
      for (int j = 0; j < list.field_count(); ++j) {
        google::protobuf::UnknownFieldSet svc;
        EXPECT_TRUE(svc.ParseFromString(list.field(j).length_delimited()));
        for (int k = 0; k < svc.field_count(); ++k) {
          if (svc.field(k).number() == 1) {
            names.push_back(svc.field(k).length_delimited());
          }
        }
      }
    }
  }
  EXPECT_TRUE(stream->Finish().ok());
  return names;
}

// Calls `method` with an empty request: the status says whether the gate
// let the call through (what the handler then says of the empty request
// does not matter here).
grpc::Status CallEmpty(grpc::Channel* channel,
                       const google::protobuf::MethodDescriptor* m) {
  return ::ncm::testing::CallRaw(channel, m, "");
}

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ncmd::ServerOptions o;
    o.listen_address = "127.0.0.1:0";
    o.data_dir = dir_.Sub("db");
    o.log = [this](absl::string_view, const std::string& fields) {
      std::lock_guard<std::mutex> l(log_mu_);
      log_.push_back(fields);
    };
    auto s = ncmd::StartServer(o);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    admin_token_ = ::ncm::testing::AdminToken(dir_.Sub("db"));
    admin_ = ::ncm::testing::Dial(server_->address(), admin_token_);
    demo::DemoOptions d;
    d.budget_csv = NCM_BUDGET_2020_CSV;
    auto loaded = demo::LoadDemo(admin_, d);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    budget_id_ = loaded->budget_id;
  }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(5));
  }

  // Issues a token to a new principal; returns a channel carrying it.
  std::shared_ptr<grpc::Channel> As(const std::string& id, apb::Role role,
                                    const std::string& org = "") {
    auto stub = apb::Access::NewStub(admin_);
    grpc::ClientContext ctx;
    apb::IssueTokenRequest r;
    r.set_principal_id(id);
    r.set_role(role);
    r.set_organisation_id(org);
    apb::IssueTokenResponse out;
    grpc::Status s = stub->IssueToken(&ctx, r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    tokens_.push_back(out.token());
    return ::ncm::testing::Dial(server_->address(), out.token());
  }

  // A resolution of the demo data in progress (empty if none).
  rpb::Resolution InProgressResolution() {
    auto stub = rpb::Resolutions::NewStub(admin_);
    grpc::ClientContext ctx;
    rpb::ListResolutionsRequest r;
    r.add_statuses(rpb::IN_PROGRESS);
    rpb::ListResolutionsResponse out;
    EXPECT_TRUE(stub->ListResolutions(&ctx, r, &out).ok());
    return out.resolutions_size() > 0 ? out.resolutions(0) : rpb::Resolution();
  }

  // Every organisation, as the admin lists them.
  std::vector<spb::Organisation> Organisations() {
    auto stub = spb::Stakeholders::NewStub(admin_);
    grpc::ClientContext ctx;
    spb::ListOrganisationsResponse out;
    EXPECT_TRUE(
        stub->ListOrganisations(&ctx, spb::ListOrganisationsRequest(), &out).ok());
    return {out.organisations().begin(), out.organisations().end()};
  }

  std::vector<std::string> Log() {
    std::lock_guard<std::mutex> l(log_mu_);
    return log_;
  }

  ::ncm::testing::TempDir dir_;
  std::unique_ptr<ncmd::Server> server_;
  std::string admin_token_;
  std::shared_ptr<grpc::Channel> admin_;
  std::string budget_id_;
  std::vector<std::string> tokens_;
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

TEST_F(AccessTest, EveryRpcOfEveryServiceAnswersEveryRoleAsTheTableSays) {
  const auto table = ReadmeTable();
  ASSERT_FALSE(table.empty());
  // An organisation for the roles that act for one.
  std::string org;
  {
    auto stub = spb::Stakeholders::NewStub(admin_);
    grpc::ClientContext ctx;
    spb::ListOrganisationsRequest r;
    spb::ListOrganisationsResponse out;
    ASSERT_TRUE(stub->ListOrganisations(&ctx, r, &out).ok());
    ASSERT_GT(out.organisations_size(), 0);
    org = out.organisations(0).organisation_id();
  }
  std::vector<std::shared_ptr<grpc::Channel>> channels = {
      admin_,
      As("walk-secretariat", apb::ROLE_SECRETARIAT),
      As("walk-partner", apb::ROLE_PARTNER, org),
      As("walk-provider", apb::ROLE_DATA_PROVIDER, org),
      As("walk-auditor", apb::ROLE_AUDITOR),
      As("walk-reader", apb::ROLE_READER)};
  auto nobody = ::ncm::testing::Dial(server_->address(), "");
  auto forged = ::ncm::testing::Dial(server_->address(), "ncm_not-a-token");

  // Reflection answers without a principal, and so does health.
  const std::vector<std::string> services = ListServices(nobody.get());
  EXPECT_THAT(services, ::testing::Contains("grpc.health.v1.Health"));
  {
    grpc::ClientContext ctx;
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1), response;
    grpc::Status s =
        grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
            nobody.get(),
            grpc::internal::RpcMethod("/grpc.health.v1.Health/Check",
                                      grpc::internal::RpcMethod::NORMAL_RPC),
            &ctx, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }
  int walked = 0;
  std::set<std::string> rows_used;
  for (const std::string& service : services) {
    if (absl::StartsWith(service, "grpc.")) continue;  // health, reflection
    const auto* desc =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            service);
    ASSERT_NE(desc, nullptr) << service << " has no descriptor";
    for (int i = 0; i < desc->method_count(); ++i) {
      const auto* m = desc->method(i);
      const std::string key = absl::StrCat(desc->name(), "/", m->name());
      auto row = table.find(key);
      if (row == table.end()) {
        ADD_FAILURE() << key << " has no row in the README's access table";
        continue;
      }
      rows_used.insert(key);
      for (auto* ch : {nobody.get(), forged.get()}) {
        EXPECT_EQ(CallEmpty(ch, m).error_code(),
                  grpc::StatusCode::UNAUTHENTICATED)
            << key;
      }
      for (size_t r = 0; r < channels.size(); ++r) {
        const std::string& cell = row->second[r];
        grpc::Status s = CallEmpty(channels[r].get(), m);
        const std::string who = absl::StrCat(key, " as ", kRoleColumns[r]);
        EXPECT_NE(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << who;
        if (cell == "yes") {
          EXPECT_NE(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
              << who << ": " << s.error_message();
        } else if (cell == "own") {
          // Through the gate; the scope check may refuse an empty request,
          // but not the role.
          EXPECT_THAT(s.error_message(), Not(HasSubstr("may not call"))) << who;
        } else {
          EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << who;
          EXPECT_THAT(s.error_message(), HasSubstr("may not call")) << who;
        }
        ++walked;
      }
    }
  }
  EXPECT_GT(walked, 6 * 60);
  for (const auto& [key, cells] : table) {
    EXPECT_TRUE(rows_used.count(key)) << key << " is in the table but not served";
  }
}

TEST_F(AccessTest, PartnersActForTheirOwnOrganisationOnly) {
  // An in-progress resolution: its lead acts as a partner.
  const rpb::Resolution target = InProgressResolution();
  ASSERT_FALSE(target.resolution_id().empty());
  const std::string lead = target.terms().lead_organisation_id();
  std::string other;
  {
    auto stub = spb::Stakeholders::NewStub(admin_);
    grpc::ClientContext ctx;
    spb::ListOrganisationsResponse out;
    ASSERT_TRUE(
        stub->ListOrganisations(&ctx, spb::ListOrganisationsRequest(), &out).ok());
    for (const auto& o : out.organisations()) {
      bool involved = o.organisation_id() == lead;
      for (const auto& s : target.terms().supporting_organisation_ids()) {
        involved = involved || s == o.organisation_id();
      }
      if (!involved) other = o.organisation_id();
    }
  }
  ASSERT_FALSE(other.empty());
  auto partner = As("lead-sync", apb::ROLE_PARTNER, lead);
  auto res = rpb::Resolutions::NewStub(partner);

  rpb::ReportProgressRequest report;
  report.set_resolution_id(target.resolution_id());
  report.set_reporting_organisation_id(other);
  report.set_percent_complete(90);
  report.set_narrative("Field work finished in two more counties.");
  {
    grpc::ClientContext ctx;
    ncm::common::v1::CommandResult out;
    grpc::Status s = res->ReportProgress(&ctx, report, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(s.error_message(), HasSubstr("its own organisation"));
  }
  report.set_reporting_organisation_id(lead);
  ncm::common::v1::CommandResult reported;
  {
    grpc::ClientContext ctx;
    grpc::Status s = res->ReportProgress(&ctx, report, &reported);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  // The event names the partner's principal as its actor.
  {
    auto es = espb::EventStore::NewStub(admin_);
    grpc::ClientContext ctx;
    espb::ReadStreamRequest r;
    r.set_stream_id("resolution-" + target.resolution_id());
    r.set_from_end(true);
    r.set_direction(espb::BACKWARD);
    r.set_max_count(1);
    espb::ReadStreamResponse out;
    ASSERT_TRUE(es->ReadStream(&ctx, r, &out).ok());
    ASSERT_EQ(out.events_size(), 1);
    EXPECT_EQ(out.events(0).position(), reported.position());
    EXPECT_EQ(out.events(0).actor(), "lead-sync");
  }
  // A partner may not change a resolution's status.
  {
    grpc::ClientContext ctx;
    rpb::DeferResolutionRequest r;
    r.set_resolution_id(target.resolution_id());
    ncm::common::v1::CommandResult out;
    EXPECT_EQ(res->DeferResolution(&ctx, r, &out).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }

  // Its own pledge, yes; another's, or spending, no.
  auto funds = fpb::Resources::NewStub(partner);
  fpb::RecordTransactionRequest t;
  t.set_budget_id(budget_id_);
  t.set_type(fpb::INCOMING_PLEDGE);
  t.set_organisation_id(lead);
  t.mutable_amount()->set_minor_units(5000000);
  t.mutable_amount()->set_currency("KES");
  t.set_description("Pledge for county outreach");
  t.mutable_value_date()->set_year(2021);
  t.mutable_value_date()->set_month(1);
  t.mutable_value_date()->set_day(15);
  {
    grpc::ClientContext ctx;
    fpb::RecordTransactionResponse out;
    grpc::Status s = funds->RecordTransaction(&ctx, t, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }
  for (auto [type, org] : {std::pair{fpb::INCOMING_PLEDGE, other},
                           std::pair{fpb::EXPENDITURE, lead}}) {
    t.set_type(type);
    t.set_organisation_id(org);
    grpc::ClientContext ctx;
    fpb::RecordTransactionResponse out;
    EXPECT_EQ(funds->RecordTransaction(&ctx, t, &out).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }

  // The log: the categories it may read, filtered; nothing else.
  auto es = espb::EventStore::NewStub(partner);
  {
    grpc::ClientContext ctx;
    espb::SubscribeRequest r;
    r.mutable_filter()->add_stream_prefixes("resolution-");
    auto reader = es->Subscribe(&ctx, r);
    espb::SubscribeResponse msg;
    EXPECT_TRUE(reader->Read(&msg));
    ctx.TryCancel();
    reader->Finish().IgnoreError();
  }
  for (const char* prefix : {"person-", "principal-", ""}) {
    grpc::ClientContext ctx;
    espb::SubscribeRequest r;
    if (*prefix) r.mutable_filter()->add_stream_prefixes(prefix);
    auto reader = es->Subscribe(&ctx, r);
    espb::SubscribeResponse msg;
    EXPECT_FALSE(reader->Read(&msg)) << prefix;
    EXPECT_EQ(reader->Finish().error_code(),
              grpc::StatusCode::PERMISSION_DENIED)
        << prefix;
  }
  {
    grpc::ClientContext ctx;
    espb::ReadStreamRequest r;
    r.set_stream_id("principal-admin");
    r.set_max_count(1);
    espb::ReadStreamResponse out;
    EXPECT_EQ(es->ReadStream(&ctx, r, &out).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }

  // Refusals are logged with principal, method and reason, and no token.
  bool logged = false;
  for (const std::string& line : Log()) {
    if (absl::StrContains(line, "principal=lead-sync") &&
        absl::StrContains(line,
                          "method=/ncm.resolutions.v1.Resolutions/ReportProgress") &&
        absl::StrContains(line, "code=PERMISSION_DENIED") &&
        absl::StrContains(line, "reason=\"a partner reports progress")) {
      logged = true;
    }
    for (const std::string& token : tokens_) {
      EXPECT_THAT(line, Not(HasSubstr(token)));
    }
    EXPECT_THAT(line, Not(HasSubstr(admin_token_)));
  }
  EXPECT_TRUE(logged);
}

TEST_F(AccessTest, DataProvidersWorkOnTheirOwnMous) {
  std::string mou_id;
  {
    auto es = espb::EventStore::NewStub(admin_);
    grpc::ClientContext ctx;
    espb::ReadAllRequest r;
    r.mutable_filter()->add_stream_prefixes("mou-");
    r.set_max_count(1);
    espb::ReadAllResponse out;
    ASSERT_TRUE(es->ReadAll(&ctx, r, &out).ok());
    ASSERT_EQ(out.events_size(), 1);
    mou_id = out.events(0).stream_id().substr(4);
  }
  mpb::Mou mou;
  {
    auto stub = mpb::Mous::NewStub(admin_);
    grpc::ClientContext ctx;
    mpb::GetMouRequest r;
    r.set_mou_id(mou_id);
    ASSERT_TRUE(stub->GetMou(&ctx, r, &mou).ok());
  }
  std::string provider, secretariat;
  for (const auto& p : mou.terms().parties()) {
    (p.role() == mpb::PROVIDER ? provider : secretariat) = p.organisation_id();
  }
  ASSERT_FALSE(provider.empty());
  ASSERT_GT(mou.deliveries_size(), 0);
  auto as_provider = mpb::Mous::NewStub(As("nis-feed", apb::ROLE_DATA_PROVIDER, provider));
  {
    grpc::ClientContext ctx;
    mpb::GetMouRequest r;
    r.set_mou_id(mou_id);
    mpb::Mou out;
    EXPECT_TRUE(as_provider->GetMou(&ctx, r, &out).ok());
  }
  mpb::RecordDeliveryRequest d;
  d.set_mou_id(mou_id);
  d.set_dataset_code(mou.deliveries(0).dataset_code());
  *d.mutable_period() = mou.deliveries(0).period();
  d.set_notes("re-sent after a format fix");
  {
    grpc::ClientContext ctx;
    ncm::common::v1::CommandResult out;
    grpc::Status s = as_provider->RecordDelivery(&ctx, d, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }
  d.set_mou_id("7d9f3c9e-1111-4a5b-8c2d-000000000000");  // not its MOU
  {
    grpc::ClientContext ctx;
    ncm::common::v1::CommandResult out;
    grpc::Status s = as_provider->RecordDelivery(&ctx, d, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(s.error_message(), HasSubstr("does not provide dataset"));
  }
  auto compliance = [&](const std::string& mou, const std::string& org) {
    grpc::ClientContext ctx;
    mpb::GetComplianceRequest r;
    r.set_mou_id(mou);
    r.set_provider_organisation_id(org);
    mpb::GetComplianceResponse out;
    return as_provider->GetCompliance(&ctx, r, &out).error_code();
  };
  EXPECT_EQ(compliance("", provider), grpc::StatusCode::OK);
  // One MOU's figures cover every provider of it: not a provider's own.
  EXPECT_EQ(compliance(mou_id, ""), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(compliance("", ""), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(compliance("", secretariat), grpc::StatusCode::PERMISSION_DENIED);
  // The secretariat party of the MOU provides no dataset: as a data
  // provider it records no delivery.
  {
    auto as_secretariat = mpb::Mous::NewStub(
        As("sec-feed", apb::ROLE_DATA_PROVIDER, secretariat));
    d.set_mou_id(mou_id);
    grpc::ClientContext ctx;
    ncm::common::v1::CommandResult out;
    grpc::Status s = as_secretariat->RecordDelivery(&ctx, d, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(s.error_message(), HasSubstr("does not provide dataset"));
  }
  // Nothing else: not the resolutions, not the log.
  {
    auto res = rpb::Resolutions::NewStub(As("nis-feed-2", apb::ROLE_DATA_PROVIDER, provider));
    grpc::ClientContext ctx;
    rpb::ListResolutionsResponse out;
    EXPECT_EQ(res->ListResolutions(&ctx, rpb::ListResolutionsRequest(), &out)
                  .error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
}

TEST_F(AccessTest, OnlyAdminAndSecretariatReadPersonalDataInClear) {
  auto admin = spb::Stakeholders::NewStub(admin_);
  spb::ListOrganisationsResponse orgs;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(
        admin->ListOrganisations(&ctx, spb::ListOrganisationsRequest(), &orgs).ok());
  }
  std::string org_id, person_id;
  for (const auto& o : orgs.organisations()) {
    grpc::ClientContext ctx;
    spb::GetOrganisationRequest r;
    r.set_organisation_id(o.organisation_id());
    spb::Organisation full;
    ASSERT_TRUE(admin->GetOrganisation(&ctx, r, &full).ok());
    for (const auto& fp : full.focal_points()) {
      if (fp.person().has_details() && !fp.person().details().full_name().empty()) {
        org_id = o.organisation_id();
        person_id = fp.person().person_id();
      }
    }
    if (!org_id.empty()) break;
  }
  ASSERT_FALSE(org_id.empty()) << "the demo has focal points";
  struct Case {
    std::string id;
    apb::Role role;
    bool clear;
  };
  for (const Case& c : {Case{"pd-secretariat", apb::ROLE_SECRETARIAT, true},
                        Case{"pd-partner", apb::ROLE_PARTNER, false},
                        Case{"pd-auditor", apb::ROLE_AUDITOR, false},
                        Case{"pd-reader", apb::ROLE_READER, false}}) {
    auto stub = spb::Stakeholders::NewStub(
        As(c.id, c.role, c.role == apb::ROLE_PARTNER ? org_id : ""));
    {
      grpc::ClientContext ctx;
      spb::GetPersonRequest r;
      r.set_person_id(person_id);
      spb::Person p;
      ASSERT_TRUE(stub->GetPerson(&ctx, r, &p).ok()) << c.id;
      EXPECT_EQ(p.person_id(), person_id);
      EXPECT_EQ(!p.details().full_name().empty(), c.clear) << c.id;
      EXPECT_EQ(p.withheld(), !c.clear) << c.id;
    }
    {
      grpc::ClientContext ctx;
      spb::GetOrganisationRequest r;
      r.set_organisation_id(org_id);
      spb::Organisation o;
      ASSERT_TRUE(stub->GetOrganisation(&ctx, r, &o).ok()) << c.id;
      ASSERT_GT(o.focal_points_size(), 0);
      for (const auto& fp : o.focal_points()) {
        if (fp.person().erased()) continue;
        EXPECT_EQ(fp.person().has_details(), c.clear) << c.id;
      }
    }
  }
}

TEST_F(AccessTest, OversizedFieldsAreRefusedNamingTheLimit) {
  auto stub = rpb::Resolutions::NewStub(admin_);
  grpc::ClientContext ctx;
  rpb::ReportProgressRequest r;
  r.set_resolution_id("7d9f3c9e-1111-4a5b-8c2d-000000000000");
  r.set_narrative(std::string(40000, 'n'));
  ncm::common::v1::CommandResult out;
  grpc::Status s = stub->ReportProgress(&ctx, r, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("narrative is 40000 bytes"));
  EXPECT_THAT(s.error_message(), HasSubstr("limit"));
}

TEST_F(AccessTest, RevokingAPrincipalEndsItsSubscriptionsAndCalls) {
  auto auditor = As("auditor-1", apb::ROLE_AUDITOR);
  auto es = espb::EventStore::NewStub(auditor);
  grpc::ClientContext ctx;
  espb::SubscribeRequest r;
  r.set_from_end(true);
  auto reader = es->Subscribe(&ctx, r);
  espb::SubscribeResponse msg;
  ASSERT_TRUE(reader->Read(&msg));  // caught up
  {
    auto access = apb::Access::NewStub(admin_);
    grpc::ClientContext c;
    apb::RevokePrincipalRequest rv;
    rv.set_principal_id("auditor-1");
    rv.set_reason("contract ended");
    ncm::common::v1::CommandResult out;
    ASSERT_TRUE(access->RevokePrincipal(&c, rv, &out).ok());
  }
  while (reader->Read(&msg)) {
  }
  grpc::Status ended = reader->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(ended.error_message(), HasSubstr("revoked"));
  grpc::ClientContext again;
  apb::Principal me;
  EXPECT_EQ(apb::Access::NewStub(auditor)->WhoAmI(&again, apb::WhoAmIRequest(), &me)
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AccessTest, ASuspendedMembersPrincipalsAreRefused) {
  const std::vector<spb::Organisation> orgs = Organisations();
  ASSERT_FALSE(orgs.empty());
  const std::string org = orgs[0].organisation_id();
  auto partner = apb::Access::NewStub(As("soon-suspended", apb::ROLE_PARTNER, org));
  {
    grpc::ClientContext ctx;
    apb::Principal me;
    ASSERT_TRUE(partner->WhoAmI(&ctx, apb::WhoAmIRequest(), &me).ok());
  }
  {
    auto stub = spb::Stakeholders::NewStub(admin_);
    grpc::ClientContext ctx;
    spb::MembershipChangeRequest r;
    r.set_organisation_id(org);
    r.set_reason("dues unpaid");
    ncm::common::v1::CommandResult out;
    grpc::Status s = stub->SuspendMembership(&ctx, r, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  grpc::ClientContext ctx;
  apb::Principal me;
  grpc::Status s = partner->WhoAmI(&ctx, apb::WhoAmIRequest(), &me);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("SUSPENDED"));
}

// Reads a subscription to its end (bounded): the status it ended with.
grpc::Status ReadToEnd(grpc::ClientReader<espb::SubscribeResponse>* reader) {
  espb::SubscribeResponse msg;
  while (reader->Read(&msg)) {
  }
  return reader->Finish();
}

TEST_F(AccessTest, SubscriptionsEndWhenTheOrganisationLosesItsStanding) {
  const std::vector<spb::Organisation> orgs = Organisations();
  ASSERT_FALSE(orgs.empty());
  const std::string org = orgs[0].organisation_id();
  auto partner = As("watching-partner", apb::ROLE_PARTNER, org);
  auto es = espb::EventStore::NewStub(partner);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  espb::SubscribeRequest r;
  r.set_from_end(true);
  r.mutable_filter()->add_stream_prefixes("resolution-");
  auto reader = es->Subscribe(&ctx, r);
  espb::SubscribeResponse msg;
  ASSERT_TRUE(reader->Read(&msg));  // caught up
  {
    auto stub = spb::Stakeholders::NewStub(admin_);
    grpc::ClientContext c;
    spb::MembershipChangeRequest s;
    s.set_organisation_id(org);
    s.set_reason("dues unpaid");
    ncm::common::v1::CommandResult out;
    ASSERT_TRUE(stub->SuspendMembership(&c, s, &out).ok());
  }
  // Idle (nothing new in its filter), it is still ended.
  const absl::Time asked = absl::Now();
  grpc::Status ended = ReadToEnd(reader.get());
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << ended.error_message();
  EXPECT_THAT(ended.error_message(), HasSubstr("SUSPENDED"));
  EXPECT_LT(absl::Now() - asked, absl::Seconds(10));
}

TEST_F(AccessTest, OnePrincipalCannotTakeEverySubscriptionSlot) {
  auto auditor = As("greedy-auditor", apb::ROLE_AUDITOR);
  auto es = espb::EventStore::NewStub(auditor);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<espb::SubscribeResponse>>> open;
  espb::SubscribeRequest r;
  r.set_from_end(true);
  grpc::Status refused;
  for (int i = 0; i < 80 && refused.ok(); ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    auto reader = es->Subscribe(contexts.back().get(), r);
    espb::SubscribeResponse msg;
    if (reader->Read(&msg)) {
      open.push_back(std::move(reader));
    } else {
      refused = reader->Finish();
    }
  }
  EXPECT_EQ(open.size(), 64u);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("limit per principal (64)"));
  // Another principal still subscribes.
  auto other = espb::EventStore::NewStub(As("patient-auditor", apb::ROLE_AUDITOR));
  grpc::ClientContext ctx;
  auto reader = other->Subscribe(&ctx, r);
  espb::SubscribeResponse msg;
  EXPECT_TRUE(reader->Read(&msg));
  ctx.TryCancel();
  reader->Finish().IgnoreError();
  for (size_t i = 0; i < open.size(); ++i) {
    contexts[i]->TryCancel();
    open[i]->Finish().IgnoreError();
  }
}

TEST_F(AccessTest, APartnerReportingOnAResolutionItHasNoPartInIsDenied) {
  const rpb::Resolution target = InProgressResolution();
  ASSERT_FALSE(target.resolution_id().empty());
  std::set<std::string> involved = {target.terms().lead_organisation_id()};
  for (const auto& s : target.terms().supporting_organisation_ids()) involved.insert(s);
  std::string outsider;
  for (const auto& o : Organisations()) {
    if (!involved.count(o.organisation_id())) outsider = o.organisation_id();
  }
  ASSERT_FALSE(outsider.empty());
  auto stub = rpb::Resolutions::NewStub(As("outsider", apb::ROLE_PARTNER, outsider));
  const uint64_t head = server_->store()->HeadPosition();
  grpc::ClientContext ctx;
  rpb::ReportProgressRequest r;
  r.set_resolution_id(target.resolution_id());
  r.set_reporting_organisation_id(outsider);
  r.set_percent_complete(50);
  r.set_narrative("we did it");
  ncm::common::v1::CommandResult out;
  grpc::Status s = stub->ReportProgress(&ctx, r, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("neither leads nor supports"));
  EXPECT_EQ(server_->store()->HeadPosition(), head);
}

TEST(ConnectTest, ATokenIsNeverSentInPlaintextOffLoopback) {
  client::ConnectOptions o;
  o.server = "10.1.2.3:50051";
  o.token = "ncm_secret";
  auto refused = client::Connect(o);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("plaintext"));
  for (const char* loopback : {"127.0.0.1:50051", "localhost:1", "[::1]:5"}) {
    o.server = loopback;
    EXPECT_TRUE(client::Connect(o).ok()) << loopback;
  }
  o.server = "10.1.2.3:50051";
  o.token.clear();  // no token: nothing to leak
  EXPECT_TRUE(client::Connect(o).ok());
}

}  // namespace
}  // namespace ncm
