// gateway/replicas/replica_directory.cc — see replica_directory.h.
#include "gateway/replicas/replica_directory.h"

namespace switchboard::replicas {

void StaticReplicaDirectory::set(const std::string& id, const std::string& address) {
  std::lock_guard lock(mu_);
  live_[id] = address;
}

void StaticReplicaDirectory::remove(const std::string& id) {
  std::lock_guard lock(mu_);
  live_.erase(id);
}

std::optional<std::string> StaticReplicaDirectory::address_of(std::string_view replica_id) {
  std::lock_guard lock(mu_);
  auto it = live_.find(replica_id);
  if (it == live_.end()) return std::nullopt;
  return it->second;
}

std::vector<Peer> StaticReplicaDirectory::peers() {
  std::lock_guard lock(mu_);
  std::vector<Peer> out;
  for (const auto& [id, address] : live_)
    if (id != self_ && !address.empty()) out.push_back(Peer{id, address});
  return out;
}

}  // namespace switchboard::replicas
