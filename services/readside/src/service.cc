#include "ncm/readside/service.h"

#include "absl/strings/str_cat.h"
#include "ncm/eventstore/status_macros.h"

namespace ncm::readside {

namespace pb = ::ncm::readside::v1;

namespace {

pb::ReadModelStatus ToProto(const ModelStatus& s) {
  pb::ReadModelStatus out;
  out.set_name(s.name);
  out.set_applied_position(s.applied_position);
  out.set_head_position(s.head_position);
  out.set_error(s.error);
  out.set_poison_count(s.poison_count);
  if (s.last_poison) {
    pb::PoisonEvent* p = out.mutable_last_poison();
    p->set_position(s.last_poison->position);
    p->set_stream_id(s.last_poison->stream_id);
    p->set_event_type(s.last_poison->event_type);
    p->set_reason(s.last_poison->reason);
  }
  return out;
}

}  // namespace

absl::StatusOr<pb::ListReadModelsResponse> ReadModelsHandler::ListReadModels(
    const pb::ListReadModelsRequest&) {
  pb::ListReadModelsResponse out;
  for (const std::string& name : names_) {
    NCM_ASSIGN_OR_RETURN(ModelStatus s, read_side_->Status(name));
    *out.add_models() = ToProto(s);
  }
  return out;
}

absl::StatusOr<pb::ReadModelStatus> ReadModelsHandler::RebuildReadModel(
    const pb::RebuildReadModelRequest& r) {
  if (r.wait_ms() < 0) {
    return absl::InvalidArgumentError("wait_ms must not be negative");
  }
  if (std::find(names_.begin(), names_.end(), r.name()) == names_.end()) {
    return absl::NotFoundError(absl::StrCat(
        "name: no read model \"", r.name(), "\"; ListReadModels names them"));
  }
  const absl::Duration wait = r.wait_ms() == 0 ? absl::Seconds(60)
                                               : absl::Milliseconds(r.wait_ms());
  NCM_RETURN_IF_ERROR(read_side_->Rebuild(r.name(), wait));
  NCM_ASSIGN_OR_RETURN(ModelStatus s, read_side_->Status(r.name()));
  return ToProto(s);
}

absl::StatusOr<pb::BusStatus> ReadModelsHandler::GetBusStatus(
    const pb::GetBusStatusRequest&) {
  pb::BusStatus out;
  if (bus_status_) bus_status_(&out);
  for (const std::string& name : names_) {
    NCM_ASSIGN_OR_RETURN(ModelStatus s, read_side_->Status(name));
    *out.add_models() = ToProto(s);
  }
  return out;
}

ReadModelsService::ReadModelsService(ReadModelsHandler* h,
                                     services::WorkerPool* pool)
    : DomainService(pb::ListReadModelsRequest::descriptor()
                        ->file()
                        ->FindServiceByName("ReadModels"),
                    pool) {
  Query("ListReadModels", h, &ReadModelsHandler::ListReadModels);
  Query("RebuildReadModel", h, &ReadModelsHandler::RebuildReadModel);
  Query("GetBusStatus", h, &ReadModelsHandler::GetBusStatus);
}

}  // namespace ncm::readside
