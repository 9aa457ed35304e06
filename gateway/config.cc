// gateway/config.cc — see config.h.
#include "gateway/config.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include "registrar/credentials.h"
#include "registrar/digest.h"
#include "registrar/nonce.h"
#include "registrar/random.h"
#include "registrar/store/redis/redis_connection.h"

namespace switchboard {
namespace {

// Thrown inside the parser, caught at its edge: configuration is read once at
// start-up, and an exception keeps the many validators short.
struct ConfigError {
  std::string message;
};

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += '?';
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A realm name or username: printable, no whitespace, quotes or backslashes
// (they go into quoted-strings of Digest headers as they are).
bool is_token_text(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '"' || c == '\\') return false;
  }
  return true;
}

// "192.0.2.0/24", "2001:db8::/32", or a bare address (a /32 or /128).
// Returns the normalised "address/prefix" or nullopt.
std::optional<std::string> normalise_cidr(std::string_view text) {
  std::string s(text);
  std::string address = s;
  std::optional<uint64_t> prefix;
  if (size_t slash = s.find('/'); slash != std::string::npos) {
    address = s.substr(0, slash);
    prefix = parse_number(std::string_view(s).substr(slash + 1), 0, 128);
    if (!prefix) return std::nullopt;
  }
  unsigned char buf[16];
  if (inet_pton(AF_INET, address.c_str(), buf) == 1) {
    if (prefix && *prefix > 32) return std::nullopt;
    return address + "/" + std::to_string(prefix.value_or(32));
  }
  if (inet_pton(AF_INET6, address.c_str(), buf) == 1) {
    return address + "/" + std::to_string(prefix.value_or(128));
  }
  return std::nullopt;
}

// Reads one YAML document, remembering the file name for messages.
class Reader {
 public:
  explicit Reader(std::string name) : name_(std::move(name)) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& key,
                         const std::string& what) const {
    std::string where = name_;
    if (at.IsDefined() && at.Mark().line >= 0) where += ":" + std::to_string(at.Mark().line + 1);
    throw ConfigError{where + ": " + key + ": " + what};
  }

  // Checks that `map` is a mapping with only `allowed` keys (no duplicates).
  void expect_keys(const YAML::Node& map, const std::string& path,
                   std::initializer_list<std::string_view> allowed) const {
    if (!map.IsMap()) fail(map, path.empty() ? "(top level)" : path, "expected a mapping of keys");
    std::set<std::string> seen;
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) fail(kv.first, path, "keys must be plain names");
      std::string key = kv.first.Scalar();
      std::string full = path;
      if (!full.empty()) full += '.';
      full += key;
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        fail(kv.first, full, "unknown key (known here: " + list + ")");
      }
      if (!seen.insert(key).second) fail(kv.first, full, "duplicate key");
    }
  }

  std::string scalar(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key, "expected a single value");
    return n.Scalar();
  }

  // A secret: the value is never put into a message.
  std::string secret(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar() || n.Scalar().empty()) fail(n, key, "expected a non-empty string");
    return n.Scalar();
  }

  uint64_t number(const YAML::Node& n, const std::string& key, uint64_t min, uint64_t max) const {
    std::string s = scalar(n, key);
    auto v = parse_number(s, min, max);
    if (!v)
      fail(n, key,
           "expected a number from " + std::to_string(min) + " to " + std::to_string(max) +
               ", got " + quoted(s));
    return *v;
  }

  bool boolean(const YAML::Node& n, const std::string& key) const {
    std::string s = lower(scalar(n, key));
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
    fail(n, key, "expected true or false, got " + quoted(s));
  }

  // A sequence of scalars, or one scalar.
  std::vector<std::pair<std::string, YAML::Node>> strings(const YAML::Node& n,
                                                          const std::string& key) const {
    std::vector<std::pair<std::string, YAML::Node>> out;
    if (n.IsScalar()) {
      out.emplace_back(n.Scalar(), n);
    } else if (n.IsSequence()) {
      for (size_t i = 0; i < n.size(); ++i)
        out.emplace_back(scalar(n[i], key + "[" + std::to_string(i) + "]"), n[i]);
    } else {
      fail(n, key, "expected a list of strings");
    }
    return out;
  }

  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// A host name, IPv4 address or bracketed IPv6 address for Via/Contact.
bool is_advertise_host(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  if (s.front() == '[') return s.size() > 2 && s.back() == ']' &&
                               s.find_first_not_of("0123456789abcdefABCDEF:.", 1) == s.size() - 1;
  return s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") ==
         std::string_view::npos;
}

