#include "ncm/bus/broker.h"

#include <nats/nats.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "record_codec.h"

namespace ncm::bus {
namespace codec = ::ncm::eventstore::codec;

namespace {

std::string NatsError(natsStatus s, jsErrCode code = static_cast<jsErrCode>(0)) {
  std::string text = natsStatus_GetText(s);
  const char* last = nats_GetLastError(nullptr);
  if (last != nullptr && *last != '\0') absl::StrAppend(&text, ": ", last);
  if (code != 0) absl::StrAppend(&text, " (JetStream error ", code, ")");
  return text;
}

absl::Status Unavailable(absl::string_view what, natsStatus s,
                         jsErrCode code = static_cast<jsErrCode>(0)) {
  return absl::UnavailableError(absl::StrCat(what, ": ", NatsError(s, code)));
}

}  // namespace

std::string EscapeToken(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') ||
        (u >= '0' && u <= '9') || u == '_' || u == '-') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

std::string QuoteForLog(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c == '\n' ? ' ' : c);
  }
  out.push_back('"');
  return out;
}

absl::string_view CategoryOf(absl::string_view stream_id) {
  const size_t dash = stream_id.find('-');
  return dash == absl::string_view::npos ? stream_id
                                         : stream_id.substr(0, dash);
}

std::string SubjectFor(absl::string_view prefix, absl::string_view stream_id) {
  return absl::StrCat(prefix, ".", EscapeToken(CategoryOf(stream_id)), ".",
                      EscapeToken(stream_id));
}

std::string MessageIdFor(const eventstore::Hash& hash) {
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(hash.data()), hash.size()));
}

size_t LargestMessage(const eventstore::Limits& limits) {
  // The record's fixed fields, the hashes, and every text at its limit;
  // the headers repeat the stream id and event type and add under 512
  // bytes more.
  const size_t texts = limits.max_stream_id_bytes + limits.max_event_type_bytes +
                       limits.max_content_type_bytes + limits.max_actor_bytes +
                       3 * limits.max_id_bytes;
  const size_t record = 1 + 8 + 8 + 16 + 8 + 8 + 8 * 4 + texts +
                        limits.max_payload_bytes;
  const size_t headers = 512 + 3 * limits.max_stream_id_bytes +
                         limits.max_event_type_bytes;
  return 64 + record + headers;
}

void MsgDeleter::operator()(natsMsg* m) const { natsMsg_Destroy(m); }

absl::StatusOr<MsgPtr> MessageFor(const BrokerOptions& options,
                                  absl::string_view log_value) {
  absl::StatusOr<eventstore::RecordedEvent> e = codec::DecodeLogValue(log_value);
  if (!e.ok()) return e.status();
  const std::string subject = SubjectFor(options.subject_prefix, e->stream_id);
  natsMsg* raw = nullptr;
  natsStatus s = natsMsg_Create(&raw, subject.c_str(), nullptr,
                                log_value.data(),
                                static_cast<int>(log_value.size()));
  if (s != NATS_OK) return Unavailable("cannot build a message", s);
  MsgPtr m(raw);
  const std::string hash = MessageIdFor(e->hash);
  const std::pair<const char*, std::string> headers[] = {
      {kMsgIdHeader, hash},
      {kExpectedLastSeqHeader, absl::StrCat(e->position - 1)},
      {kPositionHeader, absl::StrCat(e->position)},
      {kStreamHeader, e->stream_id},
      {kRevisionHeader, absl::StrCat(e->revision)},
      {kEventTypeHeader, e->event_type},
      {kOccurredAtHeader,
       absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", e->occurred_at,
                        absl::UTCTimeZone())},
      {kHashHeader, hash},
  };
  for (const auto& [key, value] : headers) {
    s = natsMsgHeader_Set(m.get(), key, value.c_str());
    if (s != NATS_OK) return Unavailable("cannot set a message header", s);
  }
  return m;
}

struct Broker::Hooks {
  absl::Mutex mu;
  BrokerCallbacks callbacks ABSL_GUARDED_BY(mu);

