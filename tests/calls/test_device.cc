// tests/calls/test_device.cc — see test_device.h.
#include "test_device.h"

#include <gtest/gtest.h>

#include "gateway/calls/digest_answer.h"
#include "sip/parser.h"
#include "sip/response.h"

namespace calltest {
namespace {

std::string via_line(bool tcp, uint16_t port, std::string_view branch) {
  return "Via: SIP/2.0/" + std::string(tcp ? "TCP" : "UDP") + " 127.0.0.1:" +
         std::to_string(port) + ";branch=" + std::string(branch) + ";rport\r\n";
}

std::string tail(std::string_view content_type, std::string_view body) {
  std::string m;
  if (!body.empty()) m += "Content-Type: " + std::string(content_type) + "\r\n";
  m += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  m += body;
  return m;
}

}  // namespace

std::string digest_authorization(const sip::Message& challenge, std::string_view method,
                                 std::string_view uri, std::string_view user,
                                 std::string_view password) {
  auto answer = switchboard::calls::answer_challenge(challenge, method, uri, user, password,
                                                     "0a4f113b", "");
  EXPECT_TRUE(answer.has_value()) << "no challenge to answer";
  if (!answer) return {};
  return answer->header_name + ": " + answer->value + "\r\n";
}

TestDevice::TestDevice(std::string user, std::string password, std::string domain,
                       uint16_t server_port, bool tcp)
    : user_(std::move(user)),
      password_(std::move(password)),
      domain_(std::move(domain)),
      server_port_(server_port),
      tcp_(tcp) {
  static int counter = 0;
  tag_ = "dev-" + user_ + "-" + std::to_string(++counter);
  if (tcp_) {
    tcp_peer_ = std::make_unique<testpeer::TcpPeer>();
    EXPECT_TRUE(tcp_peer_->connect("127.0.0.1", server_port_));
  } else {
    udp_ = std::make_unique<testpeer::UdpPeer>();
  }
}

uint16_t TestDevice::port() const { return tcp_ ? tcp_peer_->local_port() : udp_->port(); }

std::string TestDevice::contact_uri() const {
  return "sip:" + user_ + "@127.0.0.1:" + std::to_string(port()) + (tcp_ ? ";transport=tcp" : "");
}

std::string TestDevice::contact() const { return "<" + contact_uri() + ">"; }

bool TestDevice::register_binding(const std::string& extra) {
  auto make = [&](const std::string& auth) {
    std::string m = "REGISTER sip:" + domain_ + " SIP/2.0\r\n";
    m += via_line(tcp_, port(), "z9hG4bK-reg-" + tag_ + "-" + std::to_string(++branches_));
    m += "Max-Forwards: 70\r\n";
    m += "From: <sip:" + user_ + "@" + domain_ + ">;tag=reg-" + tag_ + "\r\n";
    m += "To: <sip:" + user_ + "@" + domain_ + ">\r\n";
    m += "Call-ID: reg-" + tag_ + "\r\n";
    m += "CSeq: " + std::to_string(++register_cseq_) + " REGISTER\r\n";
    m += "Contact: " + contact() + "\r\n";
    m += "Expires: 600\r\n";
    m += auth + extra;
    m += "Content-Length: 0\r\n\r\n";
    return m;
  };
  send(make(""));
  std::optional<sip::Message> challenge = expect_response(401);
  if (!challenge) return false;
  send(make(digest_authorization(*challenge, "REGISTER", "sip:" + domain_, user_, password_)));
  return expect_response(200).has_value();
}

void TestDevice::send(const std::string& bytes) {
  bool ok = tcp_ ? tcp_peer_->write(bytes) : udp_->send_to("127.0.0.1", server_port_, bytes);
  EXPECT_TRUE(ok) << "send failed";
}

std::optional<sip::Message> TestDevice::receive(milliseconds timeout) {
  std::optional<std::string> bytes =
      tcp_ ? tcp_peer_->read_message(timeout) : udp_->receive(timeout);
  if (!bytes) return std::nullopt;
  sip::ParseResult r = sip::parse_message(*bytes);
  EXPECT_TRUE(r.ok()) << "unparseable: " << *bytes;
  if (!r.ok()) return std::nullopt;
  return std::move(r.message());
}

std::optional<sip::Message> TestDevice::expect_request(std::string_view method,
                                                       milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    std::optional<sip::Message> m = receive(std::max(left, milliseconds(1)));
    if (!m) {
      ADD_FAILURE() << user_ << ": expected " << method << ", got nothing";
      return std::nullopt;
    }
    if (m->is_response() && m->status_code() == 100) continue;
    if (m->is_request() && m->method() == method) return m;
    ADD_FAILURE() << user_ << ": expected " << method << ", got:\n" << m->bytes();
    return std::nullopt;
  }
}

