// registrar/store/sqlite_credential_store.cc — realms and HA1 credentials,
// in memory for reads, written through to SQLite.
#include "registrar/store/sqlite_credential_store.h"

#include <algorithm>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <utility>

#include "registrar/store/percent_codec.h"
#include "registrar/store/realm_text.h"
#include "registrar/store/sqlite_schema.h"

namespace registrar {
namespace {

StoreResult failure(std::string error) {
  return StoreResult{.ok = false, .error = std::move(error)};
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// --- text forms of the realm settings -----------------------------------------------

std::string_view challenge_text(ChallengeMode m) {
  return m == ChallengeMode::k407 ? "407" : "401";
}

std::optional<ChallengeMode> parse_challenge(std::string_view s) {
  if (s == "401") return ChallengeMode::k401;
  if (s == "407") return ChallengeMode::k407;
  return std::nullopt;
}

std::string_view overflow_text(ContactOverflowPolicy p) {
  return p == ContactOverflowPolicy::kEvictOldest ? "evict-oldest" : "reject";
}

std::optional<ContactOverflowPolicy> parse_overflow(std::string_view s) {
  if (s == "reject") return ContactOverflowPolicy::kReject;
  if (s == "evict-oldest") return ContactOverflowPolicy::kEvictOldest;
  return std::nullopt;
}

std::string_view source_auth_text(SourceAuthMode m) {
  switch (m) {
    case SourceAuthMode::kDigest:
      return "digest";
    case SourceAuthMode::kTrustedOrDigest:
      return "trusted-or-digest";
    case SourceAuthMode::kTrustedAndDigest:
      return "trusted-and-digest";
  }
  return "digest";
}

std::optional<SourceAuthMode> parse_source_auth(std::string_view s) {
  if (s == "digest") return SourceAuthMode::kDigest;
  if (s == "trusted-or-digest") return SourceAuthMode::kTrustedOrDigest;
  if (s == "trusted-and-digest") return SourceAuthMode::kTrustedAndDigest;
  return std::nullopt;
}

std::string join_algorithms(const std::vector<DigestAlgorithm>& algorithms) {
  std::string out;
  for (DigestAlgorithm a : algorithms) {
    if (!out.empty()) out += ',';
    out += digest_algorithm_name(a);
  }
  return out;
}

std::string join_cidrs(const std::vector<Cidr>& cidrs) {
  std::string out;
  for (const Cidr& c : cidrs) {
    if (!out.empty()) out += ',';
    out += c.text;
  }
  return out;
}

// The aliases column separates with ',', ';' and '='.
constexpr std::string_view kAliasReserved = ",;=";

// Why `realm` cannot be stored, or "".
constexpr std::string_view kRealmColumns =
    "name, challenge, algorithms, allow_qop_less, default_expires, min_expires, max_expires, "
    "max_contacts, overflow, source_auth, trusted_sources, aliases";
constexpr std::string_view kCredentialColumns =
    "realm, username, domain, ha1_md5, ha1_sha256, ha1_sha512_256, hash1b";

}  // namespace

std::string encode_realm_aliases(const std::map<std::string, std::vector<std::string>>& aliases) {
  std::string out;
  for (const auto& [user, names] : aliases) {
    if (!out.empty()) out += ';';
    percent_encode(user, kAliasReserved, out);
    out += '=';
    for (size_t i = 0; i < names.size(); ++i) {
      if (i > 0) out += ',';
      percent_encode(names[i], kAliasReserved, out);
    }
  }
  return out;
}

std::optional<std::map<std::string, std::vector<std::string>>> decode_realm_aliases(
    std::string_view text) {
  std::map<std::string, std::vector<std::string>> out;
  for (std::string_view entry : split(text, ';')) {
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) return std::nullopt;
    std::optional<std::string> user = percent_decode(entry.substr(0, eq));
    if (!user) return std::nullopt;
    std::vector<std::string>& names = out[*user];
    for (std::string_view item : split(entry.substr(eq + 1), ',')) {
      std::optional<std::string> name = percent_decode(item);
      if (!name || name->empty()) return std::nullopt;
      names.push_back(std::move(*name));
    }
  }
  return out;
}

struct SqliteCredentialStore::Impl {
  struct RealmEntry {
    Realm realm;
    StringMap<Credential> credentials;  // by username (case-sensitive)
  };

  std::unique_ptr<SqliteDatabase> db;
  std::mutex write_mutex;  // serialises writers and owns the statements below
  SqliteStatement upsert_realm, delete_realm, upsert_credential, delete_credential;

