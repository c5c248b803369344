#include "ncm/eventstore/rocksdb_event_store.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <atomic>
#include <deque>
#include <filesystem>
#include <limits>
#include <map>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/notification.h"
#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "append_planner.h"
#include "commit_listeners.h"
#include "ncm/eventstore/merkle.h"
#include "ncm/eventstore/rocksdb_logger.h"
#include "ncm/eventstore/secret_file.h"
#include "ncm/eventstore/status_macros.h"
#include "read_helpers.h"
#include "record_codec.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/memtablerep.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/backup_engine.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/utilities/options_util.h"
#include "rocksdb/write_batch.h"

namespace ncm::eventstore {
namespace {

constexpr char kFormatKey[] = "format";
constexpr char kFormatVersion[] = "1";
constexpr char kLogCf[] = "log";
constexpr char kStreamsCf[] = "streams";
constexpr char kEventIdsCf[] = "event_ids";
constexpr char kSubjectKeysCf[] = "subject_keys";
constexpr char kTreeCf[] = "merkle";
constexpr char kCheckpointsCf[] = "checkpoints";
// In the default column family: how many leaves the stored tree holds.
constexpr char kTreeSizeKey[] = "tree_size";
// Complete subtrees of fewer leaves than 2^kFirstStoredLevel are not
// stored: they are hashed again from the records when a proof needs them
// (at most 15 records a subtree), which spares each append most of the
// tree's writes.
constexpr int kFirstStoredLevel = 4;
// The first line of a backup's metadata, then key=value lines.
constexpr char kBackupMetadataHeader[] = "ncm event store backup v1\n";

// The bytes of the files under `dir` (0 when it does not exist).
uint64_t FolderBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

// How long a proof waits for the tree thread to reach a size the log has.
constexpr absl::Duration kTreeWait = absl::Seconds(10);
// The tree thread wakes for this many records, or after kTreeIdle.
constexpr size_t kTreeBurst = 256;
constexpr absl::Duration kTreeIdle = absl::Milliseconds(50);
// Log values handed to the tree thread and not hashed yet, at most.
constexpr size_t kMaxTreeQueueBytes = 64 << 20;
// Leaves added per write batch when the tree is rebuilt from the log.
constexpr uint64_t kTreeRebuildBatch = 8192;
// Cached stream revisions are dropped wholesale past this many streams.
constexpr size_t kMaxCachedStreams = 1 << 20;

// The stream id and its 0x00 separator: the prefix of a stream's index keys.
class StreamIdPrefix final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "ncm.StreamIdPrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    const void* nul = std::memchr(key.data(), 0, key.size());
    size_t n = nul == nullptr
                   ? key.size()
                   : static_cast<const char*>(nul) - key.data() + 1;
    return rocksdb::Slice(key.data(), n);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return std::memchr(key.data(), 0, key.size()) != nullptr;
  }
};

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  if (s.IsCorruption()) {
    return absl::DataLossError(absl::StrCat(what, ": ", s.ToString()));
  }
  // Every caller that can legitimately miss handles NotFound itself; here a
  // miss means an index points at a record that is not there.
  if (s.IsNotFound()) {
    return absl::DataLossError(absl::StrCat(
        what, ": an index refers to a record that is missing"));
  }
  return absl::UnavailableError(
      absl::StrCat(what, ": ", s.ToString(), "; the storage is failing"));
}

// A stored subject key: 0x01 || nonce (12) || AES-256-GCM(kek, key) with
// its tag (48), the subject id authenticated. Earlier versions stored the
// 32-byte key itself.
constexpr char kWrappedVersion = '\x01';
constexpr size_t kWrappedBytes = 1 + kGcmNonceBytes + kSubjectKeyBytes + kGcmTagBytes;
// Kept in the default family: the KEK sealed over a fixed text, so that
// opening with another KEK is refused before any key is read.
constexpr char kKekCheckKey[] = "kek_check";
constexpr char kKekCheckText[] = "ncm key-encryption key";

absl::StatusOr<std::string> Wrap(absl::string_view kek, absl::string_view subject,
                                 absl::string_view key) {
  NCM_ASSIGN_OR_RETURN(Sealed s, SealAes256Gcm(kek, subject, key));
  return absl::StrCat(std::string(1, kWrappedVersion), s.nonce, s.ciphertext);
}

absl::StatusOr<std::string> Unwrap(absl::string_view kek,
                                   absl::string_view subject,
                                   absl::string_view stored) {
  if (stored.size() != kWrappedBytes || stored[0] != kWrappedVersion) {
    return absl::DataLossError(
        absl::StrCat("the key of subject ", subject, " is malformed"));
  }
  absl::StatusOr<std::string> key =
      OpenAes256Gcm(kek, subject, stored.substr(1, kGcmNonceBytes),
                    stored.substr(1 + kGcmNonceBytes));
  if (!key.ok()) {
    return absl::DataLossError(absl::StrCat(
        "the key of subject ", subject,
        " does not unwrap under the key-encryption key: it was altered"));
  }
  return key;
}

// The key-encryption key file: read, or made (O_EXCL, 0600, synced with
// its folder) when `may_create`.
absl::StatusOr<std::string> LoadKek(const std::string& path, bool may_create) {
  constexpr char kWhat[] = "key-encryption key";
  NCM_ASSIGN_OR_RETURN(std::optional<std::string> kek,
                       ReadSecretFile(path, kWhat, kSubjectKeyBytes));
  if (!kek.has_value()) {
    if (!may_create) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the key-encryption key file ", path,
          " is missing, and this store's personal-data keys are wrapped "
          "under it; restore it from your backup (it is kept apart from the "
          "data folder) or give its path"));
    }
    NCM_ASSIGN_OR_RETURN(std::string fresh, NewSubjectKey());
    NCM_RETURN_IF_ERROR(CreateSecretFile(path, fresh, kWhat));
    return fresh;
  }
  if (kek->size() != kSubjectKeyBytes) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the key-encryption key file ", path, " does not hold a 32-byte key"));
  }
  return *std::move(kek);
}

// Subject keys in their own column family: key = subject id, value = the
// subject's key wrapped under the key-encryption key (kWrappedBytes), or
// empty once destroyed (a tombstone that stops the subject from ever
// getting a key again). Writes are synced.
class RocksDbSubjectKeyStore final : public SubjectKeyStore {
 public:
  RocksDbSubjectKeyStore(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                         std::vector<rocksdb::ColumnFamilyHandle*> all,
                         std::string kek)
      : db_(db), cf_(cf), all_(std::move(all)), kek_(std::move(kek)) {}

  // Wraps every key stored in clear (by an earlier version), in one synced
  // batch, then flushes and compacts so that no file keeps a clear copy.
  absl::Status WrapClearKeys() {
    rocksdb::WriteBatch batch;
    {
      std::unique_ptr<rocksdb::Iterator> it(
          db_->NewIterator(rocksdb::ReadOptions(), cf_));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        if (it->value().size() != kSubjectKeyBytes) continue;
        const absl::string_view subject(it->key().data(), it->key().size());
        NCM_ASSIGN_OR_RETURN(
            std::string wrapped,
            Wrap(kek_, subject,
                 absl::string_view(it->value().data(), it->value().size())));
        batch.Put(cf_, it->key(), wrapped);
      }
      NCM_RETURN_IF_ERROR(FromRocks(it->status(), "reading the keys"));
    }
    if (batch.Count() == 0) return absl::OkStatus();
    rocksdb::WriteOptions wo;
    wo.sync = true;
    NCM_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &batch), "wrapping the keys"));
    return FlushAndCompact();
  }

  absl::StatusOr<std::string> GetOrCreate(absl::string_view subject) override {
    absl::MutexLock l(&mu_);  // one creator at a time: no two keys
    NCM_ASSIGN_OR_RETURN(std::optional<std::string> stored, Read(subject));
    if (stored.has_value()) {
      if (stored->empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "subject ", subject, " was forgotten; its key cannot be remade"));
      }
      return *stored;
    }
    NCM_ASSIGN_OR_RETURN(std::string key, NewSubjectKey());
    NCM_ASSIGN_OR_RETURN(std::string wrapped, Wrap(kek_, subject, key));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    NCM_RETURN_IF_ERROR(FromRocks(db_->Put(wo, cf_, ToSlice(subject), wrapped),
                                  "storing a key"));
    return key;
  }

  absl::StatusOr<std::optional<std::string>> Get(
      absl::string_view subject) override {
    NCM_ASSIGN_OR_RETURN(std::optional<std::string> stored, Read(subject));
    if (stored.has_value() && stored->empty()) stored.reset();
    return stored;
  }

  // Writes the tombstone, then flushes every column family, so that no
  // write-ahead log file keeps the old key, and compacts the key family, so
  // that no table file keeps it.
  absl::Status Destroy(absl::string_view subject) override {
    absl::MutexLock l(&mu_);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    NCM_RETURN_IF_ERROR(FromRocks(db_->Put(wo, cf_, ToSlice(subject), ""),
                                  "destroying a key"));
    return FlushAndCompact();
  }

 private:
  absl::Status FlushAndCompact() {
    rocksdb::FlushOptions fo;
    fo.wait = true;
    NCM_RETURN_IF_ERROR(FromRocks(db_->Flush(fo, all_), "flushing"));
    rocksdb::CompactRangeOptions co;
    co.bottommost_level_compaction =
        rocksdb::BottommostLevelCompaction::kForce;
    return FromRocks(db_->CompactRange(co, cf_, nullptr, nullptr),
                     "compacting the keys");
  }

  static rocksdb::Slice ToSlice(absl::string_view s) {
    return rocksdb::Slice(s.data(), s.size());
  }
  absl::StatusOr<std::optional<std::string>> Read(absl::string_view subject) {
    std::string v;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_, ToSlice(subject), &v);
    if (s.IsNotFound()) return std::optional<std::string>();
    NCM_RETURN_IF_ERROR(FromRocks(s, "reading a key"));
    if (v.empty()) return std::optional<std::string>(std::string());
    NCM_ASSIGN_OR_RETURN(std::string key, Unwrap(kek_, subject, v));
    return std::optional<std::string>(std::move(key));
  }

  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const cf_;
  const std::vector<rocksdb::ColumnFamilyHandle*> all_;
  const std::string kek_;
  absl::Mutex mu_;
};