void parse_sip(const Reader& r, const YAML::Node& sip, Config& c) {
  r.expect_keys(sip, "sip", {"listen", "tcp_idle_timeout", "tcp_max_connections", "advertise"});
  if (auto n = sip["advertise"]) {
    std::string host = n.IsNull() ? "" : r.scalar(n, "sip.advertise");
    if (!host.empty() && !is_advertise_host(host))
      r.fail(n, "sip.advertise",
             "expected a host name, an IPv4 address or a bracketed IPv6 address (no port), got " +
                 quoted(host));
    c.sip_advertise = host;
  }
  if (auto listen = sip["listen"]) {
    auto values = r.strings(listen, "sip.listen");
    if (values.empty()) r.fail(listen, "sip.listen", "needs at least one address");
    c.listen.clear();
    for (size_t i = 0; i < values.size(); ++i) {
      std::string why;
      auto address = sip::transport::parse_listen_address(values[i].first, &why);
      if (!address) r.fail(values[i].second, "sip.listen[" + std::to_string(i) + "]", why);
      c.listen.push_back(*address);
    }
  }
  if (auto n = sip["tcp_idle_timeout"])
    c.tcp_idle_timeout = std::chrono::seconds(r.number(n, "sip.tcp_idle_timeout", 0, 86400));
  if (auto n = sip["tcp_max_connections"])
    c.tcp_max_connections = size_t(r.number(n, "sip.tcp_max_connections", 1, 1'000'000));
}

void parse_nonce(const Reader& r, const YAML::Node& nonce, Config& c) {
  r.expect_keys(nonce, "nonce", {"secret", "lifetime", "max_tracked"});
  if (auto n = nonce["secret"]) {
    std::string secret = r.secret(n, "nonce.secret");
    registrar::SeededRandom unused(0);
    auto check = registrar::resolve_nonce_secret(secret, std::nullopt, unused);
    if (!check.ok()) r.fail(n, "nonce.secret", check.error);
    c.nonce.secret = std::move(secret);
    c.nonce.secret_origin = SecretOrigin::kFile;
  }
  if (auto n = nonce["lifetime"])
    c.nonce.lifetime = std::chrono::seconds(r.number(n, "nonce.lifetime", 10, 86400));
  if (auto n = nonce["max_tracked"])
    c.nonce.max_tracked = size_t(r.number(n, "nonce.max_tracked", 1000, 100'000'000));
}

// Why the store can not use `url`, or "" when fine: the Redis store's own
// parser decides (registrar/store/redis/redis_connection.h), so a URL the
// configuration accepts is one the store can open.
std::string redis_url_problem(std::string_view url) {
  registrar::RedisUrlOrError parsed = registrar::parse_redis_url(url);
  if (parsed.ok()) return "";
  std::string why = parsed.error;
  constexpr std::string_view kPrefix = "redis URL: ";
  if (why.rfind(kPrefix, 0) == 0) why.erase(0, kPrefix.size());
  return why;
}

// HOST:PORT of a replica's API, as other replicas dial it.
bool is_host_port(std::string_view s) {
  size_t colon = s.rfind(':');
  return colon != std::string_view::npos && colon > 0 &&
         parse_number(s.substr(colon + 1), 1, 65535).has_value() &&
         s.find_first_of(" \t\"'") == std::string_view::npos;
}

// replica.token: what replicas present to each other; a bearer secret, so
// long enough not to be guessed (like nonce.secret) and without spaces (it
// travels in an HTTP/2 header). "" when fine, else why not.
std::string replica_token_problem(std::string_view token) {
  if (token.size() < 16) return "expected at least 16 characters (openssl rand -base64 32)";
  if (!is_token_text(token)) return "expected printable characters without spaces or quotes";
  return "";
}

// Across keys, once the file and the environment are applied (no flag sets
// them): a replica that others forward calls to must know the token they
// present.
void validate_replica(const Config& c) {
  if (c.store.kind != StoreKind::kRedis || c.replica.advertise.empty() || !c.replica.token.empty())
    return;
  throw ConfigError{std::string(c.config_file.empty() ? "configuration" : c.config_file) +
                    ": replica.token: required with store.kind redis and replica.advertise "
                    "(the token replicas present to each other; or set " +
                    kEnvReplicaToken + ")"};
}

void parse_replica(const Reader& r, const YAML::Node& replica, Config& c) {
  r.expect_keys(replica, "replica", {"id", "advertise", "token"});
  if (auto n = replica["token"]) {
    c.replica.token = r.secret(n, "replica.token");
    if (std::string why = replica_token_problem(c.replica.token); !why.empty())
      r.fail(n, "replica.token", why);
  }
  if (auto n = replica["id"]) {
    c.replica.id = r.scalar(n, "replica.id");
    if (!is_token_text(c.replica.id)) r.fail(n, "replica.id", "expected a name without spaces");
  }
  if (auto n = replica["advertise"]) {
    c.replica.advertise = r.scalar(n, "replica.advertise");
    if (!is_host_port(c.replica.advertise))
      r.fail(n, "replica.advertise", "expected HOST:PORT, got " + quoted(c.replica.advertise));
  }
}

