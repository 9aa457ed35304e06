// clients/sbctl/interrupts.h — SIGINT/SIGTERM as a cancellation of a
// streaming call (sbctl watch, sbctl call watch, sbctl call create --wait):
//
//   Interrupts interrupts;                    // before the first gRPC object
//   auto context = session.context(false);
//   interrupts.cancel_on_signal(context.get());
//   … the call …
//   if (interrupts.stop()) return kExitOk;    // interrupted by the user
//
// Threading: construct and stop() on the main thread.
#ifndef SWITCHBOARD_CLIENTS_SBCTL_INTERRUPTS_H_
#define SWITCHBOARD_CLIENTS_SBCTL_INTERRUPTS_H_

#include <grpcpp/client_context.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <thread>

namespace sbctl {

// Turns SIGINT and SIGTERM into a cancellation of the call. The constructor
// blocks them (and SIGUSR1, the wake-up) in this thread, so every thread gRPC
// starts later inherits the mask; a small thread takes them with sigwait().
// REQUIRES: constructed before the first gRPC object of the process.
class Interrupts {
 public:
  Interrupts() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  Interrupts(const Interrupts&) = delete;
  Interrupts& operator=(const Interrupts&) = delete;

  // Cancels `context` on SIGINT or SIGTERM. `context` must outlive stop().
  void cancel_on_signal(grpc::ClientContext* context) {
    thread_ = std::thread([this, context] {
      int signal = 0;
      sigwait(&set_, &signal);
      if (signal == SIGUSR1) return;  // stop()
      interrupted_ = true;
      context->TryCancel();
    });
  }

  // Ends the signal thread; true when a signal cancelled the call.
  bool stop() {
    if (thread_.joinable()) {
      if (!interrupted_) pthread_kill(thread_.native_handle(), SIGUSR1);
      thread_.join();
    }
    return interrupted_;
  }

  ~Interrupts() { stop(); }

 private:
  sigset_t set_;
  std::thread thread_;
  std::atomic<bool> interrupted_{false};
};

}  // namespace sbctl

#endif  // SWITCHBOARD_CLIENTS_SBCTL_INTERRUPTS_H_
