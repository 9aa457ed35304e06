// clients/sbctl/exit_codes.h — sbctl's exit statuses, one per kind of failure,
// so scripts can tell "fix your command" from "the server is down" from "not
// there". `sbctl --help` lists them; rpc_error.h maps gRPC status codes here.
#ifndef SWITCHBOARD_CLIENTS_SBCTL_EXIT_CODES_H_
#define SWITCHBOARD_CLIENTS_SBCTL_EXIT_CODES_H_

namespace sbctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitServerError = 1;  // the server answered with an error (or not SERVING)
inline constexpr int kExitUsage = 2;        // bad command line, unreadable file or stdin
inline constexpr int kExitUnreachable = 3;  // UNAVAILABLE or DEADLINE_EXCEEDED
inline constexpr int kExitAuth = 4;         // UNAUTHENTICATED or PERMISSION_DENIED
inline constexpr int kExitNotFound = 5;     // NOT_FOUND

}  // namespace sbctl

#endif  // SWITCHBOARD_CLIENTS_SBCTL_EXIT_CODES_H_
