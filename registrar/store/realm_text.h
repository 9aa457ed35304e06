// registrar/store/realm_text.h — small pieces both credential stores (SQLite
// and Redis) need to store realms the same way.
#ifndef SWITCHBOARD_REGISTRAR_STORE_REALM_TEXT_H_
#define SWITCHBOARD_REGISTRAR_STORE_REALM_TEXT_H_

#include <string>
#include <string_view>
#include <vector>

#include "registrar/realm.h"

namespace registrar {

// The key realms are stored under: names compare case-insensitively (ASCII:
// they are domain names).
std::string lower_ascii(std::string_view s);

// Splits on `sep`; "" gives no parts (views into `s`).
std::vector<std::string_view> split(std::string_view s, char sep);

// Why `realm` cannot be stored (it would not read back as itself), or "".
std::string invalid_realm(const Realm& realm);

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_STORE_REALM_TEXT_H_
