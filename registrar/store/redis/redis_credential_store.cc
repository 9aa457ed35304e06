// registrar/store/redis/redis_credential_store.cc — see redis_credential_store.h.
#include "registrar/store/redis/redis_credential_store.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <utility>

#include "registrar/store/percent_codec.h"
#include "registrar/store/realm_text.h"
#include "registrar/store/sqlite_credential_store.h"  // encode/decode_realm_aliases

namespace registrar {
namespace {

constexpr std::string_view kRealmVersion = "sbr1";
constexpr std::string_view kCredentialVersion = "sbc1";

StoreResult failure(std::string error) {
  return StoreResult{.ok = false, .error = std::move(error)};
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

std::optional<uint32_t> parse_u32(const std::string& s) {
  uint32_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return n;
}

// ---- The scripts. Each write is one script: the change and its admin stream
// entry happen in one atomic step, so no replica can see one without the
// other. Each checks what could fail before its first write, because Redis
// does not undo a script's writes when a later command fails.

// Shared by every script that touches the admin stream.
constexpr std::string_view kAdminLua = R"lua(
-- The stream's last-generated ID as {ms, seq} ({0, 0}: no stream), or nil and an error.
local function admin_last(stream)
  local t = redis.call('TYPE', stream)['ok']
  if t == 'none' then return {0, 0} end
  if t ~= 'stream' then
    return nil, redis.error_reply('WRONGTYPE ' .. stream .. ' holds a ' .. t .. ', not a stream')
  end
  local info = redis.call('XINFO', 'STREAM', stream)
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      local ms, seq = string.match(info[i + 1], '^(%d+)-(%d+)$')
      return {tonumber(ms), tonumber(seq)}
    end
  end
  return {0, 0}
end
local function id_text(id) return string.format('%d-%d', id[1], id[2]) end
-- Appends the entry after `last`: IDs are consecutive, so a reader sees a gap. A new
-- stream starts a new epoch (ms = now): a reader of the old one (FLUSHALL) sees a gap too
-- rather than IDs it believes it has passed.
local function announce(stream, maxlen, last, ...)
  local ms, seq = last[1], last[2]
  if ms == 0 and seq == 0 then
    local now = redis.call('TIME')
    ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  end
  return redis.call('XADD', stream, 'MAXLEN', '~', maxlen, string.format('%d-%d', ms, seq + 1), ...)
end
)lua";

// KEYS: 1 admin stream. ARGV: 1 maxlen. The stream's last ID, creating the stream (an
// entry k=epoch) when there is none: a reader then always holds a position that a
// FLUSHALL takes away, whatever was written before.
const std::string kAdminPositionLua = std::string(kAdminLua) + R"lua(
local last, err = admin_last(KEYS[1])
if err then return err end
if last[1] == 0 and last[2] == 0 then return announce(KEYS[1], ARGV[1], last, 'k', 'epoch') end
return id_text(last)
)lua";

// The writes return {1, the entry's ID} after a change, {0, the stream's last ID} when
// there was nothing to change: either way, the ID as of which Redis holds what the caller
// wrote.

// KEYS: 1 realms hash, 2 the realm's creds hash, 3 admin stream. ARGV: 1 lower name,
// 2 value, 3 the name as encoded in a value's "name=" line, 4 maxlen.
// Refuses to respell a realm that has credentials.
const std::string kPutRealmLua = std::string(kAdminLua) + R"lua(
local last, err = admin_last(KEYS[3])
if err then return err end
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local name = string.match(old, '\nname=([^\n]*)')
  if name ~= ARGV[3] and redis.call('EXISTS', KEYS[2]) == 1 then
    return redis.error_reply('RESPELL ' .. (name or '?'))
  end
  if old == ARGV[2] then return {0, id_text(last)} end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return {1, announce(KEYS[3], ARGV[4], last, 'k', 'realm', 'r', ARGV[1], 'op', 'put')}
)lua";

// KEYS: 1 realms hash, 2 creds hash, 3 admin stream. ARGV: 1 lower realm, 2 encoded name,
// 3 username, 4 value, 5 maxlen. Also returns the realm's value, third: a writer whose
// snapshot does not have the realm yet (created through another replica a moment ago)
// takes it from there.
const std::string kPutCredentialLua = std::string(kAdminLua) + R"lua(
local last, err = admin_last(KEYS[3])
if err then return err end
local realm = redis.call('HGET', KEYS[1], ARGV[1])
if not realm then return redis.error_reply('NOREALM no such realm') end
local name = string.match(realm, '\nname=([^\n]*)')
if name ~= ARGV[2] then return redis.error_reply('SPELLING ' .. (name or '?')) end
if redis.call('HGET', KEYS[2], ARGV[3]) == ARGV[4] then return {0, id_text(last), realm} end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
return {1, announce(KEYS[3], ARGV[5], last, 'k', 'credential', 'r', ARGV[1], 'u', ARGV[3],
                    'op', 'put'), realm}
)lua";

