#include "ncm/ncmd/server.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "ncm/access/gate.h"
#include "ncm/access/policy.h"
#include "ncm/access/registry.h"
#include "ncm/access/service.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "clients/common/connect.h"
#include "ncm/eventstore/memory_event_store.h"
#include "ncm/eventstore/v1/eventstore.grpc.pb.h"
#include "ncm/eventstore/rocksdb_event_store.h"
#include "ncm/eventstore/status_macros.h"
#include "ncm/services/eventstore_service.h"
#include "ncm/services/raw_service.h"
#include "ncm/admin/v1/admin.pb.h"
#include "ncm/metrics/metrics.h"
#include "ncm/services/domain_service.h"
#include "ncm/mous/handler.h"
#include "ncm/mous/read_model.h"
#include "ncm/readside/service.h"
#include "ncm/resolutions/read_model.h"
#include "ncm/mous/service.h"
#include "ncm/resolutions/handler.h"
#include "ncm/resources/handler.h"
#include "ncm/resources/read_model.h"
#include "ncm/resources/service.h"
#include "ncm/resolutions/service.h"
#include "ncm/stakeholders/counties.h"
#include "ncm/stakeholders/handler.h"
#include "ncm/stakeholders/read_model.h"
#include "ncm/stakeholders/service.h"
#include "ncm/transparency/log_signer.h"
#include "ncm/transparency/service.h"

namespace ncm::ncmd {
namespace {

constexpr char kBusHealthService[] = "ncm.bus";
// The services that append to the log: NOT_SERVING once storage fails.
constexpr const char* kWritingServices[] = {
    "ncm.access.v1.Access",         "ncm.eventstore.v1.EventStore",
    "ncm.stakeholders.v1.Stakeholders", "ncm.resolutions.v1.Resolutions",
    "ncm.mous.v1.Mous",             "ncm.resources.v1.Resources"};
// Those that only read it.
constexpr const char* kReadingServices[] = {
    "ncm.eventstore.v1.Transparency", "ncm.readside.v1.ReadModels", "ncm.admin.v1.Admin"};
// The read models ncmd runs.
constexpr const char* kReadModels[] = {resolutions::kResolutionsModel, mous::kMousModel,
                                       resources::kBudgetsModel, stakeholders::kDirectoryModel};

readside::v1::BusState ToProto(bus::BusState s) {
  readside::v1::BusState out = readside::v1::BUS_STATE_UNSPECIFIED;
  readside::v1::BusState_Parse(absl::StrCat("BUS_STATE_", bus::BusStateName(s)),
                               &out);
  return out;
}

// Creates `dir` (and its parents) owner-only when missing; refuses one
// that other users can reach, since it holds wrapped personal-data keys and
// tokens' hashes.
absl::Status PrivateFolder(const std::string& dir, absl::string_view what) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create the ", what, " ", dir, ": ", ec.message()));
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read the ", what, " ", dir));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the %s %s can be read by other users (mode %04o); it holds "
        "personal data and keys: make it the owner's alone with "
        "chmod -R go-rwx %s, then start again",
        what, dir, st.st_mode & 07777, dir));
  }
  return absl::OkStatus();
}

// Splits "host:port" / "[v6]:port".
bool SplitHostPort(const std::string& addr, std::string* host,
                   std::string* port) {
  if (!addr.empty() && addr[0] == '[') {
    auto close = addr.find(']');
    if (close == std::string::npos || close + 1 >= addr.size() ||
        addr[close + 1] != ':') {
      return false;
    }
    *host = addr.substr(1, close - 1);
    *port = addr.substr(close + 2);
    return true;
  }
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) return false;
  *host = addr.substr(0, colon);
  *port = addr.substr(colon + 1);
  return true;
}

absl::StatusOr<std::string> ReadPem(const std::string& path,
                                    absl::string_view flag) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": cannot read ", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string pem = ss.str();
  if (pem.find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": ", path, " holds no PEM block"));
  }
  return pem;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsCredentials(
    const TlsOptions& tls) {
  if (tls.cert_file.empty() || tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both --tls_cert and --tls_key");
  }
  grpc::SslServerCredentialsOptions o;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  NCM_ASSIGN_OR_RETURN(pair.cert_chain, ReadPem(tls.cert_file, "--tls_cert"));
  NCM_ASSIGN_OR_RETURN(pair.private_key, ReadPem(tls.key_file, "--tls_key"));
  o.pem_key_cert_pairs.push_back(std::move(pair));
  if (!tls.client_ca_file.empty()) {
    NCM_ASSIGN_OR_RETURN(o.pem_root_certs,
                         ReadPem(tls.client_ca_file, "--tls_client_ca"));
    o.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(o);
}

// Writes `token` to `path`, readable and writable by its owner only, and
// syncs it.
absl::Status WriteSecretFile(const std::string& path, const std::string& token) {
  ::unlink(path.c_str());  // a stale file from an unfinished first start
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                        0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create the admin token file ", path));
  }
  const std::string line = token + "\n";
  const bool ok = ::fchmod(fd, 0600) == 0 &&
                  ::write(fd, line.data(), line.size()) ==
                      static_cast<ssize_t>(line.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write the admin token file ", path));
  }
  // The file's name too must reach the disk before the principal is
  // recorded.
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
}