rocksdb::Slice HashSlice(const Hash& h) {
  return rocksdb::Slice(reinterpret_cast<const char*>(h.data()), h.size());
}

// Checkpoints in their own column family: key = tree size (u64
// big-endian), value = the signed note.
class RocksDbCheckpointStore final : public CheckpointStore {
 public:
  RocksDbCheckpointStore(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf)
      : db_(db), cf_(cf) {}

  absl::Status Put(uint64_t size, absl::string_view note, size_t keep) override {
    absl::MutexLock l(&mu_);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    NCM_RETURN_IF_ERROR(FromRocks(
        db_->Put(wo, cf_, codec::PositionKey(size), rocksdb::Slice(note.data(), note.size())),
        "storing a checkpoint"));
    if (keep == 0) return absl::OkStatus();
    // Drops every checkpoint older than the keep-th newest; a lost
    // deletion only keeps one more.
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_));
    size_t seen = 0;
    for (it->SeekToLast(); it->Valid(); it->Prev()) {
      if (++seen == keep) break;
    }
    NCM_RETURN_IF_ERROR(FromRocks(it->status(), "reading the checkpoints"));
    if (!it->Valid()) return absl::OkStatus();
    return FromRocks(db_->DeleteRange(rocksdb::WriteOptions(), cf_,
                                      codec::PositionKey(0), it->key()),
                     "pruning the checkpoints");
  }

  absl::StatusOr<std::string> Get(uint64_t size) override {
    std::string v;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_, codec::PositionKey(size), &v);
    if (s.IsNotFound()) {
      return absl::NotFoundError(absl::StrCat("no checkpoint is kept for tree size ", size));
    }
    NCM_RETURN_IF_ERROR(FromRocks(s, "reading a checkpoint"));
    return v;
  }

  absl::StatusOr<std::pair<uint64_t, std::string>> Latest() override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_));
    it->SeekToLast();
    NCM_RETURN_IF_ERROR(FromRocks(it->status(), "reading the checkpoints"));
    if (!it->Valid()) return absl::NotFoundError("no checkpoint is kept yet");
    if (it->key().size() != 8) return absl::DataLossError("a checkpoint key is malformed");
    return std::make_pair(codec::GetU64(it->key().data()), it->value().ToString());
  }

  absl::StatusOr<std::vector<uint64_t>> Sizes(size_t limit) override {
    std::vector<uint64_t> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_));
    for (it->SeekToLast(); it->Valid() && out.size() < limit; it->Prev()) {
      if (it->key().size() != 8) return absl::DataLossError("a checkpoint key is malformed");
      out.push_back(codec::GetU64(it->key().data()));
    }
    NCM_RETURN_IF_ERROR(FromRocks(it->status(), "reading the checkpoints"));
    return out;
  }

 private:
  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const cf_;
  absl::Mutex mu_;
};

class RocksDbEventStore final : public EventStore {
 public:
  RocksDbEventStore(const RocksDbOptions& options) : options_(options) {}

  ~RocksDbEventStore() override {
    {
      absl::MutexLock l(&queue_mu_);
      stopping_ = true;
    }
    if (writer_.joinable()) writer_.join();
    // The writer hands the tree nothing more: let it write what it holds.
    {
      absl::MutexLock l(&tree_mu_);
      tree_stopping_ = true;
    }
    if (tree_thread_.joinable()) tree_thread_.join();
    keys_.reset();
    if (db_ != nullptr) {
      for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
      db_->Close().PermitUncheckedError();
    }
  }