// KEYS: 1 realms hash, 2 creds hash, 3 admin stream. ARGV: 1 lower realm, 2 maxlen.
// Deletes the realm's credentials too (also those left without a realm).
const std::string kRemoveRealmLua = std::string(kAdminLua) + R"lua(
local last, err = admin_last(KEYS[3])
if err then return err end
local n = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
if n == 0 then return {0, id_text(last)} end
return {1, announce(KEYS[3], ARGV[2], last, 'k', 'realm', 'r', ARGV[1], 'op', 'del')}
)lua";

// KEYS: 1 creds hash, 2 admin stream. ARGV: 1 lower realm, 2 username, 3 maxlen.
const std::string kRemoveCredentialLua = std::string(kAdminLua) + R"lua(
local last, err = admin_last(KEYS[2])
if err then return err end
if redis.call('HDEL', KEYS[1], ARGV[2]) == 0 then return {0, id_text(last)} end
return {1, announce(KEYS[2], ARGV[3], last, 'k', 'credential', 'r', ARGV[1], 'u', ARGV[2],
                    'op', 'del')}
)lua";

struct Script {
  const std::string* text;
  std::string sha;  // set by open(), read-only afterwards
};

// EVALSHA, or EVAL when Redis does not know the script (restarted, SCRIPT FLUSH).
RedisResult eval(RedisConnection& conn, const Script& script, std::vector<std::string> args) {
  args.insert(args.begin(), script.sha);
  args.insert(args.begin(), "EVALSHA");
  RedisResult r = conn.command(args);
  if (r.ok() && r.reply.is_error() && r.reply.str.rfind("NOSCRIPT", 0) == 0) {
    args[0] = "EVAL";
    args[1] = *script.text;
    r = conn.command(args);
  }
  return r;
}

// An admin stream entry ID. Ours are <epoch ms>-<n>, consecutive within an epoch.
struct StreamId {
  uint64_t ms = 0;
  uint64_t seq = 0;
  auto operator<=>(const StreamId&) const = default;
  StreamId next() const { return {ms, seq + 1}; }
  std::string text() const { return std::to_string(ms) + "-" + std::to_string(seq); }
};

std::optional<StreamId> parse_stream_id(std::string_view s) {
  const size_t dash = s.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  StreamId id;
  const char* end = s.data() + s.size();
  auto [p1, e1] = std::from_chars(s.data(), s.data() + dash, id.ms);
  auto [p2, e2] = std::from_chars(s.data() + dash + 1, end, id.seq);
  if (dash == 0 || e1 != std::errc() || p1 != s.data() + dash || e2 != std::errc() || p2 != end)
    return std::nullopt;
  return id;
}

// What a write script answered: whether it changed anything, and the stream ID as of
// which Redis holds the written state. nullopt: not such an answer.
struct WriteOutcome {
  bool changed = false;
  StreamId id;
};

std::optional<WriteOutcome> write_outcome(const RedisReply& reply) {
  if (!reply.is_array() || reply.elements.size() < 2 || !reply.elements[0].is_integer())
    return std::nullopt;
  std::optional<StreamId> id = parse_stream_id(reply.elements[1].str);
  if (!id) return std::nullopt;
  return WriteOutcome{.changed = reply.elements[0].integer != 0, .id = *id};
}

// ---- The snapshot.

struct RealmEntry {
  Realm realm;
  std::map<std::string, Credential, std::less<>> credentials;  // by username
  // Fields of the realm's creds hash that did not decode at the last full read: with
  // credentials.size(), what HLEN should say (a difference makes the tailer re-read all).
  size_t unreadable = 0;
};
using Snapshot = std::map<std::string, RealmEntry, std::less<>>;  // by lower-cased name

// One item of the snapshot: {lower realm, ""} is a realm, {lower realm, username} a
// credential (usernames are never empty).
using SnapKey = std::pair<std::string, std::string>;