std::vector<sip::Message> TestDevice::expect_requests(std::vector<std::string_view> methods,
                                                     milliseconds timeout) {
  std::vector<std::optional<sip::Message>> got(methods.size());
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (size_t received = 0; received < methods.size();) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    std::optional<sip::Message> m = receive(std::max(left, milliseconds(1)));
    if (!m) {
      ADD_FAILURE() << user_ << ": expected " << methods.size() << " requests, got " << received;
      return {};
    }
    if (m->is_response() && m->status_code() == 100) continue;
    bool placed = false;
    for (size_t i = 0; i < methods.size() && !placed; ++i) {
      if (!got[i] && m->is_request() && m->method() == methods[i]) {
        got[i] = std::move(*m);
        placed = true;
      }
    }
    if (!placed) {
      ADD_FAILURE() << user_ << ": unexpected message:\n" << m->bytes();
      return {};
    }
    ++received;
  }
  std::vector<sip::Message> out;
  for (auto& m : got) out.push_back(std::move(*m));
  return out;
}

std::optional<sip::Message> TestDevice::expect_response(int status, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    std::optional<sip::Message> m = receive(std::max(left, milliseconds(1)));
    if (!m) {
      ADD_FAILURE() << user_ << ": expected " << status << ", got nothing";
      return std::nullopt;
    }
    if (m->is_response() && m->status_code() == 100 && status != 100) continue;
    if (m->is_response() && m->status_code() == status) return m;
    ADD_FAILURE() << user_ << ": expected " << status << ", got:\n" << m->bytes();
    return std::nullopt;
  }
}

bool TestDevice::silent(milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return true;
    std::optional<sip::Message> m = receive(left);
    if (!m) return true;
    if (m->is_response() && m->status_code() == 100) continue;
    ADD_FAILURE() << user_ << ": expected silence, got:\n" << m->bytes();
    return false;
  }
}

std::string TestDevice::response(const sip::Message& request, int status, std::string_view body,
                                 std::string_view extra) const {
  sip::ResponseBuilder b(request, status);
  b.to_tag(tag_);
  if (status >= 101 && status < 300) b.header("Contact", contact());
  std::string s = b.build();
  // Extra header lines and a body: spliced in before the blank line.
  size_t end = s.rfind("Content-Length:");
  std::string head = s.substr(0, end);
  head += extra;
  return head + tail("application/sdp", body);
}

std::string TestDevice::in_dialog(const sip::Message& invite, std::string_view method,
                                  uint32_t cseq, std::string_view content_type,
                                  std::string_view body) const {
  std::string target;
  invite.for_each_contact([&](const sip::NameAddr& na) {
    if (target.empty()) target = std::string(na.uri.text);
  });
  std::string m = std::string(method) + " " + target + " SIP/2.0\r\n";
  m += via_line(tcp_, port(), "z9hG4bK-dlg-" + tag_ + "-" + std::to_string(++branches_));
  m += "Max-Forwards: 70\r\n";
  m += "From: " + std::string(invite.header(sip::HeaderId::kTo)) + ";tag=" + tag_ + "\r\n";
  m += "To: " + std::string(invite.header(sip::HeaderId::kFrom)) + "\r\n";
  m += "Call-ID: " + std::string(invite.call_id()) + "\r\n";
  m += "CSeq: " + std::to_string(cseq) + " " + std::string(method) + "\r\n";
  m += "Contact: " + contact() + "\r\n";
  invite.for_each_value(sip::HeaderId::kRecordRoute, [&](std::string_view v) {
    m += "Route: " + std::string(v) + "\r\n";
    return true;
  });
  return m + tail(content_type, body);
}

