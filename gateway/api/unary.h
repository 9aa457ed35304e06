// gateway/api/unary.h — how every unary handler of the callback API ends:
// authorize, do the work, finish the context's default reactor once.
//
//   grpc::ServerUnaryReactor* GetRealm(grpc::CallbackServerContext* ctx,
//                                      const v1::GetRealmRequest* req, v1::Realm* resp) override {
//     return run_unary(ctx, auth_, Role::kRead, "AdminService/GetRealm",
//                      [&](const Caller&) { return get_realm(*req, *resp); });
//   }
//
// Threading: runs on a gRPC callback thread. The work may block briefly
// (a durable SQLite write); it never waits for another RPC.
#ifndef SWITCHBOARD_GATEWAY_API_UNARY_H_
#define SWITCHBOARD_GATEWAY_API_UNARY_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <string_view>
#include <utility>

#include "gateway/api/token_auth.h"

namespace switchboard::api {

template <class Work>
grpc::ServerUnaryReactor* run_unary(grpc::CallbackServerContext* context,
                                    const TokenAuthenticator& auth, Role needed,
                                    std::string_view method, Work&& work) {
  Caller caller;
  grpc::Status status = auth.authorize(*context, needed, method, &caller);
  if (status.ok()) status = std::forward<Work>(work)(caller);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(std::move(status));
  return reactor;
}

}  // namespace switchboard::api

#endif  // SWITCHBOARD_GATEWAY_API_UNARY_H_