  static void Disconnected(natsConnection*, void* closure) {
    auto* h = static_cast<Hooks*>(closure);
    absl::MutexLock l(&h->mu);
    if (h->callbacks.disconnected) h->callbacks.disconnected();
  }
  static void Reconnected(natsConnection*, void* closure) {
    auto* h = static_cast<Hooks*>(closure);
    absl::MutexLock l(&h->mu);
    if (h->callbacks.reconnected) h->callbacks.reconnected();
  }
  static void Ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae,
                  void* closure) {
    auto* h = static_cast<Hooks*>(closure);
    uint64_t position = 0;
    const char* value = nullptr;
    if (natsMsgHeader_Get(msg, kPositionHeader, &value) == NATS_OK &&
        value != nullptr) {
      position = std::strtoull(value, nullptr, 10);
    }
    absl::Status status;
    uint64_t sequence = 0;
    bool duplicate = false;
    if (pa != nullptr) {
      sequence = pa->Sequence;
      duplicate = pa->Duplicate;
    } else if (pae != nullptr) {
      std::string text = pae->ErrText != nullptr && *pae->ErrText != '\0'
                             ? std::string(pae->ErrText)
                             : std::string(natsStatus_GetText(pae->Err));
      if (pae->ErrCode != 0) {
        absl::StrAppend(&text, " (JetStream error ", pae->ErrCode, ")");
      }
      status = pae->ErrCode == JSStreamWrongLastSequenceErr
                   ? absl::AbortedError(text)
                   : absl::UnavailableError(text);
    } else {
      status = absl::UnknownError("publish answered with nothing");
    }
    natsMsg_Destroy(msg);
    absl::MutexLock l(&h->mu);
    if (h->callbacks.ack) h->callbacks.ack(position, sequence, duplicate, status);
  }
  static void Error(natsConnection*, natsSubscription*, natsStatus s,
                    void* closure) {
    auto* h = static_cast<Hooks*>(closure);
    absl::MutexLock l(&h->mu);
    if (h->callbacks.error) h->callbacks.error(natsStatus_GetText(s));
  }
};

