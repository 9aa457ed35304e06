// gateway/api/replica_metadata.h — the gRPC metadata one replica adds when it
// calls another's CallService on a client's behalf (docs/scale-out.md), and
// how the receiving side reads it.
//
//   x-switchboard-replica: sb-1          the forwarding replica's replica.id.
//                                        On WatchCalls it marks a peer stream:
//                                        only the calls this replica runs
//                                        itself, so events never loop.
//   x-switchboard-on-behalf-of: agent    the client's token name: the creator
//                                        of a forwarded CreateCall (its
//                                        request_id scope and rate bucket) and
//                                        the name in logs.
//
// Both are honoured only from the internal principal (Caller::internal):
// a client cannot pose as a replica or as another token.
//
// Threading: pure functions.
#ifndef SWITCHBOARD_GATEWAY_API_REPLICA_METADATA_H_
#define SWITCHBOARD_GATEWAY_API_REPLICA_METADATA_H_

#include <grpcpp/server_context.h>

#include <optional>
#include <string>
#include <string_view>

#include "gateway/api/token_auth.h"

namespace switchboard::api {

inline constexpr const char* kReplicaMetadata = "x-switchboard-replica";
inline constexpr const char* kOnBehalfOfMetadata = "x-switchboard-on-behalf-of";

// The forwarding replica's id, when an internal caller sent one.
std::optional<std::string> forwarding_replica(const grpc::ServerContextBase& context,
                                              const Caller& caller);

// Who the call is for: the client's token name from an internal caller's
// metadata, else the caller's own token name.
std::string on_behalf_of(const grpc::ServerContextBase& context, const Caller& caller);

}  // namespace switchboard::api

#endif  // SWITCHBOARD_GATEWAY_API_REPLICA_METADATA_H_
