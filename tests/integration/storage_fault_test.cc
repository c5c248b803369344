// Storage faults under a real ncmd, on filesystems the test makes itself:
// a size-limited tmpfs that writers fill, and an ext4 image on a loop
// device that the kernel turns read-only while ncmd runs (remount with
// "abort", as it does on an I/O error with errors=remount-ro). Appends
// then answer UNAVAILABLE saying a retry with the same ids is safe, reads
// go on, health turns NOT_SERVING; once the storage is fixed and ncmd
// restarts (the documented step), every acknowledged append is there with
// a valid chain, and appends go on. Skipped, saying why, where the test
// may not mount.
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "ncm/eventstore/v1/eventstore.grpc.pb.h"
#include "testing/grpc_health.h"
#include "testing/ncmd_process.h"
#include "testing/temp_dir.h"

namespace ncm {
namespace {

namespace pb = ::ncm::eventstore::v1;
using ::ncm::testing::Ncmd;
using ::testing::HasSubstr;

// A tmpfs of `bytes` at `dir`, unmounted when destroyed.
class SmallDisk {
 public:
  SmallDisk(std::string dir, size_t bytes) : dir_(std::move(dir)) {
    ::mkdir(dir_.c_str(), 0700);
    const std::string opts = absl::StrCat("size=", bytes, ",mode=0700");
    mounted_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, opts.c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  bool Resize(size_t bytes) {
    const std::string opts = absl::StrCat("size=", bytes, ",mode=0700");
    return ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, opts.c_str()) == 0;
  }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

pb::AppendRequest Big(int writer, size_t payload) {
  pb::AppendRequest req;
  auto* s = req.add_streams();
  s->set_stream_id(absl::StrCat("fill-", writer));
  s->mutable_expected()->set_kind(pb::ExpectedRevision::ANY);
  auto* e = s->add_events();
  e->set_event_id(::ncm::testing::NewUuid());
  e->set_event_type("ncm.test.v1.Filler");
  std::string data(payload, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 7919 + writer) >> 3);
  e->set_payload(std::move(data));
  return req;
}

// Every acknowledged (position, event id) is in the log, and the chain
// verifies.
void ExpectAllThere(const std::shared_ptr<grpc::Channel>& channel,
                    const std::map<uint64_t, std::string>& acked) {
  auto stub = pb::EventStore::NewStub(channel);
  {
    grpc::ClientContext ctx;
    pb::VerifyChainRequest v;
    pb::VerifyChainResponse vr;
    ASSERT_TRUE(stub->VerifyChain(&ctx, v, &vr).ok());
    EXPECT_TRUE(vr.ok()) << vr.reason() << " at " << vr.first_bad_position();
  }
  for (const auto& [position, id] : acked) {
    grpc::ClientContext ctx;
    pb::ReadAllRequest r;
    r.set_from_position(position);
    r.set_max_count(1);
    pb::ReadAllResponse resp;
    ASSERT_TRUE(stub->ReadAll(&ctx, r, &resp).ok());
    ASSERT_EQ(resp.events_size(), 1) << position;
    EXPECT_EQ(resp.events(0).event_id(), id) << position;
  }
}

TEST(StorageFaultTest, AFullDiskStopsAppendsLosesNothingAndResumesAfterARestart) {
  ::ncm::testing::TempDir dir;
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  SmallDisk disk(dir.Sub("small"), size_t{160} << 20);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << disk.error();
  const std::string data = dir.Sub("small/db");
  auto ncmd = std::make_unique<Ncmd>(data, dir.Sub("first.log"));
  ASSERT_TRUE(ncmd->Start()) << ncmd->log();
  auto channel = ncmd->channel();

  std::mutex mu;
  std::map<uint64_t, std::string> acked;
  std::vector<std::string> refusals;
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  const absl::Time deadline = absl::Now() + absl::Seconds(90);
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      auto stub = pb::EventStore::NewStub(channel);
      int failed_in_a_row = 0;
      while (failed_in_a_row < 5 && absl::Now() < deadline) {
        pb::AppendRequest req = Big(w, 256 << 10);
        grpc::ClientContext ctx;
        pb::AppendResponse resp;
        grpc::Status s = stub->Append(&ctx, req, &resp);
        std::lock_guard<std::mutex> l(mu);
        if (s.ok()) {
          acked[resp.last_position()] = req.streams(0).events(0).event_id();
          failed_in_a_row = 0;
        } else {
          refusals.push_back(absl::StrCat(s.error_code(), ": ", s.error_message()));
          ++failed_in_a_row;
          failures.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  ASSERT_GT(failures.load(), 0) << "the disk never filled";
  ASSERT_GT(acked.size(), 20u);
  // Every refusal is UNAVAILABLE (14) and says a retry is safe.
  for (const std::string& r : refusals) {
    EXPECT_THAT(r, ::testing::StartsWith("14: ")) << r;
    EXPECT_THAT(r, HasSubstr("same event ids")) << r;
  }
  // Reads go on; health says the server cannot take writes.
  ExpectAllThere(channel, acked);
  EXPECT_EQ(::ncm::testing::HealthStatus(channel, ""), 2);
  EXPECT_EQ(::ncm::testing::HealthStatus(channel, "ncm.eventstore.v1.EventStore"), 2);
  EXPECT_EQ(::ncm::testing::HealthStatus(channel, "ncm.eventstore.v1.Transparency"), 1);
  EXPECT_THAT(ncmd->log(), HasSubstr("storage write failed"));
  ncmd->Terminate(absl::Seconds(30));
  ncmd.reset();

  // Space returns; ncmd restarts on the same folder.
  ASSERT_TRUE(disk.Resize(size_t{1} << 30));
  ncmd = std::make_unique<Ncmd>(data, dir.Sub("second.log"));
  ASSERT_TRUE(ncmd->Start()) << ncmd->log();
  channel = ncmd->channel();
  EXPECT_EQ(::ncm::testing::HealthStatus(channel, ""), 1);
  ExpectAllThere(channel, acked);
  auto stub = pb::EventStore::NewStub(channel);
  grpc::ClientContext ctx;
  pb::AppendResponse resp;
  ASSERT_TRUE(stub->Append(&ctx, Big(9, 1000), &resp).ok());
  EXPECT_GT(resp.last_position(), acked.rbegin()->first);
  EXPECT_EQ(ncmd->Terminate(absl::Seconds(30)), 0);
}

// Runs a shell command quietly: true when it exits 0.
bool Run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

// An ext4 image of 256 MiB on a loop device, mounted at `dir`; unmounted
// and detached when destroyed.
class LoopDisk {
 public:
  LoopDisk(const std::string& image, std::string dir) : image_(image), dir_(std::move(dir)) {
    ::mkdir(dir_.c_str(), 0700);
    if (!Run("truncate -s 256M '" + image + "' && mkfs.ext4 -q -F '" + image + "'")) {
      error_ = "cannot make an ext4 image (mkfs.ext4)";
      return;
    }
    FILE* p = ::popen(("losetup -f --show '" + image + "' 2>/dev/null").c_str(), "r");
    char buf[128] = {0};
    if (p != nullptr) {
      if (std::fgets(buf, sizeof buf, p) == nullptr) buf[0] = '\0';
      ::pclose(p);
    }
    device_ = std::string(absl::StripAsciiWhitespace(buf));
    if (device_.empty()) {
      error_ = "no loop device (losetup)";
      return;
    }
    (void)Run("blockdev --setrw " + device_);
    mounted_ = Mount();
    if (!mounted_) error_ = "cannot mount the image";
  }
  ~LoopDisk() {
    if (mounted_) (void)Run("umount '" + dir_ + "'");
    if (!device_.empty()) (void)Run("losetup -d " + device_);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  // What the kernel does on an I/O error under errors=remount-ro.
  bool Abort() { return Run("mount -o remount,abort '" + dir_ + "'"); }
  // The operator's repair: unmount, fsck, mount again.
  bool Repair() {
    mounted_ = !Run("umount '" + dir_ + "'");
    if (mounted_) return false;
    (void)Run("e2fsck -fy " + device_);  // 1: errors fixed
    mounted_ = Mount();
    return mounted_;
  }

 private:
  bool Mount() { return Run("mount -o errors=remount-ro " + device_ + " '" + dir_ + "'"); }
  std::string image_, dir_, device_, error_;
  bool mounted_ = false;
};

TEST(StorageFaultTest, AReadOnlyFilesystemStopsAppendsLosesNothingAndResumesAfterARestart) {
  ::ncm::testing::TempDir dir;
  if (::geteuid() != 0) GTEST_SKIP() << "loop devices and mounts need root";
  LoopDisk disk(dir.Sub("ext4.img"), dir.Sub("ext"));
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount an ext4 image here: " << disk.error();
  const std::string data = dir.Sub("ext/db");
  auto ncmd = std::make_unique<Ncmd>(data, dir.Sub("first.log"));
  ASSERT_TRUE(ncmd->Start()) << ncmd->log();
  auto channel = ncmd->channel();
  auto stub = pb::EventStore::NewStub(channel);
  std::map<uint64_t, std::string> acked;
  for (int i = 0; i < 40; ++i) {
    pb::AppendRequest req = Big(i % 4, 4096);
    grpc::ClientContext ctx;
    pb::AppendResponse resp;
    ASSERT_TRUE(stub->Append(&ctx, req, &resp).ok());
    acked[resp.last_position()] = req.streams(0).events(0).event_id();
  }
  ASSERT_TRUE(disk.Abort());
  int refused = 0;
  for (int i = 0; i < 5; ++i) {
    grpc::ClientContext ctx;
    pb::AppendResponse resp;
    grpc::Status s = stub->Append(&ctx, Big(7, 4096), &resp);
    ASSERT_FALSE(s.ok()) << "an append was acknowledged on a read-only filesystem";
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("same event ids"));
    ++refused;
  }
  EXPECT_EQ(refused, 5);
  ExpectAllThere(channel, acked);
  EXPECT_EQ(::ncm::testing::HealthStatus(channel, ""), 2);
  EXPECT_EQ(::ncm::testing::HealthStatus(channel, "ncm.resolutions.v1.Resolutions"), 2);
  ncmd->Terminate(absl::Seconds(30));
  ncmd.reset();

  ASSERT_TRUE(disk.Repair());
  ncmd = std::make_unique<Ncmd>(data, dir.Sub("second.log"));
  ASSERT_TRUE(ncmd->Start()) << ncmd->log();
  channel = ncmd->channel();
  EXPECT_EQ(::ncm::testing::HealthStatus(channel, ""), 1);
  ExpectAllThere(channel, acked);
  stub = pb::EventStore::NewStub(channel);
  grpc::ClientContext ctx;
  pb::AppendResponse resp;
  ASSERT_TRUE(stub->Append(&ctx, Big(9, 1000), &resp).ok());
  EXPECT_GT(resp.last_position(), acked.rbegin()->first);
  EXPECT_EQ(ncmd->Terminate(absl::Seconds(30)), 0);
}

}  // namespace
}  // namespace ncm
