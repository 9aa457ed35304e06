#include "clients/sbctl/names.h"

#include <cctype>

namespace sbctl {
namespace {

// Lower case, '_' → '-'.
std::string normalize(std::string_view text) {
  std::string out;
  for (char c : text) {
    out += c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

std::optional<v1::ChallengeMode> parse_challenge(std::string_view text) {
  if (text == "401") return v1::CHALLENGE_MODE_401;
  if (text == "407") return v1::CHALLENGE_MODE_407;
  return std::nullopt;
}

std::string challenge_name(v1::ChallengeMode mode) {
  switch (mode) {
    case v1::CHALLENGE_MODE_401:
      return "401";
    case v1::CHALLENGE_MODE_407:
      return "407";
    default:
      return "-";
  }
}

std::optional<v1::DigestAlgorithm> parse_algorithm(std::string_view text) {
  std::string n = normalize(text);
  if (n == "md5") return v1::MD5;
  if (n == "sha-256") return v1::SHA_256;
  if (n == "sha-512-256") return v1::SHA_512_256;
  if (n == "md5-sess") return v1::MD5_SESS;
  if (n == "sha-256-sess") return v1::SHA_256_SESS;
  if (n == "sha-512-256-sess") return v1::SHA_512_256_SESS;
  return std::nullopt;
}

std::string algorithm_name(v1::DigestAlgorithm algorithm) {
  switch (algorithm) {
    case v1::MD5:
      return "MD5";
    case v1::SHA_256:
      return "SHA-256";
    case v1::SHA_512_256:
      return "SHA-512-256";
    case v1::MD5_SESS:
      return "MD5-sess";
    case v1::SHA_256_SESS:
      return "SHA-256-sess";
    case v1::SHA_512_256_SESS:
      return "SHA-512-256-sess";
    default:
      return "?";
  }
}

std::string algorithm_list(const google::protobuf::RepeatedField<int>& algorithms) {
  std::string out;
  for (int a : algorithms) {
    if (!out.empty()) out += ",";
    out += algorithm_name(static_cast<v1::DigestAlgorithm>(a));
  }
  return out.empty() ? "-" : out;
}

std::optional<v1::ContactOverflowPolicy> parse_overflow(std::string_view text) {
  std::string n = normalize(text);
  if (n == "reject") return v1::REJECT;
  if (n == "evict-oldest") return v1::EVICT_OLDEST;
  return std::nullopt;
}

std::string overflow_name(v1::ContactOverflowPolicy policy) {
  switch (policy) {
    case v1::REJECT:
      return "reject";
    case v1::EVICT_OLDEST:
      return "evict-oldest";
    default:
      return "-";
  }
}

std::optional<v1::SourceAuthMode> parse_source_auth(std::string_view text) {
  std::string n = normalize(text);
  if (n == "digest") return v1::DIGEST;
  if (n == "trusted-or-digest") return v1::TRUSTED_OR_DIGEST;
  if (n == "trusted-and-digest") return v1::TRUSTED_AND_DIGEST;
  return std::nullopt;
}

std::string source_auth_name(v1::SourceAuthMode mode) {
  switch (mode) {
    case v1::DIGEST:
      return "digest";
    case v1::TRUSTED_OR_DIGEST:
      return "trusted-or-digest";
    case v1::TRUSTED_AND_DIGEST:
      return "trusted-and-digest";
    default:
      return "-";
  }
}

std::optional<v1::RegistrationEvent::Type> parse_event_type(std::string_view text) {
  std::string n = normalize(text);
  for (int t = v1::RegistrationEvent::Type_MIN + 1; t <= v1::RegistrationEvent::Type_MAX; ++t) {
    if (!v1::RegistrationEvent::Type_IsValid(t)) continue;
    auto type = static_cast<v1::RegistrationEvent::Type>(t);
    if (normalize(v1::RegistrationEvent::Type_Name(type)) == n) return type;
  }
  return std::nullopt;
}

std::string event_type_name(v1::RegistrationEvent::Type type) {
  return v1::RegistrationEvent::Type_Name(type);
}

std::optional<v1::Call::State> parse_call_state(std::string_view text) {
  std::string n = normalize(text);
  for (int t = v1::Call::State_MIN + 1; t <= v1::Call::State_MAX; ++t) {
    if (!v1::Call::State_IsValid(t)) continue;
    auto state = static_cast<v1::Call::State>(t);
    if (normalize(v1::Call::State_Name(state)) == n) return state;
  }
  return std::nullopt;
}

std::string call_state_name(v1::Call::State state) { return v1::Call::State_Name(state); }

std::optional<v1::CallEvent::Type> parse_call_event_type(std::string_view text) {
  std::string n = normalize(text);
  for (int t = v1::CallEvent::Type_MIN + 1; t <= v1::CallEvent::Type_MAX; ++t) {
    if (!v1::CallEvent::Type_IsValid(t)) continue;
    auto type = static_cast<v1::CallEvent::Type>(t);
    if (normalize(v1::CallEvent::Type_Name(type)) == n) return type;
  }
  return std::nullopt;
}

std::string call_event_type_name(v1::CallEvent::Type type) {
  return v1::CallEvent::Type_Name(type);
}

std::optional<v1::CreateCallRequest::WaitFor> parse_wait_for(std::string_view text) {
  std::string n = normalize(text);
  if (n == "none") return v1::CreateCallRequest::NONE;
  if (n == "ringing") return v1::CreateCallRequest::RINGING;
  if (n == "answered") return v1::CreateCallRequest::ANSWERED;
  return std::nullopt;
}

std::optional<bool> parse_bool(std::string_view text) {
  std::string n = normalize(text);
  if (n == "true" || n == "yes" || n == "on") return true;
  if (n == "false" || n == "no" || n == "off") return false;
  return std::nullopt;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(start, comma - start);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) {
      item.remove_prefix(1);
    }
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) {
      item.remove_suffix(1);
    }
    if (!item.empty()) out.emplace_back(item);
    start = comma + 1;
  }
  return out;
}

}  // namespace sbctl