// Copies one item's state, present or absent, from `from` into `to`.
void carry_over(const Snapshot& from, Snapshot& to, const SnapKey& key) {
  const auto src = from.find(key.first);
  if (key.second.empty()) {
    if (src == from.end()) {
      to.erase(key.first);
      return;
    }
    auto [dst, added] = to.try_emplace(key.first, src->second);
    if (!added) dst->second.realm = src->second.realm;
    return;
  }
  const auto dst = to.find(key.first);
  if (dst == to.end()) return;  // no realm to hold it
  auto& creds = dst->second.credentials;
  const Credential* c = nullptr;
  if (src != from.end()) {
    auto it = src->second.credentials.find(key.second);
    if (it != src->second.credentials.end()) c = &it->second;
  }
  if (c != nullptr)
    creds.insert_or_assign(key.second, *c);
  else
    creds.erase(key.second);
}

// "redis <what>: …" for a result that is no answer.
std::string failed(std::string_view what, const RedisResult& r) {
  return r.ok() ? redis_error(what, r.reply) : r.error;
}
std::string failed(std::string_view what, const RedisPipelineResult& p) {
  if (!p.ok()) return p.error;
  for (const RedisReply& reply : p.replies)
    if (reply.is_error()) return redis_error(what, reply);
  return "redis " + std::string(what) + ": unexpected reply";
}

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

namespace {

// Whether Redis really answered: an error reply (-LOADING while a restarted
// Redis reads its AOF, -MASTERDOWN, -BUSY, -NOAUTH…) is no answer either, and
// must not read as "no such realm" (404) or "unknown user" (a failed
// authentication).
bool answered(const RedisResult& r) { return r.ok() && !r.reply.is_error(); }
bool answered(const RedisPipelineResult& p) {
  if (!p.ok()) return false;
  for (const RedisReply& reply : p.replies)
    if (reply.is_error()) return false;
  return true;
}

// The realm filed under `lower` in the realms hash (an HGET reply); nullopt when absent,
// unreadable or misfiled (its name is not that field).
std::optional<Realm> decode_filed_realm(std::string_view lower, const RedisReply& value) {
  if (!value.is_string()) return std::nullopt;
  std::optional<Realm> realm = decode_redis_realm(value.str);
  if (realm && lower_ascii(realm->name) != lower) return std::nullopt;
  return realm;
}

// Fills `entry`'s credentials from an HGETALL of its creds hash.
void fill_credentials(RealmEntry& entry, const RedisReply& hgetall) {
  entry.credentials.clear();
  entry.unreadable = 0;
  const auto& e = hgetall.elements;
  for (size_t i = 0; i + 1 < e.size(); i += 2) {
    if (auto c = decode_redis_credential(e[i + 1].str, entry.realm.name, e[i].str))
      entry.credentials.insert_or_assign(e[i].str, std::move(*c));
    else
      ++entry.unreadable;
  }
}

constexpr size_t kReadBatch = 256;  // XREAD COUNT, and creds hashes per pipeline at a reload
constexpr std::chrono::milliseconds kMinBackoff{50};
// Reconnection attempts while Redis is away: cheap (refused at once), and readiness comes
// back within this of Redis' return.
constexpr std::chrono::milliseconds kMaxBackoff{500};

}  // namespace

struct RedisCredentialStore::Impl {
  explicit Impl(const RedisCredentialStoreOptions& o)
      : options(o),
        k_realms(o.prefix + "realms"),
        creds_prefix(o.prefix + "creds:"),
        k_admin(o.prefix + "admin"),
        maxlen(std::to_string(o.admin_stream_maxlen)) {}

  const RedisCredentialStoreOptions options;
  const std::string k_realms, creds_prefix, k_admin, maxlen;
  Script position_script{&kAdminPositionLua, {}};
  Script put_realm_script{&kPutRealmLua, {}};
  Script put_credential_script{&kPutCredentialLua, {}};
  Script remove_realm_script{&kRemoveRealmLua, {}};
  Script remove_credential_script{&kRemoveCredentialLua, {}};

  // Writes (and the destructor's CLIENT UNBLOCK): one connection, serialised.
  std::mutex write_mu;
  std::unique_ptr<RedisConnection> conn;

  // The snapshot: written by the tailer and by writers (their own changes), read by all.
  mutable std::shared_mutex snap_mu;
  Snapshot snap;
  StreamId applied;  // the last admin entry whose change the snapshot holds
  // This process's writes the tailer has not re-read yet → the entry ID as of which Redis
  // held them. The tailer does not overwrite them with a read made for an older entry
  // (that read may predate the write); it re-reads them when it reaches their entry.
  std::map<SnapKey, StreamId> own;