std::string TestDevice::invite(const Invite& spec) const {
  std::string m = "INVITE " + spec.to + " SIP/2.0\r\n";
  m += via_line(tcp_, port(), spec.branch);
  m += "Max-Forwards: 70\r\n";
  m += "From: \"Alice\" <sip:" + user_ + "@" + domain_ + ">;tag=" + spec.from_tag + "\r\n";
  m += "To: <" + spec.to + ">\r\n";
  m += "Call-ID: " + spec.call_id + "\r\n";
  m += "CSeq: " + std::to_string(spec.cseq) + " INVITE\r\n";
  m += "Contact: " + contact() + "\r\n";
  m += "X-Account: 42\r\n";
  m += spec.auth;
  return m + tail("application/sdp", spec.sdp);
}

std::string TestDevice::cancel(const Invite& spec) const {
  std::string m = "CANCEL " + spec.to + " SIP/2.0\r\n";
  m += via_line(tcp_, port(), spec.branch);
  m += "Max-Forwards: 70\r\n";
  m += "From: \"Alice\" <sip:" + user_ + "@" + domain_ + ">;tag=" + spec.from_tag + "\r\n";
  m += "To: <" + spec.to + ">\r\n";
  m += "Call-ID: " + spec.call_id + "\r\n";
  m += "CSeq: " + std::to_string(spec.cseq) + " CANCEL\r\n";
  return m + tail("", "");
}

std::string TestDevice::ack_non_2xx(const Invite& spec, const sip::Message& response) const {
  std::string m = "ACK " + spec.to + " SIP/2.0\r\n";
  m += via_line(tcp_, port(), spec.branch);
  m += "Max-Forwards: 70\r\n";
  m += "From: \"Alice\" <sip:" + user_ + "@" + domain_ + ">;tag=" + spec.from_tag + "\r\n";
  m += "To: " + std::string(response.header(sip::HeaderId::kTo)) + "\r\n";
  m += "Call-ID: " + spec.call_id + "\r\n";
  m += "CSeq: " + std::to_string(spec.cseq) + " ACK\r\n";
  return m + tail("", "");
}

std::string TestDevice::uac_in_dialog(const Invite& spec, const sip::Message& ok,
                                      std::string_view method, uint32_t cseq,
                                      std::string_view content_type, std::string_view body) const {
  std::string target = spec.to;
  ok.for_each_contact([&](const sip::NameAddr& na) { target = std::string(na.uri.text); });
  std::string m = std::string(method) + " " + target + " SIP/2.0\r\n";
  m += via_line(tcp_, port(), "z9hG4bK-uac-" + tag_ + "-" + std::to_string(++branches_));
  m += "Max-Forwards: 70\r\n";
  m += "From: \"Alice\" <sip:" + user_ + "@" + domain_ + ">;tag=" + spec.from_tag + "\r\n";
  m += "To: " + std::string(ok.header(sip::HeaderId::kTo)) + "\r\n";
  m += "Call-ID: " + spec.call_id + "\r\n";
  m += "CSeq: " + std::to_string(cseq) + " " + std::string(method) + "\r\n";
  return m + tail(content_type, body);
}

std::string TestDevice::ack_2xx(const Invite& spec, const sip::Message& ok,
                                std::string_view body) const {
  return uac_in_dialog(spec, ok, "ACK", spec.cseq, body.empty() ? "" : "application/sdp", body);
}

}  // namespace calltest
