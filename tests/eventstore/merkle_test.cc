// The Merkle tree, its proofs, signed notes and checkpoints: against a
// reference tree built here, RFC 6962's test vectors, FORMAT.md's worked
// examples, and the RocksDB store's stored tree across restarts.
#include "ncm/eventstore/merkle.h"

#include <atomic>
#include <map>
#include <thread>
#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ncm/eventstore/memory_event_store.h"
#include "ncm/eventstore/note.h"
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
using merkle::Hash;

std::string Hex(const Hash& h) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}

Hash FromHex(absl::string_view hex) {
  const std::string b = absl::HexStringToBytes(hex);
  Hash h{};
  std::copy(b.begin(), b.end(), h.begin());
  return h;
}

// The tree as RFC 9162 defines it, recursively, from leaf hashes.
Hash ReferenceRoot(const std::vector<Hash>& leaves, size_t begin, size_t end) {
  if (end - begin == 1) return leaves[begin];
  size_t k = 1;
  while (k * 2 < end - begin) k *= 2;
  return merkle::NodeHash(ReferenceRoot(leaves, begin, begin + k),
                          ReferenceRoot(leaves, begin + k, end));
}

// Complete subtrees of `leaves`, as a store keeps them.
struct Nodes {
  explicit Nodes(const std::vector<Hash>& leaves) {
    merkle::Frontier f;
    std::vector<merkle::Frontier::Node> done;
    for (const Hash& l : leaves) f.Add(l, &done);
    for (const auto& n : done) by_key[{n.level, n.index}] = n.hash;
    root = f.Root();
  }
  merkle::NodeReader Reader() const {
    return [this](int level, uint64_t index) -> absl::StatusOr<Hash> {
      auto it = by_key.find({level, index});
      if (it == by_key.end()) return absl::NotFoundError("no such node");
      return it->second;
    };
  }
  std::map<std::pair<int, uint64_t>, Hash> by_key;
  Hash root;
};

std::vector<Hash> OneByteLeaves(size_t n) {
  std::vector<Hash> out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(merkle::LeafHash(std::string(1, static_cast<char>(i & 0xff)) +
                                   absl::StrCat(i)));
  }
  return out;
}

