#include "ncm/eventstore/memory_event_store.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "append_planner.h"
#include "commit_listeners.h"
#include "ncm/eventstore/merkle.h"
#include "ncm/eventstore/status_macros.h"
#include "read_helpers.h"

namespace ncm::eventstore {
namespace {

class MemoryEventStore final : public EventStore {
 public:
  explicit MemoryEventStore(Limits limits) : limits_(limits) {}

  void AppendAsync(AppendRequest request, AppendCallback done) override {
    absl::Status valid = ValidateAndNormalize(limits_, &request);
    if (!valid.ok()) {
      done(valid);
      return;
    }
    absl::StatusOr<AppendResult> result;
    uint64_t head = 0;
    bool wrote = false;
    {
      absl::MutexLock l(&mu_);
      State state(this);
      Hash head_hash = log_.empty() ? Hash{} : log_.back().hash;
      auto plan = PlanAppend(&request, state, log_.size(), head_hash,
                             absl::Now());
      if (!plan.ok()) {
        result = plan.status();
      } else {
        for (PlannedRecord& r : plan->records) {
          AddLeaf(merkle::LeafHash(merkle::RecordOf(r.log_value)));
          streams_[r.event.stream_id].push_back(r.event.position);
          ids_[r.event.event_id] = r.event.position;
          log_.push_back(std::move(r.event));
        }
        wrote = !plan->records.empty();
        head = log_.size();
        result = std::move(plan->result);
      }
    }
    if (wrote) listeners_.Notify(head);
    done(std::move(result));
  }

  absl::StatusOr<ReadStreamResult> ReadStream(
      const ReadStreamOptions& o) override {
    NCM_RETURN_IF_ERROR(ValidateStreamId(limits_, o.stream_id));
    NCM_RETURN_IF_ERROR(ValidateReadCount(limits_, o.max_count));
    absl::MutexLock l(&mu_);
    auto it = streams_.find(o.stream_id);
    if (it == streams_.end()) return StreamNotFound(o.stream_id);
    const std::vector<uint64_t>& positions = it->second;
    ReadStreamResult out;
    out.last_revision = positions.size() - 1;
    std::vector<uint64_t> revisions;
    ForEachRevision(o, out.last_revision, &out,
                    [&](uint64_t rev) { revisions.push_back(rev); });
    size_t bytes = 0;
    for (uint64_t rev : revisions) {
      if (!TakeWithinBytes(o, log_[positions[rev] - 1], &bytes, &out)) break;
    }
    return out;
  }

  absl::StatusOr<ReadAllResult> ReadAll(const ReadAllOptions& o) override {
    NCM_RETURN_IF_ERROR(ValidateReadCount(limits_, o.max_count));
    absl::MutexLock l(&mu_);
    ReadAllResult out;
    out.head_position = log_.size();
    NCM_RETURN_IF_ERROR(ScanAll(o, out.head_position, &out,
                                [&](uint64_t pos, RecordedEvent* e) {
                                  *e = log_[pos - 1];
                                  return absl::OkStatus();
                                }));
    return out;
  }

  absl::StatusOr<StreamInfo> GetStreamInfo(absl::string_view stream_id) override {
    NCM_RETURN_IF_ERROR(ValidateStreamId(limits_, stream_id));
    absl::MutexLock l(&mu_);
    auto it = streams_.find(std::string(stream_id));
    if (it == streams_.end()) return StreamNotFound(stream_id);
    StreamInfo info;
    info.stream_id = std::string(stream_id);
    info.event_count = it->second.size();
    info.last_revision = it->second.size() - 1;
    info.first_position = it->second.front();
    info.last_position = it->second.back();
    info.last_recorded_at = log_[info.last_position - 1].recorded_at;
    return info;
  }

