// End to end: the real build/bin/switchboard as a child process. It listens on
// ephemeral ports (reported in its JSON log), answers OPTIONS over UDP and
// TCP, and exits 0 on SIGTERM/SIGINT; bad flags and bind failures exit
// non-zero with a message. Children are always reaped: a test that fails
// midway kills its child by PID.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <string_view>
#include <string>
#include <thread>
#include <vector>

#include "sip/parser.h"
#include "test_peer.h"

#ifndef SWITCHBOARD_BINARY
#error "SWITCHBOARD_BINARY must name the switchboard executable"
#endif

extern char** environ;

namespace {

// A fresh data directory under the test's temp dir, so the binary never writes
// into the build tree.
std::string scratch_dir(const std::string& name) {
  std::filesystem::path dir = std::filesystem::path(testing::TempDir()) /
                              ("switchboard-" + name + "-" + std::to_string(getpid()));
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return dir.string();
}

using namespace std::chrono_literals;
using testpeer::RequestSpec;

class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    std::vector<char*> argv;
    std::string binary = SWITCHBOARD_BINARY;
    argv.push_back(binary.data());
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
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
    if (out_ >= 0) close(out_);
    if (err_ >= 0) close(err_);
  }

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // The exit status once the child exits within `timeout` (-signal if killed).
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = 2000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!status_) {
      int status;
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(5ms);
    }
    drain(out_, stdout_, 0ms);
    drain(err_, stderr_, 0ms);
    return status_;
  }

  // Reads stderr until a line containing all of `needles` appears.
  std::optional<std::string> wait_stderr_line(std::vector<std::string> needles,
                                              std::chrono::milliseconds timeout = 2000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      size_t start = 0;
      for (size_t nl; (nl = stderr_.find('\n', start)) != std::string::npos; start = nl + 1) {
        std::string line = stderr_.substr(start, nl - start);
        bool all = true;
        for (const auto& n : needles) all = all && line.find(n) != std::string::npos;
        if (all && consumed_.insert(start).second) return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= 0ms || !drain(err_, stderr_, left)) return std::nullopt;
    }
  }

  const std::string& out() const { return stdout_; }
  const std::string& err() const { return stderr_; }

 private:
  // Appends what `fd` has within `timeout`; false on timeout or EOF.
  static bool drain(int fd, std::string& into, std::chrono::milliseconds timeout) {
    bool got = false;
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, got ? 0 : int(timeout.count())) <= 0) return got;
      char buf[4096];
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) return got;
      into.append(buf, size_t(n));
      got = true;
    }
  }

  pid_t pid_ = -1;
  int out_ = -1, err_ = -1;
  std::optional<int> status_;
  std::string stdout_, stderr_;
  std::set<size_t> consumed_;
};

// "address":"127.0.0.1:40000" → 40000.
uint16_t port_in(const std::string& line) {
  constexpr std::string_view kKey = "\"address\":\"";
  size_t at = line.find(kKey);
  if (at == std::string::npos) return 0;
  size_t end = line.find('"', at + kKey.size());
  size_t colon = line.rfind(':', end);
  if (end == std::string::npos || colon == std::string::npos || colon < at) return 0;
  return uint16_t(std::stoul(line.substr(colon + 1, end - colon - 1)));
}

int status_of(const std::optional<std::string>& bytes) {
  if (!bytes) return 0;
  sip::ParseResult r = sip::parse_message(*bytes);
  return r.ok() && r.message().is_response() ? r.message().status_code() : 0;
}

TEST(SwitchboardBinary, HelpExitsZeroAndDocumentsFlags) {
  Child child({"--help"});
  ASSERT_TRUE(child.started());
  EXPECT_EQ(child.wait_exit(), 0);
  for (const char* flag : {"--sip-listen", "--threads", "--log-level", "--help", "--version"})
    EXPECT_NE(child.out().find(flag), std::string::npos) << flag << "\n" << child.out();
}

TEST(SwitchboardBinary, VersionExitsZero) {
  Child child({"--version"});
  ASSERT_TRUE(child.started());
  EXPECT_EQ(child.wait_exit(), 0);
  EXPECT_EQ(child.out().rfind("switchboard ", 0), 0u) << child.out();
}