void parse_store(const Reader& r, const YAML::Node& store, Config& c) {
  r.expect_keys(store, "store", {"synchronous", "kind", "url", "prefix"});
  if (auto n = store["kind"]) {
    std::string s = lower(r.scalar(n, "store.kind"));
    if (s == "sqlite") c.store.kind = StoreKind::kSqlite;
    else if (s == "redis") c.store.kind = StoreKind::kRedis;
    else if (s == "memory") c.store.kind = StoreKind::kMemory;
    else r.fail(n, "store.kind", "expected sqlite, redis or memory, got " + quoted(s));
  }
  if (auto n = store["url"]) {
    c.store.url = r.secret(n, "store.url");
    if (std::string why = redis_url_problem(c.store.url); !why.empty())
      r.fail(n, "store.url", why + ", got " + quoted(redact_url(c.store.url)));
  }
  if (auto n = store["prefix"]) {
    c.store.prefix = r.scalar(n, "store.prefix");
    if (c.store.prefix.size() > 64 || c.store.prefix.find_first_of(" \t\r\n") != std::string::npos)
      r.fail(n, "store.prefix", "expected at most 64 characters without spaces");
  }
  if (auto n = store["synchronous"]) {
    std::string s = lower(r.scalar(n, "store.synchronous"));
    if (s == "normal") {
      c.store_sync = StoreSync::kNormal;
    } else if (s == "full") {
      c.store_sync = StoreSync::kFull;
    } else {
      r.fail(n, "store.synchronous", "expected normal or full, got " + quoted(s));
    }
  }
}

void parse_throttle(const Reader& r, const YAML::Node& t, Config& c) {
  r.expect_keys(t, "auth_throttle", {"enabled", "max_failures", "window", "cooldown", "action"});
  AuthThrottleConfig& a = c.auth_throttle;
  if (auto n = t["enabled"]) a.enabled = r.boolean(n, "auth_throttle.enabled");
  if (auto n = t["max_failures"])
    a.max_failures = uint32_t(r.number(n, "auth_throttle.max_failures", 1, 1'000'000));
  if (auto n = t["window"])
    a.window = std::chrono::seconds(r.number(n, "auth_throttle.window", 1, 86400));
  if (auto n = t["cooldown"])
    a.cooldown = std::chrono::seconds(r.number(n, "auth_throttle.cooldown", 1, 86400));
  if (auto n = t["action"]) {
    std::string s = lower(r.scalar(n, "auth_throttle.action"));
    if (s == "reject") {
      a.action = ThrottleAction::kReject;
    } else if (s == "drop") {
      a.action = ThrottleAction::kDrop;
    } else {
      r.fail(n, "auth_throttle.action", "expected reject or drop, got " + quoted(s));
    }
  }
}

UserConfig parse_user(const Reader& r, const YAML::Node& u, const std::string& path,
                      const std::string& realm) {
  r.expect_keys(u, path,
                {"username", "password", "ha1_md5", "hash1", "ha1_sha256", "ha1_sha512_256",
                 "hash1b", "domain"});
  UserConfig user;
  user.line = u.Mark().line + 1;
  auto name = u["username"];
  if (!name) r.fail(u, path + ".username", "missing (every user needs a username)");
  user.username = r.scalar(name, path + ".username");
  if (!is_token_text(user.username))
    r.fail(name, path + ".username",
           "must be 1-255 printable characters without spaces, quotes or backslashes");
  user.domain = realm;
  if (auto n = u["domain"]) {
    user.domain = r.scalar(n, path + ".domain");
    if (!is_token_text(user.domain)) r.fail(n, path + ".domain", "not a valid domain");
  }
  // Hashes are secrets too: messages say which key is wrong and why, never the value.
  auto hash = [&](const char* key) -> std::optional<std::string> {
    if (auto n = u[key]) return r.secret(n, path + "." + key);
    return std::nullopt;
  };
  if (auto n = u["password"]) user.password = r.secret(n, path + ".password");
  user.ha1_md5 = hash("ha1_md5");
  if (auto h1 = hash("hash1")) {
    if (user.ha1_md5 && lower(*user.ha1_md5) != lower(*h1))
      r.fail(u["hash1"], path + ".hash1",
             "differs from ha1_md5 (they are the same hash: give one)");
    user.ha1_md5 = std::move(h1);
  }
  user.ha1_sha256 = hash("ha1_sha256");
  user.ha1_sha512_256 = hash("ha1_sha512_256");
  user.hash1b = hash("hash1b");
  const bool any_hash = user.ha1_md5 || user.ha1_sha256 || user.ha1_sha512_256 || user.hash1b;
  if (user.password && any_hash)
    r.fail(u, path,
           "give either password or hashes (ha1_md5/hash1, ha1_sha256, ha1_sha512_256, "
           "hash1b), not both");
  if (!user.password && !any_hash)
    r.fail(u, path, "needs password, or one of ha1_md5/hash1, ha1_sha256, ha1_sha512_256, hash1b");
  if (any_hash) {
    registrar::StoredHashes h;
    h.realm = realm;
    h.username = user.username;
    h.domain = user.domain;
    if (user.ha1_md5) h.ha1_md5 = *user.ha1_md5;
    if (user.ha1_sha256) h.ha1_sha256 = *user.ha1_sha256;
    if (user.ha1_sha512_256) h.ha1_sha512_256 = *user.ha1_sha512_256;
    if (user.hash1b) h.hash1b = *user.hash1b;
    auto checked = registrar::Credential::from_hashes(h);
    if (!checked.ok()) r.fail(u, path, checked.error);
  }
  return user;
}

