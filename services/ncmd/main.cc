// ncmd: the NCM coordination backend server.
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/ascii.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/strings/str_replace.h"
#include "ncm/eventstore/rocksdb_event_store.h"
#include "ncm/ncmd/config.h"
#include "ncm/ncmd/server.h"
#include "systemd/sd-daemon.h"

ABSL_FLAG(std::string, config, "",
          "A configuration file: one key = value a line, the keys being "
          "these flags' names (deploy/ncmd.conf.example); flags given here "
          "override it.");
ABSL_FLAG(std::string, data_dir, "var/ncm",
          "Folder holding the RocksDB event store; created when missing.");
ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "host:port to serve gRPC on; port 0 picks a free port.");
ABSL_FLAG(int, shutdown_grace_seconds, 10,
          "How long SIGTERM/SIGINT waits for in-flight calls.");
ABSL_FLAG(std::string, time_zone, "Africa/Nairobi",
          "IANA time zone in which \"today\" is reckoned for domain dates.");
ABSL_FLAG(std::string, counties_file, "",
          "CSV of code,name for the county list; empty: Kenya's 47 counties.");

ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate (chain) for TLS on the listener.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA certificate(s): clients must present a certificate they "
          "signed (mutual TLS).");
ABSL_FLAG(std::string, kek_file, "",
          "File of the key-encryption key that wraps the personal-data keys "
          "(owner-only; made at the first start; keep a copy apart from "
          "backups of the data folder); empty: <data_dir>.kek.");
ABSL_FLAG(std::string, read_model_dir, "",
          "Folder of the read models' RocksDB; empty: <data_dir>/readmodels.");
ABSL_FLAG(std::string, admin_token_file, "",
          "Where the first start writes the admin principal's token (owner "
          "only); empty: <data_dir>/admin.token.");
ABSL_FLAG(int, query_wait_ms, 2000,
          "How long a query's min_position waits when it names no wait_ms.");
ABSL_FLAG(std::string, nats_url, "",
          "Publish the log to NATS JetStream: the servers' URLs, comma "
          "separated (nats://host:4222,...). Empty: the in-process bus only.");
ABSL_FLAG(std::string, nats_stream, "NCM_LOG",
          "The JetStream stream that holds the log (sequence = position).");
ABSL_FLAG(std::string, nats_subject_prefix, "ncm.log",
          "Subjects are <prefix>.<category>.<stream id>.");
ABSL_FLAG(int, nats_replicas, 1,
          "Replicas of the stream: 1, or 3 on a JetStream cluster.");
ABSL_FLAG(std::string, nats_creds, "",
          "NATS credentials file (user JWT and seed), when the servers need "
          "one.");
ABSL_FLAG(std::string, nats_ca, "",
          "PEM CA of the NATS servers' TLS certificates (turns TLS on).");
ABSL_FLAG(std::string, nats_cert, "", "PEM client certificate for NATS TLS.");
ABSL_FLAG(std::string, nats_key, "", "PEM private key of --nats_cert.");
ABSL_FLAG(std::string, write_node, "",
          "Run as a read node of the write node at this host:port: keep a "
          "copy of its log from --nats_url, serve every read, refuse "
          "commands. Empty: a write node.");
ABSL_FLAG(std::string, write_node_token_file, "",
          "Read node: a file holding an auditor's token on the write node, "
          "to fill gaps in the stream from its ReadAll.");
ABSL_FLAG(std::string, write_node_ca, "",
          "Read node: PEM CA of the write node's TLS certificate.");
ABSL_FLAG(std::string, write_node_cert, "",
          "Read node: client certificate for the write node (mutual TLS).");
ABSL_FLAG(std::string, write_node_key, "", "Read node: key of --write_node_cert.");
ABSL_FLAG(std::string, checkpoint_origin, "ncm.localhost/log",
          "The signed checkpoints' origin line, naming this log (the "
          "secretariat's domain and /log); the signing key's name.");
ABSL_FLAG(std::string, checkpoint_key_file, "",
          "Ed25519 key that signs checkpoints, made at the first start "
          "(owner-only). Empty: <data_dir>.checkpoint.key.");
ABSL_FLAG(int, checkpoint_interval_seconds, 60,
          "A checkpoint is signed at least this often while the log grows; "
          "0: only when asked for.");
ABSL_FLAG(int, checkpoints_kept, 10000, "Signed checkpoints kept (0: all).");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9464",
          "host:port of the Prometheus metrics listener (GET /metrics, plain "
          "HTTP: keep it on loopback or a monitoring network); port 0 picks "
          "a free port; empty: no metrics.");
ABSL_FLAG(std::string, witness_keys, "",
          "Comma-separated verifier keys (<name>+<id>+<key>, type 0x04) of "
          "the witnesses whose cosignatures are kept.");

