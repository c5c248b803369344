// The Transparency service over loopback gRPC: checkpoints, proofs and
// cosignatures checked on the client side, by this code and by the
// independent verifier in tests/transparency/tlog_verify.py; tampering with
// stored records; crypto-shredding leaves every proof as it was.
#include <cstdlib>
#include <fstream>
#include <random>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ncm/eventstore/merkle.h"
#include "ncm/eventstore/note.h"
#include "ncm/eventstore/v1/eventstore.grpc.pb.h"
#include "ncm/eventstore/v1/transparency.grpc.pb.h"
#include "ncm/stakeholders/v1/stakeholders.grpc.pb.h"
#include "record_codec.h"
#include "rocksdb/db.h"
#include "clients/demo/demo.h"
#include "testing/loopback_server.h"
#include "testing/read_file.h"
#include "testing/temp_dir.h"

namespace ncm {
namespace {

namespace tpb = ::ncm::eventstore::v1;
namespace merkle = ::ncm::eventstore::merkle;
namespace note = ::ncm::eventstore::note;
namespace codec = ::ncm::eventstore::codec;
using merkle::Hash;

Hash ToHash(const std::string& b) {
  Hash h{};
  EXPECT_EQ(b.size(), 32u);
  std::copy(b.begin(), b.begin() + std::min<size_t>(32, b.size()), h.begin());
  return h;
}

std::vector<Hash> Hashes(const google::protobuf::RepeatedPtrField<std::string>& in) {
  std::vector<Hash> out;
  for (const auto& h : in) out.push_back(ToHash(h));
  return out;
}

std::string HexOf(const Hash& h) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(h.data()), 32));
}

class TransparencyTest : public ::testing::Test {
 protected:
  void StartServer(std::vector<std::string> witness_keys = {},
                   absl::Duration interval = absl::ZeroDuration()) {
    ncmd::ServerOptions o;
    o.listen_address = "127.0.0.1:0";
    o.data_dir = dir_.Sub("db");
    o.checkpoints.origin = "ncm.test/log";
    o.checkpoints.interval = interval;
    o.checkpoints.keep = 5;
    o.checkpoints.witness_keys = std::move(witness_keys);
    auto s = ncmd::StartServer(o);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    channel_ = ::ncm::testing::AdminChannel(*server_, dir_.Sub("db"));
    stub_ = tpb::Transparency::NewStub(channel_);
    tpb::LogKey key;
    ASSERT_TRUE(Call(&tpb::Transparency::Stub::GetLogKey, tpb::GetLogKeyRequest(), &key).ok());
    auto v = note::ParseVerifierKey(key.verifier_key());
    ASSERT_TRUE(v.ok()) << v.status();
    log_key_ = *v;
    EXPECT_EQ(key.origin(), "ncm.test/log");
  }

  void StopServer() {
    stub_.reset();
    channel_.reset();
    server_.reset();
  }

  template <typename Req, typename Resp>
  grpc::Status Call(grpc::Status (tpb::Transparency::Stub::*fn)(grpc::ClientContext*,
                                                                  const Req&, Resp*),
                    const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    return (stub_.get()->*fn)(&ctx, req, resp);
  }

