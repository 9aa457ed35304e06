// gateway/sip_server.cc — see sip_server.h.
#include "gateway/sip_server.h"

#include <pthread.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <exception>
#include <thread>

#include "gateway/default_handler.h"
#include "gateway/dispatcher.h"
#include "sip/transport/socket_options.h"

namespace switchboard {

namespace {

// Sits between a thread's transports and its dispatcher to tell the
// application about closed connections; everything else passes through.
class ConnectionTap final : public sip::transport::Receiver {
 public:
  ConnectionTap(sip::transport::Receiver& inner,
                const std::function<void(const sip::transport::Source&, std::string_view)>& closed)
      : inner_(inner), closed_(closed) {}

  void on_message(sip::ParseResult& parsed, std::string_view raw,
                  const sip::transport::Source& source) override {
    inner_.on_message(parsed, raw, source);
  }
  void on_connection_event(const sip::transport::Source& source,
                           sip::transport::ConnectionEvent event,
                           std::string_view detail) override {
    inner_.on_connection_event(source, event, detail);
    if (event == sip::transport::ConnectionEvent::kClosed) closed_(source, detail);
  }

 private:
  sip::transport::Receiver& inner_;
  const std::function<void(const sip::transport::Source&, std::string_view)>& closed_;
};

}  // namespace

// One worker thread. Member order is destruction order reversed: the
// io_context outlives everything that registered with it.
struct SipServer::Worker {
  boost::asio::io_context io{1};  // one thread runs it: no internal locking needed
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard;
  std::shared_ptr<Dispatcher> dispatcher;
  std::unique_ptr<ConnectionTap> tap;  // only with options.on_connection_closed
  std::unique_ptr<sip::transport::TransportSet> transports;
  std::thread thread;
};

SipServer::SipServer(SipServerOptions options) : options_(std::move(options)) {
  if (options_.threads == 0) options_.threads = 1;
  if (!options_.clock) options_.clock = std::make_shared<sip::SystemClock>();
  if (!options_.tags) options_.tags = random_tag_source();
  if (!options_.handler) options_.handler = std::make_shared<DefaultRequestHandler>(options_.tags);
}

SipServer::~SipServer() { stop(); }

std::optional<sip::transport::ListenAddress> SipServer::bound_address(
    sip::transport::Protocol protocol, bool ipv6) const {
  for (const auto& a : bound_)
    if (a.protocol == protocol && a.address.is_v6() == ipv6) return a;
  return std::nullopt;
}

void SipServer::close_unstarted() {
  for (auto& w : workers_) w->transports->close();
  workers_.clear();
  bound_.clear();
}

bool SipServer::start(std::string* error) {
  if (running_) {
    if (error) *error = "already running";
    return false;
  }
  bound_.clear();
  if (options_.listen.empty()) {
    if (error) *error = "no listen address";
    return false;
  }

  for (unsigned i = 0; i < options_.threads; ++i) {
    auto w = std::make_unique<Worker>();
    DispatcherOptions d;
    d.handler = options_.handler;
    d.clock = options_.clock;
    d.tags = options_.tags;
    d.logger = options_.logger;
    d.transactions = options_.transactions;
    d.expiry_interval = options_.expiry_interval;
    w->dispatcher = std::make_shared<Dispatcher>(w->io, std::move(d), counters_);
    sip::transport::Receiver* receiver = w->dispatcher.get();
    if (options_.on_connection_closed) {
      w->tap = std::make_unique<ConnectionTap>(*w->dispatcher, options_.on_connection_closed);
      receiver = w->tap.get();
    }
    w->transports = std::make_unique<sip::transport::TransportSet>(w->io, options_.transport,
                                                                   *receiver, counters_.transport);
    w->dispatcher->attach(*w->transports);
    workers_.push_back(std::move(w));
  }

  for (const sip::transport::ListenAddress& requested : options_.listen) {
    // Probe first: SO_REUSEPORT would let us silently share the address with
    // another process of the same user; a plain socket sees the conflict.
    // For port 0 the probe also picks the port every thread then binds.
    boost::system::error_code ec;
    std::optional<uint16_t> port = sip::transport::probe_bind(requested, ec);
    sip::transport::ListenAddress at = requested;
    if (port) {
      at.port = *port;
      for (auto& w : workers_) {
        if (!w->transports->listen(at, ec)) break;
      }
    }
    if (ec) {
      if (error) *error = "cannot listen on " + requested.to_string() + ": " + ec.message();
      close_unstarted();
      return false;
    }
    bound_.push_back(at);
  }

  for (size_t i = 0; i < workers_.size(); ++i) {
    Worker* w = workers_[i].get();
    w->guard.emplace(w->io.get_executor());
    boost::asio::post(w->io, [w] {
      w->transports->start();
      w->dispatcher->start();
    });
    w->thread = std::thread([this, w, i] {
      std::string name = "sip-worker-" + std::to_string(i);
      pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
      for (;;) {
        try {
          w->io.run();
          return;
        } catch (const std::exception& e) {
          // A handler threw: log and keep serving; one bad message must not
          // take the thread (and its sockets) down.
          if (options_.logger) options_.logger->error("worker exception", {{"what", e.what()}});
        }
      }
    });
  }
  running_ = true;
  return true;
}

void SipServer::stop() {
  if (!running_) return;
  for (auto& w : workers_) {
    Worker* worker = w.get();
    boost::asio::post(worker->io, [worker] {
      worker->dispatcher->stop();
      worker->transports->close();
      // Let the aborted operations queued by close() run, then return from run().
      boost::asio::post(worker->io, [worker] { worker->io.stop(); });
    });
    worker->guard.reset();
  }
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
  workers_.clear();
  running_ = false;
}

}  // namespace switchboard
