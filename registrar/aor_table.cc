// registrar/aor_table.cc — AOR records (one allocation each) and the
// per-shard chained hash table over them.
#include "registrar/aor_table.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

namespace registrar {

static_assert(sizeof(size_t) == 8, "AorTable takes bits 32..63 of a 64-bit hash");
static_assert(sizeof(AorRecord) == 96, "a 32-byte header and one binding inline");

AorRecord::AorRecord(std::string_view aor, uint32_t hash)
    : aor_size_(static_cast<uint32_t>(aor.size())), hash_(hash), many_(nullptr) {
  if (!aor.empty()) std::memcpy(reinterpret_cast<char*>(this + 1), aor.data(), aor.size());
}

AorRecord::~AorRecord() { clear_bindings(); }

AorRecord* AorRecord::create(std::string_view aor, uint32_t hash) {
  if (aor.size() > UINT32_MAX) std::abort();  // an AOR of 4 GB cannot come off the wire
  void* memory = ::operator new(sizeof(AorRecord) + aor.size());
  return new (memory) AorRecord(aor, hash);
}

void AorRecord::release() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    this->~AorRecord();
    ::operator delete(this);
  }
}

void AorRecord::clear_bindings() {
  if (count_ == 1) {
    std::destroy_at(&one_);
  } else if (count_ > 1) {
    delete[] many_;
  }
  count_ = 0;
  many_ = nullptr;
}

void AorRecord::set_bindings(std::vector<CompactBinding> next) {
  clear_bindings();
  if (next.empty()) return;
  if (next.size() > UINT32_MAX) std::abort();  // bounded by max_bindings long before
  if (next.size() == 1) {
    std::construct_at(&one_, std::move(next.front()));
  } else {
    many_ = new CompactBinding[next.size()];
    std::move(next.begin(), next.end(), many_);
  }
  count_ = static_cast<uint32_t>(next.size());
}

AorTable::~AorTable() {
  for (AorRecord* head : buckets_) {
    while (head != nullptr) {
      AorRecord* next = head->next_;
      head->next_ = nullptr;
      head->clear_bindings();  // now, while the profile pool is alive
      head->release();
      head = next;
    }
  }
}

AorRecord* AorTable::find(std::string_view aor, size_t hash) const {
  if (buckets_.empty()) return nullptr;
  const uint32_t h = table_hash(hash);
  for (AorRecord* r = buckets_[h & (buckets_.size() - 1)]; r != nullptr; r = r->next_) {
    if (r->hash_ == h && r->aor() == aor) return r;
  }
  return nullptr;
}

AorRecord* AorTable::emplace(std::string_view aor, size_t hash) {
  if (size_ + 1 > buckets_.size()) grow();
  const uint32_t h = table_hash(hash);
  AorRecord* r = AorRecord::create(aor, h);  // its one reference is the table's
  AorRecord** head = bucket(h);
  r->next_ = *head;
  *head = r;
  ++size_;
  return r;
}

void AorTable::erase(AorRecord* r) {
  for (AorRecord** link = bucket(r->hash_); *link != nullptr; link = &(*link)->next_) {
    if (*link == r) {
      *link = r->next_;
      r->next_ = nullptr;
      --size_;
      r->release();
      return;
    }
  }
  std::abort();  // REQUIRES broken: not in this table
}

void AorTable::grow() {
  std::vector<AorRecord*> old = std::move(buckets_);
  buckets_.assign(old.empty() ? 16 : old.size() * 2, nullptr);
  for (AorRecord* head : old) {
    while (head != nullptr) {
      AorRecord* next = head->next_;
      AorRecord** link = bucket(head->hash_);
      head->next_ = *link;
      *link = head;
      head = next;
    }
  }
}

}  // namespace registrar
