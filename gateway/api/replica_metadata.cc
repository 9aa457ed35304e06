// gateway/api/replica_metadata.cc — see replica_metadata.h.
#include "gateway/api/replica_metadata.h"

namespace switchboard::api {
namespace {

// Metadata values end up in logs and as a call's creator: short, printable.
std::optional<std::string> printable(const grpc::ServerContextBase& context, const char* key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(key);
  if (it == metadata.end()) return std::nullopt;
  std::string value(it->second.data(), it->second.size());
  if (value.empty() || value.size() > 256) return std::nullopt;
  for (char c : value)
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) == 0x7f)
      return std::nullopt;
  return value;
}

}  // namespace

std::optional<std::string> forwarding_replica(const grpc::ServerContextBase& context,
                                              const Caller& caller) {
  if (!caller.internal) return std::nullopt;
  return printable(context, kReplicaMetadata);
}

std::string on_behalf_of(const grpc::ServerContextBase& context, const Caller& caller) {
  if (caller.internal)
    if (auto name = printable(context, kOnBehalfOfMetadata)) return *name;
  return caller.token_name;
}

}  // namespace switchboard::api
