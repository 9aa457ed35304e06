// registrar/compact_binding.cc — packing a Binding into 64 bytes plus one
// text block, and the pool of shared strings.
#include "registrar/compact_binding.h"

#include <arpa/inet.h>

#include <cstdlib>
#include <cstring>
#include <functional>

namespace registrar {
namespace {

static_assert(sizeof(WallTime::rep) == 8, "times are kept as 64-bit ticks");
static_assert(sizeof(CompactBinding) == 64, "the fixed part of a cached binding");

// The most fields a text block holds: contact, call_id, source_ip, path,
// instance_id, username, aor.
constexpr int kMaxFields = 7;
constexpr int kAlwaysStored = 5;

size_t varint_size(size_t n) {
  size_t size = 1;
  while (n >= 0x80) {
    n >>= 7;
    ++size;
  }
  return size;
}

char* put_varint(char* p, size_t n) {
  while (n >= 0x80) {
    *p++ = static_cast<char>((n & 0x7f) | 0x80);
    n >>= 7;
  }
  *p++ = static_cast<char>(n);
  return p;
}

const char* get_varint(const char* p, size_t& n) {
  n = 0;
  for (int shift = 0;; shift += 7) {
    const auto byte = static_cast<unsigned char>(*p++);
    n |= static_cast<size_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return p;
  }
}

// `text` as 4 (IPv4) or 16 (IPv6) bytes in `out` when formatting them back
// gives `text` exactly; returns the family, or 0 to keep the text.
int pack_ip(const std::string& text, unsigned char (&out)[16]) {
  char back[INET6_ADDRSTRLEN];
  for (int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, text.c_str(), out) == 1 &&
        inet_ntop(family, out, back, sizeof back) != nullptr && text == back) {
      return family;
    }
  }
  return 0;
}

std::string unpack_ip(std::string_view bytes, int family) {
  char text[INET6_ADDRSTRLEN];
  if (inet_ntop(family, bytes.data(), text, sizeof text) == nullptr) std::abort();  // ours
  return text;
}

}  // namespace

ProfileRef& ProfileRef::operator=(ProfileRef&& other) noexcept {
  if (this != &other) {
    if (profile_ != nullptr) profile_->pool->release(profile_);
    profile_ = std::exchange(other.profile_, nullptr);
  }
  return *this;
}

ProfileRef::~ProfileRef() {
  if (profile_ != nullptr) profile_->pool->release(profile_);
}

ProfilePool::~ProfilePool() {
  // Every ProfileRef must be gone by now (the pool outlives the cache).
  if (!profiles_.empty()) std::abort();
}

size_t ProfilePool::Hash::operator()(const Key& k) const {
  std::hash<std::string_view> h;
  size_t seed = h(k.realm);
  for (std::string_view s : {k.transport, k.local_address, k.user_agent, k.replica}) {
    seed ^= h(s) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
  }
  return seed;
}

ProfileRef ProfilePool::acquire(std::string_view realm, std::string_view transport,
                                std::string_view local_address, std::string_view user_agent,
                                std::string_view replica) {
  const Key key{realm, transport, local_address, user_agent, replica};
  std::lock_guard lock(mu_);
  auto it = profiles_.find(key);
  if (it != profiles_.end()) {
    ++(*it)->refs;
    return ProfileRef(*it);
  }
  auto p = std::make_unique<Profile>(Profile{.realm = std::string(realm),
                                             .transport = std::string(transport),
                                             .local_address = std::string(local_address),
                                             .user_agent = std::string(user_agent),
                                             .replica = std::string(replica),
                                             .pool = this,
                                             .refs = 1});
  profiles_.insert(p.get());
  return ProfileRef(p.release());
}

void ProfilePool::release(Profile* p) {
  std::lock_guard lock(mu_);
  if (--p->refs == 0) {
    profiles_.erase(p);
    delete p;
  }
}

size_t ProfilePool::size() const {
  std::lock_guard lock(mu_);
  return profiles_.size();
}

std::string_view aor_user(std::string_view aor) {
  const size_t at = aor.rfind('@');
  return at == std::string_view::npos ? std::string_view() : aor.substr(0, at);
}