  mutable std::shared_mutex mu;  // guards `realms`
  StringMap<RealmEntry> realms;  // by lower-cased name
  std::vector<std::string> warnings;

  StoreResult prepare_all() {
    std::string upsert_realm_sql =
        "INSERT INTO realms (" + std::string(kRealmColumns) +
        ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12) "
        "ON CONFLICT (name) DO UPDATE SET name=excluded.name, "
        "challenge=excluded.challenge, algorithms=excluded.algorithms, "
        "allow_qop_less=excluded.allow_qop_less, "
        "default_expires=excluded.default_expires, "
        "min_expires=excluded.min_expires, max_expires=excluded.max_expires, "
        "max_contacts=excluded.max_contacts, overflow=excluded.overflow, "
        "source_auth=excluded.source_auth, "
        "trusted_sources=excluded.trusted_sources, aliases=excluded.aliases";
    // Not INSERT OR REPLACE: replacing a realm row would delete it first and
    // cascade to its credentials.
    std::string upsert_credential_sql =
        "INSERT INTO credentials (" + std::string(kCredentialColumns) +
        ") VALUES (?1,?2,?3,?4,?5,?6,?7) ON CONFLICT (realm, username) DO UPDATE SET "
        "domain=excluded.domain, ha1_md5=excluded.ha1_md5, ha1_sha256=excluded.ha1_sha256, "
        "ha1_sha512_256=excluded.ha1_sha512_256, hash1b=excluded.hash1b";
    for (auto [sql, stmt] :
         {std::pair<std::string_view, SqliteStatement*>{upsert_realm_sql, &upsert_realm},
          {"DELETE FROM realms WHERE name = ?1", &delete_realm},
          {upsert_credential_sql, &upsert_credential},
          {"DELETE FROM credentials WHERE realm = ?1 AND username = ?2", &delete_credential}}) {
      if (StoreResult r = db->prepare(sql, *stmt); !r.ok) return r;
    }
    return {};
  }

  // Runs a statement that returns no rows; "" or the error.
  std::string run(SqliteStatement& s, std::string_view what) { return db->run(s, what); }

// GCC 12 warns falsely about Realm's default `algorithms` initializer_list
// once load() is inlined (a known -Wmaybe-uninitialized false positive).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
  StoreResult load() {
    SqliteStatement realms_select, credentials_select;
    if (StoreResult r =
            db->prepare("SELECT " + std::string(kRealmColumns) + " FROM realms", realms_select);
        !r.ok) {
      return r;
    }
    int rc;
    while ((rc = realms_select.step()) == SQLITE_ROW) {
      const SqliteStatement& s = realms_select;
      Realm realm;
      realm.name = s.column_text(0);
      std::string bad;
      if (auto c = parse_challenge(s.column_text(1)))
        realm.challenge = *c;
      else
        bad = "challenge";
      realm.algorithms.clear();
      for (std::string_view token : split(s.column_text(2), ',')) {
        if (auto a = parse_digest_algorithm(token))
          realm.algorithms.push_back(*a);
        else
          bad = "algorithms";
      }
      if (realm.algorithms.empty()) bad = "algorithms";
      realm.allow_qop_less = s.column_int64(3) != 0;
      realm.default_expires = static_cast<uint32_t>(s.column_int64(4));
      realm.min_expires = static_cast<uint32_t>(s.column_int64(5));
      realm.max_expires = static_cast<uint32_t>(s.column_int64(6));
      realm.max_contacts = static_cast<uint32_t>(s.column_int64(7));
      if (auto o = parse_overflow(s.column_text(8)))
        realm.overflow = *o;
      else
        bad = "overflow";
      if (auto m = parse_source_auth(s.column_text(9)))
        realm.source_auth = *m;
      else
        bad = "source_auth";
      for (std::string_view cidr : split(s.column_text(10), ','))
        realm.trusted_sources.push_back({std::string(cidr)});
      if (auto a = decode_realm_aliases(s.column_text(11)))
        realm.aliases = std::move(*a);
      else
        bad = "aliases";
      if (!bad.empty()) {
        warnings.push_back("realm '" + realm.name + "' skipped: unreadable " + bad);
        continue;
      }
      std::string key = lower_ascii(realm.name);
      realms[std::move(key)].realm = std::move(realm);
    }
    if (rc != SQLITE_DONE) return failure(db->error("load realms", rc));

    if (StoreResult r = db->prepare(
            "SELECT " + std::string(kCredentialColumns) + " FROM credentials", credentials_select);
        !r.ok) {
      return r;
    }
    while ((rc = credentials_select.step()) == SQLITE_ROW) {
      const SqliteStatement& s = credentials_select;
      auto optional_text = [&s](int column) -> std::optional<std::string_view> {
        if (s.column_is_null(column)) return std::nullopt;
        return s.column_text(column);
      };
      const std::string realm_name(s.column_text(0)), username(s.column_text(1)),
          domain(s.column_text(2));
      CredentialOrError c = Credential::from_hashes(StoredHashes{
          .realm = realm_name,
          .username = username,
          .domain = domain,
          .ha1_md5 = optional_text(3),
          .ha1_sha256 = optional_text(4),
          .ha1_sha512_256 = optional_text(5),
          .hash1b = optional_text(6),
      });
      auto entry = realms.find(lower_ascii(realm_name));
      if (!c.ok()) {
        warnings.push_back("credential '" + username + "' of realm '" + realm_name +
                           "' skipped: " + c.error);
      } else if (entry == realms.end()) {
        warnings.push_back("credential '" + username + "' skipped: realm '" + realm_name +
                           "' is not loaded");
      } else {
        entry->second.credentials.insert_or_assign(username, std::move(*c.credential));
      }
    }
    if (rc != SQLITE_DONE) return failure(db->error("load credentials", rc));
    return {};
  }
#pragma GCC diagnostic pop
};

