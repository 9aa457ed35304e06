// tests/registrar/redis_server.h — a private redis-server for a test: started
// on a free 127.0.0.1 port without persistence, stopped (by its PID) when the
// object goes. Tests skip when redis-server is not installed (`make test`
// installs it).
//
//   RedisServer redis;
//   if (!redis.available()) GTEST_SKIP() << RedisServer::kNotInstalled;
//   ASSERT_TRUE(redis.start()) << redis.error();
//   auto store = RedisBindingStore::open(redis.url(), {});
//   redis.stop();    // kill -TERM <pid>: Redis is gone
//   redis.start();   // again, on the same port (empty: no persistence)
#ifndef SWITCHBOARD_TESTS_REGISTRAR_REDIS_SERVER_H_
#define SWITCHBOARD_TESTS_REGISTRAR_REDIS_SERVER_H_

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "registrar/store/redis/redis_connection.h"

namespace registrar::testing {

class RedisServer {
 public:
  static constexpr const char* kNotInstalled =
      "redis-server is not installed (apt-get install redis-server; `make test` does)";

  RedisServer() = default;
  ~RedisServer() { stop(); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // redis-server is on the PATH.
  static bool available() {
    const char* path = std::getenv("PATH");
    std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
    size_t start = 0;
    while (start <= dirs.size()) {
      const size_t end = dirs.find(':', start);
      const std::string dir =
          dirs.substr(start, end == std::string::npos ? std::string::npos : end - start);
      if (!dir.empty() && access((dir + "/redis-server").c_str(), X_OK) == 0) return true;
      if (end == std::string::npos) break;
      start = end + 1;
    }
    return false;
  }

  // Starts redis-server (on the same port as before, if it ran already) and
  // waits until it answers PING (at most 5 s).
  bool start() {
    if (pid_ > 0) return true;
    if (port_ == 0) port_ = free_port();
    if (port_ == 0) {
      error_ = "no free port";
      return false;
    }
    const std::string port = std::to_string(port_);
    std::vector<std::string> args{
        "redis-server", "--port",      port, "--bind", "127.0.0.1", "--save",    "", "--appendonly",
        "no",           "--daemonize", "no", "--dir",  "/tmp",      "--logfile", ""};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    pid_ = fork();
    if (pid_ < 0) {
      error_ = "fork failed";
      pid_ = 0;
      return false;
    }
    if (pid_ == 0) {
      const int devnull = ::open("/dev/null", O_RDWR);
      if (devnull >= 0) {
        dup2(devnull, 1);
        dup2(devnull, 2);
      }
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp("redis-server", argv.data());
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        error_ = "redis-server exited at start (port " + port + ")";
        return false;
      }
      RedisConnection c(url(), {.connect_timeout = std::chrono::milliseconds(200),
                                .io_timeout = std::chrono::milliseconds(200)});
      RedisResult r = c.command({"PING"});
      if (r.ok() && (r.reply.str == "PONG" || r.reply.str.rfind("NOAUTH", 0) == 0)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    error_ = "redis-server did not answer PING within 5 s";
    stop();
    return false;
  }

  // Kills the server (SIGKILL: like a crash) and reaps it.
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
  }

  // Appended to redis-server's arguments at start() (e.g. {"--requirepass", "pw"}).
  std::vector<std::string> extra_args;

  RedisUrl url() const {
    RedisUrl u;
    u.host = "127.0.0.1";
    u.port = port_;
    return u;
  }
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& error() const { return error_; }

 private:
  static uint16_t free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    uint16_t port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    close(fd);
    return port;
  }

  uint16_t port_ = 0;
  pid_t pid_ = 0;
  std::string error_;
};

}  // namespace registrar::testing

#endif  // SWITCHBOARD_TESTS_REGISTRAR_REDIS_SERVER_H_
