// Behaviour of the RocksDB store beyond the shared contract: persistence,
// exclusive opening and tamper evidence on the stored bytes.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ncm/eventstore/rocksdb_event_store.h"
#include "record_codec.h"
#include "rocksdb/db.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace ncm::eventstore {
namespace {

using ::ncm::testing::IsOk;
using ::ncm::testing::NewUuid;
using ::ncm::testing::StatusIs;
using ::testing::HasSubstr;

std::unique_ptr<EventStore> Open(const std::string& path) {
  RocksDbOptions o;
  o.path = path;
  auto s = OpenRocksDbEventStore(o);
  EXPECT_THAT(s, IsOk());
  return s.ok() ? std::move(*s) : nullptr;
}

void Fill(EventStore* store, int n) {
  for (int i = 0; i < n; ++i) {
    AppendRequest r;
    ProposedEvent e;
    e.event_id = NewUuid();
    e.event_type = "ncm.test.v1.Filled";
    e.payload = absl::StrCat("payload-", i);
    r.streams.push_back({absl::StrCat("s-", i % 3), ExpectedRevision::Any(), {e}});
    ASSERT_THAT(store->Append(r), IsOk());
  }
}

std::vector<RecordedEvent> ReadAllEvents(EventStore* store) {
  ReadAllOptions o;
  o.max_count = 10000;
  auto r = store->ReadAll(o);
  EXPECT_THAT(r, IsOk());
  return r.ok() ? r->events : std::vector<RecordedEvent>{};
}

// Rewrites one log value in place with a raw RocksDB handle.
// Opens the folder with RocksDB itself and runs fn(db, handles).
void Raw(const std::string& path,
         const std::function<void(rocksdb::DB*,
                                  std::vector<rocksdb::ColumnFamilyHandle*>&)>& fn) {
  rocksdb::DBOptions opts;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, {}},
      {"log", {}},
      {"streams", {}},
      {"event_ids", {}},
      {"subject_keys", {}},
      {"merkle", {}},
      {"checkpoints", {}}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(opts, path, cfs, &handles, &db).ok());
  fn(db, handles);
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
}

void Tamper(const std::string& path, uint64_t position,
            const std::function<void(std::string*)>& edit) {
  Raw(path, [&](rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*>& h) {
    std::string key = codec::PositionKey(position);
    std::string value;
    ASSERT_TRUE(db->Get({}, h[1], key, &value).ok());
    edit(&value);
    if (value.empty()) {
      ASSERT_TRUE(db->Delete({}, h[1], key).ok());
    } else {
      ASSERT_TRUE(db->Put({}, h[1], key, value).ok());
    }
  });
}

TEST(RocksDbEventStoreTest, ReopenKeepsEveryEventAndContinuesTheChain) {
  ::ncm::testing::TempDir dir;
  std::vector<RecordedEvent> before;
  {
    auto store = Open(dir.Sub("db"));
    Fill(store.get(), 50);
    before = ReadAllEvents(store.get());
  }
  auto store = Open(dir.Sub("db"));
  EXPECT_EQ(store->HeadPosition(), 50u);
  EXPECT_EQ(ReadAllEvents(store.get()), before);
  Fill(store.get(), 5);
  auto after = ReadAllEvents(store.get());
  ASSERT_EQ(after.size(), 55u);
  EXPECT_EQ(after[50].prev_hash, before.back().hash);
  auto info = store->GetStreamInfo("s-0");
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->event_count, 19u);
  auto v = store->VerifyChain(0, 0);
  ASSERT_THAT(v, IsOk());
  EXPECT_TRUE(v->ok) << v->reason;
}

TEST(RocksDbEventStoreTest, SecondOpenOfTheSameFolderIsRefused) {
  ::ncm::testing::TempDir dir;
  auto first = Open(dir.Sub("db"));
  RocksDbOptions o;
  o.path = dir.Sub("db");
  EXPECT_THAT(OpenRocksDbEventStore(o),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("in use by another process")));
}

TEST(RocksDbEventStoreTest, ChangedPayloadIsReportedAtItsPosition) {
  ::ncm::testing::TempDir dir;
  {
    auto store = Open(dir.Sub("db"));
    Fill(store.get(), 100);
  }
  Tamper(dir.Sub("db"), 37, [](std::string* v) {
    // Flip one byte inside the record body (after prev_hash).
    (*v)[v->size() - 40] ^= 0x01;
  });
  auto store = Open(dir.Sub("db"));
  auto v = store->VerifyChain(0, 0);
  ASSERT_THAT(v, IsOk());
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_position, 37u);
  EXPECT_EQ(v->verified_count, 36u);
  EXPECT_THAT(v->reason, HasSubstr("hash"));
  auto tail = store->VerifyChain(38, 100);
  ASSERT_THAT(tail, IsOk());
  EXPECT_TRUE(tail->ok);
}

