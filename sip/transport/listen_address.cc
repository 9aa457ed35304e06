// sip/transport/listen_address.cc — see listen_address.h.
#include "sip/transport/listen_address.h"

#include <boost/system/error_code.hpp>

namespace sip::transport {
namespace {

constexpr std::string_view kExpected =
    "expected TRANSPORT:ADDRESS:PORT such as udp:127.0.0.1:5060 or tcp:[::1]:5060";

bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = char(x + 32);
    if (y >= 'A' && y <= 'Z') y = char(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::optional<ListenAddress> fail(std::string* error, std::string_view text, std::string why) {
  if (error) *error = "listen address \"" + std::string(text) + "\": " + why;
  return std::nullopt;
}

}  // namespace

std::string_view protocol_name(Protocol p) { return p == Protocol::kTcp ? "tcp" : "udp"; }

std::string format_host_port(const boost::asio::ip::address& address, uint16_t port) {
  std::string out;
  if (address.is_v6()) {
    out = "[" + address.to_string() + "]";
  } else {
    out = address.to_string();
  }
  out += ':';
  out += std::to_string(port);
  return out;
}

std::string ListenAddress::host_port() const { return format_host_port(address, port); }

std::string ListenAddress::to_string() const {
  return std::string(protocol_name(protocol)) + ":" + host_port();
}

std::optional<ListenAddress> parse_listen_address(std::string_view text, std::string* error) {
  if (text.empty()) return fail(error, text, "empty; " + std::string(kExpected));

  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return fail(error, text, std::string(kExpected));

  ListenAddress out;
  std::string_view transport = text.substr(0, colon);
  if (ascii_iequals(transport, "udp")) {
    out.protocol = Protocol::kUdp;
  } else if (ascii_iequals(transport, "tcp")) {
    out.protocol = Protocol::kTcp;
  } else if (transport.empty()) {
    return fail(error, text, "missing transport (expected udp or tcp)");
  } else {
    return fail(error, text,
                "unknown transport \"" + std::string(transport) + "\" (expected udp or tcp)");
  }

  std::string_view rest = text.substr(colon + 1);
  std::string_view host, port_text;
  bool have_port = false;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos)
      return fail(error, text, "bad address: '[' without ']' around the IPv6 address");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return fail(error, text, "unexpected \"" + std::string(after) + "\" after the IPv6 address");
      have_port = true;
      port_text = after.substr(1);
    }
    boost::system::error_code ec;
    auto v6 = boost::asio::ip::make_address_v6(std::string(host), ec);
    if (ec || host.empty())
      return fail(error, text, "bad address \"" + std::string(host) + "\" (not an IPv6 address)");
    out.address = v6;
  } else {
    size_t last = rest.rfind(':');
    if (last != std::string_view::npos && rest.find(':') != last)
      return fail(error, text, "bad address: IPv6 addresses must be in brackets, as in tcp:[::1]:5060");
    if (last == std::string_view::npos) {
      host = rest;
    } else {
      host = rest.substr(0, last);
      have_port = true;
      port_text = rest.substr(last + 1);
    }
    if (host.empty()) return fail(error, text, "missing address");
    boost::system::error_code ec;
    auto v4 = boost::asio::ip::make_address_v4(std::string(host), ec);
    if (ec)
      return fail(error, text,
                  "bad address \"" + std::string(host) +
                      "\" (expected an IPv4 address or a bracketed IPv6 address; host names are not accepted)");
    out.address = v4;
  }

  if (!have_port) return fail(error, text, "missing port (as in udp:127.0.0.1:5060)");
  if (port_text.empty() || port_text.size() > 5)
    return fail(error, text, "bad port \"" + std::string(port_text) + "\" (expected 0-65535)");
  uint32_t port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9')
      return fail(error, text, "bad port \"" + std::string(port_text) + "\" (expected 0-65535)");
    port = port * 10 + uint32_t(c - '0');
  }
  if (port > 65535)
    return fail(error, text, "bad port \"" + std::string(port_text) + "\" (expected 0-65535)");
  out.port = uint16_t(port);
  return out;
}

}  // namespace sip::transport
