// registrar/store/realm_text.cc — see realm_text.h.
#include "registrar/store/realm_text.h"

#include "sip/lex.h"

namespace registrar {

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = sip::lex::to_lower(c);
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  if (s.empty()) return parts;
  size_t start = 0;
  for (;;) {
    const size_t at = s.find(sep, start);
    parts.push_back(
        s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return parts;
}

std::string invalid_realm(const Realm& realm) {
  if (realm.name.empty()) return "realm: name is empty";
  if (realm.algorithms.empty()) return "realm '" + realm.name + "': no digest algorithm";
  for (const Cidr& c : realm.trusted_sources) {
    if (c.text.empty() || c.text.find(',') != std::string::npos) {
      return "realm '" + realm.name + "': trusted source '" + c.text + "' is not a CIDR";
    }
  }
  for (const auto& [user, aliases] : realm.aliases) {
    if (user.empty()) return "realm '" + realm.name + "': alias entry with an empty user";
    for (const std::string& a : aliases) {
      if (a.empty()) return "realm '" + realm.name + "': empty alias for user '" + user + "'";
    }
  }
  return {};
}

}  // namespace registrar
