// gateway/sip_server.cc — see sip_server.h.
#include "gateway/sip_server.h"

#include <pthread.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <exception>
#include <mutex>
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
  // Connection ids carry the worker index in their low bits.
  options_.threads =
      std::min<unsigned>(options_.threads, sip::transport::ConnectionRegistry::kMaxWorkers);
  options_.transactions.invite_proceeding_limit = options_.invite_proceeding_limit;
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

std::optional<sip::transport::ListenAddress> SipServer::local_for(
    sip::transport::Protocol protocol, const boost::asio::ip::address& remote) const {
  std::shared_lock lock(bound_mutex_);
  for (const auto& a : bound_)
    if (a.protocol == protocol && a.address.is_v6() == remote.is_v6()) return a;
  return std::nullopt;
}

SipServer::Worker* SipServer::current_worker() const {
  for (const auto& w : workers_)
    if (w->io.get_executor().running_in_this_thread()) return w.get();
  return nullptr;
}

namespace {

// Keeps SipServer::sends_in_flight_ raised for a scope; release() lowers it early.
class InFlight {
 public:
  explicit InFlight(std::atomic<int>& count) : count_(&count) { count_->fetch_add(1); }
  ~InFlight() { release(); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
  void release() {
    if (count_ != nullptr) count_->fetch_sub(1);
    count_ = nullptr;
  }

 private:
  std::atomic<int>* count_;
};

}  // namespace

bool SipServer::send(const sip::transport::Source& to, std::string bytes) {
  using sip::transport::Protocol;
  // Registered before running_ is read (both seq_cst): either stop() waits
  // for us, or we see running_ false. See the header comment.
  InFlight in_flight(sends_in_flight_);
  if (!running_.load() || workers_.empty()) return false;
  Worker* w = nullptr;
  if (to.protocol == Protocol::kUdp) {
    bool bound = false;
    for (const auto& a : bound_)
      if (a.protocol == Protocol::kUdp && a.port == to.local_port && a.address == to.local_address)
        bound = true;
    if (!bound) return false;
    // Every worker has a socket on every address: stay on this thread when
    // it is a worker; else pick the worker by destination, so that what one
    // thread sends to one device (ACK then BYE, INFO after INFO) leaves in
    // order, while different devices still spread over the workers.
    w = current_worker();
    if (w == nullptr) {
      size_t h = to.remote_port;
      if (to.remote_address.is_v4()) {
        h = h * 1000003u + to.remote_address.to_v4().to_uint();
      } else {
        for (unsigned char b : to.remote_address.to_v6().to_bytes()) h = h * 131u + b;
      }
      w = workers_[h % workers_.size()].get();
    }
  } else {
    if (to.connection == 0) return false;
    unsigned owner = sip::transport::ConnectionRegistry::worker_of(to.connection);
    if (owner >= workers_.size()) return false;
    w = workers_[owner].get();
  }
  if (w->io.get_executor().running_in_this_thread()) {
    // On w's own thread: w lives until that thread is joined, which cannot
    // happen while we are in it. Released first, so that stop() never waits
    // on a transport call (which may call back into the application).
    in_flight.release();
    return w->transports->send(to, std::move(bytes));
  }
  boost::asio::post(w->io, [w, to, bytes = std::move(bytes)]() mutable {
    w->transports->send(to, std::move(bytes));
  });
  return true;
}

void SipServer::close_unstarted() {
  for (auto& w : workers_) w->transports->close();
  workers_.clear();
  std::unique_lock lock(bound_mutex_);
  bound_.clear();
}

bool SipServer::start(std::string* error) {
  if (running_) {
    if (error) *error = "already running";
    return false;
  }
  {
    std::unique_lock lock(bound_mutex_);
    bound_.clear();
  }
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
    d.on_response = options_.on_response;
    d.metrics = options_.metrics;
    d.draining = &draining_;
    w->dispatcher = std::make_shared<Dispatcher>(w->io, std::move(d), counters_);
    sip::transport::Receiver* receiver = w->dispatcher.get();
    if (options_.on_connection_closed) {
      w->tap = std::make_unique<ConnectionTap>(*w->dispatcher, options_.on_connection_closed);
      receiver = w->tap.get();
    }
    w->transports = std::make_unique<sip::transport::TransportSet>(
        w->io, options_.transport, *receiver, counters_.transport, /*worker=*/i);
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
    std::unique_lock lock(bound_mutex_);
    bound_.push_back(at);
  }

  // Publishes workers_ and bound_ to send() before any worker runs, so a
  // handler may send() from its first message on (posted work waits for run()).
  running_.store(true);
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
  return true;
}

void SipServer::stop() {
  if (!running_.exchange(false)) return;
  // From here on a new send() sees running_ false; wait for the ones that
  // saw it true to finish posting (a few instructions each).
  while (sends_in_flight_.load() != 0) std::this_thread::yield();
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
}

}  // namespace switchboard
