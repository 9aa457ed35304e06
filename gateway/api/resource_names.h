// gateway/api/resource_names.h — the API's resource names (Google AIP-122)
// and opaque page tokens (AIP-158).
//
//   realms/{realm}                               realm_name("acme.example")
//   realms/{realm}/credentials/{username}        credential_name(…)
//   realms/{realm}/aclEntries/{cidr, '/'→'-'}    acl_entry_name("acme.example", "10.0.0.0/8")
//   realms/{realm}/aors/{user}/bindings/{id}     binding_name(binding)
//   calls/{call}                                 call_name("c0123456789abcdef0123")
//
// {username} and {user} are percent-encoded where they hold characters
// outside [A-Za-z0-9-._~+!$&'()*,;=:@] ('/', '%', '#', '?', …), so any SIP
// user part fits in one segment. {id} is the first 16 hex digits of
// SHA-256(aor "\n" contact): stable across refreshes and restarts.
//
//   auto n = parse_credential_name("realms/acme.example/credentials/alice");
//   if (!n) return invalid_argument("name", "expected realms/{realm}/credentials/{username}");
//
//   std::string token = encode_page_token("credentials", last_username);
//   auto after = decode_page_token("credentials", request.page_token());  // nullopt: garbage
//
// Threading: pure functions.
#ifndef SWITCHBOARD_GATEWAY_API_RESOURCE_NAMES_H_
#define SWITCHBOARD_GATEWAY_API_RESOURCE_NAMES_H_

#include <optional>
#include <string>
#include <string_view>

#include "registrar/binding.h"

namespace switchboard::api {

// Percent-encoding of a user part (upper-case hex), and its inverse (nullopt
// for a malformed escape).
std::string percent_encode_user(std::string_view user);
std::optional<std::string> percent_decode(std::string_view text);

// "realms/{realm}" → realm. The realm segment must be non-empty and hold no
// '/'; "-" is returned as is (the wildcard of ListBindings).
std::optional<std::string> parse_realm_name(std::string_view name);
std::string realm_name(std::string_view realm);
// A watch or list filter: "realms/{realm}", a bare domain, "realms/-" or ""
// → the realm ("" for every realm); nullopt when malformed.
std::optional<std::string> realm_filter(std::string_view text);

struct CredentialName {
  std::string realm;
  std::string username;  // decoded
};
std::optional<CredentialName> parse_credential_name(std::string_view name);
std::string credential_name(std::string_view realm, std::string_view username);

struct AclEntryName {
  std::string realm;
  std::string cidr;  // with '/' restored: "10.0.0.0/8"
};
std::optional<AclEntryName> parse_acl_entry_name(std::string_view name);
std::string acl_entry_name(std::string_view realm, std::string_view cidr);

struct BindingName {
  std::string realm;        // the AOR's domain
  std::string user;         // decoded
  std::string id;           // 16 lower-case hex digits
  std::string aor() const;  // user "@" lower-case realm, as registrar::Binding::aor
};
std::optional<BindingName> parse_binding_name(std::string_view name);
// First 16 hex digits of SHA-256(aor "\n" contact).
std::string binding_id(std::string_view aor, std::string_view contact);
// From binding.aor ("user@domain") and binding.contact.
std::string binding_name(const registrar::Binding& binding);

// "calls/{call}" → the call id: "c" + 20 lower-case hex digits (the call
// engine's ids, sortable by creation). nullopt for anything else.
std::optional<std::string> parse_call_name(std::string_view name);
std::string call_name(std::string_view call_id);
// True for "c" + 20 lower-case hex digits.
bool is_call_id(std::string_view id);

// Page tokens: base64url of `collection` "\n" `last_key` and 4 bytes of its
// SHA-256 (a check, not a secret), so a token of one list is refused by
// another and a garbled one is refused. nullopt for anything this server did
// not issue.
std::string encode_page_token(std::string_view collection, std::string_view last_key);
std::optional<std::string> decode_page_token(std::string_view collection, std::string_view token);

}  // namespace switchboard::api

#endif  // SWITCHBOARD_GATEWAY_API_RESOURCE_NAMES_H_