SqliteCredentialStoreOpenResult SqliteCredentialStore::open(const std::string& path,
                                                            const SqliteOptions& options) {
  SqliteCredentialStoreOpenResult result;
  SqliteOpenResult opened = SqliteDatabase::open(path, options);
  if (!opened.ok()) {
    result.error = std::move(opened.error);
    return result;
  }
  auto impl = std::make_unique<Impl>();
  impl->db = std::move(opened.db);
  if (StoreResult r = apply_switchboard_schema(*impl->db); !r.ok) {
    result.error = "sqlite '" + path + "': " + r.error;
    return result;
  }
  if (StoreResult r = impl->prepare_all(); !r.ok) {
    result.error = "sqlite '" + path + "': " + r.error;
    return result;
  }
  if (StoreResult r = impl->load(); !r.ok) {
    result.error = "sqlite '" + path + "': " + r.error;
    return result;
  }
  result.store.reset(new SqliteCredentialStore(std::move(impl)));
  return result;
}

SqliteCredentialStore::SqliteCredentialStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteCredentialStore::~SqliteCredentialStore() = default;

const std::vector<std::string>& SqliteCredentialStore::load_warnings() const {
  return impl_->warnings;
}

std::optional<Realm> SqliteCredentialStore::find_realm(std::string_view name) const {
  const std::string key = lower_ascii(name);
  std::shared_lock lock(impl_->mu);
  auto it = impl_->realms.find(key);
  if (it == impl_->realms.end()) return std::nullopt;
  return it->second.realm;
}

std::vector<Realm> SqliteCredentialStore::list_realms() const {
  std::vector<Realm> out;
  {
    std::shared_lock lock(impl_->mu);
    out.reserve(impl_->realms.size());
    for (const auto& [key, entry] : impl_->realms) out.push_back(entry.realm);
  }
  std::sort(out.begin(), out.end(), [](const Realm& a, const Realm& b) {
    return lower_ascii(a.name) < lower_ascii(b.name);
  });
  return out;
}

StoreResult SqliteCredentialStore::put_realm(const Realm& realm) {
  if (std::string why = invalid_realm(realm); !why.empty()) return failure(std::move(why));
  Impl& m = *impl_;
  const std::string key = lower_ascii(realm.name);
  std::lock_guard write(m.write_mutex);
  {
    std::shared_lock lock(m.mu);
    auto it = m.realms.find(key);
    if (it != m.realms.end() && it->second.realm.name != realm.name &&
        !it->second.credentials.empty()) {
      return failure("realm '" + it->second.realm.name +
                     "' has credentials: it cannot be respelled '" + realm.name +
                     "' (their HA1s hash the realm as spelled)");
    }
  }
  SqliteStatement& s = m.upsert_realm;
  s.bind(1, realm.name);
  s.bind(2, challenge_text(realm.challenge));
  s.bind(3, join_algorithms(realm.algorithms));
  s.bind(4, int64_t{realm.allow_qop_less ? 1 : 0});
  s.bind(5, int64_t{realm.default_expires});
  s.bind(6, int64_t{realm.min_expires});
  s.bind(7, int64_t{realm.max_expires});
  s.bind(8, int64_t{realm.max_contacts});
  s.bind(9, overflow_text(realm.overflow));
  s.bind(10, source_auth_text(realm.source_auth));
  s.bind(11, join_cidrs(realm.trusted_sources));
  s.bind(12, encode_realm_aliases(realm.aliases));
  if (std::string error = m.run(s, "put realm '" + realm.name + "'"); !error.empty()) {
    return failure("credential store: " + error);
  }
  std::unique_lock lock(m.mu);
  m.realms[key].realm = realm;
  return {};
}

