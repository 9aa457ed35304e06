// sip/transport/source.cc — see source.h.
#include "sip/transport/source.h"

namespace sip::transport {

std::string ip_text(const boost::asio::ip::address& address) {
  if (address.is_v6()) {
    boost::asio::ip::address_v6 v6 = address.to_v6();
    v6.scope_id(0);  // "fe80::1%eth0" is not a valid received= value
    return v6.to_string();
  }
  return address.to_string();
}

std::string Source::remote_ip() const { return ip_text(remote_address); }

std::string Source::to_string() const {
  std::string out(protocol_name(protocol));
  out += ' ';
  out += format_host_port(remote_address, remote_port);
  if (connection != 0) {
    out += " #";
    out += std::to_string(connection);
  }
  return out;
}

}  // namespace sip::transport