TEST(MerkleTest, RootsEqualTheRecursiveDefinition) {
  const std::vector<Hash> leaves = OneByteLeaves(300);
  EXPECT_EQ(Hex(merkle::EmptyRoot()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Nodes all(leaves);
  for (size_t n = 1; n <= leaves.size(); ++n) {
    auto root = merkle::RootAt(all.Reader(), n);
    ASSERT_THAT(root, IsOk());
    ASSERT_EQ(Hex(*root), Hex(ReferenceRoot(leaves, 0, n))) << n;
    Nodes prefix(std::vector<Hash>(leaves.begin(), leaves.begin() + n));
    ASSERT_EQ(Hex(prefix.root), Hex(*root)) << n;
    auto loaded = merkle::Frontier::Load(all.Reader(), n);
    ASSERT_THAT(loaded, IsOk());
    ASSERT_EQ(Hex(loaded->Root()), Hex(*root)) << n;
  }
}

// The eight leaves of RFC 6962's reference tests (certificate-transparency)
// and their published roots.
TEST(MerkleTest, Rfc6962TestVectors) {
  const char* kLeaves[] = {"", "00", "10", "2021", "3031", "40414243",
                           "5051525354555657",
                           "606162636465666768696a6b6c6d6e6f"};
  std::vector<Hash> leaves;
  for (const char* l : kLeaves) leaves.push_back(merkle::LeafHash(absl::HexStringToBytes(l)));
  EXPECT_EQ(Hex(leaves[0]),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  EXPECT_EQ(Hex(ReferenceRoot(leaves, 0, 8)),
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
  Nodes all(leaves);
  EXPECT_EQ(Hex(all.root),
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
}

std::vector<Hash> Flip(std::vector<Hash> p, size_t i) {
  p[i][i % 32] ^= 0x01;
  return p;
}

TEST(MerkleTest, EveryInclusionAndConsistencyProofUpTo130Verifies) {
  const std::vector<Hash> leaves = OneByteLeaves(130);
  Nodes all(leaves);
  std::vector<Hash> roots(leaves.size() + 1);
  roots[0] = merkle::EmptyRoot();
  for (size_t n = 1; n <= leaves.size(); ++n) roots[n] = ReferenceRoot(leaves, 0, n);
  for (uint64_t n = 1; n <= leaves.size(); ++n) {
    for (uint64_t i = 0; i < n; ++i) {
      auto p = merkle::InclusionProof(all.Reader(), i, n);
      ASSERT_THAT(p, IsOk());
      ASSERT_THAT(merkle::VerifyInclusion(i, n, leaves[i], *p, roots[n]), IsOk())
          << i << " of " << n;
      if (n > 1) {
        ASSERT_FALSE(merkle::VerifyInclusion(i, n, leaves[(i + 1) % n], *p, roots[n]).ok());
        ASSERT_FALSE(merkle::VerifyInclusion((i + 1) % n, n, leaves[i], *p, roots[n]).ok());
      }
      for (size_t k = 0; k < p->size(); ++k) {
        ASSERT_FALSE(merkle::VerifyInclusion(i, n, leaves[i], Flip(*p, k), roots[n]).ok());
      }
      if (!p->empty()) {
        auto shorter = *p;
        shorter.pop_back();
        ASSERT_FALSE(merkle::VerifyInclusion(i, n, leaves[i], shorter, roots[n]).ok());
      }
      auto longer = *p;
      longer.push_back(Hash{});
      ASSERT_FALSE(merkle::VerifyInclusion(i, n, leaves[i], longer, roots[n]).ok());
    }
    for (uint64_t m = 0; m <= n; ++m) {
      auto p = merkle::ConsistencyProof(all.Reader(), m, n);
      ASSERT_THAT(p, IsOk());
      ASSERT_THAT(merkle::VerifyConsistency(m, n, *p, roots[m], roots[n]), IsOk())
          << m << " to " << n;
      for (size_t k = 0; k < p->size(); ++k) {
        ASSERT_FALSE(merkle::VerifyConsistency(m, n, Flip(*p, k), roots[m], roots[n]).ok())
            << m << " to " << n << " hash " << k;
      }
      auto longer = *p;
      longer.push_back(Hash{});
      ASSERT_FALSE(merkle::VerifyConsistency(m, n, longer, roots[m], roots[n]).ok());
      if (m > 0 && m < n) {
        Hash bad = roots[m];
        bad[0] ^= 1;
        ASSERT_FALSE(merkle::VerifyConsistency(m, n, *p, bad, roots[n]).ok());
        bad = roots[n];
        bad[0] ^= 1;
        ASSERT_FALSE(merkle::VerifyConsistency(m, n, *p, roots[m], bad).ok());
      }
    }
  }
  EXPECT_THAT(merkle::InclusionProof(all.Reader(), 5, 5),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(merkle::ConsistencyProof(all.Reader(), 6, 5),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// FORMAT.md's tree of three one-byte leaves and its proofs.
TEST(MerkleTest, FormatWorkedExampleTree) {
  std::vector<Hash> leaves;
  for (int i = 0; i < 3; ++i) leaves.push_back(merkle::LeafHash(std::string(1, char(i))));
  EXPECT_EQ(Hex(leaves[0]), "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7");
  EXPECT_EQ(Hex(leaves[1]), "b413f47d13ee2fe6c845b2ee141af81de858df4ec549a58b7970bb96645bc8d2");
  EXPECT_EQ(Hex(leaves[2]), "fcf0a6c700dd13e274b6fba8deea8dd9b26e4eedde3495717cac8408c9c5177f");
  Nodes all(leaves);
  const Hash root2 = FromHex("a20bf9a7cc2dc8a08f5f415a71b19f6ac427bab54d24eec868b5d3103449953a");
  const Hash root3 = FromHex("3b6cccd7e3e023ff393006f030315ee7ad9eb111b022b41fba7e5b7a3973f688");
  EXPECT_EQ(Hex(*merkle::RootAt(all.Reader(), 2)), Hex(root2));
  EXPECT_EQ(Hex(all.root), Hex(root3));
  EXPECT_THAT(*merkle::InclusionProof(all.Reader(), 0, 3),
              ::testing::ElementsAre(leaves[1], leaves[2]));
  EXPECT_THAT(*merkle::InclusionProof(all.Reader(), 2, 3), ::testing::ElementsAre(root2));
  EXPECT_THAT(*merkle::ConsistencyProof(all.Reader(), 2, 3), ::testing::ElementsAre(leaves[2]));
  EXPECT_THAT(*merkle::ConsistencyProof(all.Reader(), 1, 3),
              ::testing::ElementsAre(leaves[1], leaves[2]));
}

TEST(NoteTest, FormatWorkedExampleCheckpointAndCosignature) {
  auto log = note::ParseSigningKey(
      "PRIVATE+KEY+ncm.example/log+456ee8f6+AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f");
  ASSERT_THAT(log, IsOk());
  EXPECT_EQ(absl::BytesToHexString(log->public_key),
            "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
  EXPECT_EQ(note::FormatVerifierKey(note::VerifierOf(*log)),
            "ncm.example/log+456ee8f6+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4");
  note::Checkpoint c;
  c.origin = "ncm.example/log";
  c.size = 3;
  c.root = FromHex("3b6cccd7e3e023ff393006f030315ee7ad9eb111b022b41fba7e5b7a3973f688");
  note::Note n;
  n.text = note::FormatCheckpoint(c);
  EXPECT_EQ(n.text, "ncm.example/log\n3\nO2zM1+PgI/85MAbwMDFe562esRGwIrQfun5bejlz9og=\n");
  auto sig = note::SignNote(*log, n.text);
  ASSERT_THAT(sig, IsOk());
  n.signatures.push_back(*sig);
  const std::string expected =
      "ncm.example/log\n3\nO2zM1+PgI/85MAbwMDFe562esRGwIrQfun5bejlz9og=\n\n"
      "\xe2\x80\x94 ncm.example/log RW7o9hVNZVjARaVRt6DHpt6Z4Vczx8rqogOVkE6OENaUcVj9Pn0HrKlJ9uolQ53T/"
      "ujq0UEJ19Nn4l9/f1hmU8g9XwU=\n";
  EXPECT_EQ(note::FormatNote(n), expected);

  // The witness, from the seed 20..3f.
  std::string wseed;
  for (int i = 0; i < 32; ++i) wseed.push_back(static_cast<char>(0x20 + i));
  note::SigningKey w;
  w.name = "witness.example/w1";
  w.type = note::kCosignatureV1;
  w.seed = wseed;
  auto parsed_v = note::ParseVerifierKey(
      "witness.example/w1+20324abe+BCmsuuFBvMrwsi4alNNNC8c2HlJtC/4SyJeUvJMilm3X");
  ASSERT_THAT(parsed_v, IsOk());
  w.public_key = parsed_v->public_key;
  auto w_reparsed = note::ParseSigningKey(note::FormatSigningKey(w));
  ASSERT_THAT(w_reparsed, IsOk());  // the seed gives that public key
  auto cosig = note::Cosign(w, n.text, 1767225600);
  ASSERT_THAT(cosig, IsOk());
  n.signatures.push_back(*cosig);
  const std::string with_witness = note::FormatNote(n);
  EXPECT_THAT(with_witness,
              HasSubstr("\xe2\x80\x94 witness.example/w1 IDJKvgAAAABpVbkAacs4+huTe/"
                        "EUmoqNtPiUbYM824jXDFn7eXZLPf4U/uprWEM1Cm5RKiDPmbG/"
                        "94jdrMqFVHGdw4RlTGskD08WAw==\n"));
  auto opened = note::ParseNote(with_witness);
  ASSERT_THAT(opened, IsOk());
  uint64_t ts = 0;
  EXPECT_THAT(note::VerifySignature(*opened, *parsed_v, &ts), IsOk());
  EXPECT_EQ(ts, 1767225600u);
  EXPECT_THAT(note::OpenCheckpoint(with_witness, note::VerifierOf(*log), "ncm.example/log"),
              IsOk());
}

TEST(NoteTest, TamperedNotesAndKeysAreRefused) {
  auto key = note::GenerateKey("log.example/a", note::kEd25519);
  ASSERT_THAT(key, IsOk());
  const note::VerifierKey v = note::VerifierOf(*key);
  note::Checkpoint c{"log.example/a", 42, FromHex(std::string(64, 'a')), {}};
  note::Note n{note::FormatCheckpoint(c), {}};
  n.signatures.push_back(*note::SignNote(*key, n.text));
  const std::string good = note::FormatNote(n);
  ASSERT_THAT(note::OpenCheckpoint(good, v), IsOk());
  ASSERT_THAT(note::ParseVerifierKey(note::FormatVerifierKey(v)), IsOk());

  std::string other_size = good;
  other_size.replace(other_size.find("\n42\n"), 4, "\n43\n");
  EXPECT_THAT(note::OpenCheckpoint(other_size, v),
              StatusIs(absl::StatusCode::kUnauthenticated));
  // A flipped byte inside the signature's base64.
  std::string bad_sig = good;
  const size_t at = bad_sig.size() - 10;
  bad_sig[at] = bad_sig[at] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(note::OpenCheckpoint(bad_sig, v).ok());
  // Another key of the same name: no line of it.
  auto impostor = note::GenerateKey("log.example/a", note::kEd25519);
  EXPECT_THAT(note::OpenCheckpoint(good, note::VerifierOf(*impostor)),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(note::OpenCheckpoint(good, v, "log.example/b"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Malformed notes and checkpoints.
  EXPECT_THAT(note::ParseNote("no blank line\n"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(note::ParseNote("text\n\n- dash name AAAA\n"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(note::ParseNote("te\txt\n\n\xe2\x80\x94 a AAAAAAA=\n"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(note::ParseCheckpoint("o\n042\nAAAA\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 2")));
  EXPECT_THAT(note::ParseCheckpoint("o\n42\nAAAA\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 3")));
  EXPECT_THAT(note::ParseCheckpoint("o\n42\n"), StatusIs(absl::StatusCode::kInvalidArgument));
  // Key texts.
  EXPECT_FALSE(note::ParseVerifierKey("name+00000000+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4").ok());
  EXPECT_FALSE(note::ParseVerifierKey("na me+456ee8f6+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4").ok());
  EXPECT_FALSE(note::GenerateKey("a+b", note::kEd25519).ok());
  // A cosignature key cannot sign as a log, nor a log key cosign.
  auto wkey = note::GenerateKey("w.example/1", note::kCosignatureV1);
  EXPECT_FALSE(note::SignNote(*wkey, n.text).ok());
  EXPECT_FALSE(note::Cosign(*key, n.text, 1).ok());
  // A cosignature over another time does not verify.
  auto cs = note::Cosign(*wkey, n.text, 1000);
  ASSERT_THAT(cs, IsOk());
  cs->bytes[7] ^= 1;  // the timestamp's last byte
  note::Note cn{n.text, {*cs}};
  EXPECT_THAT(note::VerifySignature(cn, note::VerifierOf(*wkey)),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

AppendRequest OneEvent(int i) {
  AppendRequest r;
  ProposedEvent e;
  e.event_id = NewUuid();
  e.event_type = "ncm.test.v1.Tree";
  e.payload = absl::StrCat("payload-", i);
  r.streams.push_back({absl::StrCat("t-", i % 5), ExpectedRevision::Any(), {e}});
  return r;
}

merkle::NodeReader StoreNodes(EventStore* s) {
  return [s](int level, uint64_t index) { return s->TreeNode(level, index); };
}

// The leaves, read back from the log: the record bytes of each position.
std::vector<Hash> LeavesOf(EventStore* s) {
  std::vector<Hash> out;
  ReadAllOptions o;
  o.max_count = 10000;
  auto raw = s->ReadAllRaw(o);
  EXPECT_THAT(raw, IsOk());
  absl::string_view frames = raw->frames, v;
  while (codec::NextFrame(&frames, &v)) out.push_back(merkle::LeafHash(merkle::RecordOf(v)));
  return out;
}

TEST(StoreTreeTest, MemoryStoreKeepsTheTreeOfItsRecords) {
  auto store = NewMemoryEventStore(Limits());
  for (int i = 0; i < 77; ++i) ASSERT_THAT(store->Append(OneEvent(i)), IsOk());
  const std::vector<Hash> leaves = LeavesOf(store.get());
  ASSERT_EQ(leaves.size(), 77u);
  for (uint64_t n : {1u, 2u, 33u, 64u, 77u}) {
    EXPECT_EQ(Hex(*merkle::RootAt(StoreNodes(store.get()), n)),
              Hex(ReferenceRoot(leaves, 0, n)));
  }
  EXPECT_THAT(store->TreeNode(0, 77), StatusIs(absl::StatusCode::kNotFound));
}

TEST(StoreTreeTest, RocksDbTreeSurvivesRestartsAndIsRebuiltWhenMissing) {
  ncm::testing::TempDir dir;
  const std::string path = dir.Sub("db");
  RocksDbOptions o;
  o.path = path;
  Hash root_100;
  {
    auto s = OpenRocksDbEventStore(o);
    ASSERT_THAT(s, IsOk());
    for (int i = 0; i < 100; ++i) ASSERT_THAT((*s)->Append(OneEvent(i)), IsOk());
    // Several events in one append, and one group of many appends.
    AppendRequest multi = OneEvent(100);
    for (int i = 0; i < 9; ++i) multi.streams[0].events.push_back(OneEvent(101 + i).streams[0].events[0]);
    ASSERT_THAT((*s)->Append(multi), IsOk());
    root_100 = *merkle::RootAt(StoreNodes(s->get()), 100);
    EXPECT_EQ(Hex(root_100), Hex(ReferenceRoot(LeavesOf(s->get()), 0, 100)));
  }
  std::vector<Hash> leaves;
  {
    auto s = OpenRocksDbEventStore(o);
    ASSERT_THAT(s, IsOk());
    EXPECT_EQ(Hex(*merkle::RootAt(StoreNodes(s->get()), 100)), Hex(root_100));
    for (int i = 0; i < 50; ++i) ASSERT_THAT((*s)->Append(OneEvent(200 + i)), IsOk());
    leaves = LeavesOf(s->get());
    ASSERT_EQ(leaves.size(), 160u);
    EXPECT_EQ(Hex(*merkle::RootAt(StoreNodes(s->get()), 160)),
              Hex(ReferenceRoot(leaves, 0, 160)));
  }
  // Appends with the tree off, then the tree on again: the missing leaves
  // come from the log.
  {
    RocksDbOptions off = o;
    off.merkle_tree = false;
    auto s = OpenRocksDbEventStore(off);
    ASSERT_THAT(s, IsOk());
    EXPECT_THAT((*s)->TreeNode(0, 0), StatusIs(absl::StatusCode::kFailedPrecondition));
    for (int i = 0; i < 40; ++i) ASSERT_THAT((*s)->Append(OneEvent(300 + i)), IsOk());
  }
  {
    auto s = OpenRocksDbEventStore(o);
    ASSERT_THAT(s, IsOk());
    leaves = LeavesOf(s->get());
    ASSERT_EQ(leaves.size(), 200u);
    for (uint64_t n : {1u, 100u, 160u, 161u, 199u, 200u}) {
      EXPECT_EQ(Hex(*merkle::RootAt(StoreNodes(s->get()), n)),
                Hex(ReferenceRoot(leaves, 0, n)))
          << n;
    }
    auto p = merkle::ConsistencyProof(StoreNodes(s->get()), 100, 200);
    ASSERT_THAT(p, IsOk());
    EXPECT_THAT(merkle::VerifyConsistency(100, 200, *p, root_100,
                                          ReferenceRoot(leaves, 0, 200)),
                IsOk());
  }
  // A store whose whole tree is gone (an older version's) gets it back.
  {
    rocksdb::DBOptions dbo;
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(dbo, path, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(dbo, path, cfs, &handles, &db).ok());
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == "merkle") {
        ASSERT_TRUE(db->DropColumnFamily(handles[i]).ok());
      }
      if (names[i] == "default") {
        ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), handles[i], "tree_size").ok());
      }
    }
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
    auto s = OpenRocksDbEventStore(o);
    ASSERT_THAT(s, IsOk());
    EXPECT_EQ(Hex(*merkle::RootAt(StoreNodes(s->get()), 200)),
              Hex(ReferenceRoot(leaves, 0, 200)));
    EXPECT_EQ(Hex(*merkle::RootAt(StoreNodes(s->get()), 100)), Hex(root_100));
  }
}

// Appends from several threads while readers ask for roots and proofs of
// sizes just committed: every answer fits the final tree.
TEST(StoreTreeTest, TreeFollowsConcurrentAppends) {
  ncm::testing::TempDir dir;
  RocksDbOptions o;
  o.path = dir.Sub("db");
  auto s = OpenRocksDbEventStore(o);
  ASSERT_THAT(s, IsOk());
  EventStore* store = s->get();
  std::atomic<bool> stop{false};
  std::vector<std::thread> appenders;
  for (int t = 0; t < 4; ++t) {
    appenders.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        AppendRequest r = OneEvent(t * 1000 + i);
        if (i % 10 == 0) {
          for (int k = 0; k < 20; ++k) {
            r.streams[0].events.push_back(OneEvent(k).streams[0].events[0]);
          }
        }
        ASSERT_THAT(store->Append(std::move(r)), IsOk());
      }
    });
  }
  std::vector<std::pair<uint64_t, Hash>> seen;
  std::thread reader([&] {
    while (!stop.load()) {
      const uint64_t head = store->HeadPosition();
      if (head == 0) continue;
      auto root = merkle::RootAt(StoreNodes(store), head);
      ASSERT_THAT(root, IsOk());
      seen.push_back({head, *root});
      auto p = merkle::InclusionProof(StoreNodes(store), head - 1, head);
      ASSERT_THAT(p, IsOk());
    }
  });
  for (auto& t : appenders) t.join();
  stop = true;
  reader.join();
  const std::vector<Hash> leaves = LeavesOf(store);
  ASSERT_EQ(leaves.size(), store->HeadPosition());
  ASSERT_GT(seen.size(), 10u);
  for (const auto& [size, root] : seen) {
    ASSERT_EQ(Hex(root), Hex(ReferenceRoot(leaves, 0, size))) << size;
  }
  const Hash final_root = *merkle::RootAt(StoreNodes(store), leaves.size());
  s->reset();
  // Reopened: the tree written behind the log is whole.
  auto again = OpenRocksDbEventStore(o);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(Hex(*merkle::RootAt(StoreNodes(again->get()), leaves.size())), Hex(final_root));
}

// Backups taken while appenders and a proof reader run: each restores to
// the head it recorded, with every append acknowledged before it began,
// and the restored tree has the same root.
TEST(StoreBackupTest, BackupsWhileAppendingRestoreWhatTheyRecorded) {
  ncm::testing::TempDir dir;
  RocksDbOptions o;
  o.path = dir.Sub("db");
  auto s = OpenRocksDbEventStore(o);
  ASSERT_THAT(s, IsOk());
  EventStore* store = s->get();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> acked_head{0};
  std::vector<std::thread> appenders;
  for (int t = 0; t < 3; ++t) {
    appenders.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        auto r = store->Append(OneEvent(t * 100000 + i));
        ASSERT_THAT(r, IsOk());
        uint64_t seen = acked_head.load();
        while (r->last_position > seen && !acked_head.compare_exchange_weak(seen, r->last_position)) {
        }
      }
    });
  }
  std::thread reader([&] {
    while (!stop.load()) {
      const uint64_t head = store->HeadPosition();
      if (head > 0) ASSERT_THAT(merkle::RootAt(StoreNodes(store), head), IsOk());
    }
  });
  std::vector<std::pair<BackupResult, uint64_t>> taken;  // and the head acked before
  for (int b = 0; b < 3; ++b) {
    absl::SleepFor(absl::Milliseconds(100));
    const uint64_t before = acked_head.load();
    auto backup = store->Backup(dir.Sub("backups"));
    ASSERT_THAT(backup, IsOk());
    EXPECT_GE(backup->head_position, before);
    taken.push_back({*backup, before});
  }
  stop = true;
  for (auto& t : appenders) t.join();
  reader.join();
  s->reset();
  for (const auto& [backup, before] : taken) {
    RocksDbOptions r;
    r.path = dir.Sub(absl::StrCat("restored-", backup.backup_id));
    r.key_encryption_key_file = o.path + ".kek";
    auto restored = RestoreRocksDbBackup(dir.Sub("backups"), backup.backup_id, r);
    ASSERT_THAT(restored, IsOk());
    EXPECT_EQ(restored->head_position, backup.head_position);
    EXPECT_EQ(Hex(restored->head_hash), Hex(backup.head_hash));
    auto opened = OpenRocksDbEventStore(r);
    ASSERT_THAT(opened, IsOk());
    const std::vector<Hash> leaves = LeavesOf(opened->get());
    ASSERT_EQ(leaves.size(), backup.head_position);
    EXPECT_EQ(Hex(*merkle::RootAt(StoreNodes(opened->get()), leaves.size())),
              Hex(ReferenceRoot(leaves, 0, leaves.size())));
  }
  RocksDbOptions none;
  none.path = dir.Sub("none");
  none.key_encryption_key_file = o.path + ".kek";
  EXPECT_THAT(RestoreRocksDbBackup(dir.Sub("backups"), 99, none).status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(StoreTreeTest, CheckpointsAreKeptNewestFirstAndPruned) {
  ncm::testing::TempDir dir;
  RocksDbOptions o;
  o.path = dir.Sub("db");
  auto s = OpenRocksDbEventStore(o);
  ASSERT_THAT(s, IsOk());
  CheckpointStore* c = (*s)->checkpoints();
  EXPECT_THAT(c->Latest(), StatusIs(absl::StatusCode::kNotFound));
  for (uint64_t size = 1; size <= 10; ++size) {
    ASSERT_THAT(c->Put(size, absl::StrCat("note ", size), 4), IsOk());
  }
  EXPECT_THAT(*c->Sizes(100), ::testing::ElementsAre(10, 9, 8, 7));
  EXPECT_EQ(c->Latest()->second, "note 10");
  EXPECT_THAT(c->Get(6), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT(c->Put(9, "note 9 cosigned", 4), IsOk());
  EXPECT_EQ(*c->Get(9), "note 9 cosigned");
  EXPECT_THAT(*c->Sizes(100), ::testing::ElementsAre(10, 9, 8, 7));
}

}  // namespace
}  // namespace ncm::eventstore
