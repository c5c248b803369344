#include "ncm/services/limits.h"

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/unknown_field_set.h"
#include "ncm/eventstore/status_macros.h"

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

absl::Status CheckKnown(const Message& m, const std::string& prefix) {
  const google::protobuf::UnknownFieldSet& unknown =
      m.GetReflection()->GetUnknownFields(m);
  if (unknown.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      prefix.empty() ? std::string("the request") : prefix,
      " carries field number ", unknown.field(0).number(), ", which ",
      m.GetDescriptor()->full_name(),
      " does not define; this server records only the fields it knows: "
      "remove it, or upgrade the server"));
}

absl::Status CheckKnownBelow(const Message& m, const std::string& prefix) {
  NCM_RETURN_IF_ERROR(CheckKnown(m, prefix));
  const auto* refl = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  refl->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    const std::string path = Path(prefix, f);
    if (f->is_repeated()) {
      for (int i = 0, n = refl->FieldSize(m, f); i < n; ++i) {
        NCM_RETURN_IF_ERROR(CheckKnownBelow(refl->GetRepeatedMessage(m, f, i),
                                            absl::StrCat(path, "[", i, "]")));
      }
    } else {
      NCM_RETURN_IF_ERROR(CheckKnownBelow(refl->GetMessage(m, f), path));
    }
  }
  return absl::OkStatus();
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

absl::Status CheckAnswerSize(const std::string& method, const Message& answer) {
  const size_t size = answer.ByteSizeLong();
  if (size <= kMaxAnswerBytes) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "the answer to ", method, " would be ", size, " bytes, over the ",
      kMaxAnswerBytes,
      "-byte limit of one answer; ask for less (a smaller page, a filter, "
      "one budget or aggregate at a time)"));
}

absl::Status CheckKnownFields(const Message& message) {
  return CheckKnownBelow(message, "");
}

absl::Status CheckFieldLimits(const Message& message) {
  return Check(message, "");
}

}  // namespace ncm::services
