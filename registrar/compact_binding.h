// registrar/compact_binding.h — how the location cache keeps a Binding in
// memory: 64 bytes of fixed fields, one heap block for the per-binding text,
// and a reference into a pool of the strings many bindings share. Internal to
// LocationService (its API still speaks Binding); see docs/store.md, "Memory
// per binding in the cache".
//
//   ProfilePool pool;
//   CompactBinding c = CompactBinding::pack(b, b.aor, pool);  // one allocation (+ a pool entry
//                                                             // the first time a profile is seen)
//   Binding copy = c.unpack(b.aor);                           // copy == b, always
//
// Lossless: unpack() returns exactly the Binding that was packed — every
// string byte for byte (any length), times to the tick, every integer. The
// compact forms (a username equal to the AOR's user part, a source IP kept as
// 4 or 16 bytes) are used only when they round-trip; anything else is kept as
// text.
//
// Threading: a ProfilePool is thread-safe. A CompactBinding is not: the
// location service touches one only under its AOR's shard lock.
#ifndef SWITCHBOARD_REGISTRAR_COMPACT_BINDING_H_
#define SWITCHBOARD_REGISTRAR_COMPACT_BINDING_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "registrar/binding.h"

namespace registrar {

class ProfilePool;

// The low-cardinality strings of a binding — the same for every phone of one
// model registering to one realm through one listener of one replica — stored
// once. Immutable once created; alive while a ProfileRef names it.
struct Profile {
  std::string realm;
  std::string transport;
  std::string local_address;
  std::string user_agent;
  std::string replica;  // a handful of values per deployment: free per binding here

  ProfilePool* pool = nullptr;
  size_t refs = 0;  // guarded by pool->mu_
};

// Owns one reference to a pooled Profile (or none). Move-only.
class ProfileRef {
 public:
  ProfileRef() = default;
  ProfileRef(ProfileRef&& other) noexcept : profile_(std::exchange(other.profile_, nullptr)) {}
  ProfileRef& operator=(ProfileRef&& other) noexcept;
  ~ProfileRef();

  const Profile& operator*() const { return *profile_; }
  const Profile* operator->() const { return profile_; }
  const Profile* get() const { return profile_; }

 private:
  friend class ProfilePool;
  explicit ProfileRef(Profile* p) : profile_(p) {}
  Profile* profile_ = nullptr;
};

// Interns Profiles by value, reference-counted: a profile leaves the pool with
// its last binding, so attacker-chosen User-Agents cannot grow it without
// bound (it is bounded by the bindings, themselves bounded by max_bindings).
// Thread-safe (one mutex, a leaf: it is taken under shard locks, never the
// other way round). The pool must outlive every ProfileRef it hands out.
class ProfilePool {
 public:
  ProfilePool() = default;
  ProfilePool(const ProfilePool&) = delete;
  ProfilePool& operator=(const ProfilePool&) = delete;
  ~ProfilePool();

  // The pooled profile with these five strings (created on first use).
  ProfileRef acquire(std::string_view realm, std::string_view transport,
                     std::string_view local_address, std::string_view user_agent,
                     std::string_view replica);

  // How many distinct profiles are in use.
  size_t size() const;

 private:
  friend class ProfileRef;
  void release(Profile* p);

  struct Key {
    std::string_view realm, transport, local_address, user_agent, replica;
  };
  static Key key_of(const Profile* p) {
    return {p->realm, p->transport, p->local_address, p->user_agent, p->replica};
  }
  struct Hash {
    using is_transparent = void;
    size_t operator()(const Key& k) const;
    size_t operator()(const Profile* p) const { return (*this)(key_of(p)); }
  };
  struct Equal {
    using is_transparent = void;
    static bool same(const Key& a, const Key& b) {
      return a.realm == b.realm && a.transport == b.transport &&
             a.local_address == b.local_address && a.user_agent == b.user_agent &&
             a.replica == b.replica;
    }
    bool operator()(const Profile* a, const Profile* b) const { return a == b; }
    bool operator()(const Key& a, const Profile* b) const { return same(a, key_of(b)); }
    bool operator()(const Profile* a, const Key& b) const { return same(key_of(a), b); }
  };

  mutable std::mutex mu_;
  std::unordered_set<Profile*, Hash, Equal> profiles_;  // owned
};

// One binding of an AOR, packed. The AOR itself is not stored (the owner
// passes it to pack() and unpack()), unless the Binding's `aor` field differs
// from it.
//
// Layout (64 bytes):
//   expires_at, first_registered, last_registered   3 × int64 system_clock ticks
//   connection_id                                   uint64
//   profile                                         → realm, transport, local_address,
//                                                     user_agent, replica (ProfilePool)
//   text                                            → one block, below
//   cseq, reg_id, q, source_port, flags             4 + 4 + 4 + 2 + 1
// The text block is the lengths of its fields as LEB128 varints (one byte each
// below 128), then the fields back to back: contact, call_id, source_ip
// (4 or 16 bytes when it is a canonical IPv4/IPv6 address, else its text),
// path, instance_id, then username (only when it is not the AOR's user part)
// and aor (only when it is not the owner's AOR).
class CompactBinding {
 public:
  CompactBinding() = default;
  CompactBinding(CompactBinding&&) noexcept = default;
  CompactBinding& operator=(CompactBinding&&) noexcept = default;

  // Packs `b`, which belongs to the AOR `aor` (normally b.aor == aor).
  static CompactBinding pack(const Binding& b, std::string_view aor, ProfilePool& pool);
  // The Binding that was packed; `aor` must be the one given to pack().
  Binding unpack(std::string_view aor) const;

  WallTime expires_at() const { return WallTime(WallTime::duration(expires_at_)); }
  uint64_t connection_id() const { return connection_id_; }
  // The binding's realm (pooled; valid while this binding lives).
  std::string_view realm() const { return profile_->realm; }
  std::string_view replica() const { return profile_->replica; }

  // Heap bytes of the text block (for tests and accounting).
  size_t text_size() const;

 private:
  enum Flags : uint8_t {
    kUsernameIsAorUser = 1 << 0,  // username == the AOR's user part: not stored
    kAorStored = 1 << 1,          // b.aor differs from the owner's AOR: stored in text
    kSourceIpV4 = 1 << 2,         // source_ip stored as 4 bytes
    kSourceIpV6 = 1 << 3,         // source_ip stored as 16 bytes
  };
  // How many fields the text block holds (5, 6 or 7).
  int stored_fields() const;

  WallTime::rep expires_at_ = 0;
  WallTime::rep first_registered_ = 0;
  WallTime::rep last_registered_ = 0;
  uint64_t connection_id_ = 0;
  ProfileRef profile_;
  std::unique_ptr<char[]> text_;
  uint32_t cseq_ = 0;
  uint32_t reg_id_ = 0;
  int32_t q_ = 0;
  uint16_t source_port_ = 0;
  uint8_t flags_ = 0;
};

// The user part of an AOR ("alice" of "alice@acme.test"): before the last '@',
// or "" when there is none.
std::string_view aor_user(std::string_view aor);

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_COMPACT_BINDING_H_
