// registrar/store/redis/redis_credential_store.cc — see redis_credential_store.h.
#include "registrar/store/redis/redis_credential_store.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <map>
#include <mutex>

#include "registrar/store/percent_codec.h"
#include "registrar/store/sqlite_credential_store.h"  // encode/decode_realm_aliases

namespace registrar {
namespace {

constexpr std::string_view kRealmVersion = "sbr1";
constexpr std::string_view kCredentialVersion = "sbc1";

StoreResult failure(std::string error) {
  return StoreResult{.ok = false, .error = std::move(error)};
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Escapes what would break a "field=value" line.
std::string escape(std::string_view in) {
  std::string out;
  percent_encode(in, "\n\r", out);
  return out;
}

std::optional<std::string> unescape(std::string_view in) { return percent_decode(in); }

// "version\nfield=value\n…" → fields; nullopt on a bad version or line.
std::optional<std::map<std::string, std::string>> parse_fields(std::string_view value,
                                                               std::string_view version) {
  const size_t nl = value.find('\n');
  if (value.substr(0, nl) != version) return std::nullopt;
  std::map<std::string, std::string> fields;
  if (nl == std::string_view::npos) return fields;
  std::string_view rest = value.substr(nl + 1);
  while (!rest.empty()) {
    const size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) return std::nullopt;
    std::optional<std::string> v = unescape(line.substr(eq + 1));
    if (!v) return std::nullopt;
    fields[std::string(line.substr(0, eq))] = std::move(*v);
  }
  return fields;
}

void put_field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += '=';
  out += escape(value);
  out += '\n';
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

std::optional<uint32_t> parse_u32(const std::string& s) {
  uint32_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return n;
}

std::string invalid_realm(const Realm& realm) {
  if (realm.name.empty()) return "realm: name is empty";
  if (realm.algorithms.empty()) return "realm '" + realm.name + "': no digest algorithm";
  for (const Cidr& c : realm.trusted_sources) {
    if (c.text.empty() || c.text.find(',') != std::string::npos)
      return "realm '" + realm.name + "': trusted source '" + c.text + "' is not a CIDR";
  }
  for (const auto& [user, aliases] : realm.aliases) {
    if (user.empty()) return "realm '" + realm.name + "': alias entry with an empty user";
    for (const std::string& a : aliases) {
      if (a.empty()) return "realm '" + realm.name + "': empty alias for user '" + user + "'";
    }
  }
  return {};
}

// KEYS: 1 realms hash, 2 the realm's creds hash. ARGV: 1 lower name, 2 value, 3 the name
// as encoded in a value's "name=" line. Refuses to respell a realm that has credentials.
constexpr const char* kPutRealm = R"lua(
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local name = string.match(old, '\nname=([^\n]*)')
  if name ~= ARGV[3] and redis.call('EXISTS', KEYS[2]) == 1 then
    return redis.error_reply('RESPELL ' .. (name or '?'))
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
)lua";

// KEYS: 1 realms hash, 2 creds hash. ARGV: 1 lower realm, 2 encoded name, 3 username, 4 value.
constexpr const char* kPutCredential = R"lua(
local realm = redis.call('HGET', KEYS[1], ARGV[1])
if not realm then return redis.error_reply('NOREALM no such realm') end
local name = string.match(realm, '\nname=([^\n]*)')
if name ~= ARGV[2] then return redis.error_reply('SPELLING ' .. (name or '?')) end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
return 1
)lua";

// KEYS: 1 realms hash, 2 creds hash. ARGV: 1 lower realm.
constexpr const char* kRemoveRealm = R"lua(
local n = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return n
)lua";

// The script's own error ("CODE detail"), whether or not Redis prefixed "ERR "; "" when
// `reply` is not an error with that code. The detail is still escaped (a realm name).
std::optional<std::string> script_error(const RedisReply& reply, std::string_view code) {
  if (!reply.is_error()) return std::nullopt;
  std::string_view s = reply.str;
  if (s.substr(0, 4) == "ERR ") s.remove_prefix(4);
  if (s.substr(0, code.size()) != code) return std::nullopt;
  s.remove_prefix(std::min(s.size(), code.size() + 1));
  return unescape(s).value_or(std::string(s));
}

}  // namespace

