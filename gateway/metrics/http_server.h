// gateway/metrics/http_server.h — the operations endpoint: Prometheus
// /metrics, /healthz (the process is alive) and /readyz (ready for traffic),
// over plain HTTP/1.1 with Boost.Beast on its own thread.
//
//   metrics::HttpServer::Options o;
//   o.listen = "127.0.0.1:9090";
//   o.render_metrics = [&] { return registry.render(); };
//   o.readiness = [&] { return metrics::Readiness{!draining, draining ? "draining" : ""}; };
//   std::string error;
//   auto http = metrics::HttpServer::start(o, &error);   // nullptr + error when it cannot bind
//   http->port();                                         // the bound port (0 resolved)
//   http->stop();
//
// Answers: GET/HEAD /metrics → 200 text/plain; version=0.0.4; /healthz → 200
// "ok"; /readyz → 200 "ready" or 503 with the reason; any other path → 404;
// any other method → 405 with Allow. Bounded: requests over 8 KiB are
// refused (431/413 and close), at most `max_connections` at once (further
// ones are closed at accept), each request must arrive within
// `request_timeout`, keep-alive connections idle longer are closed.
//
// Threading: start()/stop() from one controlling thread; the callbacks run on
// the server's thread and must be thread-safe.
#ifndef SWITCHBOARD_GATEWAY_METRICS_HTTP_SERVER_H_
#define SWITCHBOARD_GATEWAY_METRICS_HTTP_SERVER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace switchboard::metrics {

struct Readiness {
  bool ready = true;
  std::string reason;  // why not ready ("draining", "store unreachable"); "" when ready
};

class HttpServer {
 public:
  struct Options {
    std::string listen = "127.0.0.1:9090";  // "HOST:PORT", "[::1]:9090"; port 0 = any
    std::function<std::string()> render_metrics;   // required
    std::function<Readiness()> readiness;          // nullptr: always ready
    size_t max_connections = 64;
    std::chrono::milliseconds request_timeout{5000};
  };

  static std::unique_ptr<HttpServer> start(Options options, std::string* error);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void stop();
  uint16_t port() const;
  std::string address() const;  // "127.0.0.1:9090"

 private:
  HttpServer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Splits "HOST:PORT" / "[v6]:PORT"; false when malformed.
bool split_host_port(const std::string& text, std::string* host, uint16_t* port);

}  // namespace switchboard::metrics

#endif  // SWITCHBOARD_GATEWAY_METRICS_HTTP_SERVER_H_