TEST(RocksDbEventStoreTest, RecomputedRecordIsCaughtByTheNextLink) {
  ::ncm::testing::TempDir dir;
  {
    auto store = Open(dir.Sub("db"));
    Fill(store.get(), 60);
  }
  // An attacker rewrites record 20 and fixes its own hash; record 21 still
  // names the old hash.
  Tamper(dir.Sub("db"), 20, [](std::string* v) {
    auto e = codec::DecodeLogValue(*v);
    ASSERT_TRUE(e.ok());
    e->payload = "forged";
    auto id = codec::ParseUuid(e->event_id);
    *v = codec::EncodeLogValue(&*e, *id);
  });
  auto store = Open(dir.Sub("db"));
  auto v = store->VerifyChain(0, 0);
  ASSERT_THAT(v, IsOk());
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_position, 21u);
  EXPECT_THAT(v->reason, HasSubstr("prev_hash"));
}

TEST(RocksDbEventStoreTest, MissingRecordIsReported) {
  ::ncm::testing::TempDir dir;
  {
    auto store = Open(dir.Sub("db"));
    Fill(store.get(), 30);
  }
  Tamper(dir.Sub("db"), 12, [](std::string* v) { v->clear(); });
  auto store = Open(dir.Sub("db"));
  auto v = store->VerifyChain(0, 0);
  ASSERT_THAT(v, IsOk());
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_position, 12u);
  EXPECT_THAT(v->reason, HasSubstr("missing"));
}

TEST(RocksDbEventStoreTest, VerificationSpansChunkBoundaries) {
  ::ncm::testing::TempDir dir;
  {
    auto store = Open(dir.Sub("db"));
    for (int b = 0; b < 20; ++b) {
      AppendRequest r;
      StreamWrite w{absl::StrCat("bulk-", b), ExpectedRevision::NoStream(), {}};
      for (int i = 0; i < 1000; ++i) {
        ProposedEvent e;
        e.event_id = NewUuid();
        e.event_type = "ncm.test.v1.Bulk";
        w.events.push_back(e);
      }
      r.streams.push_back(std::move(w));
      ASSERT_THAT(store->Append(r), IsOk());
    }
    auto v = store->VerifyChain(0, 0);
    ASSERT_THAT(v, IsOk());
    EXPECT_TRUE(v->ok);
    EXPECT_EQ(v->verified_count, 20000u);
  }
  Tamper(dir.Sub("db"), 15001, [](std::string* v) { (*v)[40] ^= 0x10; });
  auto store = Open(dir.Sub("db"));
  auto v = store->VerifyChain(0, 0);
  ASSERT_THAT(v, IsOk());
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_position, 15001u);
}

}  // namespace
}  // namespace ncm::eventstore