  absl::Status Open() {
    rocksdb::Options db_options;
    db_options.create_if_missing = true;
    db_options.create_missing_column_families = true;
    db_options.IncreaseParallelism(2);
    db_options.max_background_jobs = 2;
    db_options.keep_log_file_num = 5;
    // After a write error the store stops taking appends until it is
    // reopened (see CommitGroup), rather than RocksDB resuming on its own
    // onto storage that failed. Its log goes to stderr (rocksdb_logger.h).
    db_options.max_bgerror_resume_count = 0;
    db_options.info_log = NewStderrRocksDbLogger(options_.path);
    // One writer thread writes every batch; the hash memtable below needs
    // this off.
    db_options.allow_concurrent_memtable_write = false;

    rocksdb::BlockBasedTableOptions table;
    table.block_cache = rocksdb::NewLRUCache(options_.block_cache_bytes);
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    table.cache_index_and_filter_blocks = true;
    rocksdb::ColumnFamilyOptions cf;
    cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    cf.write_buffer_size = 64 << 20;

    // Index lookups of ids that are not there (every new event's) are
    // answered by a memtable bloom filter instead of a skip-list search.
    rocksdb::ColumnFamilyOptions index_cf = cf;
    index_cf.memtable_prefix_bloom_size_ratio = 0.1;
    index_cf.memtable_whole_key_filtering = true;
    // Inserts keep a hint per prefix, so that appending in key order (the
    // log by position, a stream by revision) skips the skip-list search.
    rocksdb::ColumnFamilyOptions log_cf = cf;
    log_cf.memtable_insert_with_hint_prefix_extractor.reset(
        rocksdb::NewFixedPrefixTransform(4));
    rocksdb::ColumnFamilyOptions streams_cf = index_cf;
    streams_cf.memtable_insert_with_hint_prefix_extractor =
        std::make_shared<StreamIdPrefix>();
    // Event ids are random and only ever looked up whole: a hash memtable
    // inserts and finds them in constant time.
    rocksdb::ColumnFamilyOptions ids_cf = index_cf;
    ids_cf.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(16));
    ids_cf.memtable_factory.reset(
        rocksdb::NewHashLinkListRepFactory(1 << 18));
    // Tree nodes go in key order within each level (the key's first byte).
    rocksdb::ColumnFamilyOptions tree_cf = cf;
    tree_cf.memtable_insert_with_hint_prefix_extractor.reset(
        rocksdb::NewFixedPrefixTransform(1));
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
        {rocksdb::kDefaultColumnFamilyName, cf},
        {kLogCf, log_cf},
        {kStreamsCf, streams_cf},
        {kEventIdsCf, ids_cf},
        {kSubjectKeysCf, cf},
        {kTreeCf, tree_cf},
        {kCheckpointsCf, cf}};
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(db_options),
                                          options_.path, cfs, &handles_, &db);
    if (!s.ok()) {
      if (s.IsIOError() && (absl::StrContains(s.ToString(), "lock") ||
                            absl::StrContains(s.ToString(), "LOCK"))) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the data folder ", options_.path,
            " is in use by another process (", s.ToString(),
            "); stop the other ncmd or choose another data folder"));
      }
      return FromRocks(s, absl::StrCat("cannot open the event store at ",
                                       options_.path));
    }
    db_.reset(db);
    log_ = handles_[1];
    streams_ = handles_[2];
    ids_ = handles_[3];
    tree_ = handles_[5];
    checkpoints_ = std::make_unique<RocksDbCheckpointStore>(db_.get(), handles_[6]);
    NCM_RETURN_IF_ERROR(OpenSubjectKeys());

    std::string format;
    s = db_->Get(rocksdb::ReadOptions(), handles_[0], kFormatKey, &format);
    if (s.IsNotFound()) {
      rocksdb::WriteOptions wo;
      wo.sync = true;
      NCM_RETURN_IF_ERROR(FromRocks(
          db_->Put(wo, handles_[0], kFormatKey, kFormatVersion), "format"));
    } else if (!s.ok()) {
      return FromRocks(s, "reading the format version");
    } else if (format != kFormatVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the data folder ", options_.path, " holds format version ", format,
          " but this build reads version ", kFormatVersion));
    }

    // Recover the head from the last record.
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), log_));
    it->SeekToLast();
    NCM_RETURN_IF_ERROR(FromRocks(it->status(), "recovering the head"));
    if (it->Valid()) {
      absl::string_view v(it->value().data(), it->value().size());
      NCM_ASSIGN_OR_RETURN(uint64_t pos, codec::PeekPosition(v));
      if (pos != codec::DecodePositionKey(
                     absl::string_view(it->key().data(), it->key().size()))) {
        return absl::DataLossError(
            "the last log record's key and position disagree");
      }
      head_.store(pos);
      head_hash_ = codec::HashOf(v);
      {
        absl::MutexLock l(&head_hash_mu_);
        published_head_hash_ = head_hash_;
      }
    }
    NCM_RETURN_IF_ERROR(OpenTree());
    if (options_.merkle_tree) {
      tree_written_.store(frontier_.size(), std::memory_order_release);
      tree_thread_ = std::thread([this] { TreeLoop(); });
    }
    writer_ = std::thread([this] { WriterLoop(); });
    return absl::OkStatus();
  }

  // Loads the tree's right edge, then adds the leaves of any records it
  // does not hold yet (a store made before the tree existed, or one run
  // with the tree off), in batches.
  absl::Status OpenTree() {
    if (!options_.merkle_tree) return absl::OkStatus();
    std::string v;
    uint64_t size = 0;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handles_[0], kTreeSizeKey, &v);
    if (s.ok()) {
      if (v.size() != 8) return absl::DataLossError("the stored tree size is malformed");
      size = codec::GetU64(v.data());
    } else if (!s.IsNotFound()) {
      return FromRocks(s, "reading the tree size");
    }
    const uint64_t head = head_.load();
    if (size > head) {
      return absl::DataLossError(absl::StrCat(
          "the Merkle tree holds ", size, " leaves but the log only ", head,
          " records: records were removed from the log"));
    }
    NCM_ASSIGN_OR_RETURN(frontier_, merkle::Frontier::Load(
                                        [this](int level, uint64_t index) {
                                          return ReadTreeNode(level, index);
                                        },
                                        size));
    if (size == head) return absl::OkStatus();
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), log_));
    rocksdb::WriteBatch batch;
    uint64_t pos = size;
    for (it->Seek(codec::PositionKey(size + 1)); it->Valid() && pos < head; it->Next()) {
      absl::string_view value(it->value().data(), it->value().size());
      if (it->key().size() != 8 || codec::DecodePositionKey(absl::string_view(
                                       it->key().data(), 8)) != pos + 1 ||
          value.size() < 64) {
        return absl::DataLossError(absl::StrCat(
            "the log has no well-formed record at position ", pos + 1,
            "; run VerifyChain"));
      }
      PutTreeNodes(value, &batch);
      ++pos;
      if (pos % kTreeRebuildBatch == 0 || pos == head) {
        batch.Put(handles_[0], kTreeSizeKey, codec::PositionKey(pos));
        rocksdb::WriteOptions wo;
        wo.sync = pos == head;
        NCM_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &batch), "writing the Merkle tree"));
        batch.Clear();
      }
    }
    NCM_RETURN_IF_ERROR(FromRocks(it->status(), "reading the log"));
    if (pos != head) {
      return absl::DataLossError(absl::StrCat(
          "the log ends at position ", pos, " before its head ", head));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Hash> ReadTreeNode(int level, uint64_t index) {
    if (level < kFirstStoredLevel) return HashFromRecords(level, index);
    std::string v;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), tree_,
                                 merkle::NodeKey(level, index), &v);
    if (s.IsNotFound()) {
      return absl::DataLossError(absl::StrCat(
          "the Merkle tree lacks its node at level ", level, " index ", index));
    }
    NCM_RETURN_IF_ERROR(FromRocks(s, "reading the Merkle tree"));
    if (v.size() != 32) {
      return absl::DataLossError(absl::StrCat(
          "the Merkle tree's node at level ", level, " index ", index,
          " is malformed"));
    }
    Hash h;
    std::copy(v.begin(), v.end(), h.begin());
    return h;
  }

  // The hash of a small complete subtree, from its records.
  absl::StatusOr<Hash> HashFromRecords(int level, uint64_t index) {
    const uint64_t first = (index << level) + 1, count = uint64_t{1} << level;
    std::vector<Hash> hashes;
    hashes.reserve(count);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), log_));
    it->Seek(codec::PositionKey(first));
    for (uint64_t p = first; p < first + count; ++p, it->Next()) {
      if (!it->Valid() || it->key().size() != 8 ||
          codec::DecodePositionKey(absl::string_view(it->key().data(), 8)) != p ||
          it->value().size() < 64) {
        NCM_RETURN_IF_ERROR(FromRocks(it->status(), "reading the log"));
        return absl::DataLossError(absl::StrCat(
            "the log has no well-formed record at position ", p, "; run VerifyChain"));
      }
      hashes.push_back(merkle::LeafHash(merkle::RecordOf(
          absl::string_view(it->value().data(), it->value().size()))));
    }
    for (size_t n = hashes.size(); n > 1; n /= 2) {
      for (size_t i = 0; i < n / 2; ++i) {
        hashes[i] = merkle::NodeHash(hashes[2 * i], hashes[2 * i + 1]);
      }
    }
    return hashes[0];
  }

  // Adds a record's leaf to the tree: the nodes it completes go in
  // `batch`. Tree thread (and Open) only.
  void PutTreeNodes(absl::string_view log_value, rocksdb::WriteBatch* batch) {
    if (!options_.merkle_tree) return;
    tree_finished_.clear();
    frontier_.Add(merkle::LeafHash(merkle::RecordOf(log_value)), &tree_finished_);
    for (const merkle::Frontier::Node& n : tree_finished_) {
      if (n.level < kFirstStoredLevel) continue;
      batch->Put(tree_, merkle::NodeKey(n.level, n.index), HashSlice(n.hash));
    }
  }

  absl::StatusOr<Hash> TreeNode(int level, uint64_t index) override {
    if (!options_.merkle_tree) {
      return absl::FailedPreconditionError(
          "this store keeps no Merkle tree (it was opened with the tree off)");
    }
    if (level < 0 || level > 63) {
      return absl::InvalidArgumentError(absl::StrCat("tree level ", level, " is not 0..63"));
    }
    const unsigned __int128 end = (static_cast<unsigned __int128>(index) + 1) << level;
    if (end > head_.load(std::memory_order_acquire)) {
      return absl::NotFoundError(absl::StrCat(
          "the subtree at level ", level, " index ", index,
          " is not complete in the log"));
    }
    // Small subtrees are hashed from the records; a stored node is there
    // once the tree thread has written the leaves it covers (moments after
    // their commit).
    if (level >= kFirstStoredLevel && end > tree_written_.load(std::memory_order_acquire)) {
      NCM_RETURN_IF_ERROR(AwaitTree(static_cast<uint64_t>(end)));
    }
    return ReadTreeNode(level, index);
  }

  // Waits until the stored tree holds `size` leaves.
  absl::Status AwaitTree(uint64_t size) {
    absl::MutexLock l(&tree_mu_);
    ++tree_waiters_;  // wakes the tree thread now
    auto caught_up = [this, size]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(tree_mu_) {
      return tree_written_.load(std::memory_order_acquire) >= size || !tree_failure_.ok() ||
             tree_stopping_;
    };
    tree_mu_.AwaitWithTimeout(absl::Condition(&caught_up), kTreeWait);
    --tree_waiters_;
    if (!tree_failure_.ok()) return tree_failure_;
    if (tree_written_.load(std::memory_order_acquire) >= size) return absl::OkStatus();
    return absl::UnavailableError(absl::StrCat(
        "the Merkle tree holds ", tree_written_.load(), " of the log's ", head_.load(),
        " records and has not reached ", size, " yet; try again"));
  }

  // The tree thread: adds the leaves the writer hands it, in position
  // order, and writes the nodes they complete with the tree's new size in
  // one batch. It works in bursts (every kTreeBurst records, every
  // kTreeIdle, or at once when a reader waits), so that it seldom wakes
  // and seldom writes beside the writer. Not synced: the log's own synced
  // writes carry it to the disk, and after a crash Open adds from the log
  // the leaves the stored tree lacks.
  void TreeLoop() {
    for (;;) {
      std::deque<std::string> values;
      {
        absl::MutexLock l(&tree_mu_);
        tree_mu_.AwaitWithTimeout(
            absl::Condition(
                +[](RocksDbEventStore* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->tree_mu_) {
                  return s->tree_stopping_ || s->tree_waiters_ > 0 ||
                         s->tree_queue_.size() >= kTreeBurst;
                },
                this),
            kTreeIdle);
        if (tree_queue_.empty()) {
          if (tree_stopping_) return;  // stopping and drained
          continue;
        }
        values.swap(tree_queue_);
        tree_queued_bytes_ = 0;
      }
      rocksdb::WriteBatch batch;
      for (const std::string& v : values) PutTreeNodes(v, &batch);
      absl::Status s;
      // Leaves that complete no stored node need no write: the nodes every
      // size up to the frontier's needs are stored already. The stored
      // size then lags, and Open adds the few leaves beyond it.
      if (batch.Count() > 0) {
        batch.Put(handles_[0], kTreeSizeKey, codec::PositionKey(frontier_.size()));
        s = FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "writing the Merkle tree");
      }
      absl::MutexLock l(&tree_mu_);
      if (!s.ok()) {
        tree_failure_ = absl::UnavailableError(absl::StrCat(
            "the Merkle tree stopped following the log after a storage failure (",
            s.message(), "); restart the server once the storage is fixed: it adds "
            "the missing leaves from the log"));
        tree_queue_.clear();
        return;
      }
      tree_written_.store(frontier_.size(), std::memory_order_release);
    }
  }

  // Writer thread: hands the tree a committed group's log values, in
  // position order. Waits while the tree holds too many (it hashes far
  // faster than the log syncs, so only a stalled disk gets it here).
  void HandToTree(const std::vector<std::string*>& values) {
    if (!options_.merkle_tree || values.empty()) return;
    absl::MutexLock l(&tree_mu_);
    auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(tree_mu_) {
      return tree_queued_bytes_ < kMaxTreeQueueBytes || !tree_failure_.ok();
    };
    tree_mu_.Await(absl::Condition(&room));
    if (!tree_failure_.ok()) return;
    for (std::string* v : values) {
      tree_queued_bytes_ += v->size();
      tree_queue_.push_back(std::move(*v));
    }
  }

  CheckpointStore* checkpoints() override { return checkpoints_.get(); }

  absl::StatusOr<BackupResult> Backup(const std::string& dir) override {
    absl::MutexLock one_at_a_time(&backup_mu_);
    if (dir.empty() || dir[0] != '/') {
      return absl::InvalidArgumentError(absl::StrCat(
          "the backup folder \"", dir, "\" must be an absolute path on the server's machine"));
    }
    std::error_code ec;
    const auto data = std::filesystem::weakly_canonical(options_.path, ec);
    const auto target = std::filesystem::weakly_canonical(dir, ec);
    const auto rel = target.lexically_relative(data);
    if (target == data || (!rel.empty() && *rel.begin() != "..")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the backup folder ", dir, " is inside the data folder ", options_.path,
          "; give one apart from it (another disk, ideally)"));
    }
    const absl::Time start = absl::Now();
    const uint64_t bytes_before = FolderBytes(dir);
    // The files are linked (same filesystem) into a folder beside the
    // store while no group commits: a flush, then hard links; the head at
    // that moment is what the backup holds.
    std::string staging = options_.path;
    while (staging.size() > 1 && staging.back() == '/') staging.pop_back();
    staging += ".backup-staging";
    std::filesystem::remove_all(staging, ec);
    BackupResult out;
    absl::Duration paused;
    {
      rocksdb::Checkpoint* raw = nullptr;
      NCM_RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw),
                                    "starting a backup"));
      std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
      // The memtables are flushed first, while appends go on, so that
      // under the pause only links are made and the little WAL written
      // since is copied (no flush: the copy holds the WAL instead).
      rocksdb::FlushOptions fo;
      fo.wait = true;
      NCM_RETURN_IF_ERROR(FromRocks(db_->Flush(fo, handles_), "flushing before a backup"));
      absl::MutexLock pause(&commit_mu_);
      const absl::Time pause_start = absl::Now();
      NCM_RETURN_IF_ERROR(FromRocks(
          checkpoint->CreateCheckpoint(staging, std::numeric_limits<uint64_t>::max()),
          "linking the store's files for a backup"));
      out.head_position = head_.load(std::memory_order_acquire);
      out.head_hash = HeadHash();
      paused = absl::Now() - pause_start;
    }
    auto cleanup = absl::MakeCleanup([&] { std::filesystem::remove_all(staging, ec); });
    // The copy, from the linked folder opened as a database of its own.
    std::vector<std::string> names;
    NCM_RETURN_IF_ERROR(FromRocks(
        rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), staging, &names),
        "reading the backup's column families"));
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const std::string& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* staged_raw = nullptr;
    rocksdb::DBOptions staged_options;
    staged_options.create_if_missing = false;
    NCM_RETURN_IF_ERROR(FromRocks(
        rocksdb::DB::Open(staged_options, staging, cfs, &handles, &staged_raw),
        "opening the linked copy for a backup"));
    std::unique_ptr<rocksdb::DB> staged(staged_raw);
    auto close_staged = absl::MakeCleanup([&] {
      for (auto* h : handles) staged->DestroyColumnFamilyHandle(h);
      staged->Close().PermitUncheckedError();
    });
    rocksdb::BackupEngine* engine_raw = nullptr;
    NCM_RETURN_IF_ERROR(FromRocks(
        rocksdb::BackupEngine::Open(rocksdb::BackupEngineOptions(dir), rocksdb::Env::Default(),
                                    &engine_raw),
        absl::StrCat("opening the backup folder ", dir)));
    std::unique_ptr<rocksdb::BackupEngine> engine(engine_raw);
    const std::string metadata =
        absl::StrCat(kBackupMetadataHeader, "head_position=", out.head_position,
                     "\nhead_hash=", absl::BytesToHexString(HashSlice(out.head_hash).ToString()),
                     "\n");
    rocksdb::CreateBackupOptions bo;
    bo.flush_before_backup = true;
    rocksdb::BackupID id = 0;
    NCM_RETURN_IF_ERROR(FromRocks(engine->CreateNewBackupWithMetadata(bo, staged.get(), metadata,
                                                                      &id),
                                  absl::StrCat("writing the backup into ", dir)));
    std::move(close_staged).Invoke();
    out.backup_id = id;
    out.folder_bytes = FolderBytes(dir);
    out.added_bytes = out.folder_bytes > bytes_before ? out.folder_bytes - bytes_before : 0;
    out.paused = paused;
    out.took = absl::Now() - start;
    return out;
  }

  absl::StatusOr<StorageStats> Storage() override {
    StorageStats out;
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      uint64_t v = 0;
      if (db_->GetIntProperty(h, rocksdb::DB::Properties::kEstimateLiveDataSize, &v)) {
        out.live_data_bytes += v;
      }
      if (db_->GetIntProperty(h, rocksdb::DB::Properties::kTotalSstFilesSize, &v)) {
        out.sst_files_bytes += v;
      }
      if (db_->GetIntProperty(h, rocksdb::DB::Properties::kCurSizeAllMemTables, &v)) {
        out.memtable_bytes += v;
      }
      if (db_->GetIntProperty(h, rocksdb::DB::Properties::kEstimatePendingCompactionBytes,
                              &v)) {
        out.pending_compaction_bytes += v;
      }
      std::map<std::string, std::string> stats;
      if (db_->GetMapProperty(h, rocksdb::DB::Properties::kCFStats, &stats)) {
        uint64_t n = 0;
        if (absl::SimpleAtoi(stats["io_stalls.total_slowdown"], &n)) out.write_slowdowns += n;
        if (absl::SimpleAtoi(stats["io_stalls.total_stop"], &n)) out.write_stops += n;
      }
    }
    uint64_t stopped = 0;
    if (db_->GetIntProperty(rocksdb::DB::Properties::kIsWriteStopped, &stopped)) {
      out.writes_stopped = stopped != 0;
    }
    return out;
  }

  // Loads (or makes) the key-encryption key, checks it is this store's,
  // and wraps any key still stored in clear.
  absl::Status OpenSubjectKeys() {
    std::string path = options_.key_encryption_key_file;
    if (path.empty()) {
      path = options_.path;
      while (path.size() > 1 && path.back() == '/') path.pop_back();
      path += ".kek";
    }
    std::string check;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), handles_[0], kKekCheckKey, &check);
    if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading the KEK check");
    bool wrapped = s.ok();
    if (!wrapped) {
      std::unique_ptr<rocksdb::Iterator> it(
          db_->NewIterator(rocksdb::ReadOptions(), handles_[4]));
      for (it->SeekToFirst(); it->Valid() && !wrapped; it->Next()) {
        wrapped = it->value().size() == kWrappedBytes;
      }
      NCM_RETURN_IF_ERROR(FromRocks(it->status(), "reading the keys"));
    }
    NCM_ASSIGN_OR_RETURN(std::string kek, LoadKek(path, /*may_create=*/!wrapped));
    if (s.ok()) {
      if (check.size() < 1 + kGcmNonceBytes ||
          !OpenAes256Gcm(kek, kKekCheckKey, check.substr(1, kGcmNonceBytes),
                         check.substr(1 + kGcmNonceBytes))
               .ok()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the key-encryption key in ", path,
            " is not the one this store's personal-data keys are wrapped "
            "under; give the right file"));
      }
    } else {
      NCM_ASSIGN_OR_RETURN(Sealed sealed,
                           SealAes256Gcm(kek, kKekCheckKey, kKekCheckText));
      rocksdb::WriteOptions wo;
      wo.sync = true;
      NCM_RETURN_IF_ERROR(FromRocks(
          db_->Put(wo, handles_[0], kKekCheckKey,
                   absl::StrCat(std::string(1, kWrappedVersion), sealed.nonce,
                                sealed.ciphertext)),
          "storing the KEK check"));
    }
    auto keys = std::make_unique<RocksDbSubjectKeyStore>(
        db_.get(), handles_[4], handles_, std::move(kek));
    NCM_RETURN_IF_ERROR(keys->WrapClearKeys());
    keys_ = std::move(keys);
    return absl::OkStatus();
  }

  void AppendAsync(AppendRequest request, AppendCallback done) override {
    if (!options_.copy_of.empty()) {
      done(absl::FailedPreconditionError(absl::StrCat(
          "this is a read node; send commands to the write node at ",
          options_.copy_of)));
      return;
    }
    absl::Status valid = ValidateAndNormalize(options_.limits, &request);
    if (!valid.ok()) {
      done(valid);
      return;
    }
    const size_t bytes = QueuedBytes(request);
    absl::Status refused;
    {
      absl::MutexLock l(&queue_mu_);
      if (stopping_) {
        refused = absl::UnavailableError(
            "the event store is shutting down; retry against a running server");
      } else if (!write_failure_.ok()) {
        refused = write_failure_;
      } else if (queued_bytes_ + bytes > options_.max_queued_bytes &&
                 !queue_.empty()) {
        refused = absl::ResourceExhaustedError(absl::StrCat(
            "the write queue already holds ", queued_bytes_,
            " bytes, its limit is ", options_.max_queued_bytes,
            "; retry shortly"));
      } else {
        queued_bytes_ += bytes;
        queue_.push_back(Pending{std::move(request), std::move(done), bytes});
        return;
      }
    }
    done(refused);
  }

  absl::Status AppendCopied(absl::string_view frames) override {
    if (options_.copy_of.empty()) {
      return absl::FailedPreconditionError(
          "this store is a write node's log, not a copy: it takes appends only");
    }
    absl::Notification done;
    absl::Status result;
    {
      absl::MutexLock l(&queue_mu_);
      if (stopping_) {
        return absl::UnavailableError("the event store is shutting down");
      }
      if (!write_failure_.ok()) return write_failure_;
      Pending p;
      p.bytes = frames.size();
      p.copied = std::string(frames);
      p.copied_done = [&](absl::Status s) {
        result = std::move(s);
        done.Notify();
      };
      queued_bytes_ += p.bytes;
      queue_.push_back(std::move(p));
    }
    done.WaitForNotification();
    return result;
  }

  bool IsCopy() const override { return !options_.copy_of.empty(); }

  Hash HeadHash() const override {
    absl::MutexLock l(&head_hash_mu_);
    return published_head_hash_;
  }

  absl::StatusOr<ReadStreamResult> ReadStream(
      const ReadStreamOptions& o) override {
    NCM_RETURN_IF_ERROR(ValidateStreamId(options_.limits, o.stream_id));
    NCM_RETURN_IF_ERROR(ValidateReadCount(options_.limits, o.max_count));
    rocksdb::ReadOptions ro;
    std::unique_ptr<const rocksdb::Snapshot, std::function<void(const rocksdb::Snapshot*)>>
        snap(db_->GetSnapshot(),
             [this](const rocksdb::Snapshot* s) { db_->ReleaseSnapshot(s); });
    ro.snapshot = snap.get();
    NCM_ASSIGN_OR_RETURN(std::optional<uint64_t> last,
                         LastRevisionFromDb(o.stream_id, ro));
    if (!last.has_value()) return StreamNotFound(o.stream_id);
    ReadStreamResult out;
    out.last_revision = *last;
    std::vector<std::string> keys;
    ForEachRevision(o, *last, &out, [&](uint64_t rev) {
      keys.push_back(codec::StreamKey(o.stream_id, rev));
    });
    if (keys.empty()) return out;
    std::vector<rocksdb::Slice> key_slices(keys.begin(), keys.end());
    std::vector<std::string> positions;
    std::vector<rocksdb::ColumnFamilyHandle*> cfs(keys.size(), streams_);
    std::vector<rocksdb::Status> st =
        db_->MultiGet(ro, cfs, key_slices, &positions);
    std::vector<std::string> log_keys;
    for (size_t i = 0; i < st.size(); ++i) {
      NCM_RETURN_IF_ERROR(FromRocks(st[i], "reading the stream index"));
      if (positions[i].size() != 8) {
        return absl::DataLossError("corrupt stream index entry");
      }
      log_keys.push_back(positions[i]);
    }
    // Values are fetched in chunks so that a byte cap stops the read
    // before it loads values it will not return.
    constexpr size_t kChunk = 64;
    size_t bytes = 0;
    for (size_t at = 0; at < log_keys.size(); at += kChunk) {
      const size_t n = std::min(kChunk, log_keys.size() - at);
      std::vector<rocksdb::Slice> slices(log_keys.begin() + at,
                                         log_keys.begin() + at + n);
      std::vector<std::string> values;
      std::vector<rocksdb::ColumnFamilyHandle*> log_cfs(n, log_);
      st = db_->MultiGet(ro, log_cfs, slices, &values);
      for (size_t i = 0; i < n; ++i) {
        NCM_RETURN_IF_ERROR(FromRocks(st[i], "reading the log"));
        NCM_ASSIGN_OR_RETURN(RecordedEvent e, codec::DecodeLogValue(values[i]));
        if (!TakeWithinBytes(o, std::move(e), &bytes, &out)) return out;
      }
    }
    return out;
  }

  absl::StatusOr<ReadAllResult> ReadAll(const ReadAllOptions& o) override {
    ReadAllResult out;
    NCM_RETURN_IF_ERROR(ScanStored(
        o, &out, [&](absl::string_view v) -> absl::Status {
          NCM_ASSIGN_OR_RETURN(RecordedEvent e, codec::DecodeLogValue(v));
          out.events.push_back(std::move(e));
          return absl::OkStatus();
        }));
    return out;
  }

  absl::StatusOr<ReadAllRawResult> ReadAllRaw(
      const ReadAllOptions& o) override {
    ReadAllRawResult out;
    NCM_RETURN_IF_ERROR(ScanStored(
        o, &out, [&](absl::string_view v) -> absl::Status {
          if (out.frames.empty()) {
            size_t want = std::min<size_t>(o.max_count, 4096) * (v.size() + 4);
            if (o.max_bytes != 0) want = std::min(want, o.max_bytes + v.size());
            out.frames.reserve(want);
          }
          codec::AppendFrame(v, &out.frames);
          ++out.count;
          return absl::OkStatus();
        }));
    return out;
  }

  absl::StatusOr<StreamInfo> GetStreamInfo(absl::string_view stream_id) override {
    NCM_RETURN_IF_ERROR(ValidateStreamId(options_.limits, stream_id));
    rocksdb::ReadOptions ro;
    NCM_ASSIGN_OR_RETURN(std::optional<uint64_t> last,
                         LastRevisionFromDb(std::string(stream_id), ro));
    if (!last.has_value()) return StreamNotFound(stream_id);
    StreamInfo info;
    info.stream_id = std::string(stream_id);
    info.last_revision = *last;
    info.event_count = *last + 1;
    NCM_ASSIGN_OR_RETURN(info.first_position, StreamPosition(stream_id, 0, ro));
    NCM_ASSIGN_OR_RETURN(info.last_position,
                         StreamPosition(stream_id, *last, ro));
    std::string value;
    NCM_RETURN_IF_ERROR(FromRocks(
        db_->Get(ro, log_, codec::PositionKey(info.last_position), &value),
        "reading the log"));
    NCM_ASSIGN_OR_RETURN(RecordedEvent e, codec::DecodeLogValue(value));
    info.last_recorded_at = e.recorded_at;
    return info;
  }

  absl::StatusOr<VerifyResult> VerifyChain(uint64_t from,
                                           uint64_t to) override {
    NCM_ASSIGN_OR_RETURN(auto range, VerifyRange(from, to, HeadPosition()));
    VerifyResult result;
    result.from_position = range.first;
    result.to_position = range.second;
    if (range.second < range.first) return result;  // empty log
    const uint64_t count = range.second - range.first + 1;
    const int threads = static_cast<int>(std::max<uint64_t>(
        1, std::min<uint64_t>(options_.verify_threads, count / 4096 + 1)));
    struct Chunk {
      uint64_t from, to;
      VerifyResult r;
      absl::Status status;
      Hash last{};
    };
    std::vector<Chunk> chunks(threads);
    uint64_t per = count / threads;
    for (int i = 0; i < threads; ++i) {
      chunks[i].from = range.first + per * i;
      chunks[i].to = i + 1 == threads ? range.second : chunks[i].from + per - 1;
    }
    auto run = [this](Chunk* c) { c->status = VerifyChunk(c->from, c->to, &c->r, &c->last); };
    std::vector<std::thread> workers;
    for (int i = 1; i < threads; ++i) workers.emplace_back(run, &chunks[i]);
    run(&chunks[0]);
    for (auto& w : workers) w.join();
    for (const Chunk& c : chunks) {
      NCM_RETURN_IF_ERROR(c.status);
      result.verified_count += c.r.verified_count;
      if (!c.r.ok) {
        result.ok = false;
        result.first_bad_position = c.r.first_bad_position;
        result.reason = c.r.reason;
        return result;
      }
    }
    result.head_hash = chunks.back().last;
    return result;
  }

  SubjectKeyStore* subject_keys() override { return keys_.get(); }

  uint64_t HeadPosition() const override {
    return head_.load(std::memory_order_acquire);
  }

  uint64_t AddCommitListener(CommitListener listener) override {
    return listeners_.Add(std::move(listener));
  }
  void RemoveCommitListener(uint64_t id) override { listeners_.Remove(id); }

 private:
  struct Pending {
    AppendRequest request;
    AppendCallback done;
    size_t bytes = 0;  // QueuedBytes(request)
    // A copied append (AppendCopied): the frames, and the answer.
    std::string copied;
    std::function<void(absl::Status)> copied_done;
  };

  static size_t QueuedBytes(const AppendRequest& request) {
    size_t bytes = 0;
    for (const auto& stream : request.streams) {
      bytes += 64 + stream.stream_id.size();
      for (const auto& e : stream.events) {
        bytes += 256 + e.payload.size() + e.event_type.size();
      }
    }
    return bytes;
  }

  // The writer's view: the committed log plus this group's planned records.
  class GroupState final : public AppendState {
   public:
    explicit GroupState(RocksDbEventStore* s) : s_(s) {}

    absl::StatusOr<std::optional<uint64_t>> LastRevision(
        const std::string& stream_id) override {
      if (auto it = revs_.find(stream_id); it != revs_.end()) {
        return it->second;
      }
      return s_->CachedLastRevision(stream_id);
    }

    absl::StatusOr<std::optional<RecordedEvent>> FindEvent(
        const codec::Uuid& id) override {
      std::string key(reinterpret_cast<const char*>(id.data()), id.size());
      if (auto it = events_.find(key); it != events_.end()) {
        return *it->second;
      }
      rocksdb::PinnableSlice pos;
      rocksdb::Status st = s_->db_->Get(rocksdb::ReadOptions(), s_->ids_,
                                        rocksdb::Slice(key), &pos);
      if (st.IsNotFound()) return std::nullopt;
      NCM_RETURN_IF_ERROR(FromRocks(st, "reading the event id index"));
      rocksdb::PinnableSlice value;
      NCM_RETURN_IF_ERROR(FromRocks(
          s_->db_->Get(rocksdb::ReadOptions(), s_->log_, pos, &value),
          "reading the log"));
      NCM_ASSIGN_OR_RETURN(
          RecordedEvent e,
          codec::DecodeLogValue(absl::string_view(value.data(), value.size())));
      return e;
    }

    absl::StatusOr<uint64_t> PositionOf(const std::string& stream_id,
                                        uint64_t revision) override {
      if (auto it = planned_.find(codec::StreamKey(stream_id, revision));
          it != planned_.end()) {
        return it->second;
      }
      return s_->StreamPosition(stream_id, revision, rocksdb::ReadOptions());
    }

    // REQUIRES: `r` outlives this state.
    void Record(const PlannedRecord& r) {
      planned_[codec::StreamKey(r.event.stream_id, r.event.revision)] =
          r.event.position;
      revs_[r.event.stream_id] = r.event.revision;
      events_[std::string(reinterpret_cast<const char*>(r.id.data()),
                          r.id.size())] = &r.event;
    }

    const absl::flat_hash_map<std::string, uint64_t>& revisions() const {
      return revs_;
    }

   private:
    RocksDbEventStore* s_;
    absl::flat_hash_map<std::string, uint64_t> revs_;
    absl::flat_hash_map<std::string, const RecordedEvent*> events_;
    absl::flat_hash_map<std::string, uint64_t> planned_;  // StreamKey -> pos
  };

  void WriterLoop() {
    for (;;) {
      std::vector<Pending> group;
      {
        absl::MutexLock l(&queue_mu_);
        queue_mu_.Await(absl::Condition(
            +[](RocksDbEventStore* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(
                 s->queue_mu_) { return s->stopping_ || !s->queue_.empty(); },
            this));
        if (queue_.empty()) return;  // stopping and drained
        size_t n = std::min(queue_.size(), options_.max_group_appends);
        group.reserve(n);
        for (size_t i = 0; i < n; ++i) {
          queued_bytes_ -= queue_.front().bytes;
          group.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        if (!write_failure_.ok()) {
          for (Pending& p : group) p.done(write_failure_);
          continue;
        }
      }
      absl::MutexLock paused(&commit_mu_);  // a backup links the files
      CommitGroup(&group);
    }
  }

  void CommitGroup(std::vector<Pending>* group) {
    GroupState state(this);
    rocksdb::WriteBatch batch;
    std::vector<absl::StatusOr<AppendResult>> results;
    results.reserve(group->size());
    uint64_t pos = head_.load(std::memory_order_relaxed);
    Hash hash = head_hash_;
    const absl::Time now = absl::Now();
    std::string pos_value;
    // Plans stay alive until the group is written: `state` points into them.
    std::deque<AppendPlan> plans;
    std::deque<PlannedRecord> copies;
    std::vector<absl::Status> copied_results(group->size());
    // The records' log values in position order, for the tree.
    std::vector<std::string*> tree_values;
    for (size_t gi = 0; gi < group->size(); ++gi) {
      Pending& p = (*group)[gi];
      if (p.copied_done) {
        copied_results[gi] =
            PlanCopied(p.copied, state, &copies, &batch, &pos, &hash, &tree_values);
        results.push_back(absl::UnknownError("unused"));
        continue;
      }
      auto planned = PlanAppend(&p.request, state, pos, hash, now);
      if (!planned.ok()) {
        results.push_back(planned.status());
        continue;
      }
      AppendPlan* plan = &plans.emplace_back(std::move(*planned));
      for (PlannedRecord& r : plan->records) {
        pos_value = codec::PositionKey(r.event.position);
        batch.Put(log_, pos_value, r.log_value);
        batch.Put(streams_, codec::StreamKey(r.event.stream_id, r.event.revision),
                  pos_value);
        batch.Put(ids_,
                  rocksdb::Slice(reinterpret_cast<const char*>(r.id.data()),
                                 r.id.size()),
                  pos_value);
        tree_values.push_back(&r.log_value);
        state.Record(r);
      }
      if (!plan->records.empty()) {
        pos = plan->records.back().event.position;
        hash = plan->records.back().event.hash;
      }
      results.push_back(std::move(plan->result));
    }
    if (batch.Count() > 0) {
      rocksdb::WriteOptions wo;
      wo.sync = true;
      const absl::Time write_start = absl::Now();
      absl::Status s = FromRocks(db_->Write(wo, &batch), "writing the log");
      const absl::Duration write_time = absl::Now() - write_start;
      if (!s.ok()) {
        // The write may have reached the disk before the failure. The head
        // kept in memory can no longer be trusted, so the store takes no
        // more appends until it is reopened, which recovers the head.
        absl::Status failed = absl::UnavailableError(absl::StrCat(
            s.message(),
            "; the append may or may not have been written: retry with the "
            "same event ids once the server is back, which returns the "
            "original positions if it was"));
        for (auto& r : results) r = failed;
        for (auto& r : copied_results) {
          if (r.ok()) r = failed;
        }
        revision_cache_.clear();
        {
          absl::MutexLock l(&queue_mu_);
          write_failure_ = absl::UnavailableError(absl::StrCat(
              "the event store stopped taking appends after a storage "
              "failure (", s.message(), "); restart the server once the "
              "storage is fixed (space freed, the disk writable again), then "
              "retry with the same event ids: appends already recorded "
              "answer with their original positions"));
        }
        if (options_.on_write_failure) options_.on_write_failure(s);
      } else {
        for (const auto& [stream, rev] : state.revisions()) {
          revision_cache_[stream] = rev;
        }
        head_hash_ = hash;
        {
          absl::MutexLock l(&head_hash_mu_);
          published_head_hash_ = hash;
        }
        head_.store(pos, std::memory_order_release);
        listeners_.Notify(pos);
        if (options_.on_commit) {
          CommitStats stats;
          for (const auto& plan : plans) stats.appends += plan.records.empty() ? 0 : 1;
          for (size_t gi = 0; gi < group->size(); ++gi) {
            stats.appends += (*group)[gi].copied_done && copied_results[gi].ok() ? 1 : 0;
          }
          stats.events = tree_values.size();
          for (const std::string* v : tree_values) stats.bytes += v->size();
          stats.write = write_time;
          options_.on_commit(stats);
        }
        HandToTree(tree_values);
      }
    }
    for (size_t i = 0; i < group->size(); ++i) {
      if ((*group)[i].copied_done) {
        (*group)[i].copied_done(copied_results[i]);
      } else {
        (*group)[i].done(std::move(results[i]));
      }
    }
  }

  // Checks copied log values against the head and plans their writes into
  // `batch`; on a refusal nothing of them is planned.
  absl::Status PlanCopied(absl::string_view frames, GroupState& state,
                          std::deque<PlannedRecord>* copies,
                          rocksdb::WriteBatch* batch, uint64_t* pos,
                          Hash* hash, std::vector<std::string*>* tree_values) {
    const size_t first_copy = copies->size();
    uint64_t p = *pos;
    Hash h = *hash;
    absl::flat_hash_map<std::string, uint64_t> revs;
    absl::flat_hash_set<std::string> ids;
    absl::string_view value;
    auto refuse = [&](uint64_t at, absl::string_view why) {
      copies->resize(first_copy);
      return absl::DataLossError(
          absl::StrCat("copied record at position ", at, " ", why));
    };
    while (codec::NextFrame(&frames, &value)) {
      if (!codec::CheckLogValueHash(value)) return refuse(p + 1, "does not verify: its hash is not the SHA-256 of its bytes");
      absl::StatusOr<RecordedEvent> e = codec::DecodeLogValue(value);
      if (!e.ok()) return refuse(p + 1, e.status().message());
      if (e->position != p + 1) {
        return refuse(p + 1, absl::StrCat("holds position ", e->position,
                                          ", not the next one"));
      }
      if (e->prev_hash != h) {
        return refuse(p + 1, "does not link to the hash of the record before it");
      }
      std::optional<uint64_t> last;
      if (auto it = revs.find(e->stream_id); it != revs.end()) {
        last = it->second;
      } else {
        NCM_ASSIGN_OR_RETURN(last, state.LastRevision(e->stream_id));
      }
      const uint64_t want = last.has_value() ? *last + 1 : 0;
      if (e->revision != want) {
        return refuse(p + 1, absl::StrCat("is revision ", e->revision, " of ",
                                          e->stream_id, ", not ", want));
      }
      NCM_ASSIGN_OR_RETURN(codec::Uuid id, codec::ParseUuid(e->event_id));
      const std::string id_key(reinterpret_cast<const char*>(id.data()), id.size());
      NCM_ASSIGN_OR_RETURN(std::optional<RecordedEvent> known, state.FindEvent(id));
      if (known.has_value() || !ids.insert(id_key).second) {
        return refuse(p + 1, absl::StrCat("repeats event id ", e->event_id));
      }
      revs[e->stream_id] = e->revision;
      p = e->position;
      h = e->hash;
      PlannedRecord& r = copies->emplace_back();
      r.event = std::move(*e);
      r.id = id;
      r.log_value = std::string(value);
    }
    if (!frames.empty()) return refuse(p + 1, "is a truncated frame");
    for (size_t i = first_copy; i < copies->size(); ++i) {
      PlannedRecord& r = (*copies)[i];
      const std::string pos_value = codec::PositionKey(r.event.position);
      batch->Put(log_, pos_value, r.log_value);
      batch->Put(streams_, codec::StreamKey(r.event.stream_id, r.event.revision),
                 pos_value);
      batch->Put(ids_,
                 rocksdb::Slice(reinterpret_cast<const char*>(r.id.data()),
                                r.id.size()),
                 pos_value);
      tree_values->push_back(&r.log_value);
      state.Record(r);
    }
    *pos = p;
    *hash = h;
    return absl::OkStatus();
  }

  // Writer thread only.
  absl::StatusOr<std::optional<uint64_t>> CachedLastRevision(
      const std::string& stream_id) {
    if (auto it = revision_cache_.find(stream_id);
        it != revision_cache_.end()) {
      return it->second;
    }
    NCM_ASSIGN_OR_RETURN(std::optional<uint64_t> r,
                         LastRevisionFromDb(stream_id, rocksdb::ReadOptions()));
    if (r.has_value()) {
      if (revision_cache_.size() >= kMaxCachedStreams) revision_cache_.clear();
      revision_cache_[stream_id] = *r;
    }
    return r;
  }

  absl::StatusOr<std::optional<uint64_t>> LastRevisionFromDb(
      const std::string& stream_id, const rocksdb::ReadOptions& ro) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, streams_));
    const std::string prefix = codec::StreamKeyPrefix(stream_id);
    it->SeekForPrev(codec::StreamKey(stream_id, kEndRevision));
    NCM_RETURN_IF_ERROR(FromRocks(it->status(), "reading the stream index"));
    if (!it->Valid()) return std::nullopt;
    absl::string_view key(it->key().data(), it->key().size());
    if (key.size() != prefix.size() + 8 || key.substr(0, prefix.size()) != prefix) {
      return std::nullopt;
    }
    return codec::GetU64(key.data() + prefix.size());
  }

  absl::StatusOr<uint64_t> StreamPosition(absl::string_view stream_id,
                                          uint64_t revision,
                                          const rocksdb::ReadOptions& ro) {
    std::string v;
    NCM_RETURN_IF_ERROR(FromRocks(
        db_->Get(ro, streams_, codec::StreamKey(stream_id, revision), &v),
        "reading the stream index"));
    if (v.size() != 8) return absl::DataLossError("corrupt stream index entry");
    return codec::GetU64(v.data());
  }

  // Walks the log for ReadAll / ReadAllRaw: take(value) -> absl::Status is
  // called with each stored value that passes the filter. Fills the
  // result's head_position, next_position and end_of_log.
  template <typename Result, typename Take>
  absl::Status ScanStored(const ReadAllOptions& o, Result* out, Take take) {
    NCM_RETURN_IF_ERROR(ValidateReadCount(options_.limits, o.max_count));
    out->head_position = head_.load(std::memory_order_acquire);
    LogCursor cursor(this, o.direction);
    NCM_ASSIGN_OR_RETURN(
        ScanEnd end,
        ScanLog(o, out->head_position,
                [&](uint64_t pos) -> absl::StatusOr<size_t> {
                  NCM_ASSIGN_OR_RETURN(absl::string_view v, cursor.At(pos));
                  NCM_ASSIGN_OR_RETURN(bool passes, Passes(o.filter, v, pos));
                  if (!passes) return 0;
                  NCM_RETURN_IF_ERROR(take(v));
                  return v.size() + 4;
                }));
    out->next_position = end.next_position;
    out->end_of_log = end.end_of_log;
    return absl::OkStatus();
  }

  // Whether a stored value passes the filter; DATA_LOSS when malformed.
  static absl::StatusOr<bool> Passes(const Filter& f, absl::string_view v,
                                     uint64_t pos) {
    if (f.Empty()) return true;
    absl::string_view stream, type;
    if (!codec::PeekStreamAndType(v, &stream, &type)) {
      return absl::DataLossError(absl::StrCat(
          "log record ", pos, " is malformed; run VerifyChain"));
    }
    return f.Matches(stream, type);
  }

  // Walks the log column family one position at a time in one direction.
  class LogCursor {
   public:
    LogCursor(RocksDbEventStore* s, Direction d)
        : it_(s->db_->NewIterator(rocksdb::ReadOptions(), s->log_)),
          forward_(d == Direction::kForward) {}

    // The stored value at `pos`. REQUIRES: successive calls move one
    // position in the cursor's direction.
    absl::StatusOr<absl::string_view> At(uint64_t pos) {
      if (!positioned_) {
        const std::string key = codec::PositionKey(pos);
        if (forward_) {
          it_->Seek(key);
        } else {
          it_->SeekForPrev(key);
        }
        positioned_ = true;
      } else if (forward_) {
        it_->Next();
      } else {
        it_->Prev();
      }
      NCM_RETURN_IF_ERROR(FromRocks(it_->status(), "reading the log"));
      if (!it_->Valid() || it_->key().size() != 8 ||
          codec::DecodePositionKey(
              absl::string_view(it_->key().data(), 8)) != pos) {
        return absl::DataLossError(absl::StrCat(
            "log position ", pos, " is missing; run VerifyChain"));
      }
      return absl::string_view(it_->value().data(), it_->value().size());
    }

   private:
    std::unique_ptr<rocksdb::Iterator> it_;
    const bool forward_;
    bool positioned_ = false;
  };

  // Verifies [from, to] from the raw stored bytes.
  absl::Status VerifyChunk(uint64_t from, uint64_t to, VerifyResult* r,
                           Hash* last) {
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    ro.readahead_size = 2 << 20;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, log_));
    Hash prev{};
    if (from > 1) {
      it->Seek(codec::PositionKey(from - 1));
      NCM_RETURN_IF_ERROR(FromRocks(it->status(), "reading the log"));
      if (it->Valid() && it->value().size() >= 64 &&
          codec::DecodePositionKey(absl::string_view(it->key().data(), 8)) ==
              from - 1) {
        prev = codec::HashOf(
            absl::string_view(it->value().data(), it->value().size()));
        it->Next();
      } else {
        it->Seek(codec::PositionKey(from));
      }
    } else {
      it->Seek(codec::PositionKey(from));
    }
    for (uint64_t pos = from; pos <= to; ++pos, it->Next()) {
      NCM_RETURN_IF_ERROR(FromRocks(it->status(), "reading the log"));
      auto fail = [&](std::string reason) {
        r->ok = false;
        r->first_bad_position = pos;
        r->reason = std::move(reason);
        return absl::OkStatus();
      };
      if (!it->Valid() || it->key().size() != 8) {
        return fail(absl::StrCat("position ", pos, " is missing"));
      }
      uint64_t key_pos =
          codec::DecodePositionKey(absl::string_view(it->key().data(), 8));
      if (key_pos != pos) {
        return fail(absl::StrCat("position ", pos, " is missing (found ",
                                 key_pos, " next)"));
      }
      absl::string_view v(it->value().data(), it->value().size());
      auto rec_pos = codec::PeekPosition(v);
      if (!rec_pos.ok() || *rec_pos != pos) {
        return fail("the record does not hold its own position");
      }
      if (codec::PrevHashOf(v) != prev) {
        return fail("prev_hash does not equal the previous record's hash");
      }
      if (!codec::CheckLogValueHash(v)) {
        return fail("hash does not match the record's content");
      }
      prev = codec::HashOf(v);
      ++r->verified_count;
    }
    *last = prev;
    return absl::OkStatus();
  }

  const RocksDbOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<SubjectKeyStore> keys_;
  rocksdb::ColumnFamilyHandle* log_ = nullptr;
  rocksdb::ColumnFamilyHandle* streams_ = nullptr;
  rocksdb::ColumnFamilyHandle* ids_ = nullptr;
  rocksdb::ColumnFamilyHandle* tree_ = nullptr;
  std::unique_ptr<CheckpointStore> checkpoints_;
  // The tree's right edge: tree thread (and Open) only.
  merkle::Frontier frontier_;
  std::vector<merkle::Frontier::Node> tree_finished_;
  // The writer hands committed records to the tree thread (TreeLoop).
  absl::Mutex tree_mu_;
  std::deque<std::string> tree_queue_ ABSL_GUARDED_BY(tree_mu_);
  size_t tree_queued_bytes_ ABSL_GUARDED_BY(tree_mu_) = 0;
  bool tree_stopping_ ABSL_GUARDED_BY(tree_mu_) = false;
  int tree_waiters_ ABSL_GUARDED_BY(tree_mu_) = 0;
  absl::Status tree_failure_ ABSL_GUARDED_BY(tree_mu_);
  // Leaves the stored tree holds; set under tree_mu_.
  std::atomic<uint64_t> tree_written_{0};
  std::thread tree_thread_;

  std::atomic<uint64_t> head_{0};
  Hash head_hash_{};  // writer thread (and Open) only
  // head_hash_ as of the last commit, for readers.
  mutable absl::Mutex head_hash_mu_;
  Hash published_head_hash_ ABSL_GUARDED_BY(head_hash_mu_){};
  absl::flat_hash_map<std::string, uint64_t> revision_cache_;  // writer only

  // Held by the writer while it commits a group, and by a backup while it
  // links the store's files.
  absl::Mutex commit_mu_;
  absl::Mutex backup_mu_;  // one backup at a time
  absl::Mutex queue_mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool stopping_ ABSL_GUARDED_BY(queue_mu_) = false;
  size_t queued_bytes_ ABSL_GUARDED_BY(queue_mu_) = 0;
  absl::Status write_failure_ ABSL_GUARDED_BY(queue_mu_);
  std::thread writer_;
  CommitListeners listeners_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<EventStore>> OpenRocksDbEventStore(
    const RocksDbOptions& options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("the event store needs a data folder");
  }
  auto store = std::make_unique<RocksDbEventStore>(options);
  NCM_RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<EventStore>(std::move(store));
}

