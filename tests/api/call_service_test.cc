// CallService against the real server with a real CallEngine and SipServer on
// loopback: every RPC's shape validation (BadRequest field violations), role
// checks, the engine's refusals mapped to codes and reasons (REALM_NOT_SERVED,
// NO_BINDINGS, CREDENTIAL_MISMATCH, CALL_NOT_FOUND, CALL_FAILED), ListCalls
// pagination, and one call to a "device" (a UDP socket owned by the test)
// followed through WatchCalls: CREATED … RINGING, ANSWERED, HangupCall → BYE,
// ENDED. SIP flows in depth are the engine's tests (tests/calls).
#include <arpa/inet.h>
#include <google/protobuf/duration.pb.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <future>
#include <set>
#include <sstream>

#include "api_fixture.h"
#include "gateway/api/call_convert.h"
#include "gateway/api/resource_names.h"

namespace apitest {
namespace {

using namespace std::chrono_literals;
using testing::Contains;
using testing::HasSubstr;
using testing::StartsWith;

constexpr const char* kUnknownCall = "calls/c00000000000000000000";

// A SIP device: a UDP socket on 127.0.0.1 that the test drives by hand.
class Device {
 public:
  Device() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Device() { ::close(fd_); }
  uint16_t port() const { return port_; }

  // The next request with this method (others are skipped); "" after `wait`.
  std::string expect(const std::string& method, std::chrono::milliseconds wait = 5s) {
    auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return {};
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, int(left.count())) <= 0) return {};
      char buf[65536];
      sockaddr_in from{};
      socklen_t len = sizeof from;
      ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n <= 0) continue;
      peer_ = from;
      std::string text(buf, size_t(n));
      if (text.rfind(method + " ", 0) == 0) return text;
    }
  }

  // A response to `request` (Via, From, Call-ID, CSeq copied; To tagged).
  void respond(const std::string& request, int status, const std::string& reason,
               const std::string& sdp = "") {
    std::ostringstream m;
    m << "SIP/2.0 " << status << " " << reason << "\r\n";
    std::istringstream lines(request);
    std::string line;
    std::getline(lines, line);  // request line
    while (std::getline(lines, line) && line != "\r" && !line.empty()) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      std::string name = line.substr(0, line.find(':'));
      for (char& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
      if (name == "via" || name == "v" || name == "from" || name == "f" || name == "call-id" ||
          name == "i" || name == "cseq") {
        m << line << "\r\n";
      } else if (name == "to" || name == "t") {
        m << line << (line.find(";tag=") == std::string::npos ? ";tag=dev-1" : "") << "\r\n";
      }
    }
    m << "Contact: <sip:alice@127.0.0.1:" << port_ << ">\r\n";
    if (!sdp.empty()) m << "Content-Type: application/sdp\r\n";
    m << "Content-Length: " << sdp.size() << "\r\n\r\n" << sdp;
    const std::string out = m.str();
    ::sendto(fd_, out.data(), out.size(), 0, reinterpret_cast<const sockaddr*>(&peer_),
             sizeof peer_);
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  sockaddr_in peer_{};
};

constexpr const char* kDeviceSdp =
    "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

class CallApi : public ApiTest {
 protected:
  FixtureOptions options() const override {
    FixtureOptions o;
    o.calls = true;
    return o;
  }
  void SetUp() override {
    ApiTest::SetUp();
    if (HasFatalFailure()) return;
    put_realm("acme.example");
  }

  // alice@acme.example bound to `device` (as if it had REGISTERed over UDP
  // to the fixture's SIP server).
  registrar::Binding bind_alice(const Device& device, const std::string& user = "alice") {
    registrar::Binding b = binding(user + "@acme.example",
                                   "sip:" + user + "@127.0.0.1:" + std::to_string(device.port()));
    b.source_ip = "127.0.0.1";
    b.source_port = device.port();
    b.local_address = "udp:127.0.0.1:" + std::to_string(sip_port());
    put_binding(b);
    return b;
  }