namespace ncm::eventstore {
namespace {

// True when any file under `dir` contains `needle`.
bool AnyFileContains(const std::string& dir, const std::string& needle) {
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir)) {
    if (!f.is_regular_file()) continue;
    std::ifstream in(f.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
    if (bytes.find(needle) != std::string::npos) return true;
  }
  return false;
}

TEST(RocksDbSubjectKeysTest, KeysPersistAndADestroyedKeyLeavesNoCopyOnDisk) {
  ncm::testing::TempDir dir;
  std::string key, other;
  {
    auto store = Open(dir.Sub("db"));
    Fill(store.get(), 20);
    auto k = store->subject_keys()->GetOrCreate("person-1");
    ASSERT_THAT(k, IsOk());
    EXPECT_EQ(k->size(), kSubjectKeyBytes);
    key = *k;
    auto again = store->subject_keys()->GetOrCreate("person-1");
    ASSERT_THAT(again, IsOk());
    EXPECT_EQ(*again, key);
    auto o = store->subject_keys()->GetOrCreate("person-2");
    ASSERT_THAT(o, IsOk());
    other = *o;
    EXPECT_NE(other, key);
  }
  auto store = Open(dir.Sub("db"));
  auto k = store->subject_keys()->Get("person-1");
  ASSERT_THAT(k, IsOk());
  ASSERT_TRUE(k->has_value());
  EXPECT_EQ(**k, key);
  // Wrapped under the key-encryption key: never in clear on disk.
  EXPECT_FALSE(AnyFileContains(dir.Sub("db"), key));

  ASSERT_THAT(store->subject_keys()->Destroy("person-1"), IsOk());
  ASSERT_THAT(store->subject_keys()->Destroy("person-1"), IsOk());
  k = store->subject_keys()->Get("person-1");
  ASSERT_THAT(k, IsOk());
  EXPECT_FALSE(k->has_value());
  EXPECT_THAT(store->subject_keys()->GetOrCreate("person-1"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("forgotten")));
  EXPECT_FALSE(AnyFileContains(dir.Sub("db"), key));
  // The other subject, and the log, are untouched.
  auto o = store->subject_keys()->Get("person-2");
  ASSERT_THAT(o, IsOk());
  ASSERT_TRUE(o->has_value());
  EXPECT_EQ(**o, other);
  auto v = store->VerifyChain(0, 0);
  ASSERT_THAT(v, IsOk());
  EXPECT_TRUE(v->ok);
  EXPECT_EQ(v->verified_count, 20u);
}

TEST(RocksDbSubjectKeysTest, TheFolderAloneRevealsNoKeyAndOpensOnlyWithItsKek) {
  ncm::testing::TempDir dir;
  const std::string db = dir.Sub("db"), kek = dir.Sub("db.kek");
  std::string key;
  {
    auto store = Open(db);
    auto k = store->subject_keys()->GetOrCreate("person-1");
    ASSERT_THAT(k, IsOk());
    key = *k;
  }
  struct stat st;
  ASSERT_EQ(::stat(kek.c_str(), &st), 0) << "the KEK is made beside the folder";
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(AnyFileContains(db, key));
  // Without its KEK (a copy of the folder alone) the store does not open.
  std::filesystem::rename(kek, dir.Sub("kept.kek"));
  RocksDbOptions o;
  o.path = db;
  EXPECT_THAT(OpenRocksDbEventStore(o),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("missing")));
  EXPECT_FALSE(std::filesystem::exists(kek)) << "no new KEK may be made";
  // Nor with another one.
  {
    std::ofstream other(dir.Sub("other.kek"), std::ios::binary);
    other << std::string(32, 'x');
  }
  std::filesystem::permissions(dir.Sub("other.kek"),
                               std::filesystem::perms::owner_read |
                                   std::filesystem::perms::owner_write);
  o.key_encryption_key_file = dir.Sub("other.kek");
  EXPECT_THAT(OpenRocksDbEventStore(o),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not the one")));
  // A KEK others can read is refused.
  o.key_encryption_key_file = dir.Sub("kept.kek");
  std::filesystem::permissions(o.key_encryption_key_file,
                               std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  EXPECT_THAT(OpenRocksDbEventStore(o),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("chmod 600")));
  std::filesystem::permissions(o.key_encryption_key_file,
                               std::filesystem::perms::group_read,
                               std::filesystem::perm_options::remove);
  auto store = OpenRocksDbEventStore(o);
  ASSERT_THAT(store, IsOk());
  auto k = (*store)->subject_keys()->Get("person-1");
  ASSERT_THAT(k, IsOk());
  ASSERT_TRUE(k->has_value());
  EXPECT_EQ(**k, key);
}

TEST(RocksDbSubjectKeysTest, KeysStoredInClearByEarlierVersionsAreWrappedOnOpen) {
  ncm::testing::TempDir dir;
  const std::string db = dir.Sub("db");
  { auto store = Open(db); }
  // What an earlier version left: a key in clear, no KEK, no check value.
  const std::string clear = "0123456789abcdef0123456789ABCDEF";
  Raw(db, [&](rocksdb::DB* raw, std::vector<rocksdb::ColumnFamilyHandle*>& h) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    ASSERT_TRUE(raw->Put(wo, h[4], "person-7", clear).ok());
    ASSERT_TRUE(raw->Put(wo, h[4], "person-8", "").ok());  // forgotten
    ASSERT_TRUE(raw->Delete(wo, h[0], "kek_check").ok());
  });
  std::filesystem::remove(dir.Sub("db.kek"));
  ASSERT_TRUE(AnyFileContains(db, clear));
  auto store = Open(db);
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(AnyFileContains(db, clear)) << "a clear copy stayed on disk";
  auto k = store->subject_keys()->Get("person-7");
  ASSERT_THAT(k, IsOk());
  ASSERT_TRUE(k->has_value());
  EXPECT_EQ(**k, clear);
  auto gone = store->subject_keys()->Get("person-8");
  ASSERT_THAT(gone, IsOk());
  EXPECT_FALSE(gone->has_value());
  EXPECT_THAT(store->subject_keys()->GetOrCreate("person-8"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace ncm::eventstore