bool SqliteCredentialStore::remove_realm(std::string_view name) {
  Impl& m = *impl_;
  const std::string key = lower_ascii(name);
  std::lock_guard write(m.write_mutex);
  m.delete_realm.bind(1, name);
  if (!m.run(m.delete_realm, "remove realm").empty()) return false;
  const bool deleted = m.db->changes() > 0;
  std::unique_lock lock(m.mu);
  return m.realms.erase(key) > 0 || deleted;
}

std::optional<Credential> SqliteCredentialStore::find_credential(std::string_view realm,
                                                                 std::string_view username) const {
  const std::string key = lower_ascii(realm);
  std::shared_lock lock(impl_->mu);
  auto it = impl_->realms.find(key);
  if (it == impl_->realms.end()) return std::nullopt;
  auto c = it->second.credentials.find(username);
  if (c == it->second.credentials.end()) return std::nullopt;
  return c->second;
}

std::vector<Credential> SqliteCredentialStore::list_credentials(std::string_view realm) const {
  std::vector<Credential> out;
  const std::string key = lower_ascii(realm);
  {
    std::shared_lock lock(impl_->mu);
    auto it = impl_->realms.find(key);
    if (it == impl_->realms.end()) return out;
    out.reserve(it->second.credentials.size());
    for (const auto& [username, c] : it->second.credentials) out.push_back(c);
  }
  std::sort(out.begin(), out.end(),
            [](const Credential& a, const Credential& b) { return a.username() < b.username(); });
  return out;
}

StoreResult SqliteCredentialStore::put_credential(const Credential& c) {
  Impl& m = *impl_;
  const std::string key = lower_ascii(c.realm());
  std::lock_guard write(m.write_mutex);
  {
    std::shared_lock lock(m.mu);
    auto it = m.realms.find(key);
    if (it == m.realms.end()) {
      return failure("credential '" + c.username() + "': realm '" + c.realm() + "' does not exist");
    }
    if (it->second.realm.name != c.realm()) {
      return failure("credential '" + c.username() + "': realm spelled '" + c.realm() +
                     "' but the realm is '" + it->second.realm.name +
                     "' (the HA1 must hash the realm as challenged)");
    }
  }
  if (c.username().empty()) return failure("credential: username is empty");
  auto bind_hash = [](SqliteStatement& s, int index, std::optional<std::string_view> hash) {
    if (hash) {
      s.bind(index, *hash);
    } else {
      s.bind_null(index);
    }
  };
  SqliteStatement& s = m.upsert_credential;
  s.bind(1, c.realm());
  s.bind(2, c.username());
  s.bind(3, c.domain());
  bind_hash(s, 4, c.ha1(DigestAlgorithm::kMd5));
  bind_hash(s, 5, c.ha1(DigestAlgorithm::kSha256));
  bind_hash(s, 6, c.ha1(DigestAlgorithm::kSha512_256));
  bind_hash(s, 7, c.hash1b());
  if (std::string error = m.run(s, "put credential '" + c.username() + "'"); !error.empty()) {
    return failure("credential store: " + error);
  }
  std::unique_lock lock(m.mu);
  m.realms[key].credentials.insert_or_assign(c.username(), c);
  return {};
}

bool SqliteCredentialStore::remove_credential(std::string_view realm, std::string_view username) {
  Impl& m = *impl_;
  const std::string key = lower_ascii(realm);
  std::lock_guard write(m.write_mutex);
  m.delete_credential.bind(1, realm);
  m.delete_credential.bind(2, username);
  if (!m.run(m.delete_credential, "remove credential").empty()) return false;
  const bool deleted = m.db->changes() > 0;
  std::unique_lock lock(m.mu);
  auto it = m.realms.find(key);
  bool erased = false;
  if (it != m.realms.end()) {
    auto c = it->second.credentials.find(username);
    if (c != it->second.credentials.end()) {
      it->second.credentials.erase(c);
      erased = true;
    }
  }
  return erased || deleted;
}

}  // namespace registrar
