// gateway/command_line.cc — see command_line.h.
#include "gateway/command_line.h"

#include <arpa/inet.h>

#include <boost/asio/ip/address.hpp>

#include <cctype>
#include <cstdint>
#include <optional>

namespace switchboard {
std::optional<uint64_t> parse_number(std::string_view s, uint64_t min, uint64_t max) {
  if (s.empty() || s.size() > 12) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + uint64_t(c - '0');
  }
  if (v < min || v > max) return std::nullopt;
  return v;
}

std::optional<std::string> parse_grpc_listen(std::string_view text, std::string* why) {
  auto fail = [&](std::string what) -> std::optional<std::string> {
    if (why) *why = std::move(what);
    return std::nullopt;
  };
  if (text.empty() || text == "off") return std::string();
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos)
    return fail("expected HOST:PORT (e.g. 127.0.0.1:50051, [::1]:50051) or off, got \"" +
                std::string(text) + "\"");
  std::string host(text.substr(0, colon));
  std::string_view port = text.substr(colon + 1);
  if (!parse_number(port, 0, 65535))
    return fail("expected a port from 0 to 65535 after the last ':', got \"" + std::string(text) +
                "\"");
  unsigned char buf[16];
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']' ||
        inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), buf) != 1)
      return fail("expected an IPv6 address in brackets, got \"" + std::string(text) + "\"");
    return std::string(text);
  }
  if (host.find(':') != std::string::npos)
    return fail("IPv6 addresses go in brackets ([::1]:50051), got \"" + std::string(text) + "\"");
  if (host.empty()) return fail("expected HOST:PORT, got \"" + std::string(text) + "\"");
  if (inet_pton(AF_INET, host.c_str(), buf) == 1) return std::string(text);
  for (char c : host)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-')
      return fail("expected an IP address or a host name before the port, got \"" +
                  std::string(text) + "\"");
  return std::string(text);
}

std::optional<std::string> parse_metrics_listen(std::string_view text, std::string* why) {
  auto fail = [&](std::string what) -> std::optional<std::string> {
    if (why) *why = std::move(what);
    return std::nullopt;
  };
  if (text.empty() || text == "off") return std::string();
  const std::string expected = "expected IP:PORT (e.g. 127.0.0.1:9090, [::1]:9090, 0.0.0.0:9090) or off, got \"" +
                               std::string(text) + "\"";
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return fail(expected);
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return fail(expected);
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return fail(expected);
  }
  boost::system::error_code ec;
  boost::asio::ip::make_address(std::string(host), ec);
  if (ec) return fail(expected);
  if (!parse_number(text.substr(colon + 1), 0, 65535)) return fail(expected);
  return std::string(text);
}

std::string usage(std::string_view program) {
  std::string p(program);
  return "Usage: " + p + " [OPTIONS]\n"
         "\n"
         "Switchboard: SIP registrar and gRPC gateway.\n"
         "\n"
         "Options (a flag overrides its environment variable, which overrides the\n"
         "configuration file, which overrides the default):\n"
         "  --config FILE         YAML configuration: listeners, data directory, realms and\n"
         "                        users, nonce secret, throttling. See docs/configuration.md.\n"
         "                        Env: SWITCHBOARD_CONFIG. Default: none (built-in defaults).\n"
         "  --sip-listen TRANSPORT:ADDRESS:PORT\n"
         "                        SIP listen address, repeatable; replaces the file's\n"
         "                        sip.listen list. TRANSPORT is udp or tcp; ADDRESS an IPv4\n"
         "                        address or a bracketed IPv6 address; PORT 0 picks a free\n"
         "                        port (logged at start). Examples: udp:0.0.0.0:5060,\n"
         "                        tcp:[::1]:5060. Env: SWITCHBOARD_SIP_LISTEN (comma or\n"
         "                        space separated). Default: udp:127.0.0.1:5060 and\n"
         "                        tcp:127.0.0.1:5060.\n"
         "  --data-dir DIR        where the SQLite stores live (created if missing).\n"
         "                        Env: SWITCHBOARD_DATA_DIR. Default: ./data.\n"
         "  --threads N           worker threads, each with its own sockets (1-256).\n"
         "                        Env: SWITCHBOARD_THREADS. Default: the number of CPUs.\n"
         "  --log-level LEVEL     debug, info, warn or error. Logs are JSON lines on\n"
         "                        stderr. Env: SWITCHBOARD_LOG_LEVEL. Default: info.\n"
         "  --tcp-idle-timeout SECONDS\n"
         "                        close TCP connections that send nothing for this long\n"
         "                        (0 disables). Env: SWITCHBOARD_TCP_IDLE_TIMEOUT.\n"
         "                        Default: 300.\n"
         "  --tcp-max-connections N\n"
         "                        open TCP connections allowed; beyond it new ones are\n"
         "                        closed at once. Env: SWITCHBOARD_TCP_MAX_CONNECTIONS.\n"
         "                        Default: 4096.\n"
         "  --grpc-listen HOST:PORT\n"
         "                        the gRPC API (admin, bindings, registration events):\n"
         "                        IPv4, [IPv6] or a host name; port 0 picks a free port;\n"
         "                        \"off\" disables the API. Env: SWITCHBOARD_GRPC_LISTEN.\n"
         "                        Default: 127.0.0.1:50051. Tokens: api.tokens in the file,\n"
         "                        else DATA_DIR/api_tokens.yaml (created on the first start,\n"
         "                        which prints a new admin token once). See docs/api.md.\n"
         "  --metrics-listen IP:PORT\n"
         "                        Prometheus /metrics, /healthz and /readyz over HTTP\n"
         "                        (docs/metrics.md); \"off\" disables them.\n"
         "                        Env: SWITCHBOARD_METRICS_LISTEN. Default: off.\n"
         "  --print-config        print the effective configuration (file, environment\n"
         "                        and flags merged; secrets masked) as YAML and exit.\n"
         "  --help                print this help and exit.\n"
         "  --version             print the version and exit.\n"
         "\n"
         "Environment only:\n"
         "  SWITCHBOARD_NONCE_SECRET  secret the digest nonces are signed with (at least 16\n"
         "                        characters; overrides nonce.secret in the file). Without\n"
         "                        one a random secret is generated at start (logged as a\n"
         "                        warning): nonces then do not survive a restart.\n"
         "\n"
         "SIGTERM or SIGINT drains, then stops (exit 0): readiness goes false, new REGISTERs\n"
         "and INVITEs get 503 with Retry-After, calls in progress may end within\n"
         "shutdown.grace_period; a second signal stops at once. SIGHUP reloads the log\n"
         "level, the realms and users of the file and the API tokens (docs/metrics.md).\n"
         "Exit status 1: the server\n"
         "could not start (a listen address could not be bound, the data directory or a\n"
         "store could not be opened); 2: bad command line, environment or configuration.\n";
}

