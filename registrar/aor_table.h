// registrar/aor_table.h — the location cache's per-AOR records and the hash
// table of one shard. Internal to LocationService; see docs/store.md,
// "Memory per binding in the cache".
//
//   AorTable table;                                   // one per shard, under its lock
//   const size_t h = std::hash<std::string_view>{}(aor);
//   AorRecord* r = table.find(aor, h);
//   if (r == nullptr) r = table.emplace(aor, h);      // the table holds a reference
//   r->set_bindings(std::move(packed));               // CompactBindings
//   AorRecordRef keep(r);                             // e.g. an expiry-heap entry
//   r->set_bindings({}); table.erase(r);              // dead: `keep` still reads aor()
//
// An AorRecord is one allocation: a 32-byte header, the AOR's first binding
// inline (most AORs have one), and the AOR's characters. More bindings live
// in one array. Records are reference-counted: the table holds one reference
// while the AOR has bindings, and expiry-heap entries hold one each, so a heap
// entry can name its AOR with 8 bytes instead of a copy of the string. A
// record leaves the table when its last binding goes; it is then dead (empty)
// for good — the AOR's next binding makes a new record.
//
// Threading: the reference count is atomic, and aor() is immutable, so a
// reference may be copied, dropped and read from any thread. Everything else
// (bindings, the table) is guarded by the shard lock.
#ifndef SWITCHBOARD_REGISTRAR_AOR_TABLE_H_
#define SWITCHBOARD_REGISTRAR_AOR_TABLE_H_

#include <atomic>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "registrar/compact_binding.h"

namespace registrar {

class AorRecordRef;

class AorRecord {
 public:
  AorRecord(const AorRecord&) = delete;
  AorRecord& operator=(const AorRecord&) = delete;

  std::string_view aor() const { return {reinterpret_cast<const char*>(this + 1), aor_size_}; }

  // The bindings. REQUIRES: the shard lock.
  std::span<const CompactBinding> bindings() const { return {count_ > 1 ? many_ : &one_, count_}; }
  bool empty() const { return count_ == 0; }
  // Replaces the bindings (the old ones are destroyed). REQUIRES: the shard lock.
  void set_bindings(std::vector<CompactBinding> next);
  // The stamp of the stored set these bindings are (AorGuard, shared stores;
  // 0 otherwise). REQUIRES: the shard lock.
  uint64_t stamp() const { return stamp_; }
  void set_stamp(uint64_t stamp) { stamp_ = stamp; }

 private:
  friend class AorRecordRef;
  friend class AorTable;

  AorRecord(std::string_view aor, uint32_t hash);
  ~AorRecord();
  // A new record with one reference (the caller's), and no bindings.
  static AorRecord* create(std::string_view aor, uint32_t hash);
  void add_ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release();
  void clear_bindings();

  std::atomic<uint32_t> refs_{1};
  uint32_t aor_size_;
  AorRecord* next_ = nullptr;  // the table's bucket chain
  uint32_t hash_;              // bits 32..63 of the AOR's hash, for rehashing
  uint32_t count_ = 0;
  uint64_t stamp_ = 0;
  union {
    CompactBinding one_;    // count_ == 1
    CompactBinding* many_;  // count_ > 1: new[]-allocated, count_ elements
  };
  // The AOR's characters follow the object.
};

// One reference to an AorRecord (or none). Copyable: copies share the record.
class AorRecordRef {
 public:
  AorRecordRef() = default;
  explicit AorRecordRef(AorRecord* r) : record_(r) {
    if (record_ != nullptr) record_->add_ref();
  }
  AorRecordRef(const AorRecordRef& other) : AorRecordRef(other.record_) {}
  AorRecordRef(AorRecordRef&& other) noexcept : record_(std::exchange(other.record_, nullptr)) {}
  AorRecordRef& operator=(AorRecordRef other) noexcept {
    std::swap(record_, other.record_);
    return *this;
  }
  ~AorRecordRef() {
    if (record_ != nullptr) record_->release();
  }

  AorRecord* get() const { return record_; }
  AorRecord* operator->() const { return record_; }
  AorRecord& operator*() const { return *record_; }
  explicit operator bool() const { return record_ != nullptr; }
  friend bool operator==(const AorRecordRef& a, const AorRecordRef& b) {
    return a.record_ == b.record_;
  }

 private:
  AorRecord* record_ = nullptr;
};

// The records of one shard by AOR: chained hashing through AorRecord::next_,
// buckets a power of two (at most one record per bucket on average).
// `hash` is std::hash<std::string_view> of the AOR; the table uses its bits
// 32..63 (the shard is chosen with the low bits). Not thread-safe: the shard
// lock guards it.
class AorTable {
 public:
  AorTable() = default;
  AorTable(const AorTable&) = delete;
  AorTable& operator=(const AorTable&) = delete;
  ~AorTable();

  // The live record of `aor`, or nullptr.
  AorRecord* find(std::string_view aor, size_t hash) const;
  // A new, empty record for `aor`, held by the table.
  // REQUIRES: find(aor, hash) == nullptr.
  AorRecord* emplace(std::string_view aor, size_t hash);
  // Takes `r` out of the table and drops the table's reference.
  // REQUIRES: r is in the table and has no bindings.
  void erase(AorRecord* r);

  size_t size() const { return size_; }

  // Calls f(AorRecord*) for every record, in no particular order. `f` must not
  // change the table (collect, then erase).
  template <typename F>
  void for_each(F&& f) const {
    for (AorRecord* head : buckets_) {
      for (AorRecord* r = head; r != nullptr; r = r->next_) f(r);
    }
  }

 private:
  static uint32_t table_hash(size_t hash) { return static_cast<uint32_t>(hash >> 32); }
  AorRecord** bucket(uint32_t h) { return &buckets_[h & (buckets_.size() - 1)]; }
  void grow();

  std::vector<AorRecord*> buckets_;
  size_t size_ = 0;
};

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_AOR_TABLE_H_
