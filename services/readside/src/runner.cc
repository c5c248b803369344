#include "ncm/eventstore/rocksdb_logger.h"
#include "ncm/readside/runner.h"

#include <map>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "ncm/eventstore/status_macros.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"

namespace ncm::readside {
namespace {

namespace es = ::ncm::eventstore;

constexpr char kCheckpointKey[] = {'\0', 'c', 'h', 'e', 'c', 'k', 'p', 'o',
                                   'i', 'n', 't'};
const rocksdb::Slice kCheckpoint(kCheckpointKey, sizeof(kCheckpointKey));
// "\0poison/" + position (8 bytes, big-endian) -> PoisonEvent fields.
const std::string kPoisonPrefix("\0poison/", 8);

std::string EncodePosition(uint64_t p) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, p >>= 8) out[i] = static_cast<char>(p & 0xff);
  return out;
}

uint64_t DecodePosition(const std::string& s) {
  uint64_t p = 0;
  for (unsigned char c : s) p = (p << 8) | c;
  return p;
}

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("read-model storage: ", what, ": ", s.ToString()));
}

// Read models are mostly point lookups of keys that may not exist yet (a
// record's first event): bloom filters spare a disk read per miss.
rocksdb::ColumnFamilyOptions ModelOptions() {
  rocksdb::ColumnFamilyOptions o;
  rocksdb::BlockBasedTableOptions t;
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  t.block_cache = rocksdb::NewLRUCache(64 << 20);
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  o.write_buffer_size = 64 << 20;
  return o;
}

// How a page is written. A page and its checkpoint are one batch, and a
// batch lands in one memtable of one column family, so they are kept or
// lost together. Read models can always be redone from the log, so their
// writes skip the write-ahead log (never mixed with logged writes): a crash
// loses only the progress since the model's last flush, which the runner
// redoes from the flushed checkpoint at restart. A caught-up model is
// flushed when idle, at most every kIdleFlush; closing flushes too.
rocksdb::WriteOptions PageWriteOptions() {
  rocksdb::WriteOptions o;
  o.disableWAL = true;
  return o;
}

constexpr absl::Duration kIdleFlush = absl::Seconds(2);

// The page's writes in a plain write batch, with an overlay of them for
// reads (cheaper than an indexed batch).
class TxnImpl final : public ProjectionTxn {
 public:
  TxnImpl(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
          rocksdb::WriteBatch* batch)
      : db_(db), cf_(cf), batch_(batch) {}
  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) override {
    auto it = overlay_.find(key);
    if (it != overlay_.end()) return it->second;
    std::string v;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_,
                                 rocksdb::Slice(key.data(), key.size()), &v);
    if (s.IsNotFound()) return std::nullopt;
    if (!s.ok()) storage_failed_ = true;
    NCM_RETURN_IF_ERROR(FromRocks(s, "get"));
    return v;
  }
  // A read of the model's own storage failed during this page: an error
  // from the projection is then no fault of the event.
  bool storage_failed() const { return storage_failed_; }
  void Put(absl::string_view key, absl::string_view value) override {
    batch_->Put(cf_, rocksdb::Slice(key.data(), key.size()),
                rocksdb::Slice(value.data(), value.size()));
    overlay_[key] = std::string(value);
  }
  void Delete(absl::string_view key) override {
    batch_->Delete(cf_, rocksdb::Slice(key.data(), key.size()));
    overlay_[key] = std::nullopt;
  }

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  rocksdb::WriteBatch* batch_;
  absl::flat_hash_map<std::string, std::optional<std::string>> overlay_;
  bool storage_failed_ = false;
};

std::string EncodePoison(const PoisonEvent& p) {
  // Length-prefixed fields: stream id, event type, reason.
  std::string out;
  for (const std::string* f : {&p.stream_id, &p.event_type, &p.reason}) {
    out += EncodePosition(f->size());
    out += *f;
  }
  return out;
}