absl::StatusOr<std::unique_ptr<Broker>> Broker::Connect(
    const BrokerOptions& options, BrokerCallbacks callbacks) {
  if (options.urls.empty()) {
    return absl::InvalidArgumentError("no NATS server URL given");
  }
  // Freed with the Broker when no connection was made; once one was, kept
  // for the process's life (see ~Broker).
  auto* hooks = new Hooks;
  {
    absl::MutexLock l(&hooks->mu);
    hooks->callbacks = std::move(callbacks);
  }
  std::unique_ptr<Broker> b(new Broker(options, hooks));
  natsOptions* o = nullptr;
  natsStatus s = natsOptions_Create(&o);
  if (s != NATS_OK) return Unavailable("NATS options", s);
  std::vector<const char*> urls;
  for (const std::string& u : options.urls) urls.push_back(u.c_str());
  s = natsOptions_SetServers(o, urls.data(), static_cast<int>(urls.size()));
  if (s == NATS_OK) s = natsOptions_SetName(o, options.client_name.c_str());
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(o, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(o, 250);
  if (s == NATS_OK) s = natsOptions_SetTimeout(o, 2000);
  if (s == NATS_OK) s = natsOptions_SetPingInterval(o, 2000);
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(o, 3);
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(o, &Hooks::Disconnected, hooks);
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(o, &Hooks::Reconnected, hooks);
  if (s == NATS_OK) s = natsOptions_SetErrorHandler(o, &Hooks::Error, hooks);
  if (s == NATS_OK && !options.creds_file.empty()) {
    s = natsOptions_SetUserCredentialsFromFiles(o, options.creds_file.c_str(),
                                                nullptr);
  }
  if (s == NATS_OK && !options.ca_file.empty()) {
    s = natsOptions_SetSecure(o, true);
    if (s == NATS_OK) {
      s = natsOptions_LoadCATrustedCertificates(o, options.ca_file.c_str());
    }
  }
  if (s == NATS_OK && !options.cert_file.empty()) {
    s = natsOptions_LoadCertificatesChain(o, options.cert_file.c_str(),
                                          options.key_file.c_str());
  }
  if (s != NATS_OK) {
    natsOptions_Destroy(o);
    return absl::InvalidArgumentError(
        absl::StrCat("NATS connection options: ", NatsError(s)));
  }
  s = natsConnection_Connect(&b->nc_, o);
  natsOptions_Destroy(o);
  if (s != NATS_OK) {
    return Unavailable(absl::StrCat("cannot reach the NATS servers ",
                                    absl::StrJoin(options.urls, ",")),
                       s);
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = absl::ToInt64Milliseconds(options.request_timeout);
  jo.PublishAsync.AckHandler = &Hooks::Ack;
  jo.PublishAsync.AckHandlerClosure = hooks;
  jo.PublishAsync.MaxPending = 1 << 20;  // the publisher keeps its own window
  s = natsConnection_JetStream(&b->js_, b->nc_, &jo);
  if (s != NATS_OK) return Unavailable("JetStream context", s);
  return b;
}

Broker::~Broker() {
  if (js_ != nullptr) {
    AbandonPending();
    jsCtx_Destroy(js_);
  }
  if (nc_ != nullptr) {
    natsConnection_Close(nc_);
    natsConnection_Destroy(nc_);
  }
  if (nc_ == nullptr) {
    delete hooks_;  // no connection, so the client library never had them
    return;
  }
  {
    absl::MutexLock l(&hooks_->mu);
    hooks_->callbacks = {};
  }
  // The client library may still call the hooks while a closed connection
  // winds down (its subscription threads end after Close returns), so they
  // stay allocated: about a hundred bytes per connection made.
  static absl::Mutex retired_mu(absl::kConstInit);
  static auto* retired = new std::vector<std::unique_ptr<Hooks>>;
  absl::MutexLock l(&retired_mu);
  retired->emplace_back(hooks_);
}

absl::Status Broker::EnsureStream(const eventstore::Limits& limits) {
  const std::string subjects = absl::StrCat(options_.subject_prefix, ".>");
  jsStreamInfo* si = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, js_, options_.stream.c_str(), nullptr,
                                  &code);
  if (s == NATS_NOT_FOUND || code == JSStreamNotFoundErr) {
    jsStreamConfig c;
    jsStreamConfig_Init(&c);
    c.Name = options_.stream.c_str();
    c.Description = "The NCM event log: sequence = global position";
    const char* subj[] = {subjects.c_str()};
    c.Subjects = subj;
    c.SubjectsLen = 1;
    c.Retention = js_LimitsPolicy;
    c.MaxConsumers = -1;
    c.MaxMsgs = -1;
    c.MaxBytes = -1;
    c.MaxAge = 0;
    c.MaxMsgsPerSubject = -1;
    c.MaxMsgSize = -1;
    c.Discard = js_DiscardNew;  // never drops a stored message
    c.Storage = js_FileStorage;
    c.Replicas = options_.replicas;
    c.DenyDelete = true;
    c.DenyPurge = true;
    c.AllowRollup = false;
    c.Duplicates = static_cast<int64_t>(2) * 60 * 1000 * 1000 * 1000;
    s = js_AddStream(&si, js_, &c, nullptr, &code);
    if (s != NATS_OK) {
      if (code != 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            "cannot create the JetStream stream ", options_.stream, ": ",
            NatsError(s, code)));
      }
      return Unavailable(absl::StrCat("cannot create the JetStream stream ",
                                      options_.stream),
                         s, code);
    }
    jsStreamInfo_Destroy(si);
    return absl::OkStatus();
  }
  if (s != NATS_OK) {
    if (code == JSNotEnabledErr || code == JSNotEnabledForAccountErr) {
      return absl::FailedPreconditionError(
          "JetStream is not enabled on the NATS servers (or for this "
          "account); start nats-server with -js or a jetstream block");
    }
    return Unavailable(absl::StrCat("cannot read the JetStream stream ",
                                    options_.stream),
                       s, code);
  }
  std::vector<std::string> wrong;
  const jsStreamConfig& c = *si->Config;
  if (c.SubjectsLen != 1 || subjects != c.Subjects[0]) {
    std::vector<std::string> have;
    for (int i = 0; i < c.SubjectsLen; ++i) have.push_back(c.Subjects[i]);
    wrong.push_back(absl::StrCat("subjects are [", absl::StrJoin(have, ","),
                                 "], not [", subjects, "]"));
  }
  if (c.Storage != js_FileStorage) wrong.push_back("storage is not file");
  if (c.Replicas != options_.replicas) {
    wrong.push_back(absl::StrCat("replicas are ", c.Replicas, ", not ",
                                 options_.replicas));
  }
  if (c.Retention != js_LimitsPolicy) {
    wrong.push_back("retention is not limits (messages would be removed once consumed)");
  }
  if (!c.DenyDelete) wrong.push_back("deletes are allowed");
  if (!c.DenyPurge) wrong.push_back("purges are allowed");
  if (c.AllowRollup) wrong.push_back("rollups are allowed");
  if (c.Sealed) wrong.push_back("the stream is sealed");
  if (c.MaxMsgs > 0) wrong.push_back(absl::StrCat("max_msgs is ", c.MaxMsgs));
  if (c.MaxBytes > 0) wrong.push_back(absl::StrCat("max_bytes is ", c.MaxBytes));
  if (c.MaxAge > 0) wrong.push_back("max_age is set");
  if (c.MaxMsgsPerSubject > 0) {
    wrong.push_back(absl::StrCat("max_msgs_per_subject is ", c.MaxMsgsPerSubject));
  }
  if (c.MaxMsgSize > 0 &&
      static_cast<size_t>(c.MaxMsgSize) < LargestMessage(limits)) {
    wrong.push_back(absl::StrCat("max_msg_size is ", c.MaxMsgSize,
                                 ", under the largest event's ",
                                 LargestMessage(limits)));
  }
  if (c.Mirror != nullptr || c.SourcesLen > 0) {
    wrong.push_back("it mirrors or sources other streams");
  }
  jsStreamInfo_Destroy(si);
  if (!wrong.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the JetStream stream ", options_.stream,
        " is configured otherwise than the log needs: ",
        absl::StrJoin(wrong, "; "),
        ". Fix it (or remove the stream while nothing depends on it) and "
        "ncmd creates it as it should be"));
  }
  return absl::OkStatus();
}

