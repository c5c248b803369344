// Reading a whole file in tests.
#ifndef NCM_TESTING_READ_FILE_H_
#define NCM_TESTING_READ_FILE_H_

#include <fstream>
#include <sstream>
#include <string>

namespace ncm::testing {

// The whole file ("" when it cannot be read).
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace ncm::testing

#endif  // NCM_TESTING_READ_FILE_H_
