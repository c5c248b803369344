// Behaviour of the RocksDB store beyond the shared contract: persistence,
// exclusive opening and tamper evidence on the stored bytes.
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
void Tamper(const std::string& path, uint64_t position,
            const std::function<void(std::string*)>& edit) {
  rocksdb::DBOptions opts;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, {}},
      {"log", {}},
      {"streams", {}},
      {"event_ids", {}},
      {"subject_keys", {}}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(opts, path, cfs, &handles, &db).ok());
  std::string key = codec::PositionKey(position);
  std::string value;
  ASSERT_TRUE(db->Get({}, handles[1], key, &value).ok());
  edit(&value);
  if (value.empty()) {
    ASSERT_TRUE(db->Delete({}, handles[1], key).ok());
  } else {
    ASSERT_TRUE(db->Put({}, handles[1], key, value).ok());
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
}

TEST(RocksDbEventStoreTest, ReopenKeepsEveryEventAndContinuesTheChain) {
  ::ncm::testing::TempDir dir;
  std::vector<RecordedEvent> before;
  {
    auto store = Open(dir.path());
    Fill(store.get(), 50);
    before = ReadAllEvents(store.get());
  }
  auto store = Open(dir.path());
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
  auto first = Open(dir.path());
  RocksDbOptions o;
  o.path = dir.path();
  EXPECT_THAT(OpenRocksDbEventStore(o),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("in use by another process")));
}

TEST(RocksDbEventStoreTest, ChangedPayloadIsReportedAtItsPosition) {
  ::ncm::testing::TempDir dir;
  {
    auto store = Open(dir.path());
    Fill(store.get(), 100);
  }
  Tamper(dir.path(), 37, [](std::string* v) {
    // Flip one byte inside the record body (after prev_hash).
    (*v)[v->size() - 40] ^= 0x01;
  });
  auto store = Open(dir.path());
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
    auto store = Open(dir.path());
    Fill(store.get(), 60);
  }
  // An attacker rewrites record 20 and fixes its own hash; record 21 still
  // names the old hash.
  Tamper(dir.path(), 20, [](std::string* v) {
    auto e = codec::DecodeLogValue(*v);
    ASSERT_TRUE(e.ok());
    e->payload = "forged";
    auto id = codec::ParseUuid(e->event_id);
    *v = codec::EncodeLogValue(&*e, *id);
  });
  auto store = Open(dir.path());
  auto v = store->VerifyChain(0, 0);
  ASSERT_THAT(v, IsOk());
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_position, 21u);
  EXPECT_THAT(v->reason, HasSubstr("prev_hash"));
}

TEST(RocksDbEventStoreTest, MissingRecordIsReported) {
  ::ncm::testing::TempDir dir;
  {
    auto store = Open(dir.path());
    Fill(store.get(), 30);
  }
  Tamper(dir.path(), 12, [](std::string* v) { v->clear(); });
  auto store = Open(dir.path());
  auto v = store->VerifyChain(0, 0);
  ASSERT_THAT(v, IsOk());
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_position, 12u);
  EXPECT_THAT(v->reason, HasSubstr("missing"));
}

TEST(RocksDbEventStoreTest, VerificationSpansChunkBoundaries) {
  ::ncm::testing::TempDir dir;
  {
    auto store = Open(dir.path());
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
  Tamper(dir.path(), 15001, [](std::string* v) { (*v)[40] ^= 0x10; });
  auto store = Open(dir.path());
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
    auto store = Open(dir.path());
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
  auto store = Open(dir.path());
  auto k = store->subject_keys()->Get("person-1");
  ASSERT_THAT(k, IsOk());
  ASSERT_TRUE(k->has_value());
  EXPECT_EQ(**k, key);
  EXPECT_TRUE(AnyFileContains(dir.path(), key));

  ASSERT_THAT(store->subject_keys()->Destroy("person-1"), IsOk());
  ASSERT_THAT(store->subject_keys()->Destroy("person-1"), IsOk());
  k = store->subject_keys()->Get("person-1");
  ASSERT_THAT(k, IsOk());
  EXPECT_FALSE(k->has_value());
  EXPECT_THAT(store->subject_keys()->GetOrCreate("person-1"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("forgotten")));
  EXPECT_FALSE(AnyFileContains(dir.path(), key));
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

}  // namespace
}  // namespace ncm::eventstore