absl::StatusOr<StreamState> Broker::State() {
  jsStreamInfo* si = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, js_, options_.stream.c_str(), nullptr,
                                  &code);
  if (s != NATS_OK) {
    if (code == JSStreamNotFoundErr) {
      return absl::NotFoundError(
          absl::StrCat("the JetStream stream ", options_.stream, " is gone"));
    }
    return Unavailable(absl::StrCat("cannot read the state of ", options_.stream),
                       s, code);
  }
  StreamState st;
  st.messages = si->State.Msgs;
  st.first_seq = si->State.FirstSeq;
  st.last_seq = si->State.LastSeq;
  st.deleted = si->State.NumDeleted;
  jsStreamInfo_Destroy(si);
  return st;
}

absl::StatusOr<StoredMessage> Broker::Get(uint64_t sequence) {
  natsMsg* m = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s = js_GetMsg(&m, js_, options_.stream.c_str(), sequence, nullptr,
                           &code);
  if (s != NATS_OK) {
    if (s == NATS_NOT_FOUND || code == JSNoMessageFoundErr) {
      return absl::NotFoundError(
          absl::StrCat("no message at sequence ", sequence));
    }
    return Unavailable(absl::StrCat("cannot read sequence ", sequence), s, code);
  }
  MsgPtr owned(m);
  StoredMessage out;
  out.sequence = sequence;
  out.subject = natsMsg_GetSubject(m);
  out.data.assign(natsMsg_GetData(m), natsMsg_GetDataLength(m));
  return out;
}

