// tests/registrar/temp_dir.h — a private directory under $TMPDIR (or /tmp),
// removed with everything in it when the object goes.
#ifndef SWITCHBOARD_TESTS_REGISTRAR_TEMP_DIR_H_
#define SWITCHBOARD_TESTS_REGISTRAR_TEMP_DIR_H_

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace registrar::testing {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/switchboard-store-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace registrar::testing

#endif  // SWITCHBOARD_TESTS_REGISTRAR_TEMP_DIR_H_
