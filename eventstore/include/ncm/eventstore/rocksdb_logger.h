// RocksDB's own log, sent to stderr beside ncmd's lines instead of a LOG
// file in the data folder: nothing is lost when that folder's filesystem
// fails (full, read-only), and Debian's RocksDB build asserts when a file
// writer that has failed is written again, as its LOG writer would be.
#ifndef NCM_EVENTSTORE_ROCKSDB_LOGGER_H_
#define NCM_EVENTSTORE_ROCKSDB_LOGGER_H_

#include <memory>
#include <string>

namespace rocksdb {
class Logger;
}

namespace ncm::eventstore {

// Warnings and errors of the RocksDB database `name`, one key=value line
// each on stderr.
std::shared_ptr<rocksdb::Logger> NewStderrRocksDbLogger(std::string name);

}  // namespace ncm::eventstore

#endif  // NCM_EVENTSTORE_ROCKSDB_LOGGER_H_