namespace apb = ::ncm::admin::v1;

// ncm.admin.v1.Admin, answered by `H` (the server).
class AdminService final : public services::DomainService {
 public:
  template <typename H>
  AdminService(H* h, services::WorkerPool* pool)
      : DomainService(apb::GetStatusRequest::descriptor()->file()->FindServiceByName("Admin"),
                      pool) {
    Query("GetStatus", h, &H::GetStatus);
    Query("Backup", h, &H::Backup);
  }
};

void ToTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t ns = absl::ToUnixNanos(t);
  out->set_seconds(ns / 1000000000);
  out->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

class ServerImpl final : public Server {
 public:
  // Admin/GetStatus.
  absl::StatusOr<apb::ServerStatus> GetStatus(const apb::GetStatusRequest&) {
    apb::ServerStatus out;
    out.set_version(NCM_VERSION);
    ToTimestamp(started_, out.mutable_started());
    out.set_uptime_seconds(absl::ToInt64Seconds(absl::Now() - started_));
    out.set_role(replica_ ? "read" : "write");
    out.set_head_position(store_->HeadPosition());
    const eventstore::Hash head = store_->HeadHash();
    out.set_head_hash(std::string(head.begin(), head.end()));
    if (absl::StatusOr<eventstore::StorageStats> s = store_->Storage(); s.ok()) {
      out.set_live_data_bytes(s->live_data_bytes);
      out.set_sst_files_bytes(s->sst_files_bytes);
    }
    if (read_side_) {
      for (const char* model : kReadModels) {
        absl::StatusOr<readside::ModelStatus> st = read_side_->Status(model);
        if (!st.ok()) continue;
        apb::ReadModelLag* m = out.add_read_models();
        m->set_name(st->name);
        m->set_applied_position(st->applied_position);
        m->set_lag(st->head_position > st->applied_position
                       ? st->head_position - st->applied_position
                       : 0);
        m->set_error(st->error);
      }
    }
    FillBusStatus(out.mutable_bus());
    absl::MutexLock l(&mu_);
    out.set_storage_failure(storage_failure_);
    if (last_backup_.has_value()) *out.mutable_last_backup() = *last_backup_;
    return out;
  }

  // Admin/Backup.
  absl::StatusOr<apb::BackupResponse> Backup(const apb::BackupRequest& r) {
    if (r.dir().empty()) {
      return absl::InvalidArgumentError(
          "dir: name the backup folder, an absolute path on the server's machine");
    }
    log_("info", absl::StrCat("msg=\"backup started\" dir=", r.dir()));
    absl::StatusOr<eventstore::BackupResult> b = store_->Backup(r.dir());
    if (!b.ok()) {
      log_("error", absl::StrCat("msg=\"backup failed\" dir=", r.dir(), " reason=\"",
                                 b.status().message(), "\""));
      return b.status();
    }
    apb::BackupResponse out;
    apb::BackupInfo* info = out.mutable_backup();
    info->set_backup_id(b->backup_id);
    info->set_dir(r.dir());
    ToTimestamp(absl::Now(), info->mutable_taken());
    info->set_head_position(b->head_position);
    info->set_head_hash(std::string(b->head_hash.begin(), b->head_hash.end()));
    info->set_added_bytes(b->added_bytes);
    info->set_folder_bytes(b->folder_bytes);
    info->set_seconds(absl::ToDoubleSeconds(b->took));
    info->set_paused_seconds(absl::ToDoubleSeconds(b->paused));
    log_("info", absl::StrFormat("msg=\"backup taken\" dir=%s backup_id=%d head_position=%d "
                                 "added_bytes=%d seconds=%.3f paused_seconds=%.3f",
                                 r.dir(), b->backup_id, b->head_position, b->added_bytes,
                                 absl::ToDoubleSeconds(b->took),
                                 absl::ToDoubleSeconds(b->paused)));
    absl::MutexLock l(&mu_);
    last_backup_ = *info;
    return out;
  }

  ~ServerImpl() override { Shutdown(absl::Seconds(5)); }