  // The tailer. Only its thread uses tail_conn once open() has returned.
  std::unique_ptr<RedisConnection> tail_conn;
  std::thread tailer;
  std::mutex tail_mu;  // guards stop, wake, tailer_done; with tail_cv
  std::condition_variable tail_cv;
  std::atomic<bool> stop{false};
  bool wake = false;  // a writer wants a reconnection attempt now
  bool tailer_done = false;
  std::atomic<long long> tail_client_id{-1};  // for CLIENT UNBLOCK; -1: unknown

  // available() = tail_ok && write_ok.
  std::atomic<bool> tail_ok{false};   // the tailer follows the stream
  std::atomic<bool> write_ok{true};   // the last write reached Redis
  std::atomic<uint64_t> write_failures{0};

  std::string creds_key(std::string_view realm) const { return creds_prefix + lower_ascii(realm); }
  bool available() const { return tail_ok.load() && write_ok.load(); }

  // ---- Writes.

  // Runs one write script on the write connection.
  RedisResult write(const Script& script, std::vector<std::string> args) {
    RedisResult r;
    {
      std::lock_guard lock(write_mu);
      r = eval(*conn, script, std::move(args));
    }
    if (r.ok()) {
      write_ok = true;
    } else {
      write_failures.fetch_add(1);
      write_ok = false;
    }
    return r;
  }

  // Applies this process's own write at once (read-your-writes), unless the tailer has
  // already gone past its entry: the snapshot then holds it, or something newer.
  template <class Mutate>
  void apply_own(const SnapKey& key, StreamId id, Mutate mutate) {
    std::unique_lock lock(snap_mu);
    if (id <= applied) return;
    mutate(snap);
    mark_own(key, id);
  }

  // REQUIRES: snap_mu held exclusively. Redis held this process's write to `key` as of `id`.
  void mark_own(const SnapKey& key, StreamId id) {
    StreamId& mark = own[key];
    mark = std::max(mark, id);
  }

  // A write that succeeded proves Redis is back. If the tailer has not noticed yet, wake it
  // and give it a moment to reload, so that the caller can read back what it wrote.
  void await_tailer() {
    if (tail_ok) return;
    std::unique_lock lock(tail_mu);
    wake = true;
    tail_cv.notify_all();
    tail_cv.wait_for(lock, options.connection.connect_timeout + options.connection.io_timeout,
                     [&] { return tail_ok.load() || stop.load(); });
  }

  // ---- The tailer.

  // Loads everything into a new snapshot: the stream's position first, then the data, so
  // that tailing from the position misses nothing written meanwhile. "" or the error.
  std::string reload(StreamId& position) {
    RedisConnection& c = *tail_conn;
    // Whom to CLIENT UNBLOCK at destruction: this connection, as it now is (not an ID
    // from before a reconnection, which a restarted Redis may have given to another client).
    tail_client_id = -1;
    RedisResult client = c.command({"CLIENT", "ID"});
    if (!client.ok()) return client.error;
    tail_client_id = client.reply.is_integer() ? client.reply.integer : -1;  // -1: no permission
    RedisResult pos = eval(c, position_script, {"1", k_admin, maxlen});
    if (!answered(pos)) return failed("admin stream position", pos);
    std::optional<StreamId> at = parse_stream_id(pos.reply.str);
    if (!at) return "redis admin stream position: unexpected reply";
    RedisResult realms = c.command({"HGETALL", k_realms});
    if (!answered(realms) || !realms.reply.is_array()) return failed("HGETALL", realms);
    Snapshot fresh;
    const auto& e = realms.reply.elements;
    for (size_t i = 0; i + 1 < e.size(); i += 2) {
      if (auto realm = decode_filed_realm(e[i].str, e[i + 1])) fresh[e[i].str].realm = *realm;
    }
    if (std::string error = load_credentials(fresh); !error.empty()) return error;
    install(std::move(fresh), *at);
    position = *at;
    return {};
  }

  // Every realm's creds hash, a pipeline of HGETALLs per kReadBatch realms.
  std::string load_credentials(Snapshot& fresh) {
    std::vector<RealmEntry*> batch;
    std::vector<std::vector<std::string>> commands;
    auto flush = [&]() -> std::string {
      if (commands.empty()) return {};
      RedisPipelineResult p = tail_conn->pipeline(commands);
      if (!answered(p)) return failed("HGETALL", p);
      for (size_t i = 0; i < batch.size(); ++i) fill_credentials(*batch[i], p.replies[i]);
      batch.clear();
      commands.clear();
      return {};
    };
    for (auto& [lower, entry] : fresh) {
      batch.push_back(&entry);
      commands.push_back({"HGETALL", creds_prefix + lower});
      if (commands.size() == kReadBatch) {
        if (std::string error = flush(); !error.empty()) return error;
      }
    }
    return flush();
  }

