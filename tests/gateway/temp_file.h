// tests/gateway/temp_file.h — a configuration file on disk for one test,
// removed at the end of it.
//
//   TempFile file("sip:\n  listen: [\"udp:127.0.0.1:0\"]\n");
//   auto loaded = switchboard::load_config({"--config", file.path()}, env);
#ifndef SWITCHBOARD_TESTS_GATEWAY_TEMP_FILE_H_
#define SWITCHBOARD_TESTS_GATEWAY_TEMP_FILE_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace switchboard::testing {

class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    char name[] = "/tmp/switchboard-config-test-XXXXXX";
    int fd = mkstemp(name);
    EXPECT_GE(fd, 0);
    close(fd);
    path_ = name;
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace switchboard::testing

#endif  // SWITCHBOARD_TESTS_GATEWAY_TEMP_FILE_H_