  absl::StatusOr<VerifyResult> VerifyChain(uint64_t from,
                                           uint64_t to) override {
    std::vector<RecordedEvent> copy;
    Hash prev{};
    VerifyResult result;
    {
      absl::MutexLock l(&mu_);
      NCM_ASSIGN_OR_RETURN(auto range, VerifyRange(from, to, log_.size()));
      result.from_position = range.first;
      result.to_position = range.second;
      if (range.first > 1) prev = log_[range.first - 2].hash;
      if (range.second >= range.first) {
        copy.assign(log_.begin() + (range.first - 1),
                    log_.begin() + range.second);
      }
    }
    VerifyEvents(copy, result.from_position, &prev, &result);
    if (result.ok) result.head_hash = prev;
    return result;
  }

  SubjectKeyStore* subject_keys() override { return keys_.get(); }

  absl::StatusOr<Hash> TreeNode(int level, uint64_t index) override {
    absl::MutexLock l(&mu_);
    if (level < 0 || static_cast<size_t>(level) >= tree_.size() ||
        index >= tree_[level].size()) {
      return absl::NotFoundError(absl::StrCat(
          "no complete subtree at level ", level, " index ", index));
    }
    return tree_[level][index];
  }

  CheckpointStore* checkpoints() override { return checkpoints_.get(); }

  uint64_t HeadPosition() const override {
    absl::MutexLock l(&mu_);
    return log_.size();
  }

  uint64_t AddCommitListener(CommitListener listener) override {
    return listeners_.Add(std::move(listener));
  }
  void RemoveCommitListener(uint64_t id) override { listeners_.Remove(id); }

 private:
  class State final : public AppendState {
   public:
    explicit State(MemoryEventStore* s) : s_(s) {}
    absl::StatusOr<std::optional<uint64_t>> LastRevision(
        const std::string& stream_id) override {
      auto it = s_->streams_.find(stream_id);
      if (it == s_->streams_.end()) return std::nullopt;
      return it->second.size() - 1;
    }
    absl::StatusOr<std::optional<RecordedEvent>> FindEvent(
        const codec::Uuid& id) override {
      auto it = s_->ids_.find(codec::FormatUuid(id));
      if (it == s_->ids_.end()) return std::nullopt;
      return s_->log_[it->second - 1];
    }
    absl::StatusOr<uint64_t> PositionOf(const std::string& stream_id,
                                        uint64_t revision) override {
      auto it = s_->streams_.find(stream_id);
      if (it == s_->streams_.end() || revision >= it->second.size()) {
        return absl::InternalError("no such revision");
      }
      return it->second[revision];
    }

   private:
    MemoryEventStore* s_;
  };

  void AddLeaf(const Hash& leaf) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    finished_.clear();
    frontier_.Add(leaf, &finished_);
    for (const merkle::Frontier::Node& n : finished_) {
      if (tree_.size() <= static_cast<size_t>(n.level)) tree_.resize(n.level + 1);
      tree_[n.level].push_back(n.hash);
    }
  }

  const Limits limits_;
  mutable absl::Mutex mu_;
  merkle::Frontier frontier_ ABSL_GUARDED_BY(mu_);
  std::vector<merkle::Frontier::Node> finished_ ABSL_GUARDED_BY(mu_);
  // tree_[level][index]: the complete subtrees.
  std::vector<std::vector<Hash>> tree_ ABSL_GUARDED_BY(mu_);
  std::vector<RecordedEvent> log_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::vector<uint64_t>> streams_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint64_t> ids_ ABSL_GUARDED_BY(mu_);
  CommitListeners listeners_;
  std::unique_ptr<SubjectKeyStore> keys_ = NewMemorySubjectKeyStore();
  std::unique_ptr<CheckpointStore> checkpoints_ = NewMemoryCheckpointStore();
};

}  // namespace

std::unique_ptr<EventStore> NewMemoryEventStore(Limits limits) {
  return std::make_unique<MemoryEventStore>(limits);
}

}  // namespace ncm::eventstore