std::string encode_redis_realm(const Realm& r) {
  std::string out(kRealmVersion);
  out += '\n';
  put_field(out, "name", r.name);
  put_field(out, "challenge", r.challenge == ChallengeMode::k407 ? "407" : "401");
  std::string algorithms;
  for (DigestAlgorithm a : r.algorithms) {
    if (!algorithms.empty()) algorithms += ',';
    algorithms += digest_algorithm_name(a);
  }
  put_field(out, "algorithms", algorithms);
  put_field(out, "allow_qop_less", r.allow_qop_less ? "1" : "0");
  put_field(out, "default_expires", std::to_string(r.default_expires));
  put_field(out, "min_expires", std::to_string(r.min_expires));
  put_field(out, "max_expires", std::to_string(r.max_expires));
  put_field(out, "max_contacts", std::to_string(r.max_contacts));
  put_field(out, "overflow",
            r.overflow == ContactOverflowPolicy::kEvictOldest ? "evict-oldest" : "reject");
  put_field(out, "source_auth",
            r.source_auth == SourceAuthMode::kTrustedOrDigest    ? "trusted-or-digest"
            : r.source_auth == SourceAuthMode::kTrustedAndDigest ? "trusted-and-digest"
                                                                 : "digest");
  std::string cidrs;
  for (const Cidr& c : r.trusted_sources) {
    if (!cidrs.empty()) cidrs += ',';
    cidrs += c.text;
  }
  put_field(out, "trusted_sources", cidrs);
  put_field(out, "aliases", encode_realm_aliases(r.aliases));
  return out;
}

// GCC 12 warns falsely about Realm's default `algorithms` initializer_list.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
std::optional<Realm> decode_redis_realm(std::string_view value) {
  auto fields = parse_fields(value, kRealmVersion);
  if (!fields) return std::nullopt;
  auto get = [&](const char* name) -> const std::string* {
    auto it = fields->find(name);
    return it == fields->end() ? nullptr : &it->second;
  };
  Realm r;
  const std::string* name = get("name");
  if (name == nullptr || name->empty()) return std::nullopt;
  r.name = *name;
  if (const std::string* s = get("challenge")) {
    if (*s == "401")
      r.challenge = ChallengeMode::k401;
    else if (*s == "407")
      r.challenge = ChallengeMode::k407;
    else
      return std::nullopt;
  }
  if (const std::string* s = get("algorithms")) {
    r.algorithms.clear();
    for (std::string_view token : split(*s, ',')) {
      std::optional<DigestAlgorithm> a = parse_digest_algorithm(token);
      if (!a) return std::nullopt;
      r.algorithms.push_back(*a);
    }
    if (r.algorithms.empty()) return std::nullopt;
  }
  if (const std::string* s = get("allow_qop_less")) {
    if (*s != "0" && *s != "1") return std::nullopt;
    r.allow_qop_less = *s == "1";
  }
  for (auto [field, target] :
       {std::pair{"default_expires", &r.default_expires}, std::pair{"min_expires", &r.min_expires},
        std::pair{"max_expires", &r.max_expires}, std::pair{"max_contacts", &r.max_contacts}}) {
    if (const std::string* s = get(field)) {
      std::optional<uint32_t> n = parse_u32(*s);
      if (!n) return std::nullopt;
      *target = *n;
    }
  }
  if (const std::string* s = get("overflow")) {
    if (*s == "reject")
      r.overflow = ContactOverflowPolicy::kReject;
    else if (*s == "evict-oldest")
      r.overflow = ContactOverflowPolicy::kEvictOldest;
    else
      return std::nullopt;
  }
  if (const std::string* s = get("source_auth")) {
    if (*s == "digest")
      r.source_auth = SourceAuthMode::kDigest;
    else if (*s == "trusted-or-digest")
      r.source_auth = SourceAuthMode::kTrustedOrDigest;
    else if (*s == "trusted-and-digest")
      r.source_auth = SourceAuthMode::kTrustedAndDigest;
    else
      return std::nullopt;
  }
  if (const std::string* s = get("trusted_sources")) {
    for (std::string_view c : split(*s, ',')) {
      if (c.empty()) return std::nullopt;
      r.trusted_sources.push_back({std::string(c)});
    }
  }
  if (const std::string* s = get("aliases")) {
    auto aliases = decode_realm_aliases(*s);
    if (!aliases) return std::nullopt;
    r.aliases = std::move(*aliases);
  }
  return r;
}
#pragma GCC diagnostic pop

std::string encode_redis_credential(const Credential& c) {
  std::string out(kCredentialVersion);
  out += '\n';
  put_field(out, "domain", c.domain());
  if (auto h = c.ha1(DigestAlgorithm::kMd5)) put_field(out, "ha1_md5", *h);
  if (auto h = c.ha1(DigestAlgorithm::kSha256)) put_field(out, "ha1_sha256", *h);
  if (auto h = c.ha1(DigestAlgorithm::kSha512_256)) put_field(out, "ha1_sha512_256", *h);
  if (auto h = c.hash1b()) put_field(out, "hash1b", *h);
  return out;
}