  void LoadDemo() {
    demo::DemoOptions options;
    options.budget_csv = NCM_BUDGET_2020_CSV;
    auto r = demo::LoadDemo(channel_, options);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  void AppendGenerated(int n) {
    auto es = ncm::eventstore::v1::EventStore::NewStub(channel_);
    for (int i = 0; i < n; i += 100) {
      ncm::eventstore::v1::AppendRequest r;
      auto* w = r.add_streams();
      w->set_stream_id(absl::StrCat("generated-", i % 7));
      w->mutable_expected()->set_kind(ncm::eventstore::v1::ExpectedRevision::ANY);
      for (int j = i; j < std::min(n, i + 100); ++j) {
        auto* e = w->add_events();
        e->set_event_id(::ncm::testing::NewUuid());
        e->set_event_type("ncm.test.v1.Generated");
        e->set_payload(absl::StrCat("event ", j));
      }
      grpc::ClientContext ctx;
      ncm::eventstore::v1::AppendResponse out;
      ASSERT_TRUE(es->Append(&ctx, r, &out).ok());
    }
  }

  // The latest checkpoint, its signature checked with the key.
  note::Checkpoint Latest(std::string* text = nullptr) {
    tpb::SignedCheckpoint c;
    grpc::Status s = Call(&tpb::Transparency::Stub::GetCheckpoint, tpb::GetCheckpointRequest(), &c);
    EXPECT_TRUE(s.ok()) << s.error_message();
    auto opened = note::OpenCheckpoint(c.note(), log_key_, "ncm.test/log");
    EXPECT_TRUE(opened.ok()) << opened.status();
    if (text != nullptr) *text = c.note();
    return opened.ok() ? *opened : note::Checkpoint();
  }

  // Checks position p's inclusion in `c`: OK, or what failed.
  absl::Status Prove(uint64_t p, const note::Checkpoint& c) {
    tpb::GetInclusionProofRequest r;
    r.set_position(p);
    r.set_tree_size(c.size);
    tpb::InclusionProof proof;
    grpc::Status s = Call(&tpb::Transparency::Stub::GetInclusionProof, r, &proof);
    if (!s.ok()) return absl::UnknownError(s.error_message());
    return merkle::VerifyInclusion(p - 1, c.size, merkle::LeafHash(proof.record()),
                                   Hashes(proof.hashes()), c.root);
  }

  absl::Status Consistent(const note::Checkpoint& a, const note::Checkpoint& b) {
    tpb::GetConsistencyProofRequest r;
    r.set_first_size(a.size);
    r.set_second_size(b.size);
    tpb::ConsistencyProof proof;
    grpc::Status s = Call(&tpb::Transparency::Stub::GetConsistencyProof, r, &proof);
    if (!s.ok()) return absl::UnknownError(s.error_message());
    return merkle::VerifyConsistency(a.size, b.size, Hashes(proof.hashes()), a.root, b.root);
  }

  ::ncm::testing::TempDir dir_;
  std::unique_ptr<ncmd::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<tpb::Transparency::Stub> stub_;
  note::VerifierKey log_key_;
};

TEST_F(TransparencyTest, ProofsVerifyAndBadArgumentsAreNamed) {
  StartServer();
  LoadDemo();
  const note::Checkpoint early = Latest();
  AppendGenerated(700);
  const note::Checkpoint c = Latest();
  ASSERT_EQ(c.size, server_->store()->HeadPosition());
  ASSERT_GT(c.size, early.size);
  for (uint64_t p = 1; p <= c.size; p += (p < early.size ? 1 : 37)) {
    ASSERT_TRUE(Prove(p, c).ok()) << p;
  }
  EXPECT_TRUE(Consistent(early, c).ok());
  // A checkpoint of a past size, made on demand, is consistent with both.
  tpb::GetCheckpointRequest at;
  at.set_tree_size(early.size + 5);
  tpb::SignedCheckpoint mid_note;
  ASSERT_TRUE(Call(&tpb::Transparency::Stub::GetCheckpoint, at, &mid_note).ok());
  auto mid = note::OpenCheckpoint(mid_note.note(), log_key_);
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(mid->size, early.size + 5);
  EXPECT_TRUE(Consistent(early, *mid).ok());
  EXPECT_TRUE(Consistent(*mid, c).ok());
  // The kept checkpoints list it.
  tpb::ListCheckpointsResponse kept;
  ASSERT_TRUE(Call(&tpb::Transparency::Stub::ListCheckpoints, tpb::ListCheckpointsRequest(), &kept).ok());
  EXPECT_THAT(kept.tree_sizes(), ::testing::ElementsAre(c.size, early.size + 5, early.size));

  auto code = [&](uint64_t position, uint64_t size) {
    tpb::GetInclusionProofRequest r;
    r.set_position(position);
    r.set_tree_size(size);
    tpb::InclusionProof out;
    return Call(&tpb::Transparency::Stub::GetInclusionProof, r, &out);
  };
  EXPECT_EQ(code(0, 0).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(code(10, 5).error_message(), ::testing::HasSubstr("not in the tree of 5"));
  EXPECT_EQ(code(10, 5).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(code(1, c.size + 1).error_code(), grpc::StatusCode::OUT_OF_RANGE);
  tpb::GetConsistencyProofRequest cr;
  cr.set_first_size(10);
  cr.set_second_size(5);
  tpb::ConsistencyProof cp;
  EXPECT_EQ(Call(&tpb::Transparency::Stub::GetConsistencyProof, cr, &cp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  cr.set_first_size(1);
  cr.set_second_size(c.size + 1);
  EXPECT_EQ(Call(&tpb::Transparency::Stub::GetConsistencyProof, cr, &cp).error_code(),
            grpc::StatusCode::OUT_OF_RANGE);
  at.set_tree_size(c.size + 1);
  EXPECT_EQ(Call(&tpb::Transparency::Stub::GetCheckpoint, at, &mid_note).error_code(),
            grpc::StatusCode::OUT_OF_RANGE);
  tpb::GetCheckpointRequest cosigned;
  cosigned.set_cosigned(true);
  EXPECT_EQ(Call(&tpb::Transparency::Stub::GetCheckpoint, cosigned, &mid_note).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// While the log grows, a checkpoint is signed every interval without
// anyone asking; the newest five are kept.
TEST_F(TransparencyTest, CheckpointsAreSignedEveryIntervalWhileTheLogGrows) {
  StartServer({}, absl::Milliseconds(100));
  std::set<uint64_t> sizes;
  for (int round = 0; round < 8; ++round) {
    AppendGenerated(10);
    const uint64_t head = server_->store()->HeadPosition();
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    bool signed_head = false;
    while (!signed_head && absl::Now() < deadline) {
      tpb::ListCheckpointsResponse kept;
      ASSERT_TRUE(Call(&tpb::Transparency::Stub::ListCheckpoints, tpb::ListCheckpointsRequest(),
                       &kept).ok());
      signed_head = kept.tree_sizes_size() > 0 && kept.tree_sizes(0) == head;
      if (!signed_head) absl::SleepFor(absl::Milliseconds(20));
    }
    ASSERT_TRUE(signed_head) << "no checkpoint of " << head << " within 10 s";
    sizes.insert(head);
  }
  tpb::ListCheckpointsResponse kept;
  ASSERT_TRUE(Call(&tpb::Transparency::Stub::ListCheckpoints, tpb::ListCheckpointsRequest(),
                   &kept).ok());
  EXPECT_EQ(kept.tree_sizes_size(), 5);
  // Each kept one verifies and is consistent with the latest.
  const note::Checkpoint latest = Latest();
  for (uint64_t size : kept.tree_sizes()) {
    tpb::GetCheckpointRequest r;
    r.set_tree_size(size);
    tpb::SignedCheckpoint c;
    ASSERT_TRUE(Call(&tpb::Transparency::Stub::GetCheckpoint, r, &c).ok());
    auto opened = note::OpenCheckpoint(c.note(), log_key_);
    ASSERT_TRUE(opened.ok());
    EXPECT_TRUE(Consistent(*opened, latest).ok()) << size;
  }
}

// Every proof of every tree size from 1 to 300, and random ones of a
// larger log, checked by a verifier written in Python from FORMAT.md.
TEST_F(TransparencyTest, IndependentVerifierAcceptsEveryProofAndRejectsTampering) {
  auto witness = note::GenerateKey("oag.test/witness", note::kCosignatureV1);
  ASSERT_TRUE(witness.ok());
  const std::string witness_key = note::FormatVerifierKey(note::VerifierOf(*witness));
  StartServer({witness_key});
  LoadDemo();
  AppendGenerated(2500 - static_cast<int>(server_->store()->HeadPosition()));
  eventstore::EventStore* store = server_->store();
  const uint64_t head = store->HeadPosition();
  auto nodes = [store](int level, uint64_t index) { return store->TreeNode(level, index); };
  auto hex_list = [](const std::vector<Hash>& hs) {
    std::vector<std::string> out;
    for (const Hash& h : hs) out.push_back(absl::StrCat("\"", HexOf(h), "\""));
    return absl::StrCat("[", absl::StrJoin(out, ","), "]");
  };
  std::string json = absl::StrCat("{\"log_key\":\"", note::FormatVerifierKey(log_key_),
                                  "\",\"witness_keys\":[\"", witness_key, "\"],\"leaves\":[");
  eventstore::ReadAllOptions ro;
  ro.max_count = 10000;
  ro.from_position = 1;
  uint64_t leaves = 0;
  while (leaves < head) {
    auto raw = store->ReadAllRaw(ro);
    ASSERT_TRUE(raw.ok());
    absl::string_view frames = raw->frames, v;
    while (codec::NextFrame(&frames, &v)) {
      absl::StrAppend(&json, leaves == 0 ? "" : ",", "\"",
                      absl::BytesToHexString(merkle::RecordOf(v)), "\"");
      ++leaves;
    }
    ro.from_position = raw->next_position;
  }
  absl::StrAppend(&json, "],\"inclusion\":[");
  std::mt19937_64 rng(7);
  std::vector<std::pair<uint64_t, uint64_t>> inclusion, consistency;
  for (uint64_t n = 1; n <= 300; ++n) {
    for (uint64_t i = 0; i < n; ++i) inclusion.push_back({i, n});
    for (uint64_t m = 0; m <= n; ++m) consistency.push_back({m, n});
  }
  for (int k = 0; k < 300; ++k) {
    const uint64_t n = 301 + rng() % (head - 300);
    inclusion.push_back({rng() % n, n});
    consistency.push_back({rng() % (n + 1), n});
  }
  bool first = true;
  for (auto [i, n] : inclusion) {
    auto p = merkle::InclusionProof(nodes, i, n);
    ASSERT_TRUE(p.ok());
    absl::StrAppend(&json, first ? "" : ",", "{\"index\":", i, ",\"size\":", n,
                    ",\"hashes\":", hex_list(*p), "}");
    first = false;
  }
  absl::StrAppend(&json, "],\"consistency\":[");
  first = true;
  for (auto [m, n] : consistency) {
    auto p = merkle::ConsistencyProof(nodes, m, n);
    ASSERT_TRUE(p.ok());
    absl::StrAppend(&json, first ? "" : ",", "{\"first\":", m, ",\"second\":", n,
                    ",\"hashes\":", hex_list(*p), "}");
    first = false;
  }
  // Checkpoints over gRPC at several sizes, and proofs over gRPC agree.
  absl::StrAppend(&json, "],\"checkpoints\":[");
  first = true;
  for (uint64_t size : {uint64_t{1}, uint64_t{2}, uint64_t{3}, uint64_t{64}, uint64_t{299},
                        head / 2, head}) {
    tpb::GetCheckpointRequest r;
    r.set_tree_size(size);
    tpb::SignedCheckpoint c;
    ASSERT_TRUE(Call(&tpb::Transparency::Stub::GetCheckpoint, r, &c).ok());
    if (size == head) {  // the witness cosigns this one
      auto n = note::ParseNote(c.note());
      ASSERT_TRUE(n.ok());
      n->signatures.push_back(*note::Cosign(*witness, n->text, 1767225600));
      tpb::AddCosignatureRequest add;
      add.set_note(note::FormatNote(*n));
      ASSERT_TRUE(Call(&tpb::Transparency::Stub::AddCosignature, add, &c).ok());
    }
    std::string escaped;
    for (char ch : c.note()) {
      if (ch == '\n') {
        escaped += "\\n";
      } else {
        escaped += ch;
      }
    }
    absl::StrAppend(&json, first ? "" : ",", "{\"note\":\"", escaped, "\"}");
    first = false;
    tpb::GetInclusionProofRequest ir;
    ir.set_position(size);
    ir.set_tree_size(size);
    tpb::InclusionProof ip;
    ASSERT_TRUE(Call(&tpb::Transparency::Stub::GetInclusionProof, ir, &ip).ok());
    auto local = merkle::InclusionProof(nodes, size - 1, size);
    EXPECT_EQ(Hashes(ip.hashes()), *local);
  }
  absl::StrAppend(&json, "]}");
  const std::string cases = dir_.Sub("cases.json");
  {
    std::ofstream out(cases);
    out << json;
  }
  const std::string report = dir_.Sub("verifier.out");
  const int rc = std::system(absl::StrCat(TLOG_PYTHON, " ", TLOG_VERIFY, " ", cases, " > ", report,
                                          " 2>&1")
                                 .c_str());
  const std::string said = ::ncm::testing::ReadFile(report);
  EXPECT_EQ(rc, 0) << said;
  EXPECT_THAT(said, ::testing::HasSubstr("tlog_verify:"));
  std::cout << said;

  // The verifier rejects a file with one proof hash altered.
  const size_t at = json.find("\"hashes\":[\"", json.find("\"index\":3,\"size\":9")) + 11;
  json[at] = json[at] == '0' ? '1' : '0';
  {
    std::ofstream out(cases);
    out << json;
  }
  const int bad = std::system(absl::StrCat(TLOG_PYTHON, " ", TLOG_VERIFY, " ", cases, " > ", report,
                                           " 2>&1")
                                  .c_str());
  EXPECT_NE(bad, 0) << ::ncm::testing::ReadFile(report);
}

TEST_F(TransparencyTest, ForgettingAPersonChangesNoProofNorCheckpoint) {
  StartServer();
  LoadDemo();
  std::string before_text;
  const note::Checkpoint before = Latest(&before_text);
  // A person of the demo, from the log.
  eventstore::ReadAllOptions ro;
  ro.max_count = 10000;
  ro.filter.stream_prefixes = {"person-"};
  auto people = server_->store()->ReadAll(ro);
  ASSERT_TRUE(people.ok());
  ASSERT_FALSE(people->events.empty());
  const std::string person = people->events[0].stream_id.substr(std::string("person-").size());
  std::vector<std::string> records;
  for (uint64_t p = 1; p <= before.size; ++p) {
    tpb::GetInclusionProofRequest r;
    r.set_position(p);
    r.set_tree_size(before.size);
    tpb::InclusionProof proof;
    ASSERT_TRUE(Call(&tpb::Transparency::Stub::GetInclusionProof, r, &proof).ok());
    records.push_back(proof.record());
  }

  auto stakeholders = ncm::stakeholders::v1::Stakeholders::NewStub(channel_);
  ncm::stakeholders::v1::ForgetPersonRequest f;
  f.set_person_id(person);
  f.set_reason("erasure request");
  ncm::common::v1::CommandResult forgotten;
  grpc::ClientContext ctx;
  grpc::Status s = stakeholders->ForgetPerson(&ctx, f, &forgotten);
  ASSERT_TRUE(s.ok()) << s.error_message();

  const note::Checkpoint after = Latest();
  EXPECT_GT(after.size, before.size);
  EXPECT_TRUE(Consistent(before, after).ok());
  for (uint64_t p = 1; p <= before.size; ++p) {
    ASSERT_TRUE(Prove(p, before).ok()) << p;
    ASSERT_TRUE(Prove(p, after).ok()) << p;
    tpb::GetInclusionProofRequest r;
    r.set_position(p);
    tpb::InclusionProof proof;
    ASSERT_TRUE(Call(&tpb::Transparency::Stub::GetInclusionProof, r, &proof).ok());
    ASSERT_EQ(proof.record(), records[p - 1]) << p;  // the same leaf bytes
  }
  // The checkpoint signed before the erasure is kept as it was.
  tpb::GetCheckpointRequest at;
  at.set_tree_size(before.size);
  tpb::SignedCheckpoint kept;
  ASSERT_TRUE(Call(&tpb::Transparency::Stub::GetCheckpoint, at, &kept).ok());
  EXPECT_EQ(kept.note(), before_text);
}

TEST_F(TransparencyTest, WitnessesCosignAndForgeriesAreRefused) {
  auto witness = note::GenerateKey("oag.test/witness", note::kCosignatureV1);
  auto stranger = note::GenerateKey("someone.test/witness", note::kCosignatureV1);
  ASSERT_TRUE(witness.ok() && stranger.ok());
  StartServer({note::FormatVerifierKey(note::VerifierOf(*witness))});
  AppendGenerated(50);
  std::string text;
  const note::Checkpoint c = Latest(&text);
  auto n = note::ParseNote(text);
  ASSERT_TRUE(n.ok());

  auto add = [&](const note::Note& with) {
    tpb::AddCosignatureRequest r;
    r.set_note(note::FormatNote(with));
    tpb::SignedCheckpoint out;
    grpc::Status s = Call(&tpb::Transparency::Stub::AddCosignature, r, &out);
    return std::make_pair(s, out);
  };
  note::Note by_stranger = *n;
  by_stranger.signatures.push_back(*note::Cosign(*stranger, n->text, 1000));
  EXPECT_EQ(add(by_stranger).first.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  note::Note bad_sig = *n;
  auto cs = note::Cosign(*witness, n->text, 1000);
  cs->bytes[20] ^= 1;
  bad_sig.signatures.push_back(*cs);
  EXPECT_EQ(add(bad_sig).first.error_code(), grpc::StatusCode::UNAUTHENTICATED);

  EXPECT_EQ(add(*n).first.error_code(), grpc::StatusCode::INVALID_ARGUMENT);  // none

  // A checkpoint signed with the log's own key but naming another root:
  // what a split view looks like. The key is read from its file, as an
  // attacker holding the server's key would.
  auto key_text = ::ncm::testing::ReadFile(dir_.Sub("db") + ".checkpoint.key");
  auto log_key = note::ParseSigningKey(key_text);
  ASSERT_TRUE(log_key.ok());
  note::Checkpoint forged = c;
  forged.root[0] ^= 1;
  note::Note fn{note::FormatCheckpoint(forged), {}};
  fn.signatures.push_back(*note::SignNote(*log_key, fn.text));
  fn.signatures.push_back(*note::Cosign(*witness, fn.text, 1000));
  EXPECT_EQ(add(fn).first.error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  note::Note good = *n;
  good.signatures.push_back(*note::Cosign(*witness, n->text, 2000));
  auto [status, served] = add(good);
  ASSERT_TRUE(status.ok()) << status.error_message();
  // A newer cosignature by the same witness replaces its older one.
  good.signatures.back() = *note::Cosign(*witness, n->text, 3000);
  ASSERT_TRUE(add(good).first.ok());

  tpb::GetCheckpointRequest cosigned;
  cosigned.set_cosigned(true);
  tpb::SignedCheckpoint got;
  ASSERT_TRUE(Call(&tpb::Transparency::Stub::GetCheckpoint, cosigned, &got).ok());
  auto opened = note::ParseNote(got.note());
  ASSERT_TRUE(opened.ok());
  ASSERT_EQ(opened->signatures.size(), 2u);
  uint64_t ts = 0;
  EXPECT_TRUE(note::VerifySignature(*opened, note::VerifierOf(*witness), &ts).ok());
  EXPECT_EQ(ts, 3000u);
  EXPECT_TRUE(note::VerifySignature(*opened, log_key_).ok());
  // The latest is still served cosigned after the log grows, and a restart
  // keeps the cosignature.
  StopServer();
  StartServer({note::FormatVerifierKey(note::VerifierOf(*witness))});
  AppendGenerated(10);
  ASSERT_TRUE(Call(&tpb::Transparency::Stub::GetCheckpoint, cosigned, &got).ok());
  EXPECT_EQ(got.tree_size(), c.size);
  EXPECT_GT(Latest().size, c.size);
}

// An altered record: its inclusion proof fails at once; and a tree rebuilt
// from the altered log is not consistent with a checkpoint signed before.
TEST_F(TransparencyTest, AlteredRecordFailsItsProofs) {
  StartServer();
  AppendGenerated(120);
  const note::Checkpoint before = Latest();
  StopServer();
  const uint64_t victim = 77;
  // drop_tree: also drops the tree (rebuilt from the altered log at the
  // next start); drop_checkpoints: and the checkpoints signed so far.
  auto edit = [&](bool drop_tree, bool drop_checkpoints = false) {
    rocksdb::DBOptions dbo;
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(dbo, dir_.Sub("db"), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(dbo, dir_.Sub("db"), cfs, &handles, &db).ok());
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == "log" && !drop_tree) {
        std::string v;
        ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), handles[i], codec::PositionKey(victim), &v).ok());
        v[v.size() - 40] ^= 0x01;  // a byte of the record
        ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[i], codec::PositionKey(victim), v).ok());
      }
      if (names[i] == "merkle" && drop_tree) ASSERT_TRUE(db->DropColumnFamily(handles[i]).ok());
      if (names[i] == "checkpoints" && drop_checkpoints) {
        ASSERT_TRUE(db->DropColumnFamily(handles[i]).ok());
      }
      if (names[i] == "default" && drop_tree) {
        ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), handles[i], "tree_size").ok());
      }
    }
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  };
  edit(false);
  StartServer();
  EXPECT_TRUE(Prove(10, before).ok());
  absl::Status s = Prove(victim, before);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("leaf 76"));
  auto chain = server_->store()->VerifyChain(0, 0);
  ASSERT_TRUE(chain.ok());
  EXPECT_FALSE(chain->ok);
  EXPECT_EQ(chain->first_bad_position, victim);
  StopServer();
  // The tree rebuilt from the altered log: the server no longer serves the
  // checkpoint it signed before, whose root the tree lost.
  edit(true);
  StartServer();
  tpb::SignedCheckpoint refused;
  EXPECT_EQ(Call(&tpb::Transparency::Stub::GetCheckpoint, tpb::GetCheckpointRequest(), &refused)
                .error_code(),
            grpc::StatusCode::DATA_LOSS);
  StopServer();
  // An attacker who also drops the checkpoints gets a new one signed; the
  // auditor's saved checkpoint shows it is not the same log.
  edit(true, true);
  StartServer();
  const note::Checkpoint after = Latest();
  EXPECT_EQ(after.size, before.size);
  EXPECT_NE(HexOf(after.root), HexOf(before.root));
  EXPECT_FALSE(Consistent(before, after).ok());
}

}  // namespace
}  // namespace ncm