CompactBinding CompactBinding::pack(const Binding& b, std::string_view aor, ProfilePool& pool) {
  CompactBinding c;
  c.expires_at_ = b.expires_at.time_since_epoch().count();
  c.first_registered_ = b.first_registered.time_since_epoch().count();
  c.last_registered_ = b.last_registered.time_since_epoch().count();
  c.connection_id_ = b.connection_id;
  c.profile_ = pool.acquire(b.realm, b.transport, b.local_address, b.user_agent, b.replica);
  c.cseq_ = b.cseq;
  c.reg_id_ = b.reg_id;
  c.q_ = b.q;
  c.source_port_ = b.source_port;

  unsigned char ip[16];
  std::string_view source_ip = b.source_ip;
  switch (pack_ip(b.source_ip, ip)) {
    case AF_INET:
      c.flags_ |= kSourceIpV4;
      source_ip = std::string_view(reinterpret_cast<const char*>(ip), 4);
      break;
    case AF_INET6:
      c.flags_ |= kSourceIpV6;
      source_ip = std::string_view(reinterpret_cast<const char*>(ip), 16);
      break;
  }
  std::string_view fields[kMaxFields] = {b.contact, b.call_id, source_ip, b.path, b.instance_id};
  int n = kAlwaysStored;
  if (b.username == aor_user(aor)) {
    c.flags_ |= kUsernameIsAorUser;
  } else {
    fields[n++] = b.username;
  }
  if (b.aor != aor) {
    c.flags_ |= kAorStored;
    fields[n++] = b.aor;
  }

  size_t total = 0;
  for (int i = 0; i < n; ++i) total += varint_size(fields[i].size()) + fields[i].size();
  c.text_ = std::make_unique_for_overwrite<char[]>(total);
  char* p = c.text_.get();
  for (int i = 0; i < n; ++i) p = put_varint(p, fields[i].size());
  for (int i = 0; i < n; ++i) {
    if (!fields[i].empty()) std::memcpy(p, fields[i].data(), fields[i].size());
    p += fields[i].size();
  }
  return c;
}

Binding CompactBinding::unpack(std::string_view aor) const {
  const int n = stored_fields();
  size_t sizes[kMaxFields];
  const char* p = text_.get();
  for (int i = 0; i < n; ++i) p = get_varint(p, sizes[i]);
  std::string_view fields[kMaxFields];
  for (int i = 0; i < n; ++i) {
    fields[i] = std::string_view(p, sizes[i]);
    p += sizes[i];
  }

  Binding b;
  int next = kAlwaysStored;
  b.username = (flags_ & kUsernameIsAorUser) ? aor_user(aor) : fields[next++];
  b.aor = (flags_ & kAorStored) ? fields[next++] : aor;
  b.realm = profile_->realm;
  b.contact = fields[0];
  b.transport = profile_->transport;
  if (flags_ & kSourceIpV4) {
    b.source_ip = unpack_ip(fields[2], AF_INET);
  } else if (flags_ & kSourceIpV6) {
    b.source_ip = unpack_ip(fields[2], AF_INET6);
  } else {
    b.source_ip = fields[2];
  }
  b.source_port = source_port_;
  b.local_address = profile_->local_address;
  b.connection_id = connection_id_;
  b.replica = profile_->replica;
  b.path = fields[3];
  b.instance_id = fields[4];
  b.reg_id = reg_id_;
  b.call_id = fields[1];
  b.cseq = cseq_;
  b.expires_at = WallTime(WallTime::duration(expires_at_));
  b.q = q_;
  b.user_agent = profile_->user_agent;
  b.first_registered = WallTime(WallTime::duration(first_registered_));
  b.last_registered = WallTime(WallTime::duration(last_registered_));
  return b;
}

int CompactBinding::stored_fields() const {
  return kAlwaysStored + ((flags_ & kUsernameIsAorUser) ? 0 : 1) + ((flags_ & kAorStored) ? 1 : 0);
}

size_t CompactBinding::text_size() const {
  const int n = stored_fields();
  size_t total = 0;
  const char* p = text_.get();
  for (int i = 0; i < n; ++i) {
    size_t size = 0;
    p = get_varint(p, size);
    total += varint_size(size) + size;
  }
  return total;
}

}  // namespace registrar