RealmConfig parse_realm(const Reader& r, const YAML::Node& node, const std::string& path) {
  r.expect_keys(node, path,
                {"name", "challenge", "algorithms", "allow_qop_less", "default_expires",
                 "min_expires", "max_expires", "max_contacts", "overflow", "source_auth",
                 "trusted_sources", "aliases", "users"});
  RealmConfig rc;
  rc.line = node.Mark().line + 1;
  registrar::Realm& realm = rc.realm;
  auto name = node["name"];
  if (!name) r.fail(node, path + ".name", "missing (every realm needs a name)");
  realm.name = r.scalar(name, path + ".name");
  if (!is_token_text(realm.name))
    r.fail(name, path + ".name", "must be a domain name without spaces, quotes or backslashes");

  if (auto n = node["challenge"]) {
    std::string s = r.scalar(n, path + ".challenge");
    if (s == "401") {
      realm.challenge = registrar::ChallengeMode::k401;
    } else if (s == "407") {
      realm.challenge = registrar::ChallengeMode::k407;
    } else {
      r.fail(n, path + ".challenge", "expected 401 or 407, got " + quoted(s));
    }
  }
  if (auto n = node["algorithms"]) {
    realm.algorithms.clear();
    for (const auto& [text, at] : r.strings(n, path + ".algorithms")) {
      auto alg = registrar::parse_digest_algorithm(text);
      if (!alg)
        r.fail(at, path + ".algorithms",
               "unknown digest algorithm " + quoted(text) +
                   " (known: SHA-512-256, SHA-256, MD5 and their -sess forms)");
      if (!registrar::digest_algorithm_available(*alg))
        r.fail(at, path + ".algorithms", quoted(text) + " is not available in this OpenSSL");
      if (std::find(realm.algorithms.begin(), realm.algorithms.end(), *alg) !=
          realm.algorithms.end())
        r.fail(at, path + ".algorithms", quoted(text) + " listed twice");
      realm.algorithms.push_back(*alg);
    }
    if (realm.algorithms.empty()) r.fail(n, path + ".algorithms", "needs at least one algorithm");
  }
  if (auto n = node["allow_qop_less"])
    realm.allow_qop_less = r.boolean(n, path + ".allow_qop_less");
  const uint64_t kMaxExpires = 0xFFFFFFFFu;
  if (auto n = node["default_expires"])
    realm.default_expires = uint32_t(r.number(n, path + ".default_expires", 1, kMaxExpires));
  if (auto n = node["min_expires"])
    realm.min_expires = uint32_t(r.number(n, path + ".min_expires", 1, kMaxExpires));
  if (auto n = node["max_expires"])
    realm.max_expires = uint32_t(r.number(n, path + ".max_expires", 1, kMaxExpires));
  if (realm.min_expires > realm.max_expires)
    r.fail(node["min_expires"] ? node["min_expires"] : node, path + ".min_expires",
           "must not exceed max_expires (" + std::to_string(realm.max_expires) + ")");
  if (realm.default_expires < realm.min_expires || realm.default_expires > realm.max_expires)
    r.fail(node["default_expires"] ? node["default_expires"] : node, path + ".default_expires",
           "must lie between min_expires (" + std::to_string(realm.min_expires) +
               ") and max_expires (" + std::to_string(realm.max_expires) + ")");
  if (auto n = node["max_contacts"])
    realm.max_contacts = uint32_t(r.number(n, path + ".max_contacts", 1, 10000));
  if (auto n = node["overflow"]) {
    std::string s = lower(r.scalar(n, path + ".overflow"));
    if (s == "reject") {
      realm.overflow = registrar::ContactOverflowPolicy::kReject;
    } else if (s == "evict_oldest") {
      realm.overflow = registrar::ContactOverflowPolicy::kEvictOldest;
    } else {
      r.fail(n, path + ".overflow", "expected reject or evict_oldest, got " + quoted(s));
    }
  }
  if (auto n = node["source_auth"]) {
    std::string s = lower(r.scalar(n, path + ".source_auth"));
    if (s == "digest") {
      realm.source_auth = registrar::SourceAuthMode::kDigest;
    } else if (s == "trusted_or_digest") {
      realm.source_auth = registrar::SourceAuthMode::kTrustedOrDigest;
    } else if (s == "trusted_and_digest") {
      realm.source_auth = registrar::SourceAuthMode::kTrustedAndDigest;
    } else {
      r.fail(n, path + ".source_auth",
             "expected digest, trusted_or_digest or trusted_and_digest, got " + quoted(s));
    }
  }
  if (auto n = node["trusted_sources"]) {
    for (const auto& [text, at] : r.strings(n, path + ".trusted_sources")) {
      auto cidr = normalise_cidr(text);
      if (!cidr)
        r.fail(at, path + ".trusted_sources",
               "expected an IPv4 or IPv6 network like 192.0.2.0/24 or 2001:db8::/32, got " +
                   quoted(text));
      realm.trusted_sources.push_back(registrar::Cidr{*cidr});
    }
  }
  if (realm.source_auth != registrar::SourceAuthMode::kDigest && realm.trusted_sources.empty())
    r.fail(node["source_auth"], path + ".source_auth",
           "needs trusted_sources (the CIDRs requests may come from)");
  if (auto n = node["aliases"]) {
    if (!n.IsMap()) r.fail(n, path + ".aliases", "expected a mapping: username: [alias, ...]");
    for (const auto& kv : n) {
      std::string user = r.scalar(kv.first, path + ".aliases");
      std::string key = path + ".aliases.";
      key += user;
      if (!is_token_text(user)) r.fail(kv.first, key, "not a valid username");
      if (realm.aliases.count(user)) r.fail(kv.first, key, "duplicate key");
      std::vector<std::string>& list = realm.aliases[user];
      for (const auto& [alias, at] : r.strings(kv.second, key)) {
        if (!is_token_text(alias)) r.fail(at, key, "not a valid user part: " + quoted(alias));
        list.push_back(alias);
      }
    }
  }
  if (auto n = node["users"]) {
    if (!n.IsSequence()) r.fail(n, path + ".users", "expected a list of users");
    std::set<std::string> names;
    for (size_t i = 0; i < n.size(); ++i) {
      std::string upath = path + ".users[" + std::to_string(i) + "]";
      UserConfig u = parse_user(r, n[i], upath, realm.name);
      if (!names.insert(u.username).second)
        r.fail(n[i], upath + ".username", "user " + quoted(u.username) + " listed twice");
      rc.users.push_back(std::move(u));
    }
  }
  return rc;
}