  // Swaps in a freshly loaded snapshot, keeping own writes newer than its position (the
  // load may have read before them).
  void install(Snapshot fresh, StreamId position) {
    std::unique_lock lock(snap_mu);
    for (const auto& [key, id] : own)
      if (id > position) carry_over(snap, fresh, key);
    snap.swap(fresh);
    advance(position);
  }

  // REQUIRES: snap_mu held exclusively. The snapshot now holds every change up to `id`.
  void advance(StreamId id) {
    applied = id;
    std::erase_if(own, [&](const auto& item) { return item.second <= id; });
  }

  // REQUIRES: snap_mu held. This process wrote `key` after the entry `id`.
  bool newer_own_write(const SnapKey& key, StreamId id) const {
    auto it = own.find(key);
    return it != own.end() && it->second > id;
  }

  // One entry: re-reads what it names. False when Redis did not answer.
  bool apply_entry(StreamId id, const RedisReply& fields) {
    std::string_view kind, realm, user, op;
    for (size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
      const std::string& name = fields.elements[i].str;
      const std::string& value = fields.elements[i + 1].str;
      if (name == "k") kind = value;
      if (name == "r") realm = value;
      if (name == "u") user = value;
      if (name == "op") op = value;
    }
    const std::string lower = lower_ascii(realm);
    if (kind == "realm" && !lower.empty()) return refresh_realm(id, lower, op == "del");
    if (kind == "credential" && !lower.empty() && !user.empty())
      return refresh_credential(id, lower, std::string(user));
    std::unique_lock lock(snap_mu);  // an epoch marker, or a kind this version does not know
    advance(id);
    return true;
  }

  bool refresh_credential(StreamId id, const std::string& realm, const std::string& user) {
    RedisPipelineResult p =
        tail_conn->pipeline({{"HGET", k_realms, realm}, {"HGET", creds_prefix + realm, user}});
    if (!answered(p)) return false;
    // The credential as Redis has it now; nullopt: gone, or unreadable (the HA1 hashes the
    // realm as spelled, so it is decoded with the realm's own spelling).
    std::optional<Credential> now;
    std::optional<Realm> stored = decode_filed_realm(realm, p.replies[0]);
    if (stored && p.replies[1].is_string())
      now = decode_redis_credential(p.replies[1].str, stored->name, user);
    std::unique_lock lock(snap_mu);
    auto it = snap.find(realm);
    if (it == snap.end() && stored) {
      // A realm Redis has and we do not (never announced): take it whole, credentials too.
      lock.unlock();
      return refresh_realm(id, realm, false);
    }
    if (it != snap.end() && !newer_own_write({realm, user}, id)) {
      if (now)
        it->second.credentials.insert_or_assign(user, std::move(*now));
      else
        it->second.credentials.erase(user);
    }
    advance(id);
    return true;
  }

  bool refresh_realm(StreamId id, const std::string& realm, bool deleted) {
    RedisPipelineResult p =
        tail_conn->pipeline({{"HGET", k_realms, realm}, {"HLEN", creds_prefix + realm}});
    if (!answered(p)) return false;
    std::optional<Realm> now = decode_filed_realm(realm, p.replies[0]);
    // Its credentials, re-read when ours may not be Redis' (a new or respelled realm, a
    // count that differs: credentials written by hand before their realm, drift).
    std::optional<RealmEntry> reread;
    if (now && (deleted || credentials_differ(realm, *now, p.replies[1].integer))) {
      RedisResult all = tail_conn->command({"HGETALL", creds_prefix + realm});
      if (!answered(all)) return false;
      reread.emplace();
      reread->realm = *now;
      fill_credentials(*reread, all.reply);
    }
    std::unique_lock lock(snap_mu);
    apply_realm(id, realm, deleted, std::move(now), std::move(reread));
    advance(id);
    return true;
  }

  bool credentials_differ(const std::string& realm, const Realm& now, long long hlen) const {
    std::shared_lock lock(snap_mu);
    auto it = snap.find(realm);
    return it == snap.end() || it->second.realm.name != now.name ||
           static_cast<size_t>(hlen) != it->second.credentials.size() + it->second.unreadable;
  }