  grpc::Status create(const v1::CreateCallRequest& req, v1::Call* out,
                      const char* token = kCallsToken) {
    return calls().CreateCall(ctx(token).get(), req, out);
  }
  static v1::CreateCallRequest to(const std::string& uri) {
    v1::CreateCallRequest r;
    r.set_to(uri);
    return r;
  }

  struct Watch {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReader<v1::CallEvent>> reader;
  };
  // Opens WatchCalls and waits for its headers (the subscription exists then).
  Watch watch(v1::WatchCallsRequest req = {}, const char* token = kCallsToken) {
    Watch w;
    w.context = ctx(token);
    w.context->set_deadline(std::chrono::system_clock::now() + 30s);
    w.reader = calls().WatchCalls(w.context.get(), req);
    w.reader->WaitForInitialMetadata();
    return w;
  }
  // Events until one of `last` type (included); fails when the stream ends first.
  static std::vector<v1::CallEvent> read_until(Watch& w, v1::CallEvent::Type last) {
    std::vector<v1::CallEvent> out;
    v1::CallEvent e;
    while (w.reader->Read(&e)) {
      out.push_back(e);
      if (e.type() == last) return out;
    }
    ADD_FAILURE() << "stream ended before " << v1::CallEvent::Type_Name(last) << ": "
                  << describe(w.reader->Finish());
    return out;
  }
  static std::vector<std::string> types(const std::vector<v1::CallEvent>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(v1::CallEvent::Type_Name(e.type()));
    return out;
  }
  static std::vector<std::string> fields(const grpc::Status& s) {
    std::vector<std::string> out;
    if (auto b = bad_request(s))
      for (const auto& v : b->field_violations()) out.push_back(v.field());
    return out;
  }
};

// --- validation ----------------------------------------------------------

// Verifies every malformed CreateCall field is reported as a BadRequest
// violation of that field (and nothing is sent).
TEST_F(CallApi, CreateCallValidation) {
  struct Case {
    const char* what;
    std::function<void(v1::CreateCallRequest&)> change;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"to empty", [](auto& r) { r.set_to(""); }, "to"},
      {"to tel:", [](auto& r) { r.set_to("tel:+15551234"); }, "to"},
      {"to without user", [](auto& r) { r.set_to("sip:acme.example"); }, "to"},
      {"to garbage", [](auto& r) { r.set_to("alice at acme"); }, "to"},
      {"from not sip", [](auto& r) { r.set_from("mailto:a@b.example"); }, "from"},
      {"display name CRLF", [](auto& r) { r.set_from_display_name("A\r\nB"); },
       "from_display_name"},
      {"header not X-", [](auto& r) { (*r.mutable_headers())["Subject"] = "hi"; },
       "headers[\"Subject\"]"},
      {"header name not a token", [](auto& r) { (*r.mutable_headers())["X-A B"] = "v"; },
       "headers[\"X-A B\"]"},
      {"header value CRLF", [](auto& r) { (*r.mutable_headers())["X-A"] = "v\r\nBye: x"; },
       "headers[\"X-A\"]"},
      {"header value 1 KiB+1",
       [](auto& r) { (*r.mutable_headers())["X-A"] = std::string(1025, 'v'); }, "headers[\"X-A\"]"},
      {"21 headers",
       [](auto& r) {
         for (int i = 0; i < 21; ++i) (*r.mutable_headers())["X-H" + std::to_string(i)] = "v";
       },
       "headers"},
      {"sdp 16 KiB+1", [](auto& r) { r.set_sdp_offer(std::string(16 * 1024 + 1, 'a')); },
       "sdp_offer"},
      {"ring_timeout 0.5 s", [](auto& r) { r.mutable_ring_timeout()->set_nanos(500'000'000); },
       "ring_timeout"},
      {"ring_timeout 601 s", [](auto& r) { r.mutable_ring_timeout()->set_seconds(601); },
       "ring_timeout"},
      {"username without password", [](auto& r) { r.set_sip_auth_username("alice"); },
       "sip_auth_password"},
      {"password without username", [](auto& r) { r.set_sip_auth_password("pw"); },
       "sip_auth_username"},
      {"wait_for unknown",
       [](auto& r) { r.set_wait_for(static_cast<v1::CreateCallRequest::WaitFor>(9)); },
       "wait_for"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    v1::CreateCallRequest req = to("sip:alice@acme.example");
    c.change(req);
    v1::Call call;
    grpc::Status s = create(req, &call);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << describe(s);
    EXPECT_THAT(fields(s), Contains(c.field)) << describe(s);
  }
  // Several at once: all reported.
  v1::CreateCallRequest req = to("tel:1");
  req.mutable_ring_timeout()->set_seconds(0);
  (*req.mutable_headers())["Subject"] = "x";
  v1::Call call;
  grpc::Status s = create(req, &call);
  EXPECT_THAT(fields(s), testing::IsSupersetOf({"to", "ring_timeout", "headers[\"Subject\"]"}));
}