void parse_grpc(const Reader& r, const YAML::Node& grpc, Config& c) {
  r.expect_keys(grpc, "grpc", {"listen", "tls"});
  if (auto n = grpc["listen"]) {
    std::string why;
    auto listen = parse_grpc_listen(n.IsNull() ? "" : r.scalar(n, "grpc.listen"), &why);
    if (!listen) r.fail(n, "grpc.listen", why);
    c.grpc.listen = *listen;
  }
  if (auto tls = grpc["tls"]) {
    r.expect_keys(tls, "grpc.tls", {"cert_file", "key_file", "client_ca_file"});
    auto file = [&](const char* key) {
      std::string path = "grpc.tls." + std::string(key);
      std::string v = r.scalar(tls[key], path);
      if (v.empty()) r.fail(tls[key], path, "expected a file name");
      return v;
    };
    if (tls["cert_file"]) c.grpc.tls.cert_file = file("cert_file");
    if (tls["key_file"]) c.grpc.tls.key_file = file("key_file");
    if (tls["client_ca_file"]) c.grpc.tls.client_ca_file = file("client_ca_file");
    if (c.grpc.tls.cert_file.empty() != c.grpc.tls.key_file.empty())
      r.fail(tls, "grpc.tls", "cert_file and key_file go together (give both for TLS)");
    if (!c.grpc.tls.client_ca_file.empty() && c.grpc.tls.cert_file.empty())
      r.fail(tls["client_ca_file"], "grpc.tls.client_ca_file",
             "needs cert_file and key_file (mutual TLS is TLS with client certificates)");
  }
}

std::vector<ApiTokenConfig> parse_tokens(const Reader& r, const YAML::Node& api) {
  r.expect_keys(api, "api", {"tokens"});
  std::vector<ApiTokenConfig> out;
  auto tokens = api["tokens"];
  if (!tokens) return out;
  if (!tokens.IsSequence()) r.fail(tokens, "api.tokens", "expected a list of {name, role, sha256}");
  std::set<std::string> names;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const YAML::Node& t = tokens[i];
    std::string path = "api.tokens[" + std::to_string(i) + "]";
    r.expect_keys(t, path, {"name", "role", "sha256"});
    ApiTokenConfig token;
    token.line = t.Mark().line + 1;
    for (const char* key : {"name", "role", "sha256"})
      if (!t[key]) r.fail(t, path + "." + key, "missing (every token needs name, role and sha256)");
    token.name = r.scalar(t["name"], path + ".name");
    if (!is_token_text(token.name) || token.name.size() > 64)
      r.fail(t["name"], path + ".name",
             "must be 1-64 printable characters without spaces, quotes or backslashes");
    if (!names.insert(token.name).second)
      r.fail(t["name"], path + ".name", "token " + quoted(token.name) + " listed twice");
    std::string role = r.scalar(t["role"], path + ".role");
    auto parsed = api::parse_role(role);
    if (!parsed) r.fail(t["role"], path + ".role", "expected admin, read or calls, got " + quoted(role));
    token.role = *parsed;
    // A hash is not a secret, but a token pasted here by mistake is: never echo the value.
    std::string hash = r.scalar(t["sha256"], path + ".sha256");
    auto digest = api::parse_sha256_hex(hash);
    if (!digest)
      r.fail(t["sha256"], path + ".sha256",
             "expected the 64 hex digits of the token's SHA-256 (printf %s TOKEN | sha256sum), "
             "not the token itself");
    token.sha256 = api::to_hex(*digest);
    out.push_back(std::move(token));
  }
  return out;
}