  // REQUIRES: snap_mu held exclusively.
  void apply_realm(StreamId id, const std::string& realm, bool deleted, std::optional<Realm> now,
                   std::optional<RealmEntry> reread) {
    auto it = snap.find(realm);
    if (deleted && it != snap.end()) {
      // Redis deleted them at `id`; credentials added since are later entries.
      std::erase_if(it->second.credentials, [&](const auto& item) {
        return !newer_own_write({realm, item.first}, id);
      });
    }
    if (newer_own_write({realm, ""}, id)) return;
    if (!now) {
      if (it != snap.end()) snap.erase(it);
      return;
    }
    if (it == snap.end()) it = snap.try_emplace(realm).first;
    RealmEntry& entry = it->second;
    entry.realm = std::move(*now);
    if (!reread) return;
    // Own credential writes newer than `id` stay as they are (the HGETALL may predate them).
    for (auto own_it = own.lower_bound({realm, ""});
         own_it != own.end() && own_it->first.first == realm; ++own_it) {
      const std::string& user = own_it->first.second;
      if (user.empty() || own_it->second <= id) continue;
      if (auto cur = entry.credentials.find(user); cur != entry.credentials.end())
        reread->credentials.insert_or_assign(user, cur->second);
      else
        reread->credentials.erase(user);
    }
    entry.credentials = std::move(reread->credentials);
    entry.unreadable = reread->unreadable;
  }

  // Every round trip of the tailer either applies entries, or finds the stream quiet, or
  // finds that entries may have been missed (reload while Redis answers), or fails.
  enum class Tail { kOk, kResync, kFailed };

  Tail tail_once(StreamId& cursor) {
    const uint64_t failures = write_failures.load();
    RedisResult r = tail_conn->command({"XREAD", "BLOCK",
                                        std::to_string(options.tail_block.count()), "COUNT",
                                        std::to_string(kReadBatch), "STREAMS", k_admin,
                                        cursor.text()});
    if (!answered(r)) return Tail::kFailed;
    heard_from_redis(failures);
    if (r.reply.is_nil()) return stop ? Tail::kOk : check_position(cursor);
    if (!r.reply.is_array() || r.reply.elements.size() != 1 ||
        r.reply.elements[0].elements.size() != 2)
      return Tail::kResync;
    for (const RedisReply& entry : r.reply.elements[0].elements[1].elements) {
      std::optional<StreamId> id;
      if (entry.is_array() && entry.elements.size() == 2)
        id = parse_stream_id(entry.elements[0].str);
      if (!id || *id != cursor.next()) return Tail::kResync;  // trimmed, new epoch, by hand
      if (!apply_entry(*id, entry.elements[1])) return Tail::kFailed;
      cursor = *id;
    }
    return Tail::kOk;
  }

  // A quiet stream: is it still ours? Below our position means FLUSHALL, a lost stream (or
  // a clock gone back): XREAD would never return its new entries.
  Tail check_position(StreamId cursor) {
    RedisResult pos = eval(*tail_conn, position_script, {"1", k_admin, maxlen});
    if (!answered(pos)) return Tail::kFailed;
    std::optional<StreamId> at = parse_stream_id(pos.reply.str);
    return !at || *at < cursor ? Tail::kResync : Tail::kOk;
  }

  // Redis answered a round trip that began when write_failures was `failures`: a write
  // that failed before it no longer means Redis is away.
  void heard_from_redis(uint64_t failures) {
    if (write_failures.load() == failures) write_ok = true;
  }

  void tail_loop(StreamId cursor) {
    bool synced = true;
    std::chrono::milliseconds backoff = kMinBackoff;
    while (!stop) {
      if (!synced) {
        const uint64_t failures = write_failures.load();
        if (std::string error = reload(cursor); !error.empty()) {
          tail_ok = false;
          pause(backoff);
          backoff = std::min(backoff * 2, kMaxBackoff);
          continue;
        }
        synced = true;
        backoff = kMinBackoff;
        heard_from_redis(failures);
        {
          std::lock_guard lock(tail_mu);
          tail_ok = true;
        }
        tail_cv.notify_all();  // writers waiting in await_tailer()
      }
      switch (tail_once(cursor)) {
        case Tail::kOk:
          break;
        case Tail::kResync:  // Redis answers: stay available while reloading
          synced = false;
          break;
        case Tail::kFailed:
          synced = false;
          tail_ok = false;
          break;
      }
    }
    std::lock_guard lock(tail_mu);
    tailer_done = true;
    tail_cv.notify_all();
  }

  // Waits before the next reconnection attempt; a writer or the destructor cuts it short.
  void pause(std::chrono::milliseconds backoff) {
    std::unique_lock lock(tail_mu);
    tail_cv.wait_for(lock, backoff, [&] { return stop.load() || wake; });
    wake = false;
  }

