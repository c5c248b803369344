// An in-memory EventStore for tests: the same contract as the RocksDB store
// (it shares its validation and planning), without durability.
#ifndef NCM_EVENTSTORE_MEMORY_EVENT_STORE_H_
#define NCM_EVENTSTORE_MEMORY_EVENT_STORE_H_

#include <memory>

#include "ncm/eventstore/event_store.h"

namespace ncm::eventstore {

std::unique_ptr<EventStore> NewMemoryEventStore(Limits limits = {});

}  // namespace ncm::eventstore

#endif  // NCM_EVENTSTORE_MEMORY_EVENT_STORE_H_
