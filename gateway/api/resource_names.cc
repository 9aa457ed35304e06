// gateway/api/resource_names.cc — see resource_names.h.
#include "gateway/api/resource_names.h"

#include <cctype>
#include <vector>

#include "gateway/api/api_token.h"
#include "gateway/api/base64url.h"

namespace switchboard::api {
namespace {

constexpr std::string_view kRealms = "realms/";

bool unreserved_in_segment(char c) {
  constexpr std::string_view kAllowed = "-._~+!$&'()*,;=:@";
  return std::isalnum(static_cast<unsigned char>(c)) || kAllowed.find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Splits `name` at '/' (empty segments kept).
std::vector<std::string_view> segments(std::string_view name) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t slash = name.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(name.substr(start));
      return out;
    }
    out.push_back(name.substr(start, slash - start));
    start = slash + 1;
  }
}

bool is_hex16(std::string_view s) {
  if (s.size() != 16) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

std::string percent_encode_user(std::string_view user) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(user.size());
  for (char c : user) {
    if (unreserved_in_segment(c)) {
      out += c;
    } else {
      auto u = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::optional<std::string> percent_decode(std::string_view text) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    int hi = nibble(text[i + 1]), lo = nibble(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += char(hi << 4 | lo);
    i += 2;
  }
  return out;
}

std::optional<std::string> parse_realm_name(std::string_view name) {
  auto s = segments(name);
  if (s.size() != 2 || s[0] != "realms" || s[1].empty()) return std::nullopt;
  return std::string(s[1]);
}

std::optional<std::string> realm_filter(std::string_view text) {
  if (text.empty()) return std::string();
  if (text.find('/') == std::string_view::npos) return std::string(text);
  auto realm = parse_realm_name(text);
  if (!realm) return std::nullopt;
  if (*realm == "-") return std::string();
  return realm;
}

std::string realm_name(std::string_view realm) { return std::string(kRealms) + std::string(realm); }

std::optional<CredentialName> parse_credential_name(std::string_view name) {
  auto s = segments(name);
  if (s.size() != 4 || s[0] != "realms" || s[1].empty() || s[1] == "-" || s[2] != "credentials" ||
      s[3].empty())
    return std::nullopt;
  auto user = percent_decode(s[3]);
  if (!user || user->empty()) return std::nullopt;
  return CredentialName{std::string(s[1]), std::move(*user)};
}

std::string credential_name(std::string_view realm, std::string_view username) {
  return realm_name(realm) + "/credentials/" + percent_encode_user(username);
}

std::optional<AclEntryName> parse_acl_entry_name(std::string_view name) {
  auto s = segments(name);
  if (s.size() != 4 || s[0] != "realms" || s[1].empty() || s[1] == "-" || s[2] != "aclEntries" ||
      s[3].empty())
    return std::nullopt;
  std::string cidr(s[3]);
  size_t dash = cidr.rfind('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == cidr.size()) return std::nullopt;
  cidr[dash] = '/';
  return AclEntryName{std::string(s[1]), std::move(cidr)};
}

std::string acl_entry_name(std::string_view realm, std::string_view cidr) {
  std::string id(cidr);
  for (char& c : id)
    if (c == '/') c = '-';
  return realm_name(realm) + "/aclEntries/" + id;
}

std::string BindingName::aor() const { return user + "@" + lower(realm); }

std::optional<BindingName> parse_binding_name(std::string_view name) {
  auto s = segments(name);
  if (s.size() != 6 || s[0] != "realms" || s[1].empty() || s[1] == "-" || s[2] != "aors" ||
      s[3].empty() || s[4] != "bindings" || !is_hex16(s[5]))
    return std::nullopt;
  auto user = percent_decode(s[3]);
  if (!user || user->empty()) return std::nullopt;
  return BindingName{std::string(s[1]), std::move(*user), std::string(s[5])};
}

std::string binding_id(std::string_view aor, std::string_view contact) {
  std::string input(aor);
  input += '\n';
  input += contact;
  return to_hex(sha256(input)).substr(0, 16);
}

std::string binding_name(const registrar::Binding& binding) {
  std::string_view aor = binding.aor;
  size_t at = aor.rfind('@');
  std::string_view user = at == std::string_view::npos ? aor : aor.substr(0, at);
  std::string_view domain =
      at == std::string_view::npos ? std::string_view(binding.realm) : aor.substr(at + 1);
  return realm_name(domain) + "/aors/" + percent_encode_user(user) + "/bindings/" +
         binding_id(binding.aor, binding.contact);
}

bool is_call_id(std::string_view id) {
  if (id.size() != 21 || id[0] != 'c') return false;
  for (char c : id.substr(1))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::optional<std::string> parse_call_name(std::string_view name) {
  constexpr std::string_view kPrefix = "calls/";
  if (name.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view id = name.substr(kPrefix.size());
  if (!is_call_id(id)) return std::nullopt;
  return std::string(id);
}

std::string call_name(std::string_view call_id) { return "calls/" + std::string(call_id); }

namespace {
constexpr size_t kTokenCheckBytes = 4;
std::string token_check(std::string_view payload) {
  Sha256 digest = sha256(payload);
  return std::string(reinterpret_cast<const char*>(digest.data()), kTokenCheckBytes);
}
}  // namespace

std::string encode_page_token(std::string_view collection, std::string_view last_key) {
  std::string raw(collection);
  raw += '\n';
  raw += last_key;
  raw += token_check(raw);
  return base64url_encode(raw);
}

std::optional<std::string> decode_page_token(std::string_view collection, std::string_view token) {
  auto raw = base64url_decode(token);
  if (!raw || raw->size() < collection.size() + 2 + kTokenCheckBytes) return std::nullopt;
  std::string_view payload(raw->data(), raw->size() - kTokenCheckBytes);
  if (token_check(payload) != std::string_view(*raw).substr(payload.size()) ||
      payload.substr(0, collection.size()) != collection || payload[collection.size()] != '\n')
    return std::nullopt;
  return std::string(payload.substr(collection.size() + 1));
}

}  // namespace switchboard::api
