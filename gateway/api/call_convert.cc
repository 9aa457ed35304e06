// gateway/api/call_convert.cc — see call_convert.h.
#include "gateway/api/call_convert.h"

#include <google/protobuf/duration.pb.h>

#include <algorithm>
#include <cctype>

#include "gateway/api/convert.h"
#include "gateway/api/resource_names.h"
#include "registrar/binding.h"
#include "sip/uri.h"

namespace switchboard::api {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// RFC 3261 §25.1 token characters.
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) continue;
    if (std::string_view("-.!%*_+`'~").find(c) == std::string_view::npos) return false;
  }
  return true;
}

bool has_control(std::string_view s, bool allow_tab) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && !(allow_tab && c == '\t')) || u == 0x7f) return true;
  }
  return false;
}

int64_t to_millis(const google::protobuf::Duration& d) {
  return d.seconds() * 1000 + d.nanos() / 1'000'000;
}

void set_duration(std::chrono::nanoseconds d, google::protobuf::Duration* out) {
  int64_t ns = d.count();
  out->set_seconds(ns / 1'000'000'000);
  out->set_nanos(int32_t(ns % 1'000'000'000));
}

}  // namespace

v1::Call::Direction to_proto(calls::Direction direction) {
  return direction == calls::Direction::kInbound ? v1::Call::INBOUND : v1::Call::OUTBOUND;
}

v1::Call::State to_proto(calls::CallState state) {
  switch (state) {
    case calls::CallState::kTrying:
      return v1::Call::TRYING;
    case calls::CallState::kRinging:
      return v1::Call::RINGING;
    case calls::CallState::kAnswered:
      return v1::Call::ANSWERED;
    case calls::CallState::kEnded:
      return v1::Call::ENDED;
  }
  return v1::Call::STATE_UNSPECIFIED;
}

v1::Call::EndReason to_proto(calls::EndReason reason) {
  switch (reason) {
    case calls::EndReason::kNone:
      return v1::Call::END_REASON_UNSPECIFIED;
    case calls::EndReason::kHangupApi:
      return v1::Call::HANGUP_API;
    case calls::EndReason::kHangupRemote:
      return v1::Call::HANGUP_REMOTE;
    case calls::EndReason::kRejected:
      return v1::Call::REJECTED;
    case calls::EndReason::kTimeout:
      return v1::Call::TIMEOUT;
    case calls::EndReason::kUnreachable:
      return v1::Call::UNREACHABLE;
    case calls::EndReason::kNoConsumer:
      return v1::Call::NO_CONSUMER;
    case calls::EndReason::kShutdown:
      return v1::Call::SHUTDOWN;
    case calls::EndReason::kError:
      return v1::Call::ERROR;
  }
  return v1::Call::ERROR;
}

v1::CallEvent::Type to_proto(calls::CallEventType type) {
  switch (type) {
    case calls::CallEventType::kCreated:
      return v1::CallEvent::CREATED;
    case calls::CallEventType::kTrying:
      return v1::CallEvent::TRYING;
    case calls::CallEventType::kRinging:
      return v1::CallEvent::RINGING;
    case calls::CallEventType::kAnswered:
      return v1::CallEvent::ANSWERED;
    case calls::CallEventType::kUpdated:
      return v1::CallEvent::UPDATED;
    case calls::CallEventType::kDtmf:
      return v1::CallEvent::DTMF;
    case calls::CallEventType::kEnded:
      return v1::CallEvent::ENDED;
    case calls::CallEventType::kIncoming:
      return v1::CallEvent::INCOMING;
  }
  return v1::CallEvent::TYPE_UNSPECIFIED;
}

std::optional<calls::CallState> from_proto(v1::Call::State state) {
  switch (state) {
    case v1::Call::TRYING:
      return calls::CallState::kTrying;
    case v1::Call::RINGING:
      return calls::CallState::kRinging;
    case v1::Call::ANSWERED:
      return calls::CallState::kAnswered;
    case v1::Call::ENDED:
      return calls::CallState::kEnded;
    default:
      return std::nullopt;
  }
}

std::optional<calls::CallEventType> from_proto(v1::CallEvent::Type type) {
  switch (type) {
    case v1::CallEvent::CREATED:
      return calls::CallEventType::kCreated;
    case v1::CallEvent::TRYING:
      return calls::CallEventType::kTrying;
    case v1::CallEvent::RINGING:
      return calls::CallEventType::kRinging;
    case v1::CallEvent::ANSWERED:
      return calls::CallEventType::kAnswered;
    case v1::CallEvent::UPDATED:
      return calls::CallEventType::kUpdated;
    case v1::CallEvent::DTMF:
      return calls::CallEventType::kDtmf;
    case v1::CallEvent::ENDED:
      return calls::CallEventType::kEnded;
    case v1::CallEvent::INCOMING:
      return calls::CallEventType::kIncoming;
    default:
      return std::nullopt;
  }
}

std::string answered_binding_name(std::string_view aor, std::string_view contact) {
  if (aor.empty() || contact.empty()) return {};
  registrar::Binding b;
  b.aor = std::string(aor);
  b.contact = std::string(contact);
  return binding_name(b);
}

v1::Call to_proto(const calls::CallInfo& c) {
  v1::Call out;
  out.set_name(call_name(c.id));
  out.set_direction(to_proto(c.direction));
  out.set_state(to_proto(c.state));
  if (!c.realm.empty()) out.set_realm(realm_name(c.realm));
  out.set_to(c.to_uri);
  out.set_from(c.from_uri);
  out.set_from_display_name(c.from_display);
  if (!c.aor.empty()) out.set_aor(aor_uri(c.aor));
  out.set_sip_auth_username(c.username);
  out.set_sip_call_id(c.sip_call_id);
  out.set_local_sdp(c.local_sdp);
  out.set_remote_sdp(c.remote_sdp);
  if (c.direction == calls::Direction::kOutbound)
    out.set_answered_binding(answered_binding_name(c.aor, c.answered_contact));
  out.set_answered_contact(c.answered_contact);
  out.set_branches(c.branches);
  out.set_sip_status(c.sip_status);
  out.set_sip_reason(c.sip_reason);
  out.set_end_reason(to_proto(c.end_reason));
  out.set_end_detail(c.detail);
  set_timestamp(c.create_time, out.mutable_create_time());
  set_timestamp(c.ring_time, out.mutable_ring_time());
  set_timestamp(c.answer_time, out.mutable_answer_time());
  set_timestamp(c.end_time, out.mutable_end_time());
  if (c.answer_time != calls::WallTime{} && c.end_time != calls::WallTime{} &&
      c.end_time >= c.answer_time)
    set_duration(c.end_time - c.answer_time, out.mutable_duration());
  // set_timestamp leaves unset times alone, but mutable_*() made them present.
  if (c.create_time == calls::WallTime{}) out.clear_create_time();
  if (c.ring_time == calls::WallTime{}) out.clear_ring_time();
  if (c.answer_time == calls::WallTime{}) out.clear_answer_time();
  if (c.end_time == calls::WallTime{}) out.clear_end_time();
  out.set_request_id(c.request_id);
  for (const auto& [name, value] : c.custom_headers) (*out.mutable_headers())[name] = value;
  return out;
}

v1::CallEvent to_proto(const calls::CallEvent& e) {
  v1::CallEvent out;
  out.set_sequence(e.sequence);
  out.set_type(to_proto(e.type));
  set_timestamp(e.time, out.mutable_time());
  if (e.time == calls::WallTime{}) out.clear_time();
  *out.mutable_call() = to_proto(e.call);
  out.set_digit(e.digit);
  return out;
}

std::optional<calls::CallInfo> from_proto(const v1::Call& in) {
  std::optional<std::string> id = parse_call_name(in.name());
  if (!id) return std::nullopt;
  calls::CallInfo c;
  c.id = std::move(*id);
  c.direction = in.direction() == v1::Call::INBOUND ? calls::Direction::kInbound
                                                    : calls::Direction::kOutbound;
  c.state = from_proto(in.state()).value_or(calls::CallState::kTrying);
  c.realm = parse_realm_name(in.realm()).value_or("");
  c.to_uri = in.to();
  c.from_uri = in.from();
  c.from_display = in.from_display_name();
  constexpr std::string_view kSip = "sip:";
  c.aor = in.aor().rfind(kSip, 0) == 0 ? in.aor().substr(kSip.size()) : in.aor();
  c.username = in.sip_auth_username();
  c.sip_call_id = in.sip_call_id();
  c.local_sdp = in.local_sdp();
  c.remote_sdp = in.remote_sdp();
  c.answered_contact = in.answered_contact();
  c.branches = in.branches();
  c.sip_status = in.sip_status();
  c.sip_reason = in.sip_reason();
  switch (in.end_reason()) {
    case v1::Call::HANGUP_API: c.end_reason = calls::EndReason::kHangupApi; break;
    case v1::Call::HANGUP_REMOTE: c.end_reason = calls::EndReason::kHangupRemote; break;
    case v1::Call::REJECTED: c.end_reason = calls::EndReason::kRejected; break;
    case v1::Call::TIMEOUT: c.end_reason = calls::EndReason::kTimeout; break;
    case v1::Call::UNREACHABLE: c.end_reason = calls::EndReason::kUnreachable; break;
    case v1::Call::NO_CONSUMER: c.end_reason = calls::EndReason::kNoConsumer; break;
    case v1::Call::SHUTDOWN: c.end_reason = calls::EndReason::kShutdown; break;
    case v1::Call::ERROR: c.end_reason = calls::EndReason::kError; break;
    default: c.end_reason = calls::EndReason::kNone; break;
  }
  c.detail = in.end_detail();
  if (in.has_create_time()) c.create_time = from_timestamp(in.create_time());
  if (in.has_ring_time()) c.ring_time = from_timestamp(in.ring_time());
  if (in.has_answer_time()) c.answer_time = from_timestamp(in.answer_time());
  if (in.has_end_time()) c.end_time = from_timestamp(in.end_time());
  c.request_id = in.request_id();
  // to_proto wrote them from a sorted list; a proto map has no order.
  for (const auto& [name, value] : in.headers()) c.custom_headers.emplace_back(name, value);
  std::sort(c.custom_headers.begin(), c.custom_headers.end());
  return c;
}

std::optional<calls::CallEvent> from_proto(const v1::CallEvent& in) {
  std::optional<calls::CallEventType> type = from_proto(in.type());
  std::optional<calls::CallInfo> call = from_proto(in.call());
  if (!type || !call) return std::nullopt;
  calls::CallEvent e;
  e.sequence = in.sequence();
  e.type = *type;
  if (in.has_time()) e.time = from_timestamp(in.time());
  e.call = std::move(*call);
  e.digit = in.digit();
  return e;
}

std::optional<std::string> check_call_uri(std::string_view uri, std::string_view field,
                                          std::vector<FieldViolation>& violations) {
  auto bad = [&](std::string description) {
    violations.push_back({std::string(field), std::move(description)});
    return std::nullopt;
  };
  if (uri.empty()) return bad("required: a sip: URI with a user, \"sip:alice@acme.example\"");
  if (uri.size() > kMaxCallUriBytes)
    return bad("must be at most " + std::to_string(kMaxCallUriBytes) + " bytes");
  sip::Uri parsed;
  const char* why = nullptr;
  if (!sip::parse_uri(uri, parsed, &why))
    return bad("not a SIP URI (" + std::string(why ? why : "malformed") + "): \"" +
               std::string(uri) + "\"");
  if (!parsed.is_sip())
    return bad("must be a sip: or sips: URI, got \"" + std::string(uri) + "\"");
  if (!parsed.has_userinfo || parsed.user.empty())
    return bad("needs a user part, \"sip:alice@acme.example\", got \"" + std::string(uri) + "\"");
  if (parsed.host.empty()) return bad("needs a host, got \"" + std::string(uri) + "\"");
  if (!parsed.headers.empty())
    return bad("must not carry URI headers (\"?…\"); use `headers` for X- headers");
  return lower(parsed.host_address());
}

calls::CreateCallRequest create_call_from_proto(const v1::CreateCallRequest& in,
                                                std::string_view creator,
                                                std::vector<FieldViolation>& violations) {
  calls::CreateCallRequest out;
  check_call_uri(in.to(), "to", violations);
  out.to = in.to();

  const bool user = !in.sip_auth_username().empty();
  const bool password = !in.sip_auth_password().empty();
  if (user && !password)
    violations.push_back({"sip_auth_password", "required together with sip_auth_username"});
  if (password && !user)
    violations.push_back({"sip_auth_username", "required together with sip_auth_password"});
  if (user && (in.sip_auth_username().size() > 255 || has_control(in.sip_auth_username(), false) ||
               in.sip_auth_username().find_first_of(" \"\\") != std::string::npos))
    violations.push_back({"sip_auth_username",
                          "1-255 printable characters without spaces, quotes or backslashes"});
  if (password && in.sip_auth_password().size() > 1024)
    violations.push_back({"sip_auth_password", "must be at most 1024 bytes"});
  out.sip_auth_username = in.sip_auth_username();
  out.sip_auth_password = in.sip_auth_password();

  if (!in.from().empty()) check_call_uri(in.from(), "from", violations);
  out.from_uri = in.from();
  if (in.from_display_name().size() > kMaxDisplayNameBytes ||
      has_control(in.from_display_name(), true))
    violations.push_back({"from_display_name",
                          "at most " + std::to_string(kMaxDisplayNameBytes) +
                              " bytes without control characters (CR, LF, …)"});
  out.from_display = in.from_display_name();

  check_sdp(in.sdp_offer(), "sdp_offer", violations);
  out.sdp_offer = in.sdp_offer();

  out.ring_timeout = kDefaultRingTimeout;
  if (in.has_ring_timeout()) {
    const google::protobuf::Duration& d = in.ring_timeout();
    const int64_t ms = to_millis(d);
    if (d.seconds() < 0 || d.nanos() < 0 || ms < kMinRingTimeout.count() * 1000 ||
        ms > kMaxRingTimeout.count() * 1000) {
      violations.push_back({"ring_timeout", "must lie between 1 s and 600 s (default 60 s), got " +
                                                std::to_string(ms) + " ms"});
    } else {
      out.ring_timeout = std::chrono::seconds(d.seconds() + (d.nanos() > 0 ? 1 : 0));  // rounded up
    }
  }

  if (size_t(in.headers_size()) > kMaxCallHeaders)
    violations.push_back({"headers", "at most " + std::to_string(kMaxCallHeaders) +
                                         " custom headers, got " +
                                         std::to_string(in.headers_size())});
  for (const auto& [name, value] : in.headers()) {
    const std::string field = "headers[\"" + name + "\"]";
    if (name.size() < 3 || (name[0] != 'X' && name[0] != 'x') || name[1] != '-' || !is_token(name))
      violations.push_back({field,
                            "header names must start with \"X-\" and be SIP tokens (letters, "
                            "digits, -.!%*_+`'~)"});
    else if (name.size() > kMaxCallHeaderBytes)
      violations.push_back({field, "name longer than " + std::to_string(kMaxCallHeaderBytes) +
                                       " bytes"});
    if (value.size() > kMaxCallHeaderBytes)
      violations.push_back({field, "value longer than " + std::to_string(kMaxCallHeaderBytes) +
                                       " bytes"});
    if (has_control(value, true))
      violations.push_back({field, "value must not contain CR, LF or other control characters"});
    out.custom_headers.emplace_back(name, value);
  }
  std::sort(out.custom_headers.begin(), out.custom_headers.end());

  if (in.request_id().size() > kMaxRequestIdBytes || has_control(in.request_id(), false))
    violations.push_back({"request_id", "at most " + std::to_string(kMaxRequestIdBytes) +
                                            " bytes without control characters"});
  out.request_id = in.request_id();
  out.creator = std::string(creator);

  switch (in.wait_for()) {
    case v1::CreateCallRequest::WAIT_FOR_UNSPECIFIED:
    case v1::CreateCallRequest::NONE:
      out.wait_for = calls::CreateCallRequest::WaitFor::kNone;
      break;
    case v1::CreateCallRequest::RINGING:
      out.wait_for = calls::CreateCallRequest::WaitFor::kRinging;
      break;
    case v1::CreateCallRequest::ANSWERED:
      out.wait_for = calls::CreateCallRequest::WaitFor::kAnswered;
      break;
    default:
      violations.push_back({"wait_for", "unknown value " + std::to_string(in.wait_for()) +
                                            " (NONE, RINGING or ANSWERED)"});
  }
  return out;
}

std::string call_id_from_name(std::string_view name, std::string_view field,
                              std::vector<FieldViolation>& violations) {
  if (name.empty()) {
    violations.push_back({std::string(field), "required: \"calls/{call}\""});
    return {};
  }
  auto id = parse_call_name(name);
  if (!id) {
    violations.push_back({std::string(field),
                          "expected \"calls/{call}\" ({call}: \"c\" and 20 lower-case hex "
                          "digits), got \"" +
                              std::string(name) + "\""});
    return {};
  }
  return *id;
}

void check_dtmf_digits(std::string_view digits, std::vector<FieldViolation>& violations) {
  bool ok = !digits.empty() && digits.size() <= kMaxDtmfDigits;
  for (char c : digits)
    if (!((c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D'))) ok = false;
  if (!ok)
    violations.push_back({"digits", "1 to " + std::to_string(kMaxDtmfDigits) +
                                        " of 0-9 * # A-D, got \"" + std::string(digits) + "\""});
}

std::chrono::milliseconds dtmf_duration(const v1::SendDtmfRequest& in,
                                        std::vector<FieldViolation>& violations) {
  if (!in.has_duration()) return kDefaultDtmfDuration;
  const google::protobuf::Duration& d = in.duration();
  const int64_t ms = to_millis(d);
  if (d.seconds() < 0 || d.nanos() < 0 || ms < kMinDtmfDuration.count() ||
      ms > kMaxDtmfDuration.count()) {
    violations.push_back({"duration", "must lie between 100 ms and 5 s (default 250 ms), got " +
                                          std::to_string(ms) + " ms"});
    return kDefaultDtmfDuration;
  }
  return std::chrono::milliseconds(ms);
}

int reject_status(int32_t status, std::vector<FieldViolation>& violations) {
  if (status == 0) return kDefaultRejectStatus;
  if (status < 400 || status > 699) {
    violations.push_back({"sip_status", "must lie between 400 and 699 (default 486 Busy Here), got " +
                                            std::to_string(status)});
    return kDefaultRejectStatus;
  }
  return status;
}

void check_sdp(std::string_view sdp, std::string_view field,
               std::vector<FieldViolation>& violations) {
  if (sdp.size() > kMaxSdpBytes)
    violations.push_back({std::string(field), "must be at most " + std::to_string(kMaxSdpBytes) +
                                                  " bytes, got " + std::to_string(sdp.size())});
}


}  // namespace switchboard::api