std::optional<Credential> decode_redis_credential(std::string_view value, std::string_view realm,
                                                  std::string_view username) {
  auto fields = parse_fields(value, kCredentialVersion);
  if (!fields) return std::nullopt;
  auto opt = [&](const char* name) -> std::optional<std::string_view> {
    auto it = fields->find(name);
    if (it == fields->end()) return std::nullopt;
    return std::string_view(it->second);
  };
  StoredHashes h;
  h.realm = realm;
  h.username = username;
  h.domain = opt("domain").value_or(std::string_view{});
  h.ha1_md5 = opt("ha1_md5");
  h.ha1_sha256 = opt("ha1_sha256");
  h.ha1_sha512_256 = opt("ha1_sha512_256");
  h.hash1b = opt("hash1b");
  CredentialOrError c = Credential::from_hashes(h);
  if (!c.ok()) return std::nullopt;
  return std::move(*c.credential);
}

// Whether Redis really answered: an error reply (-LOADING while a restarted
// Redis reads its AOF, -MASTERDOWN, -BUSY…) is no answer either, and must not
// read as "no such realm" (404) or "unknown user" (a failed authentication).
static bool answered(const RedisResult& r) { return r.ok() && !r.reply.is_error(); }
static bool answered(const RedisPipelineResult& p) {
  if (!p.ok()) return false;
  for (const RedisReply& reply : p.replies)
    if (reply.is_error()) return false;
  return true;
}

struct RedisCredentialStore::Impl {
  RedisCredentialStoreOptions options;
  std::string k_realms, creds_prefix;
  std::mutex mu;  // the connection and the SHAs
  std::unique_ptr<RedisConnection> conn;
  std::string put_realm_sha, put_credential_sha, remove_realm_sha;
  // False after a read or write failed on the connection, true after one
  // succeeds: a lookup that found nothing may then be a lookup that failed.
  std::atomic<bool> reachable{true};

  std::string creds_key(std::string_view realm) const { return creds_prefix + lower_ascii(realm); }

  RedisResult eval(const std::string& sha, const char* script, std::vector<std::string> args) {
    args.insert(args.begin(), sha);
    args.insert(args.begin(), "EVALSHA");
    RedisResult r = conn->command(args);
    if (r.ok() && r.reply.is_error() && r.reply.str.rfind("NOSCRIPT", 0) == 0) {
      args[0] = "EVAL";
      args[1] = script;
      r = conn->command(args);
    }
    return r;
  }
};

RedisCredentialStoreOpenResult RedisCredentialStore::open(
    const RedisUrl& url, const RedisCredentialStoreOptions& options) {
  RedisCredentialStoreOpenResult result;
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->k_realms = options.prefix + "realms";
  impl->creds_prefix = options.prefix + "creds:";
  impl->conn = std::make_unique<RedisConnection>(url, options.connection);
  if (std::string e = impl->conn->connect(); !e.empty()) {
    result.error = std::move(e);
    return result;
  }
  for (auto [script, sha] : {std::pair{kPutRealm, &impl->put_realm_sha},
                             std::pair{kPutCredential, &impl->put_credential_sha},
                             std::pair{kRemoveRealm, &impl->remove_realm_sha}}) {
    RedisResult r = impl->conn->command({"SCRIPT", "LOAD", script});
    if (!r.ok()) {
      result.error = r.error;
      return result;
    }
    if (!r.reply.is_string()) {
      result.error = redis_error("SCRIPT LOAD", r.reply);
      return result;
    }
    *sha = r.reply.str;
  }
  result.store.reset(new RedisCredentialStore(std::move(impl)));
  return result;
}

RedisCredentialStore::RedisCredentialStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RedisCredentialStore::~RedisCredentialStore() = default;

std::optional<Realm> RedisCredentialStore::find_realm(std::string_view name) const {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  RedisResult r = m.conn->command({"HGET", m.k_realms, lower_ascii(name)});
  m.reachable.store(answered(r), std::memory_order_relaxed);
  if (!r.ok() || !r.reply.is_string()) return std::nullopt;
  std::optional<Realm> realm = decode_redis_realm(r.reply.str);
  if (realm && lower_ascii(realm->name) != lower_ascii(name)) return std::nullopt;  // misfiled
  return realm;
}

bool RedisCredentialStore::available() const {
  return impl_->reachable.load(std::memory_order_relaxed);
}

