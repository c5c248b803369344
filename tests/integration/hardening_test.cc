// What a caller must not be able to make the log hold: requests carrying
// fields their type does not define, at any depth, are refused over gRPC by
// every service before anything is written.
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/unknown_field_set.h"
#include "gtest/gtest.h"
#include "ncm/access/v1/access.grpc.pb.h"
#include "ncm/eventstore/v1/eventstore.grpc.pb.h"
#include "ncm/mous/v1/mous.grpc.pb.h"
#include "ncm/readside/v1/readside.grpc.pb.h"
#include "ncm/resolutions/v1/resolutions.grpc.pb.h"
#include "ncm/resources/v1/resources.grpc.pb.h"
#include "ncm/stakeholders/v1/stakeholders.grpc.pb.h"
#include "testing/loopback_server.h"
#include "testing/raw_call.h"
#include "testing/temp_dir.h"

namespace ncm {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using ::testing::HasSubstr;

constexpr int kUnknownNumber = 9999;
constexpr int kMaxDepth = 5;

using Path = std::vector<const FieldDescriptor*>;

// Every path from `d` to a message field below it, `d` itself first; a
// type already on the path is not entered again.
void Paths(const Descriptor* d, Path* path, std::set<const Descriptor*>* on,
           std::vector<Path>* out) {
  out->push_back(*path);
  if (static_cast<int>(path->size()) >= kMaxDepth) return;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || f->is_map()) {
      continue;
    }
    const Descriptor* t = f->message_type();
    if (on->count(t)) continue;
    on->insert(t);
    path->push_back(f);
    Paths(t, path, on, out);
    path->pop_back();
    on->erase(t);
  }
}

// A request of type `d` with the messages along `path` present and a field
// numbered kUnknownNumber in the last one.
std::string RequestWithUnknownField(const Descriptor* d, const Path& path) {
  std::unique_ptr<Message> root(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(d)
          ->New());
  Message* m = root.get();
  for (const FieldDescriptor* f : path) {
    m = f->is_repeated() ? m->GetReflection()->AddMessage(m, f)
                         : m->GetReflection()->MutableMessage(m, f);
  }
  m->GetReflection()->MutableUnknownFields(m)->AddVarint(kUnknownNumber, 1);
  return root->SerializeAsString();
}

std::string PathText(const Path& path) {
  std::vector<std::string> names;
  for (const FieldDescriptor* f : path) names.push_back(f->name());
  return names.empty() ? "(the request)" : absl::StrJoin(names, ".");
}

TEST(HardeningTest, EveryRequestWithAnUnknownFieldAtAnyDepthIsRefused) {
  ::ncm::testing::TempDir dir;
  auto server = ::ncm::testing::StartLoopbackServer(dir.Sub("db"));
  ASSERT_NE(server, nullptr);
  auto admin = ::ncm::testing::AdminChannel(*server, dir.Sub("db"));
  const uint64_t head = server->store()->HeadPosition();
  int calls = 0;
  for (const char* name :
       {"ncm.eventstore.v1.EventStore", "ncm.stakeholders.v1.Stakeholders",
        "ncm.resolutions.v1.Resolutions", "ncm.mous.v1.Mous",
        "ncm.resources.v1.Resources", "ncm.access.v1.Access",
        "ncm.readside.v1.ReadModels"}) {
    const auto* svc =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            name);
    ASSERT_NE(svc, nullptr) << name;
    for (int i = 0; i < svc->method_count(); ++i) {
      const auto* m = svc->method(i);
      std::vector<Path> paths;
      Path path;
      std::set<const Descriptor*> on = {m->input_type()};
      Paths(m->input_type(), &path, &on, &paths);
      for (const Path& p : paths) {
        grpc::Status s = ::ncm::testing::CallRaw(
            admin.get(), m, RequestWithUnknownField(m->input_type(), p));
        const std::string what =
            absl::StrCat(svc->name(), "/", m->name(), " at ", PathText(p));
        EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
            << what << ": " << s.error_message();
        EXPECT_THAT(s.error_message(),
                    HasSubstr(absl::StrCat("field number ", kUnknownNumber)))
            << what;
        if (!p.empty()) {
          EXPECT_THAT(s.error_message(), HasSubstr(p.back()->name())) << what;
        }
        ++calls;
      }
    }
  }
  EXPECT_GT(calls, 150);
  EXPECT_EQ(server->store()->HeadPosition(), head) << "a refused call wrote";
  server->Shutdown(absl::Seconds(5));
}