bool parse_command_line(std::span<const std::string_view> args, CommandLine& out,
                        std::string& error) {
  out = CommandLine();
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      continue;
    }
    if (arg == "--version") {
      out.version = true;
      continue;
    }
    if (arg == "--print-config") {
      out.print_config = true;
      continue;
    }
    if (arg.substr(0, 2) != "--") {
      error = "unexpected argument \"" + std::string(arg) + "\"";
      return false;
    }
    std::string_view name = arg, value;
    bool have_value = false;
    if (size_t eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      have_value = true;
    }
    const bool known = name == "--config" || name == "--sip-listen" || name == "--data-dir" ||
                       name == "--threads" || name == "--log-level" ||
                       name == "--tcp-idle-timeout" || name == "--tcp-max-connections" ||
                       name == "--grpc-listen" || name == "--metrics-listen";
    if (!known) {
      error = "unknown option \"" + std::string(name) + "\"";
      return false;
    }
    if (!have_value) {
      if (i + 1 >= args.size()) {
        error = std::string(name) + ": missing value";
        return false;
      }
      value = args[++i];
    }

    if (name == "--config") {
      if (value.empty()) {
        error = "--config: expected a file name";
        return false;
      }
      out.config_file = std::string(value);
    } else if (name == "--sip-listen") {
      std::string why;
      auto address = sip::transport::parse_listen_address(value, &why);
      if (!address) {
        error = "--sip-listen: " + why;
        return false;
      }
      out.listen.push_back(*address);
    } else if (name == "--data-dir") {
      if (value.empty()) {
        error = "--data-dir: expected a directory";
        return false;
      }
      out.data_dir = std::string(value);
    } else if (name == "--threads") {
      auto n = parse_number(value, 1, 256);
      if (!n) {
        error = "--threads: expected a number from 1 to 256, got \"" + std::string(value) + "\"";
        return false;
      }
      out.threads = unsigned(*n);
    } else if (name == "--log-level") {
      auto level = parse_log_level(value);
      if (!level) {
        error = "--log-level: expected debug, info, warn or error, got \"" + std::string(value) + "\"";
        return false;
      }
      out.log_level = *level;
    } else if (name == "--tcp-idle-timeout") {
      auto n = parse_number(value, 0, 86400);
      if (!n) {
        error = "--tcp-idle-timeout: expected seconds from 0 to 86400, got \"" + std::string(value) + "\"";
        return false;
      }
      out.tcp_idle_timeout = std::chrono::seconds(*n);
    } else if (name == "--tcp-max-connections") {
      auto n = parse_number(value, 1, 1'000'000);
      if (!n) {
        error = "--tcp-max-connections: expected a number from 1 to 1000000, got \"" +
                std::string(value) + "\"";
        return false;
      }
      out.tcp_max_connections = size_t(*n);
    } else if (name == "--grpc-listen") {
      std::string why;
      auto listen = parse_grpc_listen(value, &why);
      if (!listen) {
        error = "--grpc-listen: " + why;
        return false;
      }
      out.grpc_listen = std::move(*listen);
    } else if (name == "--metrics-listen") {
      std::string why;
      auto listen = parse_metrics_listen(value, &why);
      if (!listen) {
        error = "--metrics-listen: " + why;
        return false;
      }
      out.metrics_listen = std::move(*listen);
    }
  }
  return true;
}

}  // namespace switchboard
