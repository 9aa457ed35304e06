// clients/sbctl/session.h — the connection to the Switchboard API: one channel
// (plaintext, TLS or mutual TLS), created on first use, and per-call contexts
// carrying the bearer token and the deadline.
//
//   sbctl::Session session(options);
//   auto stub = switchboard::v1::AdminService::NewStub(session.channel());
//   auto context = session.context();
//   grpc::Status status = stub->GetRealm(context.get(), request, &realm);
//
// The channel is created lazily so that `watch` can block its signals before
// gRPC starts any thread. Threading: one thread creates and uses the Session.
#ifndef SWITCHBOARD_CLIENTS_SBCTL_SESSION_H_
#define SWITCHBOARD_CLIENTS_SBCTL_SESSION_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "clients/sbctl/command_line.h"

namespace sbctl {

class Session {
 public:
  explicit Session(GlobalOptions options) : options_(std::move(options)) {}

  const GlobalOptions& options() const { return options_; }
  bool json() const { return options_.json; }

  // Reads the --ca-file, --cert-file and --key-file contents. Returns false
  // with `error` set when one cannot be read (a usage error).
  bool load_tls_files(std::string& error);

  // The channel to options().server, created on first use.
  // REQUIRES: load_tls_files() succeeded (when TLS files are named).
  std::shared_ptr<grpc::Channel> channel();

  // A context with "authorization: Bearer <token>" (when a token is set) and,
  // when `with_deadline`, the --timeout deadline.
  std::unique_ptr<grpc::ClientContext> context(bool with_deadline = true) const;

 private:
  GlobalOptions options_;
  grpc::SslCredentialsOptions ssl_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace sbctl

#endif  // SWITCHBOARD_CLIENTS_SBCTL_SESSION_H_
