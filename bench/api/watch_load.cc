// bench/api/watch_load.cc — holds N WatchRegistrations streams open against a
// Switchboard, each on its own HTTP/2 connection (as N separate consumers
// would), and counts what they receive. The load side of
// bench/api/watchers_bench.sh; C++ with gRPC's callback client API so the
// consumers keep up with thousands of events per second each (a Python
// client falls behind and gets itself ended with RESOURCE_EXHAUSTED, which
// would measure the client, not the server).
//
//   bench_watch_load --server 127.0.0.1:50051 --token T [--watchers 100]
//
// Prints "ready" once every stream has started, then runs until SIGTERM or
// SIGINT and prints one key=value line:
//   watchers=100 events_total=… events_min=… events_max=… errors=0 [first_error="…"]
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <condition_variable>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "switchboard/v1/registration.grpc.pb.h"

namespace {

namespace v1 = ::switchboard::v1;

class Watcher final : public grpc::ClientReadReactor<v1::RegistrationEvent> {
 public:
  Watcher(const std::string& server, const std::string& token, int index) {
    grpc::ChannelArguments args;
    args.SetInt("switchboard.bench.watcher", index);  // distinct args: a connection each
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    channel_ = grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(), args);
    stub_ = v1::RegistrationService::NewStub(channel_);
    context_.AddMetadata("authorization", "Bearer " + token);
    stub_->async()->WatchRegistrations(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    count_.fetch_add(1, std::memory_order_relaxed);
    StartRead(&event_);
  }
  void OnDone(const grpc::Status& status) override {
    std::lock_guard lock(mu_);
    status_ = status;
    done_ = true;
    cv_.notify_all();
  }

  void cancel() { context_.TryCancel(); }
  void wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_; });
  }
  uint64_t count() const { return count_.load(); }
  const grpc::Status& status() const { return status_; }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::RegistrationService::Stub> stub_;
  grpc::ClientContext context_;
  v1::WatchRegistrationsRequest request_;
  v1::RegistrationEvent event_;
  std::atomic<uint64_t> count_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  grpc::Status status_;
};

const char* arg(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const char* server = arg(argc, argv, "--server", nullptr);
  const char* token = arg(argc, argv, "--token", nullptr);
  const int watchers = std::atoi(arg(argc, argv, "--watchers", "100"));
  if (server == nullptr || token == nullptr || watchers <= 0) {
    std::fprintf(stderr, "usage: bench_watch_load --server HOST:PORT --token T [--watchers N]\n");
    return 2;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before gRPC starts its threads

  std::vector<std::unique_ptr<Watcher>> all;
  for (int i = 0; i < watchers; ++i) all.push_back(std::make_unique<Watcher>(server, token, i));
  std::printf("ready\n");
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);

  for (auto& w : all) w->cancel();
  uint64_t total = 0, lo = UINT64_MAX, hi = 0;
  int errors = 0;
  std::string first_error;
  for (auto& w : all) {
    w->wait();
    total += w->count();
    lo = std::min(lo, w->count());
    hi = std::max(hi, w->count());
    if (!w->status().ok() && w->status().error_code() != grpc::StatusCode::CANCELLED) {
      if (errors++ == 0) first_error = w->status().error_message();
    }
  }
  std::printf("watchers=%d events_total=%llu events_min=%llu events_max=%llu errors=%d", watchers,
              static_cast<unsigned long long>(total), static_cast<unsigned long long>(lo),
              static_cast<unsigned long long>(hi), errors);
  if (errors > 0) std::printf(" first_error=\"%s\"", first_error.c_str());
  std::printf("\n");
  return 0;
}
