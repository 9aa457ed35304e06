#include "registrar/registrar.h"

#include <algorithm>
#include <ctime>
#include <optional>

#include "registrar/auth_throttle.h"
#include "registrar/authenticator.h"
#include "sip/lex.h"
#include "sip/response.h"
#include "sip/uri.h"

namespace registrar {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;
using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::seconds;

// RFC 3261 §20.17: Date in RFC 1123 form, always GMT.
std::string http_date(WallTime t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

// "0.5" → 500, "1" → 1000; -1 for a malformed or out-of-range q.
int parse_q(std::string_view q) {
  if (q.empty() || q.size() > 5) return -1;
  int whole = q[0] - '0';
  if (whole < 0 || whole > 1) return -1;
  int milli = 0, digits = 0;
  if (q.size() > 1) {
    if (q[1] != '.') return -1;
    for (size_t i = 2; i < q.size(); ++i) {
      if (!sip::lex::is_digit(q[i])) return -1;
      milli = milli * 10 + (q[i] - '0');
      ++digits;
    }
  }
  while (digits++ < 3) milli *= 10;
  int v = whole * 1000 + milli;
  return v > 1000 ? -1 : v;
}

std::string format_q(int q) {
  if (q >= 1000) return "1";
  char buf[8];
  std::snprintf(buf, sizeof buf, "0.%03d", q);
  std::string s(buf);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

// One Contact of the REGISTER, resolved against the realm's expiry policy.
struct ContactRequest {
  std::string uri;          // as written
  sip::Uri parsed;          // views into the request, then into `uri` (RegisterChange)
  uint32_t expires = 0;
  int q = -1;
  std::string instance_id;  // +sip.instance unquoted
  uint32_t reg_id = 0;
};

bool same_contact(const Binding& b, const ContactRequest& c) {
  sip::Uri stored;
  if (!sip::parse_uri(b.contact, stored) || c.parsed.text.empty()) return b.contact == c.uri;
  return sip::uri_equal(stored, c.parsed);
}

// What one REGISTER asks of its AOR, owned (the request's buffer is gone by
// the time a mutation runs again after a conflict).
struct RegisterChange {
  std::string aor, realm_name;
  size_t max_contacts = 0;
  ContactOverflowPolicy overflow{};
  bool wildcard = false;
  std::string call_id;
  uint32_t cseq = 0;
  WallTime now{};
  std::string username;
  RequestContext ctx;
  std::string replica_id;
  std::string path, user_agent;
  std::vector<ContactRequest> contacts;  // `parsed` views into their own `uri`
};

bool same_flow(const Binding& b, const ContactRequest& c) {
  return !c.instance_id.empty() && c.reg_id != 0 && b.instance_id == c.instance_id && b.reg_id == c.reg_id;
}

// The user part of an AOR key "user@domain".
std::string_view aor_user(std::string_view aor) { return aor.substr(0, aor.rfind('@')); }

}  // namespace

struct Registrar::Impl {
  Impl(RegistrarDeps d, RegistrarOptions o)
      : deps(d), options(std::move(o)), auth(d.credentials, d.nonces, d.nonce_counts, d.throttle) {}

  RegistrarDeps deps;
  RegistrarOptions options;
  Authenticator auth;

  void handle(const sip::Message& req, const RequestContext& ctx, Respond respond);
  Headers contact_headers(const std::vector<Binding>& bindings) const;
  bool user_may_register(const Realm& realm, std::string_view username, std::string_view aor) const;
};

Registrar::Registrar(RegistrarDeps deps, RegistrarOptions options)
    : impl_(std::make_unique<Impl>(deps, std::move(options))) {}
Registrar::~Registrar() = default;

void Registrar::handle_register(const sip::Message& request, const RequestContext& context,
                                Respond respond) {
  impl_->handle(request, context, std::move(respond));
}

Headers Registrar::Impl::contact_headers(const std::vector<Binding>& bindings) const {
  Headers h;
  WallTime now = deps.clock.wall_now();
  for (const Binding& b : bindings) {
    // Remaining lifetime, rounded up so that a fresh binding shows what was granted.
    auto left = duration_cast<milliseconds>(b.expires_at - now).count();
    long long secs = left <= 0 ? 0 : (left + 999) / 1000;
    std::string v = "<" + b.contact + ">;expires=" + std::to_string(secs);
    if (b.q >= 0) v += ";q=" + format_q(b.q);
    if (!b.instance_id.empty()) v += ";+sip.instance=\"" + b.instance_id + "\"";
    if (b.reg_id != 0) v += ";reg-id=" + std::to_string(b.reg_id);
    h.emplace_back("Contact", std::move(v));
  }
  return h;
}

bool Registrar::Impl::user_may_register(const Realm& realm, std::string_view username,
                                        std::string_view aor) const {
  std::string_view user = aor_user(aor);
  std::string_view base = username.substr(0, username.find('@'));  // "alice@domain" → "alice"
  if (user == username || user == base) return true;
  auto it = realm.aliases.find(std::string(base));
  if (it == realm.aliases.end()) return false;
  for (const std::string& alias : it->second)
    if (alias == user) return true;
  return false;
}

void Registrar::Impl::handle(const sip::Message& req, const RequestContext& ctx, Respond respond) {
  auto rc = std::make_shared<sip::ResponseContext>(req, ctx.to_tag, ctx.source_ip, ctx.source_port);
  Headers common;
  if (!options.server_header.empty()) common.emplace_back("Server", options.server_header);
  auto reply = [&](int status, std::string_view reason, Headers extra = {}) {
    for (auto& h : common) extra.push_back(h);
    respond(rc->build(status, reason, extra));
  };

  // 1. The Request-URI names a realm we serve.
  const sip::Uri& ruri = req.request_uri();
  if (!ruri.is_sip()) return reply(416, "");
  std::optional<Realm> realm = deps.credentials.find_realm(ruri.host_address());
  // A store that cannot be read (Redis away) must not look like "no such
  // realm" or "wrong password": the device is told to come back later.
  auto unavailable = [&] {
    return reply(503, "Service Unavailable", {{"Retry-After", "5"}});
  };
  if (!realm) return deps.credentials.available() ? reply(404, "Domain not served here")
                                                  : unavailable();

  // The To header is the AOR; it must be a SIP URI of this realm.
  if (!req.to() || !req.to()->uri.is_sip()) return reply(400, "To is not a SIP or SIPS URI");
  const sip::Uri& to = req.to()->uri;
  if (!sip::lex::iequals(to.host_address(), realm->name)) return reply(403, "AOR not in this realm");
  if (to.user.empty()) return reply(400, "To has no user part");
  std::string aor = sip::aor_key(to);

  std::string user_agent(req.header(sip::HeaderId::kUserAgent));
  if (user_agent.size() > 256) user_agent.resize(256);

  // 3. Authenticate.
  AuthResult auth_result = auth.authenticate(req, *realm, ctx.source_ip);
  // A failure, for the observers (live only: never stored).
  auto auth_failed = [&] {
    RegistrationEvent e;
    e.time = deps.clock.wall_now();
    e.type = RegistrationEventType::kAuthFailed;
    e.binding.aor = aor;
    e.binding.realm = realm->name;
    e.binding.username = auth_result.presented_username;
    e.binding.transport = ctx.transport;
    e.binding.source_ip = ctx.source_ip;
    e.binding.source_port = ctx.source_port;
    e.binding.local_address = ctx.local_address;
    e.binding.user_agent = user_agent;
    e.reason = auth_result.reason;
    deps.location.notify_auth_failed(e);
  };
  switch (auth_result.kind) {
    case AuthResult::kAuthenticated:
      break;
    case AuthResult::kChallenge: {
      if (auth_result.failure && !deps.credentials.available()) return unavailable();
      if (auth_result.failure) auth_failed();
      int status = realm->challenge == ChallengeMode::k407 ? 407 : 401;
      return reply(status, "", auth.challenge_headers(*realm, auth_result.stale));
    }
    case AuthResult::kForbidden:
      auth_failed();
      if (auth_result.drop) return respond(std::string());
      return reply(403, "Forbidden");
    case AuthResult::kBadRequest:
      return reply(400, auth_result.reason);
  }

  // 4. The AOR belongs to the authenticated user (a trusted source may register any AOR).
  if (!auth_result.username.empty() && !user_may_register(*realm, auth_result.username, aor))
    return reply(403, "To AOR does not belong to the authenticated user");

  // 6. Contact rules.
  const uint32_t header_expires =
      req.expires().value_or(realm->default_expires);  // malformed Expires: treated as absent
  bool wildcard = req.contact_wildcard();
  if (wildcard && (req.contact_count() != 1 || !req.expires() || *req.expires() != 0))
    return reply(400, "Contact: * must be alone and with Expires: 0");

  std::vector<ContactRequest> contacts;
  std::vector<sip::NameAddr> values = req.contacts();
  contacts.reserve(values.size());
  for (const sip::NameAddr& na : values) {
    if (!na.uri.is_sip()) return reply(400, "Contact URI must be sip or sips");
    ContactRequest c;
    c.uri = std::string(na.uri.text);
    c.parsed = na.uri;
    uint32_t expires = header_expires;
    if (auto e = na.param("expires")) {
      auto v = sip::lex::parse_uint(*e, UINT64_MAX);
      expires = v ? uint32_t(std::min<uint64_t>(*v, UINT32_MAX)) : realm->default_expires;
    }
    if (expires > 0 && expires < realm->min_expires) {
      return reply(423, "", {{"Min-Expires", std::to_string(realm->min_expires)}});
    }
    c.expires = std::min(expires, realm->max_expires);
    if (auto q = na.param("q")) {
      c.q = parse_q(*q);
      if (c.q < 0) return reply(400, "Contact q must be between 0 and 1");
    }
    if (auto inst = na.param_list().get_unquoted("+sip.instance")) c.instance_id = std::string(*inst);
    if (auto rid = na.param("reg-id")) {
      auto v = sip::lex::parse_uint(*rid, UINT32_MAX);
      if (!v || *v == 0) return reply(400, "reg-id must be a positive number");
      c.reg_id = uint32_t(*v);
    }
    contacts.push_back(std::move(c));
  }

  // RFC 3327: echo Path when the UA supports it.
  std::string path;
  bool path_supported = false;
  req.for_each_value(sip::HeaderId::kSupported, [&](std::string_view tag) {
    if (sip::lex::iequals(tag, "path")) path_supported = true;
    return true;
  });
  req.for_each_value(sip::HeaderId::kPath, [&](std::string_view v) {
    if (!path.empty()) path += ", ";
    path.append(v);
    return true;
  });
  Headers extra_ok;
  if (path_supported && !path.empty()) extra_ok.emplace_back("Path", path);

  // §10.2.3: no Contact is a query.
  if (contacts.empty() && !wildcard) {
    Headers h = contact_headers(deps.location.lookup(aor));
    h.emplace_back("Date", http_date(deps.clock.wall_now()));
    for (auto& e : extra_ok) h.push_back(e);
    return reply(200, "", std::move(h));
  }

  // 7-8. One atomic update of the AOR. The mutation owns what it reads (a
  // copy of the request's parts): on a shared store it may run again, later,
  // on another thread, when another replica wrote the AOR first.
  auto change = std::make_shared<RegisterChange>();
  change->aor = aor;
  change->realm_name = realm->name;
  change->max_contacts = realm->max_contacts;
  change->overflow = realm->overflow;
  change->wildcard = wildcard;
  change->call_id = std::string(req.call_id());
  change->cseq = req.cseq()->seq;
  change->now = deps.clock.wall_now();
  change->username = auth_result.username;
  change->ctx = ctx;
  change->replica_id = deps.replica_id;
  change->path = path;
  change->user_agent = user_agent;
  change->contacts = std::move(contacts);
  for (ContactRequest& c : change->contacts) {
    if (!sip::parse_uri(c.uri, c.parsed)) c.parsed = sip::Uri{};  // compared as text then
  }

  Mutation mutate = [change](std::vector<Binding>& bindings, UpdateEvents& events) -> MutationStatus {
    const RegisterChange& ch = *change;
    const std::string& call_id = ch.call_id;
    const uint32_t cseq = ch.cseq;
    const WallTime now = ch.now;
    // What this REGISTER says about a binding, new or refreshed.
    auto fill = [&](Binding& b, const ContactRequest& c) {
      b.contact = c.uri;
      b.username = ch.username;
      b.transport = ch.ctx.transport;
      b.source_ip = ch.ctx.source_ip;
      b.source_port = ch.ctx.source_port;
      b.local_address = ch.ctx.local_address;
      b.connection_id = ch.ctx.connection_id;
      b.replica = ch.replica_id;  // this REGISTER's flow ends here, whoever held it before
      b.path = ch.path;
      b.instance_id = c.instance_id;
      b.reg_id = c.reg_id;
      b.call_id = call_id;
      b.cseq = cseq;
      b.expires_at = now + seconds(c.expires);
      b.q = c.q;
      b.user_agent = ch.user_agent;
      b.last_registered = now;
    };
    if (ch.wildcard) {
      for (const Binding& b : bindings)
        if (b.call_id == call_id && b.cseq >= cseq) return {400, "CSeq not higher than the binding's"};
      for (const Binding& b : bindings) events.removed(b, "contact=*");
      bindings.clear();
      return {};
    }
    for (const ContactRequest& c : ch.contacts) {
      auto it = std::find_if(bindings.begin(), bindings.end(),
                             [&](const Binding& b) { return same_flow(b, c); });
      bool flow_match = it != bindings.end();
      if (!flow_match)
        it = std::find_if(bindings.begin(), bindings.end(), [&](const Binding& b) { return same_contact(b, c); });
      if (it != bindings.end()) {
        if (it->call_id == call_id && it->cseq >= cseq) return {400, "CSeq not higher than the binding's"};
        if (c.expires == 0) {
          events.removed(*it, "expires=0");
          bindings.erase(it);
          continue;
        }
        Binding old = *it;
        Binding& b = *it;
        fill(b, c);
        if (flow_match && old.contact != b.contact) {
          events.replaced(old, b);
        } else {
          events.refreshed(b);
        }
        continue;
      }
      if (c.expires == 0) continue;  // removing what is not there
      if (bindings.size() >= ch.max_contacts) {
        if (ch.overflow == ContactOverflowPolicy::kReject) return {403, "Too many contacts for this AOR"};
        auto oldest = std::min_element(bindings.begin(), bindings.end(), [](const Binding& a, const Binding& b) {
          return a.first_registered < b.first_registered;
        });
        events.removed(*oldest, "evicted");
        bindings.erase(oldest);
      }
      Binding b;
      b.aor = ch.aor;
      b.realm = ch.realm_name;
      b.first_registered = now;
      fill(b, c);
      events.added(b);
      bindings.push_back(std::move(b));
    }
    return {};
  };

  deps.location.update(
      aor, std::move(mutate),
      [this, rc, respond = std::move(respond), extra_ok = std::move(extra_ok), common](const UpdateResult& r) {
        Headers h;
        if (r.ok()) {
          h = contact_headers(r.bindings);
          h.emplace_back("Date", http_date(deps.clock.wall_now()));
          for (auto& e : extra_ok) h.push_back(e);
        }
        for (auto& c : common) h.push_back(c);
        // A store that failed or a full location service: come back later
        // (RFC 3261 §21.5.4), not a hard failure.
        if (!r.ok() && r.status == 503) h.emplace_back("Retry-After", "5");
        respond(rc->build(r.ok() ? 200 : r.status, r.ok() ? std::string_view() : std::string_view(r.reason), h));
      });
}

}  // namespace registrar