namespace {

// One structured log line: ts=... level=... msg="..." key=value...
void Log(const char* level, const std::string& msg, const std::string& kv = "") {
  std::string line = absl::StrCat(
      "ts=", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                              absl::UTCTimeZone()),
      " level=", level, " msg=\"", msg, "\"");
  if (!kv.empty()) absl::StrAppend(&line, " ", kv);
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

// ncmd restore --from=DIR --data_dir=NEW [--backup_id=N] [--kek_file=F]:
// a backup of Admin/Backup into a new data folder, verified.
int Restore(int argc, char** argv) {
  std::string from, data_dir, kek_file;
  uint32_t backup_id = 0;
  for (int i = 2; i < argc; ++i) {
    absl::string_view a = argv[i];
    std::string value;
    auto take = [&](absl::string_view name, std::string* out) {
      const std::string eq = absl::StrCat("--", name, "=");
      if (absl::StartsWith(a, eq)) {
        *out = std::string(a.substr(eq.size()));
        return true;
      }
      if (a == absl::StrCat("--", name) && i + 1 < argc) {
        *out = argv[++i];
        return true;
      }
      return false;
    };
    if (take("from", &from) || take("data_dir", &data_dir) || take("kek_file", &kek_file)) {
      continue;
    }
    if (take("backup_id", &value)) {
      if (!absl::SimpleAtoi(value, &backup_id)) {
        Log("error", "--backup_id must be a backup's number");
        return 2;
      }
      continue;
    }
    Log("error", absl::StrCat("ncmd restore: unknown argument ", a,
                              "; usage: ncmd restore --from=BACKUP_DIR --data_dir=NEW_DIR "
                              "[--backup_id=N] [--kek_file=FILE]"));
    return 2;
  }
  if (from.empty() || data_dir.empty()) {
    Log("error", "usage: ncmd restore --from=BACKUP_DIR --data_dir=NEW_DIR [--backup_id=N] "
                 "[--kek_file=FILE]");
    return 2;
  }
  if (kek_file.empty()) {
    std::string d = data_dir;
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    kek_file = d + ".kek";
    if (::access(kek_file.c_str(), F_OK) != 0) {
      Log("error",
          "give --kek_file: the key-encryption key of the store the backup was taken from "
          "(backups do not hold it), or copy it to " + kek_file);
      return 2;
    }
  }
  ::umask(077);
  ncm::eventstore::RocksDbOptions o;
  o.path = data_dir;
  o.key_encryption_key_file = kek_file;
  absl::StatusOr<ncm::eventstore::RestoreResult> r =
      ncm::eventstore::RestoreRocksDbBackup(from, backup_id, o);
  if (!r.ok()) {
    Log("error", "restore failed",
        absl::StrCat("from=", from, " data_dir=", data_dir, " reason=\"", r.status().message(),
                     "\""));
    return 1;
  }
  Log("info", "restored and verified",
      absl::StrCat("from=", from, " backup_id=", r->backup_id, " data_dir=", data_dir,
                   " head_position=", r->head_position, " head_hash=",
                   absl::BytesToHexString(absl::string_view(
                       reinterpret_cast<const char*>(r->head_hash.data()), r->head_hash.size())),
                   " verified=", r->verified_count));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && absl::string_view(argv[1]) == "restore") return Restore(argc, argv);
  absl::SetProgramUsageMessage(
      "Serves the NCM coordination backend over gRPC.\n"
      "  ncmd --data_dir=var/ncm --listen=127.0.0.1:50051\n"
      "Restores a backup (ncmctl admin backup) into a new data folder and verifies it:\n"
      "  ncmd restore --from=BACKUP_DIR --data_dir=NEW_DIR [--backup_id=N] [--kek_file=FILE]");
  absl::FlagsUsageConfig usage;
  usage.version_string = [] { return std::string("ncmd " NCM_VERSION "\n"); };
  absl::SetFlagsUsageConfig(usage);
  // The file first, then the command line over it.
  if (const std::string config = ncm::ncmd::ConfigFileFromArgs(argc, argv);
      !config.empty()) {
    absl::Status applied =
        ncm::ncmd::ApplyConfigFile(config, "services/ncmd/main.cc");
    if (!applied.ok()) {
      Log("error", "bad configuration",
          absl::StrCat("reason=\"",
                       absl::StrReplaceAll(applied.message(),
                                           {{"\\", "\\\\"}, {"\"", "\\\""},
                                            {"\n", "\\n"}}),
                       "\""));
      return 2;
    }
  }
  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil checks every Mutex acquisition for lock-order cycles
  // unless told not to; that is a debugging aid, not for production.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // Signals are taken by one thread with sigwait; block them everywhere
  // before any other thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  ncm::ncmd::ServerOptions options;
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  if (options.data_dir.empty()) {
    Log("error", "--data_dir must name a folder");
    return 2;
  }
  options.counties_file = absl::GetFlag(FLAGS_counties_file);
  options.read_model_dir = absl::GetFlag(FLAGS_read_model_dir);
  options.key_encryption_key_file = absl::GetFlag(FLAGS_kek_file);
  options.tls.cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls.key_file = absl::GetFlag(FLAGS_tls_key);
  options.tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);
  options.query_wait = absl::Milliseconds(absl::GetFlag(FLAGS_query_wait_ms));
  options.admin_token_file = absl::GetFlag(FLAGS_admin_token_file);
  for (absl::string_view url :
       absl::StrSplit(absl::GetFlag(FLAGS_nats_url), ',', absl::SkipEmpty())) {
    options.nats.urls.emplace_back(absl::StripAsciiWhitespace(url));
  }
  options.nats.stream = absl::GetFlag(FLAGS_nats_stream);
  options.nats.subject_prefix = absl::GetFlag(FLAGS_nats_subject_prefix);
  options.nats.replicas = absl::GetFlag(FLAGS_nats_replicas);
  options.nats.creds_file = absl::GetFlag(FLAGS_nats_creds);
  options.nats.ca_file = absl::GetFlag(FLAGS_nats_ca);
  options.nats.cert_file = absl::GetFlag(FLAGS_nats_cert);
  options.nats.key_file = absl::GetFlag(FLAGS_nats_key);
  options.read_node.write_node = absl::GetFlag(FLAGS_write_node);
  options.read_node.token_file = absl::GetFlag(FLAGS_write_node_token_file);
  options.read_node.ca_file = absl::GetFlag(FLAGS_write_node_ca);
  options.read_node.cert_file = absl::GetFlag(FLAGS_write_node_cert);
  options.read_node.key_file = absl::GetFlag(FLAGS_write_node_key);
  options.checkpoints.origin = absl::GetFlag(FLAGS_checkpoint_origin);
  options.checkpoints.key_file = absl::GetFlag(FLAGS_checkpoint_key_file);
  options.checkpoints.interval =
      absl::Seconds(std::max(0, absl::GetFlag(FLAGS_checkpoint_interval_seconds)));
  options.checkpoints.keep =
      static_cast<size_t>(std::max(0, absl::GetFlag(FLAGS_checkpoints_kept)));
  for (absl::string_view w :
       absl::StrSplit(absl::GetFlag(FLAGS_witness_keys), ',', absl::SkipEmpty())) {
    options.checkpoints.witness_keys.emplace_back(absl::StripAsciiWhitespace(w));
  }
  if (options.read_node.enabled()) options.nats.client_name = "ncmd-read";
  options.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  options.log = [](absl::string_view level, const std::string& fields) {
    std::string line = absl::StrCat(
        "ts=", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                absl::UTCTimeZone()),
        " level=", level, " ", fields);
    std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
  };
  if (!absl::LoadTimeZone(absl::GetFlag(FLAGS_time_zone), &options.time_zone)) {
    Log("error", "unknown --time_zone; give an IANA name such as Africa/Nairobi",
        absl::StrCat("time_zone=", absl::GetFlag(FLAGS_time_zone)));
    return 2;
  }
  auto server = ncm::ncmd::StartServer(options);
  if (!server.ok()) {
    Log("error", "ncmd cannot start",
        absl::StrCat("reason=\"", server.status().message(), "\""));
    return 1;
  }
  Log("info", "ncmd listening",
      absl::StrCat("address=", (*server)->address(),
                   " tls=", options.tls.enabled()
                                ? (options.tls.client_ca_file.empty()
                                       ? "on"
                                       : "mutual")
                                : "off",
                   " data_dir=", options.data_dir,
                   options.read_node.enabled()
                       ? absl::StrCat(" role=read write_node=",
                                      options.read_node.write_node)
                       : std::string(" role=write"),
                   " head_position=", (*server)->store()->HeadPosition(),
                   (*server)->metrics_address().empty()
                       ? std::string(" metrics=off")
                       : absl::StrCat(" metrics=http://", (*server)->metrics_address(),
                                      "/metrics")));
  if (auto* rs = (*server)->read_side(); rs != nullptr) {
    for (const char* model :
         {"resolutions", "mous", "budgets", "directory"}) {
      auto st = rs->Status(model);
      if (!st.ok()) continue;
      Log("info", "read model resuming",
          absl::StrCat("model=", st->name,
                       " applied_position=", st->applied_position));
    }
  }

  // Under systemd (Type=notify): ready once the listener is up. Without
  // NOTIFY_SOCKET this does nothing.
  sd_notify(0, absl::StrCat("READY=1\nSTATUS=serving on ", (*server)->address()).c_str());

  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    sd_notify(0, "STOPPING=1\nSTATUS=draining calls");
    Log("info", "shutting down", absl::StrCat("signal=", sig));
    (*server)->Shutdown(absl::Seconds(absl::GetFlag(FLAGS_shutdown_grace_seconds)));
  });
  (*server)->Wait();
  waiter.join();
  Log("info", "ncmd stopped");
  return 0;
}
