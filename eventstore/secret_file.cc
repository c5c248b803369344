#include "ncm/eventstore/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ncm::eventstore {

absl::StatusOr<std::optional<std::string>> ReadSecretFile(
    const std::string& path, absl::string_view what, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return std::nullopt;
  if (fd < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot read the ", what, " file ", path, ": ", std::strerror(errno)));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
    ::close(fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "the ", what, " file ", path,
        " can be read by other users; make it the owner's alone: chmod 600 ",
        path));
  }
  std::string bytes(max_bytes + 1, '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got > max_bytes) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the ", what, " file ", path, " is larger than ", max_bytes, " bytes"));
  }
  bytes.resize(got);
  return bytes;
}

absl::Status CreateSecretFile(const std::string& path, absl::string_view bytes,
                              absl::string_view what) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create the ", what, " file ", path, ": ", std::strerror(errno)));
  }
  const bool ok = ::write(fd, bytes.data(), bytes.size()) ==
                      static_cast<ssize_t>(bytes.size()) &&
                  ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) {
    return absl::UnavailableError(absl::StrCat(
        "cannot write the ", what, " file ", path, ": ", std::strerror(err)));
  }
  std::string dir = path.substr(0, path.find_last_of('/') + 1);
  if (dir.empty()) dir = ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
}

}  // namespace ncm::eventstore
