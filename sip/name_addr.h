// sip/name_addr.h — name-addr / addr-spec with header parameters (From, To,
// Contact, Route, Record-Route, Path, Refer-To), RFC 3261 §20.10 and §25.1.
//
// In the addr-spec form (no angle brackets) everything after the first ';'
// belongs to the header, not the URI: `Contact: sip:a@b;expires=60` binds
// `sip:a@b` with the contact parameter expires=60 (RFC 4475 §3.3.12).
//
//   sip::NameAddr na;
//   sip::parse_name_addr("\"Alice\" <sip:alice@acme.test>;tag=1", na);
//   na.display_name;   // "\"Alice\""  (quoted, as written)
//   na.tag();          // "1"
#ifndef SWITCHBOARD_SIP_NAME_ADDR_H_
#define SWITCHBOARD_SIP_NAME_ADDR_H_

#include <optional>
#include <string>
#include <string_view>

#include "sip/params.h"
#include "sip/uri.h"

namespace sip {

struct NameAddr {
  std::string_view display_name;  // as written: quoted (with quotes), tokens, or ""
  Uri uri;
  std::string_view params;        // raw header params from the first ';', or ""
  bool wildcard = false;          // Contact: *
  bool bracketed = false;         // the URI was in <>
  std::string_view text;          // the whole value

  ParamList param_list() const { return ParamList(params, ParamList::kHeader); }
  std::optional<std::string_view> param(std::string_view name) const { return param_list().get(name); }
  std::string_view tag() const { return param("tag").value_or(std::string_view()); }
  // The display name without quotes and escapes (UTF-8 kept as is).
  std::string display_name_text() const;
};

// Parses one value. `allow_wildcard` accepts a lone "*" (Contact only).
bool parse_name_addr(std::string_view text, NameAddr& out, const char** why = nullptr,
                     bool allow_wildcard = false);

}  // namespace sip

#endif  // SWITCHBOARD_SIP_NAME_ADDR_H_
