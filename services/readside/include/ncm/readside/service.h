// The ncm.readside.v1.ReadModels gRPC service: lists the read models with
// how far each has applied the log, and rebuilds one from position 0.
#ifndef NCM_READSIDE_SERVICE_H_
#define NCM_READSIDE_SERVICE_H_

#include <functional>

#include "ncm/readside/runner.h"
#include "ncm/readside/v1/readside.pb.h"
#include "ncm/services/domain_service.h"

namespace ncm::readside {

class ReadModelsHandler {
 public:
  // Fills a BusStatus's role, head and publisher or copy; the handler adds
  // the read models.
  using BusStatusFn = std::function<void(ncm::readside::v1::BusStatus*)>;

  ReadModelsHandler(ReadSide* read_side, std::vector<std::string> names,
                    BusStatusFn bus_status)
      : read_side_(read_side),
        names_(std::move(names)),
        bus_status_(std::move(bus_status)) {}
  absl::StatusOr<ncm::readside::v1::ListReadModelsResponse> ListReadModels(
      const ncm::readside::v1::ListReadModelsRequest& r);
  absl::StatusOr<ncm::readside::v1::ReadModelStatus> RebuildReadModel(
      const ncm::readside::v1::RebuildReadModelRequest& r);
  absl::StatusOr<ncm::readside::v1::BusStatus> GetBusStatus(
      const ncm::readside::v1::GetBusStatusRequest& r);

 private:
  ReadSide* const read_side_;
  const std::vector<std::string> names_;
  const BusStatusFn bus_status_;
};

class ReadModelsService final : public services::DomainService {
 public:
  // REQUIRES: `handler` and `pool` outlive the service.
  ReadModelsService(ReadModelsHandler* handler, services::WorkerPool* pool);
};

}  // namespace ncm::readside

#endif  // NCM_READSIDE_SERVICE_H_