TEST(HardeningTest, RawAppendsCannotReachTheDomainServicesStreams) {
  ::ncm::testing::TempDir dir;
  auto server = ::ncm::testing::StartLoopbackServer(dir.Sub("db"));
  ASSERT_NE(server, nullptr);
  auto admin = ::ncm::testing::AdminChannel(*server, dir.Sub("db"));
  auto stub = ncm::eventstore::v1::EventStore::NewStub(admin);
  const uint64_t head = server->store()->HeadPosition();
  for (const char* category :
       {"organisation", "person", "workinggroup", "acronym", "meeting",
        "resolution", "mou", "budget", "principal"}) {
    ncm::eventstore::v1::AppendRequest r;
    auto* w = r.add_streams();
    w->set_stream_id(
        absl::StrCat(category, "-6f1c2d3e-4b5a-4c6d-8e7f-8091a2b3c4d5"));
    auto* e = w->add_events();
    e->set_event_id("0b0c0d0e-1f20-4122-8324-252627282930");
    e->set_event_type("ncm.attack.v1.Unknown");
    e->set_payload("x");
    grpc::ClientContext ctx;
    ncm::eventstore::v1::AppendResponse out;
    grpc::Status s = stub->Append(&ctx, r, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << category;
    EXPECT_THAT(s.error_message(), HasSubstr("only its own service writes"))
        << category;
  }
  // Other categories stay open to raw appends.
  ncm::eventstore::v1::AppendRequest r;
  auto* w = r.add_streams();
  w->set_stream_id("note-1");
  w->mutable_expected()->set_kind(ncm::eventstore::v1::ExpectedRevision::ANY);
  auto* e = w->add_events();
  e->set_event_id("0b0c0d0e-1f20-4122-8324-252627282931");
  e->set_event_type("ncm.notes.v1.Noted");
  grpc::ClientContext ctx;
  ncm::eventstore::v1::AppendResponse out;
  grpc::Status ok = stub->Append(&ctx, r, &out);
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(server->store()->HeadPosition(), head + 1);
  server->Shutdown(absl::Seconds(5));
}

TEST(HardeningTest, DataFoldersAreTheOwnersAloneAndOpenOnesAreRefused) {
  ::ncm::testing::TempDir dir;
  const std::string data = dir.Sub("db");
  {
    auto server = ::ncm::testing::StartLoopbackServer(data);
    ASSERT_NE(server, nullptr);
    server->Shutdown(absl::Seconds(5));
  }
  for (const std::string& folder : {data, data + "/readmodels"}) {
    EXPECT_EQ(std::filesystem::status(folder).permissions() &
                  std::filesystem::perms::all,
              std::filesystem::perms::owner_all)
        << folder;
  }
  int files = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(data)) {
    if (!f.is_regular_file()) continue;
    ++files;
    EXPECT_EQ(f.status().permissions() & (std::filesystem::perms::group_all |
                                          std::filesystem::perms::others_all),
              std::filesystem::perms::none)
        << f.path();
  }
  EXPECT_GT(files, 5);
  EXPECT_TRUE(std::filesystem::exists(data + ".kek"));
  // A folder others can read is refused, saying how to fix it.
  std::filesystem::permissions(data, std::filesystem::perms::others_read |
                                         std::filesystem::perms::others_exec,
                               std::filesystem::perm_options::add);
  ncmd::ServerOptions o;
  o.listen_address = "127.0.0.1:0";
  o.data_dir = data;
  auto refused = ncmd::StartServer(o);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("chmod -R go-rwx"));
}

}  // namespace
}  // namespace ncm
