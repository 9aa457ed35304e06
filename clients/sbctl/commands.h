// clients/sbctl/commands.h — sbctl's command groups, one file each:
//   realm_commands.cc       realm create|get|list|update|delete
//   credential_commands.cc  credential create|update|get|list|delete
//   acl_commands.cc         acl add|list|delete
//   binding_commands.cc     binding list|get|delete
//   watch_command.cc        watch
//   call_commands.cc        call create|get|list|hangup|dtmf|watch|answer|reject
//   health_command.cc       health, version
//
// Each run_*() takes the parsed command line (words()[0] is the group) and
// returns sbctl's exit status (exit_codes.h), having printed the result on
// stdout or the error on stderr. Threading: main thread only.
#ifndef SWITCHBOARD_CLIENTS_SBCTL_COMMANDS_H_
#define SWITCHBOARD_CLIENTS_SBCTL_COMMANDS_H_

#include <string>
#include <string_view>

#include "clients/sbctl/command_line.h"
#include "clients/sbctl/session.h"

namespace sbctl {

int run_realm_command(Session& session, Args& args);
int run_credential_command(Session& session, Args& args);
int run_acl_command(Session& session, Args& args);
int run_binding_command(Session& session, Args& args);
int run_watch_command(Session& session, Args& args);
int run_call_command(Session& session, Args& args);
int run_health_command(Session& session, Args& args);
int run_version_command(Session& session, Args& args);

// Resource names: the commands take the short forms people type and accept
// the full names as well.
// "acme.example" or "realms/acme.example" → "realms/acme.example".
std::string realm_resource(std::string_view realm);
// "realms/acme.example" → "acme.example" (anything else unchanged).
std::string realm_id(std::string_view name);
// The last segment of a resource name ("realms/a/credentials/alice" → "alice").
std::string last_segment(std::string_view name);

}  // namespace sbctl

#endif  // SWITCHBOARD_CLIENTS_SBCTL_COMMANDS_H_