TEST(SwitchboardBinary, BadListenAddressExitsTwoWithAMessage) {
  Child child({"--sip-listen", "foo"});
  ASSERT_TRUE(child.started());
  EXPECT_EQ(child.wait_exit(), 2);
  EXPECT_NE(child.err().find("--sip-listen"), std::string::npos) << child.err();
  EXPECT_NE(child.err().find("\"foo\""), std::string::npos) << child.err();
}

TEST(SwitchboardBinary, UnknownFlagExitsTwo) {
  Child child({"--frobnicate"});
  ASSERT_TRUE(child.started());
  EXPECT_EQ(child.wait_exit(), 2);
  EXPECT_NE(child.err().find("unknown option"), std::string::npos) << child.err();
}

TEST(SwitchboardBinary, BindFailureExitsOne) {
  // Hold a UDP port with a plain socket; switchboard must refuse to share it.
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  std::string spec = "udp:127.0.0.1:" + std::to_string(ntohs(a.sin_port));

  // No gRPC API: the bind that fails must be the SIP one named above.
  Child child({"--sip-listen", spec, "--threads", "2", "--data-dir", scratch_dir("bind"),
               "--grpc-listen", "off"});
  ASSERT_TRUE(child.started());
  EXPECT_EQ(child.wait_exit(), 1);
  close(fd);
  EXPECT_NE(child.err().find("\"level\":\"error\""), std::string::npos) << child.err();
  EXPECT_NE(child.err().find(spec), std::string::npos) << child.err();
  EXPECT_NE(child.err().find("in use"), std::string::npos) << child.err();
}

class RunningBinary : public ::testing::TestWithParam<int> {};

TEST_P(RunningBinary, AnswersOptionsOverUdpAndTcpAndStopsCleanly) {
  const int signal_number = GetParam();
  // The gRPC API on a free port too: its default, 127.0.0.1:50051, would
  // collide with the other parameter running in parallel.
  Child child({"--grpc-listen", "127.0.0.1:0", "--sip-listen", "udp:127.0.0.1:0", "--sip-listen",
               "tcp:127.0.0.1:0", "--threads", "2", "--log-level", "debug", "--data-dir",
               scratch_dir("signals")});
  ASSERT_TRUE(child.started());
  auto udp_line = child.wait_stderr_line({"\"msg\":\"listening\"", "\"transport\":\"udp\""});
  ASSERT_TRUE(udp_line) << child.err();
  auto tcp_line = child.wait_stderr_line({"\"msg\":\"listening\"", "\"transport\":\"tcp\""});
  ASSERT_TRUE(tcp_line) << child.err();
  EXPECT_EQ(udp_line->front(), '{');
  EXPECT_EQ(udp_line->back(), '}');
  EXPECT_NE(udp_line->find("\"ts\":\""), std::string::npos);
  EXPECT_NE(udp_line->find("\"level\":\"info\""), std::string::npos);
  uint16_t udp_port = port_in(*udp_line), tcp_port = port_in(*tcp_line);
  ASSERT_NE(udp_port, 0);
  ASSERT_NE(tcp_port, 0);

  testpeer::UdpPeer udp;
  RequestSpec spec;
  spec.via_port = udp.port();
  ASSERT_TRUE(udp.send_to("127.0.0.1", udp_port, testpeer::make_request(spec)));
  EXPECT_EQ(status_of(udp.receive()), 200);

  testpeer::TcpPeer tcp;
  ASSERT_TRUE(tcp.connect("127.0.0.1", tcp_port));
  spec.transport = "TCP";
  spec.via_port = tcp.local_port();
  spec.branch = "z9hG4bK-e2e-tcp";
  ASSERT_TRUE(tcp.write(testpeer::make_request(spec)));
  EXPECT_EQ(status_of(tcp.read_message()), 200);

  ASSERT_EQ(kill(child.pid(), signal_number), 0);
  EXPECT_EQ(child.wait_exit(), 0) << child.err();
  EXPECT_NE(child.err().find("\"msg\":\"stopped\""), std::string::npos) << child.err();
  EXPECT_TRUE(tcp.wait_closed()) << "connections close on shutdown";
}

INSTANTIATE_TEST_SUITE_P(Signals, RunningBinary, ::testing::Values(SIGTERM, SIGINT),
                         [](const auto& p) { return p.param == SIGTERM ? "SIGTERM" : "SIGINT"; });

}  // namespace