  // Stops the tailer at once: it may be blocked in XREAD for up to tail_block.
  void stop_tailer() {
    if (!tailer.joinable()) return;
    {
      std::lock_guard lock(tail_mu);
      stop = true;
    }
    tail_cv.notify_all();
    bool can_unblock = true;
    std::unique_lock lock(tail_mu);
    while (!tailer_done) {
      if (can_unblock) {
        lock.unlock();
        can_unblock = unblock_tailer();
        lock.lock();
      }
      // Again if it was between two XREADs and blocked in the next one meanwhile.
      tail_cv.wait_for(lock, std::chrono::milliseconds(20), [&] { return tailer_done; });
    }
    lock.unlock();
    tailer.join();
  }

  // False when that cannot work (no CLIENT permission, Redis away): the XREAD then ends
  // by itself within tail_block.
  bool unblock_tailer() {
    const long long id = tail_client_id;
    if (id < 0) return false;
    std::lock_guard lock(write_mu);
    return answered(conn->command({"CLIENT", "UNBLOCK", std::to_string(id)}));
  }
};

RedisCredentialStoreOpenResult RedisCredentialStore::open(
    const RedisUrl& url, const RedisCredentialStoreOptions& options) {
  RedisCredentialStoreOpenResult result;
  auto impl = std::make_unique<Impl>(options);
  impl->conn = std::make_unique<RedisConnection>(url, options.connection);
  if (std::string e = impl->conn->connect(); !e.empty()) {
    result.error = std::move(e);
    return result;
  }
  for (Script* script : {&impl->position_script, &impl->put_realm_script,
                         &impl->put_credential_script, &impl->remove_realm_script,
                         &impl->remove_credential_script}) {
    RedisResult r = impl->conn->command({"SCRIPT", "LOAD", *script->text});
    if (!r.ok()) {
      result.error = r.error;
      return result;
    }
    if (!r.reply.is_string()) {
      result.error = redis_error("SCRIPT LOAD", r.reply);
      return result;
    }
    script->sha = r.reply.str;
  }
  // The tailer's reads wait up to tail_block inside Redis, on top of the usual bound.
  RedisConnectionOptions tail_options = options.connection;
  tail_options.io_timeout += options.tail_block;
  impl->tail_conn = std::make_unique<RedisConnection>(url, tail_options);
  StreamId position;
  if (std::string e = impl->reload(position); !e.empty()) {
    result.error = std::move(e);
    return result;
  }
  impl->tail_ok = true;
  Impl* m = impl.get();
  impl->tailer = std::thread([m, position] { m->tail_loop(position); });
  result.store.reset(new RedisCredentialStore(std::move(impl)));
  return result;
}

RedisCredentialStore::RedisCredentialStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RedisCredentialStore::~RedisCredentialStore() { impl_->stop_tailer(); }

bool RedisCredentialStore::available() const { return impl_->available(); }

std::optional<Realm> RedisCredentialStore::find_realm(std::string_view name) const {
  const Impl& m = *impl_;
  if (!m.available()) return std::nullopt;  // maybe stale: the registrar answers 503
  std::shared_lock lock(m.snap_mu);
  auto it = m.snap.find(lower_ascii(name));
  if (it == m.snap.end()) return std::nullopt;
  return it->second.realm;
}

std::vector<Realm> RedisCredentialStore::list_realms() const {
  const Impl& m = *impl_;
  std::vector<Realm> out;
  if (!m.available()) return out;
  std::shared_lock lock(m.snap_mu);
  out.reserve(m.snap.size());
  for (const auto& [lower, entry] : m.snap) out.push_back(entry.realm);  // sorted: map order
  return out;
}

StoreResult RedisCredentialStore::put_realm(const Realm& realm) {
  if (std::string why = invalid_realm(realm); !why.empty()) return failure(std::move(why));
  Impl& m = *impl_;
  const std::string lower = lower_ascii(realm.name);
  RedisResult r = m.write(m.put_realm_script,
                          {"3", m.k_realms, m.creds_key(lower), m.k_admin, lower,
                           encode_redis_realm(realm), escape(realm.name), m.maxlen});
  if (!r.ok()) return failure("credential store: " + r.error);
  if (auto old = script_error(r.reply, "RESPELL")) {
    return failure("realm '" + *old + "' has credentials: it cannot be respelled '" + realm.name +
                   "' (their HA1s hash the realm as spelled)");
  }
  std::optional<WriteOutcome> done = write_outcome(r.reply);
  if (!done) return failure("credential store: " + redis_error("put_realm", r.reply));
  m.apply_own({lower, ""}, done->id, [&](Snapshot& s) { s[lower].realm = realm; });
  m.await_tailer();
  return {};
}