void parse_events(const Reader& r, const YAML::Node& events, Config& c) {
  r.expect_keys(events, "events", {"max_count", "max_age", "watcher_buffer", "max_watchers"});
  if (auto n = events["max_count"])
    c.events.max_count = size_t(r.number(n, "events.max_count", 1, 100'000'000));
  if (auto n = events["max_age"])
    c.events.max_age = std::chrono::seconds(r.number(n, "events.max_age", 1, 31'536'000));
  if (auto n = events["watcher_buffer"])
    c.events.watcher_buffer = size_t(r.number(n, "events.watcher_buffer", 1, 1'000'000));
  if (auto n = events["max_watchers"])
    c.events.max_watchers = size_t(r.number(n, "events.max_watchers", 1, 100'000));
}

void parse_calls(const Reader& r, const YAML::Node& calls, Config& c) {
  r.expect_keys(calls, "calls",
                {"max_calls", "rate_per_token", "burst_per_token", "inbound_ring_timeout",
                 "ended_retention", "max_ended", "watcher_buffer", "max_watchers"});
  if (auto n = calls["max_calls"])
    c.calls.max_calls = size_t(r.number(n, "calls.max_calls", 1, 1'000'000));
  if (auto n = calls["rate_per_token"])
    c.calls.rate_per_token = uint32_t(r.number(n, "calls.rate_per_token", 1, 100'000));
  if (auto n = calls["burst_per_token"])
    c.calls.burst_per_token = uint32_t(r.number(n, "calls.burst_per_token", 1, 1'000'000));
  if (auto n = calls["inbound_ring_timeout"])
    c.calls.inbound_ring_timeout =
        std::chrono::seconds(r.number(n, "calls.inbound_ring_timeout", 1, 600));
  if (auto n = calls["ended_retention"])
    c.calls.ended_retention = std::chrono::seconds(r.number(n, "calls.ended_retention", 0, 86'400));
  if (auto n = calls["max_ended"])
    c.calls.max_ended = size_t(r.number(n, "calls.max_ended", 0, 1'000'000));
  if (auto n = calls["watcher_buffer"])
    c.calls.watcher_buffer = size_t(r.number(n, "calls.watcher_buffer", 1, 1'000'000));
  if (auto n = calls["max_watchers"])
    c.calls.max_watchers = size_t(r.number(n, "calls.max_watchers", 1, 100'000));
}

void parse_metrics(const Reader& r, const YAML::Node& metrics, Config& c) {
  r.expect_keys(metrics, "metrics", {"listen"});
  if (auto n = metrics["listen"]) {
    std::string why;
    auto listen = parse_metrics_listen(n.IsNull() ? "" : r.scalar(n, "metrics.listen"), &why);
    if (!listen) r.fail(n, "metrics.listen", why);
    c.metrics.listen = *listen;
  }
}

void parse_shutdown(const Reader& r, const YAML::Node& shutdown, Config& c) {
  r.expect_keys(shutdown, "shutdown", {"grace_period"});
  if (auto n = shutdown["grace_period"])
    c.shutdown.grace_period = std::chrono::seconds(r.number(n, "shutdown.grace_period", 0, 3600));
}

void parse_document(const Reader& r, const YAML::Node& root, Config& c) {
  if (root.IsNull()) return;  // an empty file: all defaults
  r.expect_keys(root, "",
                {"sip", "data_dir", "realms", "nonce", "store", "log_level", "threads",
                 "auth_throttle", "grpc", "api", "events", "calls", "metrics", "shutdown", "replica"});
  if (auto n = root["sip"]) parse_sip(r, n, c);
  if (auto n = root["data_dir"]) {
    c.data_dir = r.scalar(n, "data_dir");
    if (c.data_dir.empty()) r.fail(n, "data_dir", "expected a directory");
  }
  if (auto n = root["log_level"]) {
    std::string s = r.scalar(n, "log_level");
    auto level = parse_log_level(s);
    if (!level) r.fail(n, "log_level", "expected debug, info, warn or error, got " + quoted(s));
    c.log_level = *level;
  }
  if (auto n = root["threads"]) c.threads = unsigned(r.number(n, "threads", 1, 256));
  if (auto n = root["nonce"]) parse_nonce(r, n, c);
  if (auto n = root["store"]) parse_store(r, n, c);
  if (auto n = root["auth_throttle"]) parse_throttle(r, n, c);
  if (auto n = root["grpc"]) parse_grpc(r, n, c);
  if (auto n = root["api"]) c.api_tokens = parse_tokens(r, n);
  if (auto n = root["events"]) parse_events(r, n, c);
  if (auto n = root["calls"]) parse_calls(r, n, c);
  if (auto n = root["metrics"]) parse_metrics(r, n, c);
  if (auto n = root["shutdown"]) parse_shutdown(r, n, c);
  if (auto n = root["replica"]) parse_replica(r, n, c);
  if (auto n = root["realms"]) {
    if (!n.IsSequence()) r.fail(n, "realms", "expected a list of realms");
    std::set<std::string> names;
    for (size_t i = 0; i < n.size(); ++i) {
      std::string path = "realms[" + std::to_string(i) + "]";
      RealmConfig rc = parse_realm(r, n[i], path);
      if (!names.insert(lower(rc.realm.name)).second)
        r.fail(n[i]["name"], path + ".name", "realm " + quoted(rc.realm.name) + " listed twice");
      c.realms.push_back(std::move(rc));
    }
  }
}

void parse_yaml(std::string_view text, const std::string& name, Config& c) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw ConfigError{name + ":" + std::to_string(e.mark.line + 1) + ":" +
                      std::to_string(e.mark.column + 1) + ": invalid YAML: " + e.msg};
  }
  Reader reader(name);
  try {
    parse_document(reader, root, c);
  } catch (const YAML::Exception& e) {
    // A structural surprise the validators did not foresee.
    throw ConfigError{name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg};
  }
}

unsigned default_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : (n > 256 ? 256 : n);
}

void apply_environment(const Environment& env, Config& c) {
  auto get = [&](const char* name) -> std::optional<std::string> {
    if (!env) return std::nullopt;
    auto v = env(name);
    if (v && v->empty()) return std::nullopt;  // set but empty: as if unset
    return v;
  };
  auto bad = [](const char* name, const std::string& what) {
    throw ConfigError{std::string(name) + ": " + what};
  };
  if (auto v = get(kEnvSipListen)) {
    std::string all = *v;
    std::replace(all.begin(), all.end(), ',', ' ');
    std::istringstream words(all);
    std::vector<sip::transport::ListenAddress> listen;
    for (std::string item; words >> item;) {
      std::string why;
      auto address = sip::transport::parse_listen_address(item, &why);
      if (!address) bad(kEnvSipListen, why);
      listen.push_back(*address);
    }
    if (listen.empty()) bad(kEnvSipListen, "needs at least one address");
    c.listen = std::move(listen);
  }
  if (auto v = get(kEnvDataDir)) c.data_dir = *v;
  if (auto v = get(kEnvLogLevel)) {
    auto level = parse_log_level(*v);
    if (!level) bad(kEnvLogLevel, "expected debug, info, warn or error, got " + quoted(*v));
    c.log_level = *level;
  }
  if (auto v = get(kEnvThreads)) {
    auto n = parse_number(*v, 1, 256);
    if (!n) bad(kEnvThreads, "expected a number from 1 to 256, got " + quoted(*v));
    c.threads = unsigned(*n);
  }
  if (auto v = get(kEnvTcpIdleTimeout)) {
    auto n = parse_number(*v, 0, 86400);
    if (!n) bad(kEnvTcpIdleTimeout, "expected seconds from 0 to 86400, got " + quoted(*v));
    c.tcp_idle_timeout = std::chrono::seconds(*n);
  }
  if (auto v = get(kEnvTcpMaxConnections)) {
    auto n = parse_number(*v, 1, 1'000'000);
    if (!n) bad(kEnvTcpMaxConnections, "expected a number from 1 to 1000000, got " + quoted(*v));
    c.tcp_max_connections = size_t(*n);
  }
  if (auto v = get(kEnvGrpcListen)) {
    std::string why;
    auto listen = parse_grpc_listen(*v, &why);
    if (!listen) bad(kEnvGrpcListen, why);
    c.grpc.listen = *listen;
  }
  if (auto v = get(kEnvSipAdvertise)) {
    if (!v->empty() && !is_advertise_host(*v))
      bad(kEnvSipAdvertise,
          "expected a host name, an IPv4 address or a bracketed IPv6 address (no port), got " +
              quoted(*v));
    c.sip_advertise = *v;
  }
  if (auto v = get(kEnvRedisUrl)) {
    if (std::string why = redis_url_problem(*v); !why.empty())
      bad(kEnvRedisUrl, why + ", got " + quoted(redact_url(*v)));
    c.store.url = *v;
  }
  if (auto v = get(kEnvReplicaId)) {
    if (!is_token_text(*v)) bad(kEnvReplicaId, "expected a name without spaces");
    c.replica.id = *v;
  }
  if (auto v = get(kEnvReplicaAdvertise)) {
    if (!is_host_port(*v)) bad(kEnvReplicaAdvertise, "expected HOST:PORT, got " + quoted(*v));
    c.replica.advertise = *v;
  }
  if (auto v = get(kEnvReplicaToken)) {
    if (std::string why = replica_token_problem(*v); !why.empty()) bad(kEnvReplicaToken, why);
    c.replica.token = *v;
  }
  validate_replica(c);
  if (auto v = get(kEnvMetricsListen)) {
    std::string why;
    auto listen = parse_metrics_listen(*v, &why);
    if (!listen) bad(kEnvMetricsListen, why);
    c.metrics.listen = *listen;
  }
  if (auto v = get(kEnvNonceSecret)) {
    registrar::SeededRandom unused(0);
    auto check = registrar::resolve_nonce_secret(std::nullopt, *v, unused);
    if (!check.ok()) bad(kEnvNonceSecret, check.error);
    c.nonce.secret = *v;
    c.nonce.secret_origin = SecretOrigin::kEnvironment;
  }
}

void apply_flags(const CommandLine& cli, Config& c) {
  if (!cli.listen.empty()) c.listen = cli.listen;
  if (cli.data_dir) c.data_dir = *cli.data_dir;
  if (cli.log_level) c.log_level = *cli.log_level;
  if (cli.threads) c.threads = *cli.threads;
  if (cli.tcp_idle_timeout) c.tcp_idle_timeout = *cli.tcp_idle_timeout;
  if (cli.tcp_max_connections) c.tcp_max_connections = *cli.tcp_max_connections;
  if (cli.grpc_listen) c.grpc.listen = *cli.grpc_listen;
  if (cli.metrics_listen) c.metrics.listen = *cli.metrics_listen;
}

// This host's name (gethostname), or "" when it cannot be read.
std::string host_name() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

// Checks that span several keys, after the file, the environment and the flags.
void validate_store(const Config& c) {
  const std::string where = c.config_file.empty() ? "configuration" : c.config_file;
  if (c.store.kind != StoreKind::kRedis) return;
  if (c.store.url.empty())
    throw ConfigError{where + ": store.kind is redis but no store.url (or " + kEnvRedisUrl +
                      ") says where Redis is"};
  // A generated secret is per process: replicas would answer each other's
  // nonces with a fresh challenge (or count them as failures) behind a load balancer.
  if (!c.nonce.secret)
    throw ConfigError{where +
                      ": nonce.secret: required with store.kind redis: every replica must "
                      "verify the others' nonces (or set " + kEnvNonceSecret + ")"};
}

void apply_defaults(Config& c) {
  validate_store(c);
  // Every binding names the replica that holds its flow (Binding::replica):
  // resolved once here so that every later reader sees the same name.
  if (c.replica.id.empty()) {
    c.replica.id = host_name();
    if (!is_token_text(c.replica.id))
      throw ConfigError{std::string(c.config_file.empty() ? "configuration" : c.config_file) +
                        ": replica.id: not set and the host name cannot be used (set replica.id "
                        "or " + kEnvReplicaId + ")"};
  }
  if (c.listen.empty()) {
    c.listen.push_back(*sip::transport::parse_listen_address("udp:127.0.0.1:5060", nullptr));
    c.listen.push_back(*sip::transport::parse_listen_address("tcp:127.0.0.1:5060", nullptr));
  }
  if (c.threads == 0) c.threads = default_threads();
}

void wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
  s.shrink_to_fit();
}

}  // namespace

std::string_view store_kind_name(StoreKind kind) {
  switch (kind) {
    case StoreKind::kSqlite:
      return "sqlite";
    case StoreKind::kRedis:
      return "redis";
    case StoreKind::kMemory:
      return "memory";
  }
  return "sqlite";
}

std::string redact_url(std::string_view url) {
  size_t scheme = url.find("://");
  size_t at = url.rfind('@');
  if (scheme == std::string_view::npos || at == std::string_view::npos || at < scheme) return std::string(url);
  std::string_view userinfo = url.substr(scheme + 3, at - scheme - 3);
  size_t colon = userinfo.find(':');
  std::string out(url.substr(0, scheme + 3));
  if (colon == std::string_view::npos) {
    out += "<redacted>";  // "redis://password@host": the whole userinfo is the secret
  } else {
    out += userinfo.substr(0, colon);
    out += ":<redacted>";
  }
  out += url.substr(at);
  return out;
}

void Config::drop_passwords() {
  for (RealmConfig& realm : realms)
    for (UserConfig& user : realm.users)
      if (user.password) {
        wipe(*user.password);
        user.password.reset();
      }
}

Environment process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

ConfigOrError parse_config_text(std::string_view yaml, std::string_view name) {
  ConfigOrError result;
  Config c;
  try {
    parse_yaml(yaml, std::string(name), c);
    c.config_file = std::string(name);
    apply_defaults(c);
  } catch (const ConfigError& e) {
    result.error = e.message;
    return result;
  }
  result.config = std::move(c);
  return result;
}

ApiTokensOrError parse_api_tokens_text(std::string_view yaml, std::string_view name) {
  ApiTokensOrError result;
  const std::string file(name);
  try {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
      throw ConfigError{file + ":" + std::to_string(e.mark.line + 1) + ":" +
                        std::to_string(e.mark.column + 1) + ": invalid YAML: " + e.msg};
    }
    Reader r(file);
    try {
      if (root.IsNull()) throw ConfigError{file + ": empty (expected api: {tokens: [...]})"};
      r.expect_keys(root, "", {"api"});
      if (!root["api"]) r.fail(root, "api", "missing");
      result.tokens = parse_tokens(r, root["api"]);
    } catch (const YAML::Exception& e) {
      throw ConfigError{file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg};
    }
  } catch (const ConfigError& e) {
    result.error = e.message;
    result.tokens.clear();
  }
  return result;
}

ConfigOrError load_config(const CommandLine& cli, const Environment& env) {
  ConfigOrError result;
  Config c;
  try {
    std::optional<std::string> file = cli.config_file;
    if (!file && env) {
      auto v = env(kEnvConfig);
      if (v && !v->empty()) file = *v;
    }
    if (file) {
      std::ifstream in(*file, std::ios::binary);
      if (!in) throw ConfigError{*file + ": cannot read the configuration file"};
      std::ostringstream text;
      text << in.rdbuf();
      if (in.bad()) throw ConfigError{*file + ": cannot read the configuration file"};
      parse_yaml(text.str(), *file, c);
      c.config_file = *file;
    }
    apply_environment(env, c);
    apply_flags(cli, c);
    apply_defaults(c);
  } catch (const ConfigError& e) {
    result.error = e.message;
    return result;
  }
  result.config = std::move(c);
  return result;
}

}  // namespace switchboard