// Verifies the other RPCs' shape checks: names, digits, durations, statuses,
// SDP size, list filters, page tokens and watch filters.
TEST_F(CallApi, OtherRpcValidation) {
  v1::Call call;
  auto expect_field = [](const grpc::Status& s, const char* field) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << describe(s);
    EXPECT_THAT(CallApi::fields(s), Contains(field)) << describe(s);
  };
  for (const char* bad : {"", "calls/", "calls/xyz", "c00000000000000000000", "calls/C00000000000000000000",
                          "calls/c0000000000000000000g"}) {
    SCOPED_TRACE(bad);
    v1::GetCallRequest get;
    get.set_name(bad);
    expect_field(calls().GetCall(ctx(kReadToken).get(), get, &call), "name");
    v1::HangupCallRequest hangup;
    hangup.set_name(bad);
    expect_field(calls().HangupCall(ctx(kCallsToken).get(), hangup, &call), "name");
  }
  for (const char* digits : {"", "12x", "1 2", "abcd", "123456789012345678901234567890123"}) {
    SCOPED_TRACE(digits);
    v1::SendDtmfRequest dtmf;
    dtmf.set_name(kUnknownCall);
    dtmf.set_digits(digits);
    expect_field(calls().SendDtmf(ctx(kCallsToken).get(), dtmf, &call), "digits");
  }
  for (int ms : {50, 5001}) {
    SCOPED_TRACE(ms);
    v1::SendDtmfRequest dtmf;
    dtmf.set_name(kUnknownCall);
    dtmf.set_digits("123#");
    dtmf.mutable_duration()->set_seconds(ms / 1000);
    dtmf.mutable_duration()->set_nanos((ms % 1000) * 1'000'000);
    expect_field(calls().SendDtmf(ctx(kCallsToken).get(), dtmf, &call), "duration");
  }
  for (int status : {-1, 200, 399, 700}) {
    SCOPED_TRACE(status);
    v1::RejectCallRequest reject;
    reject.set_name(kUnknownCall);
    reject.set_sip_status(status);
    expect_field(calls().RejectCall(ctx(kCallsToken).get(), reject, &call), "sip_status");
  }
  v1::AnswerCallRequest answer;
  answer.set_name(kUnknownCall);
  answer.set_sdp_answer(std::string(16 * 1024 + 1, 'a'));
  expect_field(calls().AnswerCall(ctx(kCallsToken).get(), answer, &call), "sdp_answer");

  v1::ListCallsResponse list;
  v1::ListCallsRequest lr;
  lr.set_page_size(-1);
  expect_field(calls().ListCalls(ctx(kReadToken).get(), lr, &list), "page_size");
  lr = {};
  lr.set_page_token("not-a-token");
  expect_field(calls().ListCalls(ctx(kReadToken).get(), lr, &list), "page_token");
  lr = {};
  lr.set_realm("realms/");
  expect_field(calls().ListCalls(ctx(kReadToken).get(), lr, &list), "realm");
  lr = {};
  lr.set_state(static_cast<v1::Call::State>(9));
  expect_field(calls().ListCalls(ctx(kReadToken).get(), lr, &list), "state");

  auto watch_error = [&](v1::WatchCallsRequest req) {
    auto c = ctx(kCallsToken);
    auto reader = calls().WatchCalls(c.get(), req);
    v1::CallEvent e;
    EXPECT_FALSE(reader->Read(&e));
    return reader->Finish();
  };
  v1::WatchCallsRequest wr;
  wr.set_realm("realms/a/b");
  expect_field(watch_error(wr), "realm");
  wr = {};
  wr.set_call("calls/nope");
  expect_field(watch_error(wr), "call");
  wr = {};
  wr.add_types(static_cast<v1::CallEvent::Type>(99));
  expect_field(watch_error(wr), "types[0]");
}

