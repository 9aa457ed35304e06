// tests/metrics/metrics_test.cc — the metrics registry's arithmetic and text
// exposition, and the /metrics /healthz /readyz endpoint over a real socket.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <string>
#include <thread>
#include <vector>

#include "gateway/metrics/http_server.h"
#include "gateway/metrics/metrics.h"
#include "gateway/metrics/process_metrics.h"
#include "gateway/metrics/registrar_metrics.h"
#include "registrar/location_service.h"
#include "registrar/store/memory_stores.h"
#include "sip/clock.h"

namespace switchboard::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(Counter, SumsIncrementsFromManyThreads) {
  Counter c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&c] {
      for (int i = 0; i < 10000; ++i) c.inc();
    });
  for (auto& t : threads) t.join();
  c.inc(5);
  EXPECT_EQ(c.value(), 80005u);
}

TEST(Histogram, CountsIntoCumulativeBuckets) {
  Histogram h({0.1, 1, 0.5});  // unsorted on purpose
  h.observe(0.05);
  h.observe(0.1);  // le is inclusive
  h.observe(0.7);
  h.observe(3);
  Histogram::Snapshot s = h.snapshot();
  ASSERT_EQ(s.cumulative.size(), 4u);
  EXPECT_EQ(s.cumulative[0], 2u);  // <= 0.1
  EXPECT_EQ(s.cumulative[1], 2u);  // <= 0.5
  EXPECT_EQ(s.cumulative[2], 3u);  // <= 1
  EXPECT_EQ(s.cumulative[3], 4u);  // +Inf
  EXPECT_NEAR(s.sum, 3.85, 1e-6);
}

TEST(Registry, RendersTheTextExpositionFormat) {
  Registry r;
  auto& requests = r.counter("sb_requests_total", "Requests.", {"method", "transport"});
  requests.with({"REGISTER", "udp"}).inc(3);
  requests.with({"INVITE", "tcp"}).inc();
  auto& lat = r.histogram("sb_duration_seconds", "Time.", {}, {0.5, 1});
  lat.with({}).observe(0.25);
  r.gauge("sb_active", "Active by realm.", {"realm"}, [](GaugeWriter& w) {
    w.set({"a\"b"}, 2);
  });
  EXPECT_EQ(r.render(),
            "# HELP sb_requests_total Requests.\n"
            "# TYPE sb_requests_total counter\n"
            "sb_requests_total{method=\"INVITE\",transport=\"tcp\"} 1\n"
            "sb_requests_total{method=\"REGISTER\",transport=\"udp\"} 3\n"
            "# HELP sb_duration_seconds Time.\n"
            "# TYPE sb_duration_seconds histogram\n"
            "sb_duration_seconds_bucket{le=\"0.5\"} 1\n"
            "sb_duration_seconds_bucket{le=\"1\"} 1\n"
            "sb_duration_seconds_bucket{le=\"+Inf\"} 1\n"
            "sb_duration_seconds_sum 0.25\n"
            "sb_duration_seconds_count 1\n"
            "# HELP sb_active Active by realm.\n"
            "# TYPE sb_active gauge\n"
            "sb_active{realm=\"a\\\"b\"} 2\n");
}

TEST(Registry, FormatsValuesExactly) {
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(1795697214.235), "1795697214.235");
  EXPECT_EQ(format_value(1.0 / 0.0), "+Inf");
}

TEST(Registry, SameNameReturnsTheSameFamily) {
  Registry r;
  auto& a = r.counter("sb_x_total", "X.", {"k"});
  auto& b = r.counter("sb_x_total", "other help", {"k"});
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(&a.with({"v"}), &b.with({"v"}));
}

TEST(Registry, ProcessMetricsAreReadFromProc) {
  Registry r;
  register_process_metrics(r);
  std::string text = r.render();
  EXPECT_THAT(text, HasSubstr("\nprocess_resident_memory_bytes "));
  EXPECT_THAT(text, HasSubstr("\nprocess_cpu_seconds_total "));
  EXPECT_THAT(text, HasSubstr("\nprocess_open_fds "));
  EXPECT_THAT(text, HasSubstr("\nprocess_start_time_seconds "));
}

