// The real build/bin/switchboard as a child process: on its first start with
// no token configured it prints an admin token once (only its SHA-256 lands
// in DATA_DIR/api_tokens.yaml, mode 0600), ListRealms works with that token;
// a second start prints nothing and the first token still works. A taken
// gRPC port stops the start with exit 1, a bad --grpc-listen with exit 2.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gateway/api/api_token.h"
#include "switchboard/v1/admin.grpc.pb.h"

#ifndef SWITCHBOARD_BINARY
#error "SWITCHBOARD_BINARY must name the switchboard executable"
#endif

extern char** environ;

namespace {

using namespace std::chrono_literals;
using testing::HasSubstr;
namespace v1 = ::switchboard::v1;

constexpr std::string_view kTokenLine =
    "switchboard: admin API token (shown once, only its SHA-256 is stored): ";

// A fresh directory under the test's temp dir, removed at the end.
class Scratch {
 public:
  explicit Scratch(const std::string& name)
      : path_((std::filesystem::path(testing::TempDir()) /
               ("switchboard-api-" + name + "-" + std::to_string(getpid())))
                  .string()) {
    std::filesystem::remove_all(path_);
  }
  ~Scratch() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The child with stdout and stderr captured; killed by PID if still running.
class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    std::string binary = SWITCHBOARD_BINARY;
    std::vector<char*> argv{binary.data()};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // Hermetic: no SWITCHBOARD_* variables from the caller.
    std::vector<std::string> env_text;
    for (char** e = environ; *e != nullptr; ++e)
      if (std::string_view(*e).rfind("SWITCHBOARD_", 0) != 0) env_text.emplace_back(*e);
    std::vector<char*> env;
    for (auto& e : env_text) env.push_back(e.data());
    env.push_back(nullptr);
    if (posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), env.data()) != 0)
      pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    close(err[1]);
    out_ = out[0];
    err_ = err[0];
  }
  ~Child() {
    if (pid_ > 0 && !status_) {
      kill(pid_, SIGKILL);
      int status;
      waitpid(pid_, &status, 0);
    }
    close(out_);
    close(err_);
  }

  // Reads until stderr has a line with `needle`; that line, or nullopt.
  std::optional<std::string> wait_stderr(const std::string& needle,
                                         std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      for (size_t start = 0, nl; (nl = err_text_.find('\n', start)) != std::string::npos;
           start = nl + 1) {
        std::string line = err_text_.substr(start, nl - start);
        if (line.find(needle) != std::string::npos) return line;
      }
      if (std::chrono::steady_clock::now() > deadline || !pump(deadline)) return std::nullopt;
    }
  }

  // SIGTERM, then the exit status (nullopt if it did not exit in time).
  std::optional<int> stop() {
    kill(pid_, SIGTERM);
    return wait_exit();
  }
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!status_) {
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      pump(std::chrono::steady_clock::now() + 10ms);
    }
    while (pump(std::chrono::steady_clock::now())) {
    }
    return status_;
  }

  const std::string& out() const { return out_text_; }
  const std::string& err() const { return err_text_; }

 private:
  // Reads what stdout/stderr have until `deadline`; false on nothing (timeout or EOF).
  bool pump(std::chrono::steady_clock::time_point deadline) {
    pollfd p[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
    int wait = int(std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(
                                            deadline - std::chrono::steady_clock::now())
                                            .count()));
    if (poll(p, 2, wait) <= 0) return false;
    bool got = false;
    char buf[4096];
    for (int i = 0; i < 2; ++i) {
      if (!(p[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = read(p[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? out_text_ : err_text_).append(buf, size_t(n));
        got = true;
      }
    }
    return got;
  }

  pid_t pid_ = -1;
  int out_ = -1, err_ = -1;
  std::optional<int> status_;
  std::string out_text_, err_text_;
};

// "address":"127.0.0.1:40000" in a JSON log line → "127.0.0.1:40000".
std::string address_in(const std::string& line) {
  constexpr std::string_view kKey = "\"address\":\"";
  size_t at = line.find(kKey);
  if (at == std::string::npos) return "";
  at += kKey.size();
  return line.substr(at, line.find('"', at) - at);
}

grpc::Status list_realms(const std::string& address, const std::string& token,
                         v1::ListRealmsResponse* out) {
  auto stub =
      v1::AdminService::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext c;
  if (!token.empty()) c.AddMetadata("authorization", "Bearer " + token);
  c.set_deadline(std::chrono::system_clock::now() + 5s);
  return stub->ListRealms(&c, {}, out);
}

std::vector<std::string> server_args(const std::string& data_dir) {
  return {"--data-dir", data_dir, "--sip-listen",  "udp:127.0.0.1:0",
          "--threads",  "1",      "--grpc-listen", "127.0.0.1:0"};
}

// Verifies the first start prints an admin token once, stores only its hash
// (0600), the token works for ListRealms; a second start prints no token and
// the first one still works.
TEST(ApiBinary, FirstStartPrintsAdminTokenOnce) {
  Scratch dir("token");
  const std::string data = dir.path() + "/data";
  std::string token;
  {
    Child child(server_args(data));
    auto line = child.wait_stderr("\"msg\":\"grpc listening\"");
    ASSERT_TRUE(line) << child.err();
    ASSERT_TRUE(child.wait_stderr("\"msg\":\"started\""));
    const std::string address = address_in(*line);
    size_t at = child.out().find(kTokenLine);
    ASSERT_NE(at, std::string::npos) << child.out();
    token = child.out().substr(at + kTokenLine.size());
    token = token.substr(0, token.find('\n'));
    EXPECT_EQ(token.rfind("sbt_", 0), 0u);
    EXPECT_EQ(token.size(), 47u);
    EXPECT_EQ(child.err().find(token), std::string::npos) << "the token reached the log";
    ASSERT_TRUE(child.wait_stderr("\"msg\":\"api token created\""));

    v1::ListRealmsResponse realms;
    grpc::Status s = list_realms(address, token, &realms);
    EXPECT_TRUE(s.ok()) << s.error_message();
    s = list_realms(address, "", &realms);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(child.stop(), 0) << child.err();
  }
  const std::string file = data + "/api_tokens.yaml";
  struct stat st {};
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str().find(token), std::string::npos) << "the token itself was stored";
  EXPECT_THAT(text.str(), HasSubstr("role: admin"));

  Child again(server_args(data));
  auto line = again.wait_stderr("\"msg\":\"grpc listening\"");
  ASSERT_TRUE(line) << again.err();
  ASSERT_TRUE(again.wait_stderr("\"msg\":\"started\""));
  EXPECT_EQ(again.out().find(kTokenLine), std::string::npos) << again.out();
  ASSERT_TRUE(again.wait_stderr("\"msg\":\"api tokens\""));
  v1::ListRealmsResponse realms;
  grpc::Status s = list_realms(address_in(*line), token, &realms);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(again.stop(), 0);
}

// Verifies configured api.tokens are used instead of the file, and no token is generated.
TEST(ApiBinary, ConfiguredTokensReplaceTheFile) {
  Scratch dir("configured");
  std::filesystem::create_directories(dir.path());
  const std::string token = "sbt_configured-token-for-test";
  const std::string config = dir.path() + "/switchboard.yaml";
  std::ofstream(config) << "api:\n  tokens:\n    - name: ops\n      role: read\n      sha256: \""
                        << switchboard::api::to_hex(switchboard::api::sha256(token)) << "\"\n";
  std::vector<std::string> args = server_args(dir.path() + "/data");
  args.push_back("--config");
  args.push_back(config);
  Child child(args);
  auto line = child.wait_stderr("\"msg\":\"grpc listening\"");
  ASSERT_TRUE(line) << child.err();
  ASSERT_TRUE(child.wait_stderr("\"msg\":\"started\""));
  EXPECT_EQ(child.out().find(kTokenLine), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/data/api_tokens.yaml"));
  v1::ListRealmsResponse realms;
  grpc::Status s = list_realms(address_in(*line), token, &realms);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(child.stop(), 0);
}

// Verifies a taken gRPC port stops the start with exit 1 and a clear message,
// leaving no token behind.
TEST(ApiBinary, TakenGrpcPortExitsOne) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const std::string address = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  Scratch dir("taken");
  Child child({"--data-dir", dir.path(), "--sip-listen", "udp:127.0.0.1:0", "--threads", "1",
               "--grpc-listen", address});
  EXPECT_EQ(child.wait_exit(), 1);
  close(fd);
  EXPECT_THAT(child.err(), HasSubstr("cannot listen on " + address));
  // No token was printed or stored: the next (working) start prints one.
  EXPECT_EQ(child.out().find(kTokenLine), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/api_tokens.yaml"));
}

// Verifies a malformed --grpc-listen is a usage error (exit 2) naming the flag.
TEST(ApiBinary, BadGrpcListenExitsTwo) {
  Child child({"--grpc-listen", "::1:50051"});
  EXPECT_EQ(child.wait_exit(), 2);
  EXPECT_THAT(child.err(), HasSubstr("--grpc-listen: IPv6 addresses go in brackets"));
}

}  // namespace