std::vector<Realm> RedisCredentialStore::list_realms() const {
  Impl& m = *impl_;
  std::vector<Realm> out;
  {
    std::lock_guard lock(m.mu);
    RedisResult r = m.conn->command({"HGETALL", m.k_realms});
    m.reachable.store(answered(r), std::memory_order_relaxed);
    if (!r.ok() || !r.reply.is_array()) return out;
    for (size_t i = 0; i + 1 < r.reply.elements.size(); i += 2) {
      std::optional<Realm> realm = decode_redis_realm(r.reply.elements[i + 1].str);
      if (realm && lower_ascii(realm->name) == r.reply.elements[i].str)
        out.push_back(std::move(*realm));
    }
  }
  std::sort(out.begin(), out.end(), [](const Realm& a, const Realm& b) {
    return lower_ascii(a.name) < lower_ascii(b.name);
  });
  return out;
}

StoreResult RedisCredentialStore::put_realm(const Realm& realm) {
  if (std::string why = invalid_realm(realm); !why.empty()) return failure(std::move(why));
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  RedisResult r = m.eval(m.put_realm_sha, kPutRealm,
                         {"2", m.k_realms, m.creds_key(realm.name), lower_ascii(realm.name),
                          encode_redis_realm(realm), escape(realm.name)});
  if (!r.ok()) return failure("credential store: " + r.error);
  if (auto old = script_error(r.reply, "RESPELL")) {
    return failure("realm '" + *old + "' has credentials: it cannot be respelled '" + realm.name +
                   "' (their HA1s hash the realm as spelled)");
  }
  if (!r.reply.is_integer())
    return failure("credential store: " + redis_error("put_realm", r.reply));
  return {};
}

bool RedisCredentialStore::remove_realm(std::string_view name) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  RedisResult r = m.eval(m.remove_realm_sha, kRemoveRealm,
                         {"2", m.k_realms, m.creds_key(name), lower_ascii(name)});
  return r.ok() && r.reply.is_integer() && r.reply.integer > 0;
}

std::optional<Credential> RedisCredentialStore::find_credential(std::string_view realm,
                                                                std::string_view username) const {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  // The realm's spelling comes from the realm itself (the HA1 hashes it).
  RedisPipelineResult p = m.conn->pipeline({{"HGET", m.k_realms, lower_ascii(realm)},
                                            {"HGET", m.creds_key(realm), std::string(username)}});
  m.reachable.store(answered(p), std::memory_order_relaxed);
  if (!p.ok() || !p.replies[0].is_string() || !p.replies[1].is_string()) return std::nullopt;
  std::optional<Realm> stored = decode_redis_realm(p.replies[0].str);
  if (!stored) return std::nullopt;
  return decode_redis_credential(p.replies[1].str, stored->name, username);
}

std::vector<Credential> RedisCredentialStore::list_credentials(std::string_view realm) const {
  Impl& m = *impl_;
  std::vector<Credential> out;
  {
    std::lock_guard lock(m.mu);
    RedisPipelineResult p = m.conn->pipeline(
        {{"HGET", m.k_realms, lower_ascii(realm)}, {"HGETALL", m.creds_key(realm)}});
    m.reachable.store(answered(p), std::memory_order_relaxed);
    if (!p.ok() || !p.replies[0].is_string() || !p.replies[1].is_array()) return out;
    std::optional<Realm> stored = decode_redis_realm(p.replies[0].str);
    if (!stored) return out;
    const auto& e = p.replies[1].elements;
    for (size_t i = 0; i + 1 < e.size(); i += 2) {
      if (auto c = decode_redis_credential(e[i + 1].str, stored->name, e[i].str))
        out.push_back(std::move(*c));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Credential& a, const Credential& b) { return a.username() < b.username(); });
  return out;
}

StoreResult RedisCredentialStore::put_credential(const Credential& c) {
  if (c.username().empty()) return failure("credential: username is empty");
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  RedisResult r = m.eval(m.put_credential_sha, kPutCredential,
                         {"2", m.k_realms, m.creds_key(c.realm()), lower_ascii(c.realm()),
                          escape(c.realm()), c.username(), encode_redis_credential(c)});
  if (!r.ok()) return failure("credential store: " + r.error);
  if (script_error(r.reply, "NOREALM"))
    return failure("credential '" + c.username() + "': realm '" + c.realm() + "' does not exist");
  if (auto stored = script_error(r.reply, "SPELLING")) {
    return failure("credential '" + c.username() + "': realm spelled '" + c.realm() +
                   "' but the realm is '" + *stored +
                   "' (the HA1 must hash the realm as challenged)");
  }
  if (!r.reply.is_integer())
    return failure("credential store: " + redis_error("put_credential", r.reply));
  return {};
}

bool RedisCredentialStore::remove_credential(std::string_view realm, std::string_view username) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  RedisResult r = m.conn->command({"HDEL", m.creds_key(realm), std::string(username)});
  return r.ok() && r.reply.is_integer() && r.reply.integer > 0;
}

}  // namespace registrar
