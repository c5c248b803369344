#include "ncm/services/gate.h"

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/descriptor.h"
#include "ncm/stakeholders/v1/stakeholders.pb.h"

namespace ncm::services {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// Whether a message of type `d` can hold a Person, memoised.
bool MayHoldPerson(const Descriptor* d) {
  static absl::Mutex mu;
  static auto* const memo = new absl::flat_hash_map<const Descriptor*, bool>;
  {
    absl::MutexLock l(&mu);
    auto it = memo->find(d);
    if (it != memo->end()) return it->second;
    (*memo)[d] = false;  // breaks cycles while the walk below runs
  }
  bool holds = d == ncm::stakeholders::v1::Person::descriptor();
  for (int i = 0; !holds && i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
        MayHoldPerson(f->message_type())) {
      holds = true;
    }
  }
  absl::MutexLock l(&mu);
  (*memo)[d] = holds;
  return holds;
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