absl::Status Broker::PublishAsync(MsgPtr msg) {
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = absl::ToInt64Milliseconds(options_.request_timeout);
  natsMsg* raw = msg.release();
  published_any_ = true;
  natsStatus s = js_PublishMsgAsync(js_, &raw, &po);
  natsMsg_Destroy(raw);  // nothing when the library took it
  if (s != NATS_OK) return Unavailable("publish", s);
  return absl::OkStatus();
}

void Broker::AbandonPending() {
  // The client library's list is made by the first asynchronous publish;
  // asking for it before then crashes.
  if (!published_any_) return;
  natsMsgList pending;
  if (js_PublishAsyncGetPendingList(&pending, js_) == NATS_OK) {
    natsMsgList_Destroy(&pending);
  }
}

absl::StatusOr<std::string> Broker::StreamLeader() {
  jsStreamInfo* si = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, js_, options_.stream.c_str(), nullptr,
                                  &code);
  if (s != NATS_OK) return Unavailable("stream info", s, code);
  std::string leader;
  if (si->Cluster != nullptr && si->Cluster->Leader != nullptr) {
    leader = si->Cluster->Leader;
  }
  jsStreamInfo_Destroy(si);
  return leader;
}

absl::StatusOr<std::unique_ptr<StreamReader>> StreamReader::Open(
    Broker* broker, uint64_t from_seq) {
  const std::string subject =
      absl::StrCat(broker->options().subject_prefix, ".>");
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = broker->options().stream.c_str();
  so.Ordered = true;
  so.Config.DeliverPolicy = js_DeliverByStartSequence;
  so.Config.OptStartSeq = std::max<uint64_t>(from_seq, 1);
  natsSubscription* sub = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s = js_SubscribeSync(&sub, broker->jetstream(), subject.c_str(),
                                  nullptr, &so, &code);
  if (s != NATS_OK) {
    return Unavailable(absl::StrCat("cannot read the stream ",
                                    broker->options().stream),
                       s, code);
  }
  // Room for a large backlog in the client's buffer (messages, bytes).
  (void)natsSubscription_SetPendingLimits(sub, 1 << 20, 256 << 20);
  return std::unique_ptr<StreamReader>(new StreamReader(sub));
}

StreamReader::~StreamReader() {
  natsSubscription_Unsubscribe(sub_);
  natsSubscription_Destroy(sub_);
}

absl::StatusOr<StoredMessage> StreamReader::Next(absl::Duration timeout) {
  natsMsg* m = nullptr;
  natsStatus s = natsSubscription_NextMsg(
      &m, sub_, std::max<int64_t>(1, absl::ToInt64Milliseconds(timeout)));
  if (s == NATS_TIMEOUT) {
    return absl::DeadlineExceededError("no message yet");
  }
  if (s != NATS_OK) return Unavailable("reading the stream", s);
  MsgPtr owned(m);
  jsMsgMetaData* meta = nullptr;
  s = natsMsg_GetMetaData(&meta, m);
  if (s != NATS_OK) return Unavailable("a message without metadata", s);
  StoredMessage out;
  out.sequence = meta->Sequence.Stream;
  jsMsgMetaData_Destroy(meta);
  out.subject = natsMsg_GetSubject(m);
  out.data.assign(natsMsg_GetData(m), natsMsg_GetDataLength(m));
  return out;
}

int64_t Broker::MaxPayload() const {
  return natsConnection_GetMaxPayload(nc_);
}

std::string Broker::ConnectedUrl() const {
  char buf[512];
  if (natsConnection_GetConnectedUrl(nc_, buf, sizeof buf) != NATS_OK) return "";
  return buf;
}

bool Broker::Connected() const {
  return natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED;
}

}  // namespace ncm::bus