  absl::Status Start(const ServerOptions& options) {
    log_ = options.log;
    if (!log_) {
      log_ = [](absl::string_view level, const std::string& fields) {
        std::fprintf(
            stderr, "ts=%s level=%s %s\n",
            absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                             absl::UTCTimeZone())
                .c_str(),
            std::string(level).c_str(), fields.c_str());
      };
    }
    std::string host, port;
    if (!SplitHostPort(options.listen_address, &host, &port) || host.empty() ||
        port.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "listen address \"", options.listen_address,
          "\" is not host:port, e.g. 127.0.0.1:50051"));
    }
    std::shared_ptr<grpc::ServerCredentials> credentials;
    if (options.tls.enabled()) {
      NCM_ASSIGN_OR_RETURN(credentials, TlsCredentials(options.tls));
    } else if (!IsLoopbackHost(options.listen_address)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "refusing to serve plaintext gRPC on ", options.listen_address,
          ", which is not a loopback address; listen on 127.0.0.1 or ::1, "
          "or give --tls_cert and --tls_key"));
    } else {
      credentials = grpc::InsecureServerCredentials();
    }
    host_ = host;
    write_node_ = options.read_node.write_node;
    if (!options.metrics_listen.empty()) metrics_ = std::make_unique<metrics::Metrics>();
    if (options.data_dir.empty()) {
      store_ = eventstore::NewMemoryEventStore(options.limits);
    } else {
      // Everything the server writes is its owner's alone.
      ::umask(077);
      NCM_RETURN_IF_ERROR(PrivateFolder(options.data_dir, "data folder"));
      eventstore::RocksDbOptions ro;
      ro.path = options.data_dir;
      ro.key_encryption_key_file = options.key_encryption_key_file;
      ro.limits = options.limits;
      ro.copy_of = options.read_node.write_node;
      // A failed write stops appends; health says so, so that a load
      // balancer or supervisor can take the server out and restart it.
      if (metrics_) {
        ro.on_commit = [m = metrics_.get()](const eventstore::CommitStats& c) {
          m->Committed(c);
        };
      }
      ro.on_write_failure = [this](const absl::Status& s) {
        log_("error", absl::StrCat("msg=\"storage write failed; appends stopped, restart "
                                   "needed\" reason=\"",
                                   s.message(), "\""));
        absl::MutexLock l(&mu_);
        storage_failure_ = std::string(s.message());
        if (server_ != nullptr && !shut_down_) SetStorageHealthLocked();
      };
      NCM_ASSIGN_OR_RETURN(store_, eventstore::OpenRocksDbEventStore(ro));
    }
    if (options.read_node.enabled() &&
        (options.nats.urls.empty() || options.data_dir.empty())) {
      return absl::InvalidArgumentError(
          "a read node needs --nats_url (the stream it copies) and a data "
          "folder (its copy of the log)");
    }
    if (!options.nats.urls.empty() && !options.read_node.enabled()) {
      if (options.data_dir.empty()) {
        return absl::InvalidArgumentError(
            "the message bus needs the RocksDB store (a data folder)");
      }
      bus::PublisherOptions po;
      po.broker = options.nats;
      po.limits = options.limits;
      po.log = log_;
      po.on_state = [this](bus::BusState s, const std::string&) {
        SetBusHealth(s);
      };
      NCM_ASSIGN_OR_RETURN(publisher_,
                           bus::StartPublisher(store_.get(), std::move(po)));
    }
    if (!options.counties_file.empty()) {
      NCM_ASSIGN_OR_RETURN(counties_,
                           stakeholders::CountyList::Load(options.counties_file));
    } else {
      counties_ = stakeholders::CountyList::Kenya();
    }
    services::Clock clock;
    clock.zone = options.time_zone;
    workers_ = std::make_unique<services::WorkerPool>(options.worker_threads);
    stakeholders_ = std::make_unique<stakeholders::StakeholdersHandler>(
        store_.get(), &counties_, clock);
    if (options.read_node.enabled()) {
      stakeholders_->SetPersonalDataAt(options.read_node.write_node);
    }
    stakeholders_service_ = std::make_unique<stakeholders::StakeholdersService>(
        stakeholders_.get(), workers_.get());
    NCM_RETURN_IF_ERROR(stakeholders_service_->CheckComplete());
    resolutions_ = std::make_unique<resolutions::ResolutionsHandler>(
        store_.get(), stakeholders_.get(), &counties_, clock);
    resolutions_service_ = std::make_unique<resolutions::ResolutionsService>(
        resolutions_.get(), workers_.get());
    NCM_RETURN_IF_ERROR(resolutions_service_->CheckComplete());
    mous_ = std::make_unique<mous::MousHandler>(store_.get(),
                                                stakeholders_.get(), clock);
    mous_service_ =
        std::make_unique<mous::MousService>(mous_.get(), workers_.get());
    NCM_RETURN_IF_ERROR(mous_service_->CheckComplete());
    resources_ = std::make_unique<resources::ResourcesHandler>(
        store_.get(), stakeholders_.get(), clock);
    resources_service_ = std::make_unique<resources::ResourcesService>(
        resources_.get(), workers_.get());
    NCM_RETURN_IF_ERROR(resources_service_->CheckComplete());
    registry_ = std::make_unique<access::PrincipalRegistry>(
        store_.get(), stakeholders_.get(), clock);
    NCM_RETURN_IF_ERROR(registry_->Load());
    // A read node's principals come with the log it copies.
    if (!options.read_node.enabled()) NCM_RETURN_IF_ERROR(Bootstrap(options));
    gate_ = std::make_unique<access::AccessGate>(
        registry_.get(),
        [log = log_](const std::string& fields) { log("warn", fields); });
    if (options.read_node.enabled()) {
      gate_->RefuseWrites(options.read_node.write_node);
    }
    if (metrics_) {
      gate_->set_on_refused([m = metrics_.get()](services::Refusal why) { m->Refused(why); });
    }
    access_service_ =
        std::make_unique<access::AccessService>(registry_.get(), workers_.get());
    NCM_RETURN_IF_ERROR(access_service_->CheckComplete());
    services::EventStoreService::Scope scope;
    scope.readable_categories = {"resolution", "meeting", "organisation",
                                 "workinggroup", "mou", "budget"};
    // Every category a domain service writes is its own: a raw append
    // there could record what its service would refuse, or an event its
    // read models cannot apply.
    scope.reserved_categories = {access::kPrincipalCategory};
    for (const std::string& stream :
         {stakeholders::OrganisationStream(""), stakeholders::PersonStream(""),
          stakeholders::WorkingGroupStream(""),
          stakeholders::AcronymStream(""), resolutions::MeetingStream(""),
          resolutions::ResolutionStream(""), mous::MouStream(""),
          resources::BudgetStream("")}) {
      scope.reserved_categories.push_back(stream.substr(0, stream.size() - 1));
    }
    eventstore_service_ = std::make_unique<services::EventStoreService>(
        store_.get(), options.limits, gate_.get(), std::move(scope));
    registry_->SetOnRevoke([svc = eventstore_service_.get()](
                               const std::string& id) {
      svc->EndSubscriptionsOf(id);
    });
    if (!options.data_dir.empty() && options.read_models) {
      readside::ReadSideOptions ro;
      ro.path = options.read_model_dir.empty()
                    ? options.data_dir + "/readmodels"
                    : options.read_model_dir;
      NCM_RETURN_IF_ERROR(PrivateFolder(ro.path, "read-model folder"));
      std::vector<std::unique_ptr<readside::Projection>> projections;
      projections.push_back(resolutions::NewResolutionsProjection());
      projections.push_back(mous::NewMousProjection());
      projections.push_back(resources::NewBudgetsProjection());
      projections.push_back(stakeholders::NewDirectoryProjection());
      NCM_ASSIGN_OR_RETURN(
          read_side_,
          readside::OpenReadSide(store_.get(), std::move(projections), ro));
      NCM_RETURN_IF_ERROR(read_side_->Start());
      resolutions_->SetReadSide(read_side_.get(), options.query_wait);
      mous_->SetReadSide(read_side_.get(), options.query_wait);
      resources_->SetReadSide(read_side_.get(), options.query_wait);
      stakeholders_->SetReadSide(read_side_.get(), options.query_wait);
      read_models_ = std::make_unique<readside::ReadModelsHandler>(
          read_side_.get(),
          std::vector<std::string>{resolutions::kResolutionsModel,
                                   mous::kMousModel,
                                   resources::kBudgetsModel,
                                   stakeholders::kDirectoryModel},
          [this](readside::v1::BusStatus* out) { FillBusStatus(out); });
      read_models_service_ = std::make_unique<readside::ReadModelsService>(
          read_models_.get(), workers_.get());
      NCM_RETURN_IF_ERROR(read_models_service_->CheckComplete());
    }

    NCM_RETURN_IF_ERROR(StartTransparency(options));

    if (options.read_node.enabled()) {
      NCM_RETURN_IF_ERROR(StartCopy(options));
    }

    admin_service_ = std::make_unique<AdminService>(this, workers_.get());
    NCM_RETURN_IF_ERROR(admin_service_->CheckComplete());
    std::vector<services::RawService*> gated = {
        access_service_.get(), stakeholders_service_.get(),
        resolutions_service_.get(), mous_service_.get(),
        resources_service_.get(), transparency_service_.get(), admin_service_.get()};
    if (read_models_service_) gated.push_back(read_models_service_.get());
    for (services::RawService* svc : gated) {
      NCM_RETURN_IF_ERROR(CheckRules(*svc));
      svc->set_gate(gate_.get());
    }

    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    builder.AddListeningPort(options.listen_address, credentials, &port_);
    builder.SetMaxReceiveMessageSize(options.max_message_bytes);
    builder.SetMaxSendMessageSize(options.max_message_bytes);
    if (metrics_) {
      std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> counted;
      counted.push_back(metrics_->NewInterceptorFactory());
      builder.experimental().SetInterceptorCreators(std::move(counted));
    }
    builder.RegisterService(access_service_.get());
    builder.RegisterService(eventstore_service_.get());
    builder.RegisterService(stakeholders_service_.get());
    builder.RegisterService(resolutions_service_.get());
    builder.RegisterService(mous_service_.get());
    builder.RegisterService(resources_service_.get());
    builder.RegisterService(transparency_service_.get());
    builder.RegisterService(admin_service_.get());
    if (read_models_service_) {
      builder.RegisterService(read_models_service_.get());
    }
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ == 0) {
      return absl::UnavailableError(absl::StrCat(
          "cannot listen on ", options.listen_address,
          "; is the port in use by another program?"));
    }
    {
      absl::MutexLock l(&mu_);
      SetStorageHealthLocked();
    }
    if (publisher_) SetBusHealth(publisher_->Status().state);
    if (metrics_) {
      AddScrapedMetrics();
      NCM_ASSIGN_OR_RETURN(metrics_endpoint_,
                           metrics::MetricsEndpoint::Start(options.metrics_listen, metrics_.get()));
    }
    return absl::OkStatus();
  }

  std::string metrics_address() const override {
    return metrics_endpoint_ ? metrics_endpoint_->address() : std::string();
  }

  int port() const override { return port_; }
  std::string address() const override {
    return absl::StrContains(host_, ':') ? absl::StrCat("[", host_, "]:", port_)
                                         : absl::StrCat(host_, ":", port_);
  }
  eventstore::EventStore* store() override { return store_.get(); }
  readside::ReadSide* read_side() override { return read_side_.get(); }
  bus::Publisher* publisher() override { return publisher_.get(); }
  bus::Replica* replica() override { return replica_.get(); }
  std::string admin_token_file() const override { return admin_token_file_; }

  void Shutdown(absl::Duration grace) override {
    {
      absl::MutexLock l(&mu_);
      if (shut_down_) return;
      shut_down_ = true;
    }
    // The listener first: its scrapes read everything below.
    metrics_endpoint_.reset();
    if (server_ != nullptr) {
      server_->GetHealthCheckService()->SetServingStatus(false);
      eventstore_service_->Shutdown();
      server_->Shutdown(std::chrono::system_clock::now() +
                        absl::ToChronoSeconds(grace));
      server_->Wait();
    }
    eventstore_service_.reset();
    workers_.reset();  // runs what is queued, then stops
    if (publisher_) publisher_->Stop();
    if (replica_) replica_->Stop();
    read_models_service_.reset();
    read_models_.reset();
    admin_service_.reset();
    transparency_service_.reset();
    transparency_.reset();
    signer_.reset();
    if (read_side_) read_side_->Stop();
    read_side_.reset();
    resources_service_.reset();
    resources_.reset();
    mous_service_.reset();
    mous_.reset();
    resolutions_service_.reset();
    resolutions_.reset();
    access_service_.reset();
    gate_.reset();
    registry_.reset();
    stakeholders_service_.reset();
    stakeholders_.reset();
    publisher_.reset();
    replica_.reset();
    store_.reset();  // drains the writer and closes RocksDB
    metrics_.reset();
    absl::MutexLock l(&mu_);
    done_ = true;
  }

  void Wait() override {
    absl::MutexLock l(&mu_);
    mu_.Await(absl::Condition(&done_));
  }

 private:
  // grpc.health.v1: the overall entry ("") and each service's, SERVING
  // until storage fails; then the overall entry and the services that
  // append are NOT_SERVING (reads go on), the reason in the log and in the
  // admin status.
  void SetStorageHealthLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
    const bool ok = storage_failure_.empty();
    health->SetServingStatus(ok);
    for (const char* s : kWritingServices) health->SetServingStatus(s, ok);
    for (const char* s : kReadingServices) {
      if (read_models_service_ || std::string_view(s) != "ncm.readside.v1.ReadModels") {
        health->SetServingStatus(s, true);
      }
    }
  }

  // The families read at each scrape: the log, the read models, the bus,
  // open streams, RocksDB and the process.
  void AddScrapedMetrics() {
    using prometheus::MetricType;
    metrics::Metrics* m = metrics_.get();
    m->AddScraped("ncm_log_head_position", "Position of the log's last record",
                  MetricType::Gauge, [this](std::vector<metrics::Sample>* out) {
                    out->push_back({{}, static_cast<double>(store_->HeadPosition())});
                  });
    if (read_side_) {
      auto each_model = [this](std::vector<metrics::Sample>* out, bool lag) {
        for (const char* model : kReadModels) {
          absl::StatusOr<readside::ModelStatus> st = read_side_->Status(model);
          if (!st.ok()) continue;
          const double v =
              lag ? static_cast<double>(st->head_position > st->applied_position
                                            ? st->head_position - st->applied_position
                                            : 0)
                  : static_cast<double>(st->applied_position);
          out->push_back({{{"model", model}}, v});
        }
      };
      m->AddScraped("ncm_read_model_applied_position",
                    "The last log position each read model has applied", MetricType::Gauge,
                    [each_model](std::vector<metrics::Sample>* out) { each_model(out, false); });
      m->AddScraped("ncm_read_model_lag_events",
                    "Records of the log each read model has not applied yet",
                    MetricType::Gauge,
                    [each_model](std::vector<metrics::Sample>* out) { each_model(out, true); });
    }
    if (publisher_) {
      m->AddScraped("ncm_bus_publisher_lag_events",
                    "Committed records the message bus has not acknowledged yet",
                    MetricType::Gauge, [this](std::vector<metrics::Sample>* out) {
                      out->push_back({{}, static_cast<double>(publisher_->Status().lag)});
                    });
      m->AddScraped("ncm_bus_publisher_state",
                    "1 for the publisher's current state (LIVE, CATCHING_UP, DIVERGED, ...)",
                    MetricType::Gauge, [this](std::vector<metrics::Sample>* out) {
                      out->push_back(
                          {{{"state", bus::BusStateName(publisher_->Status().state)}}, 1});
                    });
    }
    if (replica_) {
      m->AddScraped("ncm_bus_copy_lag_events",
                    "Records of the write node's stream this read node has not copied yet",
                    MetricType::Gauge, [this](std::vector<metrics::Sample>* out) {
                      out->push_back({{}, static_cast<double>(replica_->Status().lag)});
                    });
    }
    m->AddScraped("ncm_open_subscriptions", "Open Subscribe streams", MetricType::Gauge,
                  [this](std::vector<metrics::Sample>* out) {
                    out->push_back(
                        {{}, static_cast<double>(eventstore_service_->open_subscriptions())});
                  });
    m->AddScraped("ncm_open_append_sessions", "Open AppendSession streams", MetricType::Gauge,
                  [this](std::vector<metrics::Sample>* out) {
                    out->push_back(
                        {{}, static_cast<double>(eventstore_service_->open_append_sessions())});
                  });
    struct Storage {
      const char* name;
      const char* help;
      MetricType type;
      double (*get)(const eventstore::StorageStats&);
    };
    static constexpr Storage kStorage[] = {
        {"ncm_rocksdb_live_data_bytes", "RocksDB's estimate of the live data, every column family",
         MetricType::Gauge, [](const eventstore::StorageStats& s) {
           return static_cast<double>(s.live_data_bytes);
         }},
        {"ncm_rocksdb_sst_files_bytes", "Size of RocksDB's table files",
         MetricType::Gauge, [](const eventstore::StorageStats& s) {
           return static_cast<double>(s.sst_files_bytes);
         }},
        {"ncm_rocksdb_memtable_bytes", "Bytes in RocksDB's memtables, not flushed yet",
         MetricType::Gauge, [](const eventstore::StorageStats& s) {
           return static_cast<double>(s.memtable_bytes);
         }},
        {"ncm_rocksdb_pending_compaction_bytes",
         "RocksDB's estimate of the bytes compaction has to rewrite", MetricType::Gauge,
         [](const eventstore::StorageStats& s) {
           return static_cast<double>(s.pending_compaction_bytes);
         }},
        {"ncm_rocksdb_write_slowdowns_total", "Writes RocksDB slowed down since the store opened",
         MetricType::Counter, [](const eventstore::StorageStats& s) {
           return static_cast<double>(s.write_slowdowns);
         }},
        {"ncm_rocksdb_write_stops_total", "Times RocksDB stopped writes since the store opened",
         MetricType::Counter, [](const eventstore::StorageStats& s) {
           return static_cast<double>(s.write_stops);
         }},
        {"ncm_rocksdb_writes_stopped", "1 while RocksDB has writes stopped", MetricType::Gauge,
         [](const eventstore::StorageStats& s) { return s.writes_stopped ? 1.0 : 0.0; }},
    };
    for (const Storage& st : kStorage) {
      m->AddScraped(st.name, st.help, st.type, [this, get = st.get](std::vector<metrics::Sample>* out) {
        absl::StatusOr<eventstore::StorageStats> s = store_->Storage();
        if (s.ok()) out->push_back({{}, get(*s)});
      });
    }
    metrics::AddProcessMetrics(m);
  }

  // The health service's "ncm.bus" entry: NOT_SERVING while the stream
  // needs an operator (diverged, misconfigured). Appends go on regardless.
  void SetBusHealth(bus::BusState s) {
    absl::MutexLock l(&mu_);
    if (server_ == nullptr || shut_down_) return;
    server_->GetHealthCheckService()->SetServingStatus(
        kBusHealthService,
        s != bus::BusState::kDiverged && s != bus::BusState::kMisconfigured);
  }

  // The checkpoint signer (write node only) and the Transparency service.
  absl::Status StartTransparency(const ServerOptions& options) {
    const CheckpointOptions& co = options.checkpoints;
    if (!options.read_node.enabled()) {
      transparency::SignerOptions so;
      so.origin = co.origin;
      so.interval = co.interval;
      so.keep = co.keep;
      so.log = log_;
      for (const std::string& w : co.witness_keys) {
        absl::StatusOr<eventstore::note::VerifierKey> v =
            eventstore::note::ParseVerifierKey(w);
        if (!v.ok() || v->type != eventstore::note::kCosignatureV1) {
          return absl::InvalidArgumentError(absl::StrCat(
              "witness key \"", w.substr(0, 80), "\" is not a cosigner's verifier key (",
              v.ok() ? "its type is not 0x04" : v.status().message(), ")"));
        }
        so.witnesses.push_back(*v);
      }
      std::string key_file = co.key_file;
      if (key_file.empty() && !options.data_dir.empty()) {
        key_file = options.data_dir;
        while (key_file.size() > 1 && key_file.back() == '/') key_file.pop_back();
        key_file += ".checkpoint.key";
      }
      eventstore::note::SigningKey key;
      if (key_file.empty()) {
        NCM_ASSIGN_OR_RETURN(key, eventstore::note::GenerateKey(co.origin,
                                                                eventstore::note::kEd25519));
        log_("warn", "msg=\"checkpoints are signed with a key that lives as long as "
                     "this process (in-memory store, no --checkpoint_key_file)\"");
      } else {
        bool created = false;
        NCM_ASSIGN_OR_RETURN(key, transparency::LoadOrCreateSigningKey(
                                      key_file, co.origin, &created));
        if (created) {
          log_("info", absl::StrCat("msg=\"made the checkpoint signing key\" file=",
                                    key_file));
        }
      }
      log_("info", absl::StrCat(
                       "msg=\"checkpoints signed\" origin=", co.origin, " verifier_key=",
                       eventstore::note::FormatVerifierKey(eventstore::note::VerifierOf(key))));
      signer_ = std::make_unique<transparency::LogSigner>(store_.get(), std::move(key),
                                                          std::move(so));
      signer_->Start();
    }
    transparency_ = std::make_unique<transparency::TransparencyHandler>(
        store_.get(), signer_.get(), options.read_node.write_node);
    transparency_service_ = std::make_unique<transparency::TransparencyService>(
        transparency_.get(), workers_.get());
    return transparency_service_->CheckComplete();
  }

  // A read node: the replica copying the stream, gaps filled from the write
  // node's ReadAll as an auditor.
  absl::Status StartCopy(const ServerOptions& options) {
    const ReadNodeOptions& rn = options.read_node;
    std::function<absl::StatusOr<std::string>(uint64_t, uint64_t)> fill;
    if (!rn.token_file.empty() || !rn.cert_file.empty()) {
      client::ConnectOptions co;
      co.server = rn.write_node;
      if (!rn.token_file.empty()) {
        NCM_ASSIGN_OR_RETURN(co.token, client::ReadTokenFile(rn.token_file));
      }
      co.ca_file = rn.ca_file;
      co.cert_file = rn.cert_file;
      co.key_file = rn.key_file;
      NCM_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> ch, client::Connect(co));
      auto stub = std::shared_ptr<ncm::eventstore::v1::EventStore::Stub>(
          ncm::eventstore::v1::EventStore::NewStub(ch));
      fill = [stub](uint64_t from, uint64_t to) -> absl::StatusOr<std::string> {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
        ncm::eventstore::v1::ReadAllRequest r;
        r.set_from_position(from);
        r.set_max_count(static_cast<uint32_t>(std::min<uint64_t>(to - from + 1, 1000)));
        r.set_raw(true);
        ncm::eventstore::v1::ReadAllResponse resp;
        grpc::Status s = stub->ReadAll(&ctx, r, &resp);
        if (!s.ok()) {
          return absl::UnavailableError(absl::StrCat(
              "ReadAll on the write node: ", s.error_message()));
        }
        return resp.raw_records();
      };
    }
    bus::ReplicaOptions ro;
    ro.source = bus::JetStreamSource(options.nats);
    ro.fill = std::move(fill);
    ro.log = log_;
    ro.appended = [this](uint64_t) {
      absl::Status s = registry_->CatchUp();
      if (!s.ok()) {
        log_("error", absl::StrCat("msg=\"principals cannot be read from the "
                                   "copy\" reason=\"",
                                   s.message(), "\""));
      }
    };
    replica_ = bus::StartReplica(store_.get(), std::move(ro));
    return absl::OkStatus();
  }

  void FillBusStatus(readside::v1::BusStatus* out) {
    out->set_role(replica_ ? "read" : "write");
    out->set_head_position(store_->HeadPosition());
    if (replica_) {
      const bus::ReplicaStatus s = replica_->Status();
      auto* c = out->mutable_copy();
      c->set_state(ToProto(s.state));
      c->set_detail(s.detail);
      c->mutable_since()->set_seconds(absl::ToUnixSeconds(s.since));
      c->set_stream_last_sequence(s.stream_last_seq);
      c->set_lag(s.lag);
      c->set_copied(s.copied);
      c->set_filled(s.filled);
      c->set_refused(s.refused);
      c->set_server(s.server);
      c->set_write_node(write_node_);
      return;
    }
    auto* p = out->mutable_publisher();
    if (!publisher_) {
      p->set_state(readside::v1::BUS_STATE_DISABLED);
      p->set_detail("no --nats_url: the log stays on this machine");
      return;
    }
    const bus::PublisherStatus s = publisher_->Status();
    p->set_state(ToProto(s.state));
    p->set_detail(s.detail);
    p->mutable_since()->set_seconds(absl::ToUnixSeconds(s.since));
    p->set_acked_position(s.acked_position);
    p->set_lag(s.lag);
    p->set_published(s.published);
    p->set_resyncs(s.resyncs);
    p->set_server(s.server);
    p->set_stream(s.stream);
    p->set_commit_to_ack_p50_ms(s.commit_to_ack_p50_ms);
    p->set_commit_to_ack_p99_ms(s.commit_to_ack_p99_ms);
  }

  // The first start: registers "admin" and writes its token, owner-only.
  absl::Status Bootstrap(const ServerOptions& options) {
    if (!registry_->Empty()) return absl::OkStatus();
    std::string path = options.admin_token_file;
    if (path.empty()) {
      if (options.data_dir.empty()) {
        return absl::InvalidArgumentError(
            "the in-memory store needs admin_token_file");
      }
      path = options.data_dir + "/admin.token";
    }
    ncm::access::v1::IssueTokenRequest r;
    r.set_principal_id("admin");
    r.set_role(ncm::access::v1::ROLE_ADMIN);
    r.set_description("created at the first start");
    // The file first: a crash before the append leaves no principal, and
    // the next start writes a new file.
    const std::string token = access::NewToken();
    NCM_RETURN_IF_ERROR(WriteSecretFile(path, token));
    absl::StatusOr<ncm::access::v1::IssueTokenResponse> issued =
        registry_->IssueTokenWith(r, token, "ncmd");
    if (!issued.ok()) {
      ::unlink(path.c_str());
      return issued.status();
    }
    admin_token_file_ = path;
    log_("info", absl::StrCat("msg=\"first start: admin token written; keep "
                              "it secret\" principal=admin file=",
                              path));
    return absl::OkStatus();
  }

  // Every method `svc` serves has an access rule, and the methods whose
  // rule lets a role in within its scope have a scope check.
  absl::Status CheckRules(const services::RawService& svc) const {
    for (const std::string& m : svc.methods()) {
      const access::MethodRule* rule = access::FindRule(m);
      if (rule == nullptr) {
        return absl::InternalError(absl::StrCat(m, " has no access rule"));
      }
      bool scoped_rule = false;
      for (access::Access a : rule->access) {
        scoped_rule = scoped_rule || a == access::Access::kOwn;
      }
      const auto& scoped = svc.scoped_methods();
      const bool has_check =
          std::find(scoped.begin(), scoped.end(), m) != scoped.end();
      if (scoped_rule && !has_check) {
        return absl::InternalError(
            absl::StrCat(m, " lets a role in within its scope but has no "
                            "scope check"));
      }
    }
    return absl::OkStatus();
  }

  std::function<void(absl::string_view, const std::string&)> log_;
  std::string admin_token_file_;
  std::unique_ptr<access::PrincipalRegistry> registry_;
  std::unique_ptr<access::AccessGate> gate_;
  std::unique_ptr<access::AccessService> access_service_;
  std::string host_;
  int port_ = 0;
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<bus::Publisher> publisher_;
  std::unique_ptr<bus::Replica> replica_;
  std::string write_node_;
  std::unique_ptr<services::EventStoreService> eventstore_service_;
  stakeholders::CountyList counties_;
  std::unique_ptr<services::WorkerPool> workers_;
  std::unique_ptr<stakeholders::StakeholdersHandler> stakeholders_;
  std::unique_ptr<stakeholders::StakeholdersService> stakeholders_service_;
  std::unique_ptr<resolutions::ResolutionsHandler> resolutions_;
  std::unique_ptr<resolutions::ResolutionsService> resolutions_service_;
  std::unique_ptr<mous::MousHandler> mous_;
  std::unique_ptr<mous::MousService> mous_service_;
  std::unique_ptr<resources::ResourcesHandler> resources_;
  std::unique_ptr<resources::ResourcesService> resources_service_;
  std::unique_ptr<readside::ReadSide> read_side_;
  std::unique_ptr<readside::ReadModelsHandler> read_models_;
  std::unique_ptr<readside::ReadModelsService> read_models_service_;
  std::unique_ptr<transparency::LogSigner> signer_;
  std::unique_ptr<transparency::TransparencyHandler> transparency_;
  std::unique_ptr<transparency::TransparencyService> transparency_service_;
  std::unique_ptr<AdminService> admin_service_;
  absl::Time started_ = absl::Now();
  std::optional<apb::BackupInfo> last_backup_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<metrics::Metrics> metrics_;
  std::unique_ptr<metrics::MetricsEndpoint> metrics_endpoint_;
  std::unique_ptr<grpc::Server> server_;
  absl::Mutex mu_;
  std::string storage_failure_ ABSL_GUARDED_BY(mu_);  // empty: none
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

bool IsLoopbackHost(const std::string& listen_address) {
  std::string host, port;
  if (!SplitHostPort(listen_address, &host, &port)) return false;
  return host == "localhost" || host == "::1" ||
         absl::StartsWith(host, "127.");
}

absl::StatusOr<std::unique_ptr<Server>> StartServer(
    const ServerOptions& options) {
  auto server = std::make_unique<ServerImpl>();
  NCM_RETURN_IF_ERROR(server->Start(options));
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace ncm::ncmd