bool RedisCredentialStore::remove_realm(std::string_view name) {
  Impl& m = *impl_;
  const std::string lower = lower_ascii(name);
  RedisResult r = m.write(m.remove_realm_script,
                          {"3", m.k_realms, m.creds_key(lower), m.k_admin, lower, m.maxlen});
  std::optional<WriteOutcome> done = r.ok() ? write_outcome(r.reply) : std::nullopt;
  if (!done) return false;
  m.apply_own({lower, ""}, done->id, [&](Snapshot& s) { s.erase(lower); });
  m.await_tailer();
  return done->changed;
}

std::optional<Credential> RedisCredentialStore::find_credential(std::string_view realm,
                                                                std::string_view username) const {
  const Impl& m = *impl_;
  if (!m.available()) return std::nullopt;  // maybe stale: the registrar answers 503
  std::shared_lock lock(m.snap_mu);
  auto it = m.snap.find(lower_ascii(realm));
  if (it == m.snap.end()) return std::nullopt;
  auto c = it->second.credentials.find(username);
  if (c == it->second.credentials.end()) return std::nullopt;
  return c->second;
}

std::vector<Credential> RedisCredentialStore::list_credentials(std::string_view realm) const {
  const Impl& m = *impl_;
  std::vector<Credential> out;
  if (!m.available()) return out;
  std::shared_lock lock(m.snap_mu);
  auto it = m.snap.find(lower_ascii(realm));
  if (it == m.snap.end()) return out;
  out.reserve(it->second.credentials.size());
  for (const auto& [user, c] : it->second.credentials) out.push_back(c);  // sorted: map order
  return out;
}

StoreResult RedisCredentialStore::put_credential(const Credential& c) {
  if (c.username().empty()) return failure("credential: username is empty");
  Impl& m = *impl_;
  const std::string lower = lower_ascii(c.realm());
  RedisResult r = m.write(m.put_credential_script,
                          {"3", m.k_realms, m.creds_key(lower), m.k_admin, lower,
                           escape(c.realm()), c.username(), encode_redis_credential(c), m.maxlen});
  if (!r.ok()) return failure("credential store: " + r.error);
  if (script_error(r.reply, "NOREALM"))
    return failure("credential '" + c.username() + "': realm '" + c.realm() + "' does not exist");
  if (auto stored = script_error(r.reply, "SPELLING")) {
    return failure("credential '" + c.username() + "': realm spelled '" + c.realm() +
                   "' but the realm is '" + *stored +
                   "' (the HA1 must hash the realm as challenged)");
  }
  std::optional<WriteOutcome> done = write_outcome(r.reply);
  if (!done) return failure("credential store: " + redis_error("put_credential", r.reply));
  m.apply_own({lower, c.username()}, done->id, [&](Snapshot& s) {
    auto it = s.find(lower);
    if (it == s.end()) {
      // Created through another replica, not tailed here yet: the realm as the script read
      // it is Redis' as of the same entry. (Its other credentials are later entries.)
      std::optional<Realm> stored =
          r.reply.elements.size() > 2 ? decode_filed_realm(lower, r.reply.elements[2])
                                      : std::nullopt;
      if (!stored) return;
      it = s.try_emplace(lower).first;
      it->second.realm = std::move(*stored);
      m.mark_own({lower, ""}, done->id);
    }
    it->second.credentials.insert_or_assign(c.username(), c);
  });
  m.await_tailer();
  return {};
}

bool RedisCredentialStore::remove_credential(std::string_view realm, std::string_view username) {
  if (username.empty()) return false;  // none is ever stored; {realm, ""} names the realm
  Impl& m = *impl_;
  const std::string lower = lower_ascii(realm);
  const std::string user(username);
  RedisResult r = m.write(m.remove_credential_script,
                          {"2", m.creds_key(lower), m.k_admin, lower, user, m.maxlen});
  std::optional<WriteOutcome> done = r.ok() ? write_outcome(r.reply) : std::nullopt;
  if (!done) return false;
  m.apply_own({lower, user}, done->id, [&](Snapshot& s) {
    if (auto it = s.find(lower); it != s.end()) it->second.credentials.erase(user);
  });
  m.await_tailer();
  return done->changed;
}

}  // namespace registrar
