// clients/sbctl/rpc_error.h — turns a failed gRPC call into a message on
// stderr and sbctl's exit status (exit_codes.h).
//
//   grpc::Status status = stub->GetRealm(context.get(), request, &realm);
//   if (!status.ok()) return sbctl::report_rpc_error(status);
//
// prints, for example:
//   sbctl: INVALID_ARGUMENT: realm.max_expires_seconds must not be below min_expires_seconds
//     field realm.max_expires_seconds: must not be below min_expires_seconds (60)
//     reason INVALID_REALM_SETTINGS (switchboard.dev)
// The details come from the google.rpc.Status in the grpc-status-details-bin
// trailer: BadRequest field violations, ErrorInfo reason and metadata,
// ResourceInfo. Threading: any.
#ifndef SWITCHBOARD_CLIENTS_SBCTL_RPC_ERROR_H_
#define SWITCHBOARD_CLIENTS_SBCTL_RPC_ERROR_H_

#include <grpcpp/support/status.h>

#include <string>
#include <string_view>

namespace sbctl {

// "NOT_FOUND", "UNAVAILABLE", …
const char* status_code_name(grpc::StatusCode code);

// kExitUnreachable, kExitAuth, kExitNotFound or kExitServerError.
int exit_code_for(grpc::StatusCode code);

// The error and its decoded details, one line each, every line but the first
// indented by two spaces; `hint` (may be empty) is appended as a last line.
std::string describe_rpc_error(const grpc::Status& status, std::string_view hint = {});

// Prints "sbctl: " + describe_rpc_error() on stderr; returns exit_code_for().
// REQUIRES: !status.ok().
int report_rpc_error(const grpc::Status& status, std::string_view hint = {});

// Prints "sbctl: <message>" and a pointer to --help on stderr; returns kExitUsage.
int usage_error(std::string_view message);

}  // namespace sbctl

#endif  // SWITCHBOARD_CLIENTS_SBCTL_RPC_ERROR_H_
