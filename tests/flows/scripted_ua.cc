#include "scripted_ua.h"

#include <gtest/gtest.h>

#include "registrar/digest.h"
#include "sip/auth_params.h"
#include "sip/lex.h"
#include "sip/parser.h"

namespace flows {

ScriptedUa::ScriptedUa(std::string user, std::string password, std::string domain,
                       std::string server_ip, uint16_t server_port, bool tcp)
    : user_(std::move(user)),
      password_(std::move(password)),
      domain_(std::move(domain)),
      server_ip_(std::move(server_ip)),
      server_port_(server_port),
      tcp_(tcp) {
  static int counter = 0;
  call_id_ = "flow-" + user_ + "-" + std::to_string(++counter) + "@127.0.0.1";
  if (tcp_) {
    tcp_peer_ = std::make_unique<testpeer::TcpPeer>();
    EXPECT_TRUE(tcp_peer_->connect(server_ip_, server_port_));
  } else {
    udp_ = std::make_unique<testpeer::UdpPeer>();
  }
}

uint16_t ScriptedUa::local_port() const { return tcp_ ? tcp_peer_->local_port() : udp_->port(); }

std::string ScriptedUa::default_contact() const {
  return "<sip:" + user_ + "@127.0.0.1:" + std::to_string(local_port()) +
         (tcp_ ? ";transport=tcp" : "") + ">";
}

std::string ScriptedUa::make_register(const RegisterOptions& o) {
  const std::string ruri = o.request_uri.empty() ? "sip:" + domain_ : o.request_uri;
  const std::string to_user = o.to_user.empty() ? user_ : o.to_user;
  const uint32_t cseq = o.cseq ? *o.cseq : ++cseq_;
  if (o.cseq) cseq_ = std::max(cseq_, *o.cseq);
  std::string m = "REGISTER " + ruri + " SIP/2.0\r\n";
  m += "Via: SIP/2.0/" + std::string(tcp_ ? "TCP" : "UDP") + " 127.0.0.1:" + std::to_string(local_port()) +
       ";branch=z9hG4bK-ua-" + user_ + "-" + std::to_string(++branch_) + ";rport\r\n";
  m += "Max-Forwards: 70\r\n";
  m += "From: <sip:" + to_user + "@" + domain_ + ">;tag=ua-" + user_ + "\r\n";
  m += "To: <sip:" + to_user + "@" + domain_ + ">\r\n";
  m += "Call-ID: " + o.call_id.value_or(call_id_) + "\r\n";
  m += "CSeq: " + std::to_string(cseq) + " REGISTER\r\n";
  for (const std::string& c : o.contacts)
    m += "Contact: " + (c == kDefaultContact ? default_contact() : c) + "\r\n";
  if (o.expires) m += "Expires: " + std::to_string(*o.expires) + "\r\n";
  m += "User-Agent: switchboard-flow-test\r\n";
  if (o.challenge) {
    const bool proxy = o.challenge->status_code() == 407;
    const sip::HeaderId id = proxy ? sip::HeaderId::kProxyAuthenticate : sip::HeaderId::kWwwAuthenticate;
    std::optional<sip::AuthParams> chosen;
    for (const sip::HeaderField& h : o.challenge->headers()) {
      if (h.id != id) continue;
      sip::AuthParams p;
      if (!sip::parse_auth_params(h.value, p)) continue;
      if (o.algorithm.empty() || sip::lex::iequals(p.get("algorithm").value_or("MD5"), o.algorithm)) {
        chosen = p;
        break;
      }
    }
    EXPECT_TRUE(chosen.has_value()) << "no usable challenge for algorithm '" << o.algorithm << "'";
    if (chosen) {
      auto alg = registrar::digest_algorithm_from_param(chosen->get("algorithm"));
      std::string realm(chosen->get("realm").value_or(""));
      std::string nonce(chosen->get("nonce").value_or(""));
      std::string username = o.username.empty() ? user_ : o.username;
      std::string password = o.password.empty() ? password_ : o.password;
      std::string uri = o.digest_uri.empty() ? ruri : o.digest_uri;
      std::string ha1 = registrar::compute_ha1(*alg, username, realm, password);
      registrar::DigestRequest dr;
      dr.method = "REGISTER";
      dr.uri = uri;
      dr.nonce = nonce;
      dr.nc = o.nc;
      dr.cnonce = "0a4f113b";
      dr.qop = o.qop ? registrar::DigestQop::kAuth : registrar::DigestQop::kNone;
      std::string response = registrar::expected_response(*alg, ha1, dr);
      std::string v = "Digest username=\"" + username + "\", realm=\"" + realm + "\", nonce=\"" + nonce +
                      "\", uri=\"" + uri + "\", response=\"" + response + "\", algorithm=" +
                      std::string(registrar::digest_algorithm_name(*alg));
      if (o.qop) v += ", qop=auth, nc=" + o.nc + ", cnonce=\"0a4f113b\"";
      m += std::string(proxy ? "Proxy-Authorization: " : "Authorization: ") + v + "\r\n";
    }
  }
  m += o.extra_headers;
  m += "Content-Length: 0\r\n\r\n";
  return m;
}

void ScriptedUa::send(const std::string& wire) {
  bool ok = tcp_ ? tcp_peer_->write(wire) : udp_->send_to(server_ip_, server_port_, wire);
  EXPECT_TRUE(ok) << "send failed";
}

std::optional<sip::Message> ScriptedUa::receive(std::chrono::milliseconds timeout) {
  std::optional<std::string> bytes = tcp_ ? tcp_peer_->read_message(timeout) : udp_->receive(timeout);
  if (!bytes) return std::nullopt;
  sip::ParseResult r = sip::parse_message(*bytes);
  EXPECT_TRUE(r.ok()) << "unparseable response: " << *bytes;
  if (!r.ok()) return std::nullopt;
  return std::move(r.message());
}

bool ScriptedUa::silent(std::chrono::milliseconds timeout) { return !receive(timeout).has_value(); }

sip::Message ScriptedUa::expect(int status) {
  std::optional<sip::Message> m = receive();
  if (!m) {
    ADD_FAILURE() << "expected " << status << ", got nothing";
    return std::move(sip::parse_message("SIP/2.0 500 Nothing\r\n\r\n").message());
  }
  EXPECT_EQ(m->status_code(), status) << std::string(m->bytes());
  return std::move(*m);
}

sip::Message ScriptedUa::register_with_auth(RegisterOptions options) {
  RegisterOptions first = options;
  first.challenge = nullptr;
  send(make_register(first));
  std::optional<sip::Message> challenge = receive();
  if (!challenge || (challenge->status_code() != 401 && challenge->status_code() != 407)) {
    ADD_FAILURE() << "expected a challenge";
    if (challenge) return std::move(*challenge);
    return std::move(sip::parse_message("SIP/2.0 500 Nothing\r\n\r\n").message());
  }
  options.challenge = &*challenge;
  send(make_register(options));
  std::optional<sip::Message> final_response = receive();
  if (!final_response) {
    ADD_FAILURE() << "no answer to the authenticated REGISTER";
    return std::move(sip::parse_message("SIP/2.0 500 Nothing\r\n\r\n").message());
  }
  return std::move(*final_response);
}

std::vector<std::string> contact_values(const sip::Message& m) {
  std::vector<std::string> out;
  m.for_each_value(sip::HeaderId::kContact, [&](std::string_view v) {
    out.emplace_back(v);
    return true;
  });
  return out;
}

long contact_expires(const sip::Message& m, std::string_view uri) {
  long found = -2;
  m.for_each_contact([&](const sip::NameAddr& c) {
    if (c.uri.text != uri) return;
    auto e = c.param("expires");
    found = e ? long(*sip::lex::parse_uint(*e)) : -1;
  });
  return found;
}

}  // namespace flows
