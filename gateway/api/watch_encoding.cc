// gateway/api/watch_encoding.cc — see watch_encoding.h.
#include "gateway/api/watch_encoding.h"

#include <grpcpp/support/slice.h>

#include <algorithm>
#include <utility>

#include "gateway/api/convert.h"

namespace switchboard::api {

std::shared_ptr<const grpc::ByteBuffer> encode_event(const registrar::RegistrationEvent& event,
                                                     uint64_t auth_failed_sequence) {
  const v1::RegistrationEvent message = to_proto(event, auth_failed_sequence);
  grpc::Slice slice(message.ByteSizeLong());
  message.SerializeWithCachedSizesToArray(const_cast<uint8_t*>(slice.begin()));
  return std::make_shared<const grpc::ByteBuffer>(&slice, 1);
}

EncodedEvents::EncodedEvents(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

std::shared_ptr<const grpc::ByteBuffer> EncodedEvents::get(const registrar::SharedEvent& event) {
  {
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(event.get()); it != entries_.end()) {
      ++stats_.reused;
      return it->second.bytes;
    }
  }
  std::shared_ptr<const grpc::ByteBuffer> bytes = encode_event(*event, event->sequence);
  std::lock_guard lock(mu_);
  ++stats_.encoded;
  auto [it, inserted] = entries_.try_emplace(event.get(), Entry{event, bytes});
  if (!inserted) return it->second.bytes;  // another stream encoded it meanwhile
  order_.push_back(event.get());
  if (order_.size() > capacity_) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
  return bytes;
}

EncodedEventStats EncodedEvents::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace switchboard::api