std::optional<PoisonEvent> DecodePoison(absl::string_view key,
                                        absl::string_view value) {
  if (key.size() != kPoisonPrefix.size() + 8) return std::nullopt;
  PoisonEvent p;
  p.position = DecodePosition(std::string(key.substr(kPoisonPrefix.size())));
  for (std::string* f : {&p.stream_id, &p.event_type, &p.reason}) {
    if (value.size() < 8) return std::nullopt;
    const uint64_t n = DecodePosition(std::string(value.substr(0, 8)));
    value.remove_prefix(8);
    if (value.size() < n) return std::nullopt;
    *f = std::string(value.substr(0, n));
    value.remove_prefix(n);
  }
  return p;
}

struct Model;

class ViewImpl final : public ReadModelView {
 public:
  explicit ViewImpl(Model* m) : m_(m) {}
  absl::StatusOr<std::optional<std::string>> Get(
      absl::string_view key) const override;
  absl::Status Scan(absl::string_view prefix, absl::string_view start,
                    const std::function<bool(absl::string_view,
                                             absl::string_view)>& fn)
      const override;

 private:
  Model* m_;
};

struct Model {
  std::unique_ptr<Projection> projection;
  rocksdb::DB* db = nullptr;
  // Replaced by a rebuild: readers hold cf_mu shared.
  mutable absl::Mutex cf_mu;
  rocksdb::ColumnFamilyHandle* cf ABSL_GUARDED_BY(cf_mu) = nullptr;

  absl::Mutex mu;
  uint64_t applied ABSL_GUARDED_BY(mu) = 0;
  uint64_t head_seen ABSL_GUARDED_BY(mu) = 0;
  bool stop ABSL_GUARDED_BY(mu) = false;
  std::string error ABSL_GUARDED_BY(mu);
  uint64_t poison_count ABSL_GUARDED_BY(mu) = 0;
  std::optional<PoisonEvent> last_poison ABSL_GUARDED_BY(mu);
  std::thread thread;
  // Runner thread only: written since the last flush, and when that was.
  bool unflushed = false;
  absl::Time last_flush = absl::InfinitePast();
  ViewImpl view{this};
};

absl::StatusOr<std::optional<std::string>> ViewImpl::Get(
    absl::string_view key) const {
  absl::ReaderMutexLock l(&m_->cf_mu);
  std::string v;
  rocksdb::Status s = m_->db->Get(rocksdb::ReadOptions(), m_->cf,
                                  rocksdb::Slice(key.data(), key.size()), &v);
  if (s.IsNotFound()) return std::nullopt;
  NCM_RETURN_IF_ERROR(FromRocks(s, "get"));
  return v;
}

