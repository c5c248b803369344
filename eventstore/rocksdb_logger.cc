#include "ncm/eventstore/rocksdb_logger.h"

#include <cstdarg>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "rocksdb/env.h"

namespace ncm::eventstore {
namespace {

class StderrLogger final : public rocksdb::Logger {
 public:
  explicit StderrLogger(std::string name)
      : Logger(rocksdb::InfoLogLevel::WARN_LEVEL), name_(std::move(name)) {}

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Write(rocksdb::InfoLogLevel::WARN_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    Write(level, format, ap);
  }

 private:
  void Write(rocksdb::InfoLogLevel level, const char* format, va_list ap) {
    char buf[2048];
    std::vsnprintf(buf, sizeof buf, format, ap);
    const std::string detail =
        absl::StrReplaceAll(buf, {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", " "}});
    const std::string line = absl::StrCat(
        "ts=", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
        " level=", level >= rocksdb::InfoLogLevel::ERROR_LEVEL ? "error" : "warn",
        " msg=\"rocksdb\" db=", name_, " detail=\"", detail, "\"\n");
    std::fputs(line.c_str(), stderr);
  }

  const std::string name_;
};

}  // namespace

std::shared_ptr<rocksdb::Logger> NewStderrRocksDbLogger(std::string name) {
  return std::make_shared<StderrLogger>(std::move(name));
}

}  // namespace ncm::eventstore