TEST(SplitHostPort, AcceptsV4V6AndRejectsJunk) {
  std::string host;
  uint16_t port = 0;
  EXPECT_TRUE(split_host_port("127.0.0.1:9090", &host, &port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 9090);
  EXPECT_TRUE(split_host_port("[::1]:0", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(split_host_port("::1:9090", &host, &port));
  EXPECT_FALSE(split_host_port("localhost", &host, &port));
  EXPECT_FALSE(split_host_port("1.2.3.4:70000", &host, &port));
  EXPECT_FALSE(split_host_port("1.2.3.4:", &host, &port));
}

// One HTTP exchange on a fresh connection; returns the whole response.
std::string http_exchange(uint16_t port, const std::string& request) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(socket, asio::buffer(request));
  std::string out;
  boost::system::error_code ec;
  char buf[4096];
  for (;;) {
    size_t n = socket.read_some(asio::buffer(buf), ec);
    out.append(buf, n);
    if (ec) break;
  }
  return out;
}

std::string get(uint16_t port, const std::string& path) {
  return http_exchange(port, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.counter("sb_hits_total", "Hits.", {}).with({}).inc(7);
    HttpServer::Options o;
    o.listen = "127.0.0.1:0";
    o.render_metrics = [this] { return registry_.render(); };
    o.readiness = [this] {
      return draining_ ? Readiness{false, "draining"} : Readiness{true, ""};
    };
    std::string error;
    server_ = HttpServer::start(o, &error);
    ASSERT_TRUE(server_) << error;
    port_ = server_->port();
  }

  Registry registry_;
  std::atomic<bool> draining_{false};
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
};

TEST_F(HttpServerTest, ServesMetrics) {
  std::string r = get(port_, "/metrics");
  EXPECT_THAT(r, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(r, HasSubstr("text/plain; version=0.0.4"));
  EXPECT_THAT(r, HasSubstr("\r\n\r\n# HELP sb_hits_total Hits.\n# TYPE sb_hits_total counter\n"
                           "sb_hits_total 7\n"));
}

TEST_F(HttpServerTest, HealthAndReadinessFlipWhenDraining) {
  EXPECT_THAT(get(port_, "/healthz"), StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(get(port_, "/readyz"), StartsWith("HTTP/1.1 200"));
  draining_ = true;
  std::string r = get(port_, "/readyz");
  EXPECT_THAT(r, StartsWith("HTTP/1.1 503"));
  EXPECT_THAT(r, HasSubstr("not ready: draining"));
  EXPECT_THAT(get(port_, "/healthz"), StartsWith("HTTP/1.1 200"));  // alive while draining
}

TEST_F(HttpServerTest, UnknownPathMethodAndOversizeRequestsAreRefused) {
  EXPECT_THAT(get(port_, "/nope"), StartsWith("HTTP/1.1 404"));
  std::string post = http_exchange(
      port_, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(post, StartsWith("HTTP/1.1 405"));
  EXPECT_THAT(post, HasSubstr("Allow: GET, HEAD"));
  std::string huge = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(20000, 'a') +
                     "\r\n\r\n";
  EXPECT_THAT(http_exchange(port_, huge), StartsWith("HTTP/1.1 431"));
  EXPECT_THAT(http_exchange(port_, "garbage\r\n\r\n"), StartsWith("HTTP/1.1 400"));
  // Still serving afterwards.
  EXPECT_THAT(get(port_, "/healthz"), StartsWith("HTTP/1.1 200"));
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  std::string r = http_exchange(port_,
                                "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                                "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(r, HasSubstr("ok\n"));
  EXPECT_THAT(r, HasSubstr("ready\n"));
}

TEST(HttpServerStart, TakenPortAndBadAddressFailWithAMessage) {
  HttpServer::Options o;
  o.listen = "127.0.0.1:0";
  o.render_metrics = [] { return std::string(); };
  std::string error;
  auto first = HttpServer::start(o, &error);
  ASSERT_TRUE(first) << error;
  o.listen = first->address();
  // SO_REUSEADDR does not allow two listeners on one port.
  EXPECT_FALSE(HttpServer::start(o, &error));
  EXPECT_THAT(error, HasSubstr("cannot listen on " + first->address()));
  o.listen = "nonsense";
  EXPECT_FALSE(HttpServer::start(o, &error));
  EXPECT_THAT(error, HasSubstr("expected HOST:PORT"));
}

registrar::Binding binding(const std::string& user, const std::string& realm,
                           sip::ManualClock& clock) {
  registrar::Binding b;
  b.aor = user + "@" + realm;
  b.realm = realm;
  b.contact = "sip:" + user + "@192.0.2.1:5060";
  b.expires_at = clock.wall_now() + std::chrono::seconds(60);
  return b;
}

void put(registrar::LocationService& location, registrar::Binding b, bool remove = false) {
  location.update(
      b.aor,
      [&](std::vector<registrar::Binding>& bindings, registrar::UpdateEvents& events) {
        if (remove) {
          for (const auto& old : bindings) events.removed(old, "expires=0");
          bindings.clear();
        } else {
          bindings.push_back(b);
          events.added(b);
        }
        return registrar::MutationStatus{};
      },
      nullptr);
}

// Verifies registrations_active follows REGISTERED/UNREGISTERED per realm,
// starting from what the location service held at seed(), and that
// authentication failures are counted under a fixed reason vocabulary.
TEST(RegistrarMetrics, CountsActiveBindingsPerRealmAndAuthFailures) {
  sip::ManualClock clock;
  registrar::MemoryBindingStore store;
  registrar::LocationService location(store, clock);
  put(location, binding("old", "a.test", clock));  // before the metrics exist

  Registry registry;
  RegistrarMetrics metrics(registry);
  location.add_observer(&metrics);
  metrics.seed(location);
  put(location, binding("alice", "a.test", clock));
  put(location, binding("bob", "b.test", clock));
  put(location, binding("bob", "b.test", clock), /*remove=*/true);

  registrar::RegistrationEvent failed;
  failed.type = registrar::RegistrationEventType::kAuthFailed;
  failed.binding.realm = "a.test";
  failed.reason = "wrong credentials";
  metrics.on_event(failed);
  failed.reason = "anything an attacker could make up";
  metrics.on_event(failed);
  failed.reason = "INVITE: wrong credentials";  // the call layer's inbound INVITEs
  metrics.on_event(failed);

  std::string text = registry.render();
  EXPECT_THAT(text, HasSubstr("switchboard_registrations_active{realm=\"a.test\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("switchboard_registrations_active{realm=\"b.test\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("switchboard_registration_events_total{type=\"REGISTERED\"} 2\n"));
  EXPECT_THAT(text,
              HasSubstr("switchboard_registration_events_total{type=\"UNREGISTERED\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("switchboard_auth_failures_total{realm=\"a.test\",reason=\"other\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("switchboard_auth_failures_total{realm=\"a.test\",reason=\"wrong_credentials\"} 2\n"));
}

}  // namespace
}  // namespace switchboard::metrics