absl::Status ViewImpl::Scan(
    absl::string_view prefix, absl::string_view start,
    const std::function<bool(absl::string_view, absl::string_view)>& fn) const {
  absl::ReaderMutexLock l(&m_->cf_mu);
  std::unique_ptr<rocksdb::Iterator> it(
      m_->db->NewIterator(rocksdb::ReadOptions(), m_->cf));
  const std::string from(start.empty() ? prefix : start);
  for (it->Seek(from); it->Valid(); it->Next()) {
    absl::string_view k(it->key().data(), it->key().size());
    if (k.substr(0, prefix.size()) != prefix) break;
    if (!fn(k, absl::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return FromRocks(it->status(), "scan");
}

class ReadSideImpl final : public ReadSide {
 public:
  ReadSideImpl(es::EventStore* store, ReadSideOptions options)
      : store_(store), options_(std::move(options)) {}

  ~ReadSideImpl() override {
    Stop();
    for (auto& [name, m] : models_) {
      absl::MutexLock l(&m->cf_mu);
      if (m->cf != nullptr) db_->DestroyColumnFamilyHandle(m->cf);
      m->cf = nullptr;
    }
    for (auto* h : other_cfs_) db_->DestroyColumnFamilyHandle(h);
  }

  absl::Status Open(std::vector<std::unique_ptr<Projection>> projections) {
    rocksdb::DBOptions db_options;
    db_options.create_if_missing = true;
    // No automatic resume after a write error, and RocksDB's log on
    // stderr rather than in the folder (ncm/eventstore/rocksdb_logger.h).
    db_options.max_bgerror_resume_count = 0;
    db_options.info_log = eventstore::NewStderrRocksDbLogger(options_.path);
    db_options.create_missing_column_families = true;
    std::vector<std::string> existing;
    rocksdb::Status ls = rocksdb::DB::ListColumnFamilies(
        db_options, options_.path, &existing);
    if (!ls.ok()) existing = {rocksdb::kDefaultColumnFamilyName};
    std::map<std::string, std::unique_ptr<Projection>> wanted;
    for (auto& p : projections) {
      const std::string name = p->name();
      if (!wanted.emplace(name, std::move(p)).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("two projections named ", name));
      }
    }
    std::vector<std::string> names = existing;
    for (const auto& [name, p] : wanted) {
      if (std::find(names.begin(), names.end(), name) == names.end()) {
        names.push_back(name);
      }
    }
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const auto& n : names) {
      cfs.emplace_back(n, ModelOptions());
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    NCM_RETURN_IF_ERROR(FromRocks(
        rocksdb::DB::Open(db_options, options_.path, cfs, &handles, &db),
        absl::StrCat("open ", options_.path)));
    db_.reset(db);
    for (size_t i = 0; i < names.size(); ++i) {
      auto it = wanted.find(names[i]);
      if (it == wanted.end()) {
        other_cfs_.push_back(handles[i]);
        continue;
      }
      auto m = std::make_unique<Model>();
      m->projection = std::move(it->second);
      m->db = db_.get();
      {
        absl::MutexLock l(&m->cf_mu);
        m->cf = handles[i];
      }
      std::string cp;
      rocksdb::Status s =
          db_->Get(rocksdb::ReadOptions(), handles[i], kCheckpoint, &cp);
      if (!s.IsNotFound()) NCM_RETURN_IF_ERROR(FromRocks(s, "checkpoint"));
      // The poison events kept, to count them again.
      uint64_t poisoned = 0;
      std::optional<PoisonEvent> last;
      {
        std::unique_ptr<rocksdb::Iterator> it(
            db_->NewIterator(rocksdb::ReadOptions(), handles[i]));
        for (it->Seek(kPoisonPrefix);
             it->Valid() && it->key().starts_with(kPoisonPrefix); it->Next()) {
          ++poisoned;
          last = DecodePoison(
              absl::string_view(it->key().data(), it->key().size()),
              absl::string_view(it->value().data(), it->value().size()));
        }
        NCM_RETURN_IF_ERROR(FromRocks(it->status(), "poison events"));
      }
      absl::MutexLock l(&m->mu);
      m->applied = s.ok() ? DecodePosition(cp) : 0;
      m->poison_count = poisoned;
      m->last_poison = std::move(last);
      models_[names[i]] = std::move(m);
    }
    return absl::OkStatus();
  }

  absl::Status Start() override {
    listener_ = store_->AddCommitListener([this](uint64_t head) {
      for (auto& [name, m] : models_) {
        absl::MutexLock l(&m->mu);
        m->head_seen = std::max(m->head_seen, head);
      }
    });
    for (auto& [name, m] : models_) StartRunner(m.get());
    return absl::OkStatus();
  }

  void Stop() override {
    if (listener_ != 0) {
      store_->RemoveCommitListener(listener_);
      listener_ = 0;
    }
    for (auto& [name, m] : models_) StopRunner(m.get());
  }

  absl::Status WaitFor(const std::string& model, uint64_t position,
                       absl::Duration timeout) override {
    NCM_ASSIGN_OR_RETURN(Model * m, Find(model));
    const uint64_t head = store_->HeadPosition();
    // On a read node the position may still be on its way: wait for it.
    if (position > head && !store_->IsCopy()) {
      return absl::OutOfRangeError(absl::StrCat(
          "min_position ", position, " is beyond the log's head (", head,
          ")"));
    }
    absl::MutexLock l(&m->mu);
    auto done = [m, position]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(m->mu) {
      return m->applied >= position || !m->error.empty();
    };
    m->mu.AwaitWithTimeout(absl::Condition(&done), timeout);
    if (!m->error.empty()) {
      return absl::UnavailableError(absl::StrCat(
          "read model ", model, " stopped at position ", m->applied, ": ",
          m->error));
    }
    if (m->applied < position) {
      return absl::DeadlineExceededError(absl::StrCat(
          "read model ", model, " has applied position ", m->applied,
          ", short of the ", position, " asked for (", position - m->applied,
          " behind) after waiting ", absl::FormatDuration(timeout),
          "; retry, or wait longer"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<ModelStatus> Status(const std::string& model) override {
    NCM_ASSIGN_OR_RETURN(Model * m, Find(model));
    ModelStatus s;
    s.name = model;
    s.head_position = store_->HeadPosition();
    absl::MutexLock l(&m->mu);
    s.applied_position = m->applied;
    s.error = m->error;
    s.poison_count = m->poison_count;
    s.last_poison = m->last_poison;
    return s;
  }

  absl::StatusOr<const ReadModelView*> View(const std::string& model) override {
    NCM_ASSIGN_OR_RETURN(Model * m, Find(model));
    return &m->view;
  }

  absl::Status Rebuild(const std::string& model,
                       absl::Duration timeout) override {
    NCM_ASSIGN_OR_RETURN(Model * m, Find(model));
    absl::MutexLock rebuild(&rebuild_mu_);
    StopRunner(m);
    {
      absl::MutexLock l(&m->cf_mu);
      const std::string name = m->projection->name();
      NCM_RETURN_IF_ERROR(
          FromRocks(db_->DropColumnFamily(m->cf), "drop " + name));
      db_->DestroyColumnFamilyHandle(m->cf);
      m->cf = nullptr;
      NCM_RETURN_IF_ERROR(FromRocks(
          db_->CreateColumnFamily(ModelOptions(), name, &m->cf),
          "create " + name));
    }
    {
      absl::MutexLock l(&m->mu);
      m->applied = 0;
      m->error.clear();
      m->poison_count = 0;
      m->last_poison.reset();
    }
    m->unflushed = false;  // a new column family; its runner is stopped
    const uint64_t head = store_->HeadPosition();
    StartRunner(m);
    absl::Status s = WaitFor(model, head, timeout);
    if (absl::IsDeadlineExceeded(s)) {
      return absl::DeadlineExceededError(absl::StrCat(
          "rebuild of ", model, " goes on in the background: ", s.message()));
    }
    return s;
  }

 private:
  absl::StatusOr<Model*> Find(const std::string& model) {
    auto it = models_.find(model);
    if (it == models_.end()) {
      return absl::NotFoundError(absl::StrCat("no read model named ", model));
    }
    return it->second.get();
  }

  void StartRunner(Model* m) {
    {
      absl::MutexLock l(&m->mu);
      m->stop = false;
    }
    m->thread = std::thread([this, m] { Run(m); });
  }

  void StopRunner(Model* m) {
    {
      absl::MutexLock l(&m->mu);
      m->stop = true;
    }
    if (m->thread.joinable()) m->thread.join();
  }

  void Run(Model* m) {
    for (;;) {
      uint64_t from;
      {
        absl::MutexLock l(&m->mu);
        if (m->stop) return;
        from = m->applied + 1;
      }
      es::ReadAllOptions o;
      o.from_position = from;
      o.max_count = options_.page_events;
      o.max_bytes = options_.page_bytes;
      o.filter.stream_prefixes = m->projection->StreamPrefixes();
      if (!o.filter.Empty()) o.max_scan = 10 * options_.page_events;
      absl::StatusOr<es::ReadAllResult> page = store_->ReadAll(o);
      absl::Status s = page.status();
      // Records examined up to here: the checkpoint may move this far even
      // when the filter kept none of them.
      const uint64_t through =
          s.ok() ? std::max(from, page->next_position) - 1 : 0;
      if (s.ok() && page->events.empty() && through < from) {
        // Caught up: persist what was applied (now and then), then sleep
        // until a commit moves the head past us.
        if (m->unflushed && absl::Now() - m->last_flush >= kIdleFlush) {
          s = FlushModel(m);
          if (!s.ok()) {
            absl::MutexLock l(&m->mu);
            m->error = std::string(s.message());
            return;
          }
        }
        absl::MutexLock l(&m->mu);
        auto wake = [m, from]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(m->mu) {
          return m->stop || m->head_seen >= from;
        };
        m->mu.AwaitWithTimeout(absl::Condition(&wake), absl::Milliseconds(500));
        continue;
      }
      if (s.ok()) s = ApplyPage(m, page->events, through);
      if (!s.ok()) {
        absl::MutexLock l(&m->mu);
        m->error = std::string(s.message());
        std::fprintf(stderr,
                     "level=error msg=\"projection stopped\" model=%s "
                     "position=%llu reason=\"%s\"\n",
                     m->projection->name().c_str(),
                     static_cast<unsigned long long>(m->applied + 1),
                     m->error.c_str());
        return;
      }
    }
  }

  absl::Status FlushModel(Model* m) {
    absl::ReaderMutexLock cf_lock(&m->cf_mu);
    NCM_RETURN_IF_ERROR(
        FromRocks(db_->Flush(rocksdb::FlushOptions(), m->cf), "flush"));
    m->unflushed = false;
    m->last_flush = absl::Now();
    return absl::OkStatus();
  }

  // Applies a page, and writes what it changed with the new checkpoint.
  // An event the projection refuses ends the page there: the events before
  // it are applied again in a fresh batch, and it is recorded as a poison
  // event in the same batch, the checkpoint at its position; the next page
  // starts after it.
  // `through`: the last position the page's read examined (at least its
  // last event's).
  absl::Status ApplyPage(Model* m, const std::vector<es::RecordedEvent>& events,
                         uint64_t through) {
    absl::ReaderMutexLock cf_lock(&m->cf_mu);
    size_t count = events.size();
    std::optional<PoisonEvent> poison;
    for (;;) {
      rocksdb::WriteBatch batch;
      TxnImpl txn(db_.get(), m->cf, &batch);
      size_t failed = count;
      absl::Status why;
      for (size_t i = 0; i < count; ++i) {
        why = m->projection->Apply(events[i], &txn);
        if (!why.ok()) {
          failed = i;
          break;
        }
      }
      if (failed < count) {
        (void)m->projection->EndPage(nullptr);
        // UNAVAILABLE is the model's storage failing, whatever read it:
        // the runner stops (and a restart resumes) rather than skip.
        if (txn.storage_failed() || absl::IsUnavailable(why) ||
            poison.has_value()) {
          return why;
        }
        const es::RecordedEvent& e = events[failed];
        poison = PoisonEvent{e.position, e.stream_id, e.event_type,
                             std::string(why.message())};
        count = failed;
        continue;
      }
      NCM_RETURN_IF_ERROR(m->projection->EndPage(&txn));
      const uint64_t last =
          poison ? poison->position
                 : std::max(through, count > 0 ? events[count - 1].position : 0);
      if (poison) {
        batch.Put(m->cf, kPoisonPrefix + EncodePosition(poison->position),
                  EncodePoison(*poison));
      }
      batch.Put(m->cf, kCheckpoint, EncodePosition(last));
      NCM_RETURN_IF_ERROR(
          FromRocks(db_->Write(PageWriteOptions(), &batch), "write"));
      m->unflushed = true;
      if (poison) {
        std::fprintf(stderr,
                     "level=error msg=\"poison event skipped\" model=%s "
                     "position=%llu stream=\"%s\" type=\"%s\" "
                     "reason=\"%s\"\n",
                     m->projection->name().c_str(),
                     static_cast<unsigned long long>(poison->position),
                     absl::CEscape(poison->stream_id).c_str(),
                     absl::CEscape(poison->event_type).c_str(),
                     absl::CEscape(poison->reason).c_str());
      }
      absl::MutexLock l(&m->mu);
      m->applied = last;
      if (poison) {
        ++m->poison_count;
        m->last_poison = std::move(poison);
      }
      return absl::OkStatus();
    }
  }

  es::EventStore* const store_;
  const ReadSideOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> other_cfs_;
  std::map<std::string, std::unique_ptr<Model>> models_;
  uint64_t listener_ = 0;
  absl::Mutex rebuild_mu_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ReadSide>> OpenReadSide(
    es::EventStore* store, std::vector<std::unique_ptr<Projection>> projections,
    const ReadSideOptions& options) {
  auto rs = std::make_unique<ReadSideImpl>(store, options);
  NCM_RETURN_IF_ERROR(rs->Open(std::move(projections)));
  return rs;
}

}  // namespace ncm::readside