absl::StatusOr<RestoreResult> RestoreRocksDbBackup(const std::string& backup_dir,
                                                   uint32_t backup_id,
                                                   const RocksDbOptions& options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("restoring needs the new data folder");
  }
  std::error_code ec;
  if (std::filesystem::exists(options.path, ec) &&
      !std::filesystem::is_empty(options.path, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the data folder ", options.path,
        " is not empty; restore into a new folder, then point ncmd at it"));
  }
  rocksdb::BackupEngineReadOnly* raw = nullptr;
  NCM_RETURN_IF_ERROR(FromRocks(
      rocksdb::BackupEngineReadOnly::Open(rocksdb::BackupEngineOptions(backup_dir),
                                          rocksdb::Env::Default(), &raw),
      absl::StrCat("opening the backup folder ", backup_dir)));
  std::unique_ptr<rocksdb::BackupEngineReadOnly> engine(raw);
  std::vector<rocksdb::BackupInfo> infos;
  engine->GetBackupInfo(&infos);
  const rocksdb::BackupInfo* chosen = nullptr;
  for (const auto& info : infos) {
    if (backup_id == 0 ? (chosen == nullptr || info.backup_id > chosen->backup_id)
                       : info.backup_id == backup_id) {
      chosen = &info;
    }
  }
  if (chosen == nullptr) {
    return absl::NotFoundError(
        backup_id == 0 ? absl::StrCat("the folder ", backup_dir, " holds no backup")
                       : absl::StrCat("the folder ", backup_dir, " holds no backup ", backup_id));
  }
  RestoreResult out;
  out.backup_id = chosen->backup_id;
  // What the backup recorded of its log.
  absl::string_view meta = chosen->app_metadata;
  if (!absl::ConsumePrefix(&meta, kBackupMetadataHeader)) {
    return absl::DataLossError(absl::StrCat("backup ", out.backup_id,
                                            " was not made by ncmd (no metadata)"));
  }
  bool have_head = false, have_hash = false;
  for (absl::string_view line : absl::StrSplit(meta, '\n', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&line, "head_position=")) {
      have_head = absl::SimpleAtoi(line, &out.head_position);
    } else if (absl::ConsumePrefix(&line, "head_hash=")) {
      const std::string bytes = absl::HexStringToBytes(line);
      have_hash = bytes.size() == out.head_hash.size();
      if (have_hash) std::copy(bytes.begin(), bytes.end(), out.head_hash.begin());
    }
  }
  if (!have_head || !have_hash) {
    return absl::DataLossError(absl::StrCat("backup ", out.backup_id, "'s metadata is malformed"));
  }
  NCM_RETURN_IF_ERROR(FromRocks(
      engine->RestoreDBFromBackup(rocksdb::RestoreOptions(), out.backup_id, options.path,
                                  options.path),
      absl::StrCat("restoring backup ", out.backup_id, " into ", options.path)));
  NCM_ASSIGN_OR_RETURN(std::unique_ptr<EventStore> store, OpenRocksDbEventStore(options));
  if (out.head_position == 0 && store->HeadPosition() == 0) return out;
  NCM_ASSIGN_OR_RETURN(VerifyResult v, store->VerifyChain(1, 0));
  if (!v.ok) {
    return absl::DataLossError(absl::StrCat("the restored log does not verify at position ",
                                            v.first_bad_position, ": ", v.reason));
  }
  out.verified_count = v.verified_count;
  if (store->HeadPosition() != out.head_position || store->HeadHash() != out.head_hash) {
    return absl::DataLossError(absl::StrCat(
        "the restored log ends at position ", store->HeadPosition(),
        " but the backup recorded ", out.head_position, " (or another head hash)"));
  }
  return out;
}

}  // namespace ncm::eventstore