// --- roles -----------------------------------------------------------------

// Verifies each RPC's role: no token → UNAUTHENTICATED; read → PERMISSION_DENIED
// for the ones that act on calls, allowed for Get/List; calls → allowed.
TEST_F(CallApi, RolesPerRpc) {
  using Rpc = std::function<grpc::Status(const char* token)>;
  v1::Call call;
  struct Case {
    const char* name;
    bool read_allowed;
    Rpc rpc;
  };
  const std::vector<Case> cases = {
      {"CreateCall", false,
       [&](const char* t) { return create(to("sip:alice@unserved.example"), &call, t); }},
      {"GetCall", true,
       [&](const char* t) {
         v1::GetCallRequest r;
         r.set_name(kUnknownCall);
         return calls().GetCall(ctx(t).get(), r, &call);
       }},
      {"ListCalls", true,
       [&](const char* t) {
         v1::ListCallsResponse resp;
         return calls().ListCalls(ctx(t).get(), v1::ListCallsRequest(), &resp);
       }},
      {"HangupCall", false,
       [&](const char* t) {
         v1::HangupCallRequest r;
         r.set_name(kUnknownCall);
         return calls().HangupCall(ctx(t).get(), r, &call);
       }},
      {"SendDtmf", false,
       [&](const char* t) {
         v1::SendDtmfRequest r;
         r.set_name(kUnknownCall);
         r.set_digits("1");
         return calls().SendDtmf(ctx(t).get(), r, &call);
       }},
      {"AnswerCall", false,
       [&](const char* t) {
         v1::AnswerCallRequest r;
         r.set_name(kUnknownCall);
         return calls().AnswerCall(ctx(t).get(), r, &call);
       }},
      {"RejectCall", false,
       [&](const char* t) {
         v1::RejectCallRequest r;
         r.set_name(kUnknownCall);
         return calls().RejectCall(ctx(t).get(), r, &call);
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(c.rpc(kNoToken).error_code(), grpc::StatusCode::UNAUTHENTICATED);
    grpc::Status read = c.rpc(kReadToken);
    if (c.read_allowed) {
      EXPECT_NE(read.error_code(), grpc::StatusCode::PERMISSION_DENIED) << describe(read);
    } else {
      EXPECT_EQ(read.error_code(), grpc::StatusCode::PERMISSION_DENIED) << describe(read);
      EXPECT_THAT(read.error_message(), HasSubstr("calls"));
    }
    for (const char* token : {kCallsToken, kAdminToken}) {
      grpc::Status s = c.rpc(token);
      EXPECT_NE(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << describe(s);
      EXPECT_NE(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << describe(s);
    }
  }
}

// Verifies WatchCalls: no token → UNAUTHENTICATED; a read token may watch but
// not ask for INCOMING events (PERMISSION_DENIED); calls may.
TEST_F(CallApi, WatchRoles) {
  auto finish = [&](const char* token, v1::WatchCallsRequest req) {
    auto c = ctx(token);
    c->set_deadline(std::chrono::system_clock::now() + 2s);
    auto reader = calls().WatchCalls(c.get(), req);
    v1::CallEvent e;
    reader->Read(&e);
    return reader->Finish();
  };
  EXPECT_EQ(finish(kNoToken, {}).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  v1::WatchCallsRequest incoming;
  incoming.add_types(v1::CallEvent::INCOMING);
  grpc::Status s = finish(kReadToken, incoming);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << describe(s);
  // Allowed ones stream (headers sent) until the client cancels.
  for (auto [token, req] : {std::pair{kReadToken, v1::WatchCallsRequest()},
                            std::pair{kCallsToken, incoming}}) {
    Watch w = watch(req, token);
    w.context->TryCancel();
    v1::CallEvent e;
    EXPECT_FALSE(w.reader->Read(&e));
    EXPECT_EQ(w.reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
}

// --- engine refusals ---------------------------------------------------------

// Verifies a call to a realm this server does not serve is NOT_FOUND with
// reason REALM_NOT_SERVED and the realm as the resource.
TEST_F(CallApi, UnservedRealmIsNotFound) {
  v1::Call call;
  grpc::Status s = create(to("sip:alice@unserved.example"), &call);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << describe(s);
  auto info = error_info(s);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->reason(), "REALM_NOT_SERVED");
  EXPECT_EQ(info->domain(), "switchboard.dev");
  auto resource = resource_info(s);
  ASSERT_TRUE(resource);
  EXPECT_EQ(resource->resource_type(), "switchboard.v1.Realm");
  EXPECT_EQ(resource->resource_name(), "realms/unserved.example");
}

// Verifies a target without bindings is FAILED_PRECONDITION NO_BINDINGS.
TEST_F(CallApi, NoBindingsIsFailedPrecondition) {
  v1::Call call;
  grpc::Status s = create(to("sip:nobody@acme.example"), &call);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << describe(s);
  ASSERT_TRUE(error_info(s));
  EXPECT_EQ(error_info(s)->reason(), "NO_BINDINGS");
}

// Verifies a wrong sip_auth_password is PERMISSION_DENIED CREDENTIAL_MISMATCH
// and no INVITE reaches the device.
TEST_F(CallApi, WrongSipAuthPasswordIsPermissionDenied) {
  Device device;
  bind_alice(device);
  registrar::Realm realm = *credentials->find_realm("acme.example");
  ASSERT_TRUE(credentials
                  ->put_credential(registrar::Credential::from_password(
                      realm.name, "alice", "right-password", realm.name))
                  .ok);
  v1::CreateCallRequest req = to("sip:alice@acme.example");
  req.set_sip_auth_username("alice");
  req.set_sip_auth_password("wrong-password");
  v1::Call call;
  grpc::Status s = create(req, &call);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << describe(s);
  ASSERT_TRUE(error_info(s));
  EXPECT_EQ(error_info(s)->reason(), "CREDENTIAL_MISMATCH");
  EXPECT_EQ(device.expect("INVITE", 300ms), "");
}

// Verifies GetCall of an unknown call is NOT_FOUND naming the call.
TEST_F(CallApi, GetUnknownCallIsNotFound) {
  v1::GetCallRequest req;
  req.set_name(kUnknownCall);
  v1::Call call;
  grpc::Status s = calls().GetCall(ctx(kReadToken).get(), req, &call);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << describe(s);
  ASSERT_TRUE(error_info(s));
  EXPECT_EQ(error_info(s)->reason(), "CALL_NOT_FOUND");
  ASSERT_TRUE(resource_info(s));
  EXPECT_EQ(resource_info(s)->resource_type(), "switchboard.v1.Call");
}

// --- ListCalls ---------------------------------------------------------------

// Verifies ListCalls pages through every call in creation order with opaque
// tokens, and filters by realm and state.
TEST_F(CallApi, ListCallsPagination) {
  Device device;
  bind_alice(device);
  std::vector<std::string> created;
  for (int i = 0; i < 5; ++i) {
    v1::CreateCallRequest req = to("sip:alice@acme.example");
    req.set_request_id("list-" + std::to_string(i));
    v1::Call call;
    grpc::Status s = create(req, &call);
    ASSERT_TRUE(s.ok()) << describe(s);
    EXPECT_THAT(call.name(), testing::MatchesRegex("calls/c[0-9a-f]{20}"));
    EXPECT_EQ(call.request_id(), "list-" + std::to_string(i));
    EXPECT_EQ(call.direction(), v1::Call::OUTBOUND);
    EXPECT_EQ(call.realm(), "realms/acme.example");
    EXPECT_EQ(call.aor(), "sip:alice@acme.example");
    created.push_back(call.name());
  }
  std::vector<std::string> listed;
  std::vector<int> page_sizes;
  v1::ListCallsRequest req;
  req.set_page_size(2);
  do {
    v1::ListCallsResponse page;
    grpc::Status s = calls().ListCalls(ctx(kReadToken).get(), req, &page);
    ASSERT_TRUE(s.ok()) << describe(s);
    page_sizes.push_back(page.calls_size());
    for (const auto& c : page.calls()) listed.push_back(c.name());
    req.set_page_token(page.next_page_token());
  } while (!req.page_token().empty() && page_sizes.size() < 10);
  EXPECT_EQ(listed, created);
  EXPECT_EQ(page_sizes, (std::vector<int>{2, 2, 1}));

  v1::ListCallsResponse none;
  v1::ListCallsRequest other;
  other.set_realm("realms/other.example");
  ASSERT_TRUE(calls().ListCalls(ctx(kReadToken).get(), other, &none).ok());
  EXPECT_EQ(none.calls_size(), 0);
  v1::ListCallsRequest ended;
  ended.set_state(v1::Call::ENDED);
  ASSERT_TRUE(calls().ListCalls(ctx(kReadToken).get(), ended, &none).ok());
  EXPECT_EQ(none.calls_size(), 0);
  // A token of another list is refused.
  v1::ListCallsRequest foreign;
  foreign.set_page_token(switchboard::api::encode_page_token("bindings", "x"));
  EXPECT_EQ(calls().ListCalls(ctx(kReadToken).get(), foreign, &none).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// --- a call, end to end ------------------------------------------------------

// Verifies a call to a bound device: WatchCalls sees CREATED … RINGING
// (180), ANSWERED (200 with SDP: remote_sdp, answered_binding), then
// HangupCall sends BYE to the device and ENDED(HANGUP_API) carries a duration.
TEST_F(CallApi, WatchedCallRingsAnswersAndHangsUp) {
  Device device;
  registrar::Binding b = bind_alice(device);
  Watch w = watch();

  v1::CreateCallRequest req = to("sip:alice@acme.example");
  (*req.mutable_headers())["X-Campaign"] = "spring";
  v1::Call call;
  grpc::Status s = create(req, &call);
  ASSERT_TRUE(s.ok()) << describe(s);
  EXPECT_EQ(call.headers().at("X-Campaign"), "spring");

  std::string invite = device.expect("INVITE");
  ASSERT_FALSE(invite.empty()) << "no INVITE at the device";
  EXPECT_THAT(invite, HasSubstr("X-Campaign: spring"));
  device.respond(invite, 180, "Ringing");
  device.respond(invite, 200, "OK", kDeviceSdp);

  std::vector<v1::CallEvent> events = read_until(w, v1::CallEvent::ANSWERED);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(types(events).front(), "CREATED");
  EXPECT_THAT(types(events), Contains("RINGING"));
  for (const auto& e : events) EXPECT_EQ(e.call().name(), call.name());
  const v1::Call& answered = events.back().call();
  EXPECT_EQ(answered.state(), v1::Call::ANSWERED);
  EXPECT_EQ(answered.remote_sdp(), kDeviceSdp);
  EXPECT_EQ(answered.answered_contact(), b.contact);
  EXPECT_EQ(answered.answered_binding(), switchboard::api::binding_name(b));
  EXPECT_TRUE(answered.has_answer_time());
  EXPECT_FALSE(answered.has_duration());

  v1::HangupCallRequest hangup;
  hangup.set_name(call.name());
  v1::Call after;
  s = calls().HangupCall(ctx(kCallsToken).get(), hangup, &after);
  ASSERT_TRUE(s.ok()) << describe(s);
  std::string bye = device.expect("BYE");
  ASSERT_FALSE(bye.empty()) << "no BYE at the device";
  device.respond(bye, 200, "OK");

  events = read_until(w, v1::CallEvent::ENDED);
  ASSERT_FALSE(events.empty());
  const v1::Call& ended = events.back().call();
  EXPECT_EQ(ended.state(), v1::Call::ENDED);
  EXPECT_EQ(ended.end_reason(), v1::Call::HANGUP_API);
  EXPECT_TRUE(ended.has_duration());
  EXPECT_TRUE(ended.has_end_time());
  for (size_t i = 1; i < events.size(); ++i)
    EXPECT_GT(events[i].sequence(), events[i - 1].sequence());

  // Ended: a second hangup is refused.
  s = calls().HangupCall(ctx(kCallsToken).get(), hangup, &after);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << describe(s);
  w.context->TryCancel();
}

// Verifies CreateCall with wait_for ANSWERED returns ABORTED CALL_FAILED with
// the SIP status when the device declines (486), without blocking other RPCs.
TEST_F(CallApi, WaitForAnsweredAbortsWhenDeclined) {
  Device device;
  bind_alice(device);
  v1::CreateCallRequest req = to("sip:alice@acme.example");
  req.set_wait_for(v1::CreateCallRequest::ANSWERED);
  auto pending = std::async(std::launch::async, [&] {
    v1::Call call;
    return create(req, &call);
  });
  std::string invite = device.expect("INVITE");
  ASSERT_FALSE(invite.empty());
  // Meanwhile the API answers other calls.
  v1::ListCallsResponse list;
  ASSERT_TRUE(calls().ListCalls(ctx(kReadToken).get(), v1::ListCallsRequest(), &list).ok());
  EXPECT_EQ(list.calls_size(), 1);
  device.respond(invite, 486, "Busy Here");
  grpc::Status s = pending.get();
  ASSERT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << describe(s);
  auto info = error_info(s);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->reason(), "CALL_FAILED");
  EXPECT_EQ(info->metadata().at("sip_status"), "486");
  EXPECT_THAT(info->metadata().at("call"), StartsWith("calls/c"));
}

// Verifies a client deadline shorter than the wait ends the RPC
// (DEADLINE_EXCEEDED) while the call goes on: it is not hung up.
TEST_F(CallApi, ClientDeadlineEndsTheWaitNotTheCall) {
  Device device;
  bind_alice(device);
  v1::CreateCallRequest req = to("sip:alice@acme.example");
  req.set_wait_for(v1::CreateCallRequest::ANSWERED);
  auto c = ctx(kCallsToken);
  c->set_deadline(std::chrono::system_clock::now() + 500ms);
  v1::Call call;
  grpc::Status s = calls().CreateCall(c.get(), req, &call);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << describe(s);
  v1::ListCallsResponse list;
  ASSERT_TRUE(calls().ListCalls(ctx(kReadToken).get(), v1::ListCallsRequest(), &list).ok());
  ASSERT_EQ(list.calls_size(), 1);
  EXPECT_NE(list.calls(0).state(), v1::Call::ENDED);
  EXPECT_EQ(device.expect("CANCEL", 300ms), "");
}

// Verifies the server's shutdown ends a WatchCalls stream with UNAVAILABLE.
TEST_F(CallApi, ShutdownEndsWatchWithUnavailable) {
  Watch w = watch();
  server->shutdown();
  v1::CallEvent e;
  EXPECT_FALSE(w.reader->Read(&e));
  grpc::Status s = w.reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << describe(s);
}

// Verifies the call watcher limit: one more is RESOURCE_EXHAUSTED TOO_MANY_WATCHERS.
class CallWatchLimit : public CallApi {
 protected:
  FixtureOptions options() const override {
    FixtureOptions o = CallApi::options();
    o.max_call_watchers = 1;
    return o;
  }
};
TEST_F(CallWatchLimit, OneTooManyIsRefused) {
  Watch first = watch();
  auto c = ctx(kCallsToken);
  auto reader = calls().WatchCalls(c.get(), v1::WatchCallsRequest());
  v1::CallEvent e;
  EXPECT_FALSE(reader->Read(&e));
  grpc::Status s = reader->Finish();
  ASSERT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << describe(s);
  EXPECT_EQ(error_info(s)->reason(), "TOO_MANY_WATCHERS");
  first.context->TryCancel();
}

}  // namespace
}  // namespace apitest
