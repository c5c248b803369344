#include "ncm/services/gate.h"

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/descriptor.h"
#include "ncm/stakeholders/v1/stakeholders.pb.h"

namespace ncm::services {

const char* RefusalName(Refusal r) {
  switch (r) {
    case Refusal::kCredential:
      return "credential";
    case Refusal::kRole:
      return "role";
    case Refusal::kStanding:
      return "standing";
    case Refusal::kScope:
      return "scope";
    case Refusal::kReadNode:
      return "read_node";
  }
  return "other";
}

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

absl::Mutex memo_mu;
absl::flat_hash_map<const Descriptor*, bool>& Memo()
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(memo_mu) {
  static auto* const memo = new absl::flat_hash_map<const Descriptor*, bool>;
  return *memo;
}

// Whether a message of type `d` can hold a Person. Only finished answers
// are memoised; `visiting` breaks cycles of recursive types (a type on the
// path adds nothing new to what its first visit finds).
bool Walk(const Descriptor* d, absl::flat_hash_set<const Descriptor*>* visiting)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(memo_mu) {
  auto& memo = Memo();
  if (auto it = memo.find(d); it != memo.end()) return it->second;
  if (d == ncm::stakeholders::v1::Person::descriptor()) return memo[d] = true;
  if (!visiting->insert(d).second) return false;
  bool holds = false;
  for (int i = 0; !holds && i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    holds = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
            Walk(f->message_type(), visiting);
  }
  visiting->erase(d);
  // A type inside a cycle may have been judged from an unfinished visit;
  // remember only answers not resting on one.
  if (holds || visiting->empty()) memo[d] = holds;
  return holds;
}

bool MayHoldPerson(const Descriptor* d) {
  absl::MutexLock l(&memo_mu);
  absl::flat_hash_set<const Descriptor*> visiting;
  return Walk(d, &visiting);
}

void Withhold(Message* m) {
  if (m->GetDescriptor() == ncm::stakeholders::v1::Person::descriptor()) {
    auto* p = static_cast<ncm::stakeholders::v1::Person*>(m);
    if (!p->erased() && p->has_details()) {
      p->clear_details();
      p->set_withheld(true);
    }
    return;
  }
  const auto* refl = m->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  refl->ListFields(*m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
        !MayHoldPerson(f->message_type())) {
      continue;
    }
    if (f->is_repeated()) {
      for (int i = 0; i < refl->FieldSize(*m, f); ++i) {
        Withhold(refl->MutableRepeatedMessage(m, f, i));
      }
    } else {
      Withhold(refl->MutableMessage(m, f));
    }
  }
}

}  // namespace

void WithholdPersonalData(Message* message) {
  if (MayHoldPerson(message->GetDescriptor())) Withhold(message);
}

}  // namespace ncm::services
