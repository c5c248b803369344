#include "ncm/services/limits.h"

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"

namespace ncm::services {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

bool IsProse(const FieldDescriptor* f) {
  static const auto* const kProse = new absl::flat_hash_set<std::string>{
      "text",  "narrative", "purpose", "legal_basis", "data_protection_terms",
      "notes", "note",      "description", "mandate", "reason",
      "termination_reason", "cancel_reason", "end_reason", "last_review_note"};
  return kProse->contains(f->name());
}

std::string Path(const std::string& prefix, const FieldDescriptor* f) {
  return prefix.empty() ? f->name() : absl::StrCat(prefix, ".", f->name());
}

absl::Status CheckText(const std::string& path, const FieldDescriptor* f,
                       size_t size) {
  const size_t limit = IsProse(f) ? kMaxProseBytes : kMaxTextBytes;
  if (size <= limit) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(path, " is ", size, " bytes; the limit for this field is ",
                   limit, " bytes"));
}

absl::Status Check(const Message& m, const std::string& prefix) {
  const auto* refl = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  refl->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    const std::string path = Path(prefix, f);
    if (f->is_repeated()) {
      const int n = refl->FieldSize(m, f);
      if (n > kMaxRepeated) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, " has ", n, " elements; the limit is ",
                         kMaxRepeated));
      }
      for (int i = 0; i < n; ++i) {
        const std::string item = absl::StrCat(path, "[", i, "]");
        if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
          std::string scratch;
          const std::string& v =
              refl->GetRepeatedStringReference(m, f, i, &scratch);
          absl::Status s = CheckText(item, f, v.size());
          if (!s.ok()) return s;
        } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          absl::Status s = Check(refl->GetRepeatedMessage(m, f, i), item);
          if (!s.ok()) return s;
        }
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      std::string scratch;
      absl::Status s =
          CheckText(path, f, refl->GetStringReference(m, f, &scratch).size());
      if (!s.ok()) return s;
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      absl::Status s = Check(refl->GetMessage(m, f), path);
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckFieldLimits(const Message& message) {
  return Check(message, "");
}

}  // namespace ncm::services
