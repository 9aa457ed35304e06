// gateway/metrics/http_server.cc — see http_server.h.
#include "gateway/metrics/http_server.h"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <optional>
#include <string_view>
#include <thread>

namespace switchboard::metrics {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

bool split_host_port(const std::string& text, std::string* host, uint16_t* port) {
  size_t colon;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return false;
    *host = text.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) return false;
    *host = text.substr(0, colon);
    if (host->find(':') != std::string::npos) return false;  // bare IPv6 needs brackets
  }
  std::string_view p = std::string_view(text).substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() || value > 65535) return false;
  *port = uint16_t(value);
  return true;
}

namespace {

constexpr size_t kHeaderLimit = 8 * 1024;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const HttpServer::Options& options, std::atomic<size_t>& active)
      : stream_(std::move(socket)), options_(options), active_(active) {}
  ~Session() { active_.fetch_sub(1); }

  void run() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(kHeaderLimit);
    stream_.expires_after(options_.request_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->on_read(ec);
                     });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted) {
      close();
      return;
    }
    if (ec) {
      // Too large or malformed: answer once, then close.
      http::status status = ec == http::error::header_limit ? http::status::request_header_fields_too_large
                            : ec == http::error::body_limit ? http::status::payload_too_large
                                                            : http::status::bad_request;
      respond(status, "text/plain", std::string(http::obsolete_reason(status)) + "\n", false,
              false);
      return;
    }
    const auto& req = parser_->get();
    bool head = req.method() == http::verb::head;
    bool keep_alive = req.keep_alive();
    if (req.method() != http::verb::get && !head) {
      respond(http::status::method_not_allowed, "text/plain", "method not allowed\n", keep_alive,
              false, "GET, HEAD");
      return;
    }
    std::string_view target(req.target().data(), req.target().size());
    target = target.substr(0, target.find('?'));
    if (target == "/metrics") {
      respond(http::status::ok, "text/plain; version=0.0.4; charset=utf-8",
              options_.render_metrics(), keep_alive, head);
    } else if (target == "/healthz") {
      respond(http::status::ok, "text/plain", "ok\n", keep_alive, head);
    } else if (target == "/readyz") {
      Readiness r = options_.readiness ? options_.readiness() : Readiness{};
      if (r.ready)
        respond(http::status::ok, "text/plain", "ready\n", keep_alive, head);
      else
        respond(http::status::service_unavailable, "text/plain",
                "not ready: " + (r.reason.empty() ? std::string("unknown") : r.reason) + "\n",
                keep_alive, head);
    } else {
      respond(http::status::not_found, "text/plain", "not found\n", keep_alive, head);
    }
  }

  void respond(http::status status, std::string_view type, std::string body, bool keep_alive,
               bool head, std::string_view allow = {}) {
    auto res = std::make_shared<http::response<http::string_body>>(status, 11);
    res->set(http::field::server, "switchboard");
    res->set(http::field::content_type, beast::string_view(type.data(), type.size()));
    if (!allow.empty()) res->set(http::field::allow, beast::string_view(allow.data(), allow.size()));
    res->keep_alive(keep_alive);
    size_t length = body.size();
    if (!head) res->body() = std::move(body);
    res->prepare_payload();
    if (head) res->content_length(length);
    stream_.expires_after(options_.request_timeout);
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
                        if (ec || !keep_alive) {
                          self->close();
                          return;
                        }
                        self->read();
                      });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  const HttpServer::Options& options_;
  std::atomic<size_t>& active_;
  beast::flat_buffer buffer_{kHeaderLimit * 2};
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace

struct HttpServer::Impl {
  // Declaration order matters: sessions still queued in `io` are destroyed
  // with it and touch `options` and `active`, so those are declared first.
  Options options;
  std::atomic<size_t> active{0};
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;
  bool stopped = false;

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) {
        if (active.load() >= options.max_connections) {
          beast::error_code ignored;
          socket.close(ignored);
        } else {
          active.fetch_add(1);
          std::make_shared<Session>(std::move(socket), options, active)->run();
        }
      }
      accept();
    });
  }
};

std::unique_ptr<HttpServer> HttpServer::start(Options options, std::string* error) {
  std::string host;
  uint16_t port = 0;
  if (!split_host_port(options.listen, &host, &port)) {
    if (error) *error = "metrics listen address \"" + options.listen + "\": expected HOST:PORT";
    return nullptr;
  }
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) {
    if (error) *error = "metrics listen address \"" + options.listen + "\": " + ec.message();
    return nullptr;
  }
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->impl_ = std::make_unique<Impl>();
  Impl& impl = *server->impl_;
  impl.options = std::move(options);
  tcp::endpoint endpoint(address, port);
  impl.acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl.acceptor.bind(endpoint, ec);
  if (!ec) impl.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    if (error) *error = "cannot listen on " + impl.options.listen + ": " + ec.message();
    return nullptr;
  }
  impl.accept();
  impl.thread = std::thread([&impl] {
    pthread_setname_np(pthread_self(), "metrics-http");
    for (;;) {
      try {
        impl.io.run();
        return;
      } catch (const std::exception&) {
        // A handler threw (e.g. a metrics callback): keep serving.
      }
    }
  });
  return server;
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  asio::post(impl_->io, [impl = impl_.get()] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
    impl->io.stop();
  });
  if (impl_->thread.joinable()) impl_->thread.join();
}

uint16_t HttpServer::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

std::string HttpServer::address() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  if (ec) return impl_->options.listen;
  std::string host = ep.address().to_string();
  if (ep.address().is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

}  // namespace switchboard::metrics
