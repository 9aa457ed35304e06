// sbctl — the Switchboard API from the command line.
//
//   sbctl [--server HOST:PORT] [--token T] [--json] realm create acme.example --challenge 407
//   echo "$PASSWORD" | sbctl credential create acme.example alice --password-stdin
//   sbctl binding list --realm acme.example
//   sbctl watch --since 0 --json
//   sbctl call create --to sip:alice@acme.example --wait answered
//
// main() parses the command line, reads the global options and hands over to
// the command group (commands.h). `sbctl --help` has the full reference,
// including the exit statuses (exit_codes.h).
#include <iostream>
#include <string>

#include "clients/sbctl/command_line.h"
#include "clients/sbctl/commands.h"
#include "clients/sbctl/exit_codes.h"
#include "clients/sbctl/rpc_error.h"
#include "clients/sbctl/session.h"

namespace {

constexpr const char* kUsage = R"(sbctl — manage and watch a Switchboard server over its gRPC API

usage: sbctl [global options] COMMAND [arguments] [options]

global options (anywhere on the line):
  --server HOST:PORT    the API address (default 127.0.0.1:50051; env SWITCHBOARD_SERVER)
  --token T             bearer token (env SWITCHBOARD_TOKEN; the flag wins)
  --json                JSON for scripts: one object per line, proto field names
  --timeout SECONDS     deadline of each call (default 10; watch has none)
  --tls                 TLS to the server; with --ca-file F (PEM roots, default: the system's)
                        and, for mutual TLS, --cert-file F --key-file F (naming a file implies --tls)
  --help, --version

realms (NAME is the domain, e.g. acme.example):
  realm create NAME [settings]   realm get NAME   realm list   realm delete NAME
  realm update NAME [settings]   only the settings given change (they form the update_mask)
  settings: --challenge 401|407  --algorithms MD5,SHA-256,SHA-512-256  --allow-qop-less true|false
            --default-expires S  --min-expires S  --max-expires S  --max-contacts N
            --overflow reject|evict-oldest  --source-auth digest|trusted-or-digest|trusted-and-digest

credentials (the secret is stored only as HA1 hashes and never shown):
  credential create REALM USER SECRET    credential update REALM USER SECRET
  credential list REALM    credential get REALM USER    credential delete REALM USER
  SECRET is exactly one of:
    --password-stdin                  the first line of standard input (recommended)
    --password P                      visible to other users in the process list
    --ha1-md5 H [--ha1-sha256 H] [--ha1-sha512-256 H]   HA1 = H(user:realm:password), hex
    --hash1 H --hash1b H              Bandwidth style (MD5 of user:realm:pw and user@domain:realm:pw)
    --domain D                        the domain of hash1b's user@domain (default: the realm)

trusted networks (used per the realm's --source-auth):
  acl add REALM CIDR    acl list REALM    acl delete REALM CIDR

bindings (who is registered):
  binding list [--realm R] [--aor sip:USER@DOMAIN]   every page; all realms without --realm
  binding get NAME      binding delete NAME          NAME as listed (realms/R/aors/U/bindings/ID)

events:
  watch [--since N] [--realm R] [--type registered,refreshed,unregistered,expired,replaced,auth_failed]
        One line per event until Ctrl-C (exit 0):
          #SEQ TIME TYPE AOR CONTACT TRANSPORT SOURCE "USER-AGENT" (REASON)
        --since N first replays the retained events after sequence N (0: all retained), then
        follows live; without it, live events only. A watcher that falls behind is ended by
        the server (RESOURCE_EXHAUSTED): run again with --since LAST to resume without a gap.
        In --json, "sequence" is a string (proto3 JSON for 64-bit integers).

calls (ID is "calls/c…" or the bare "c…"; needs a token with role calls or admin, read for
get/list/watch):
  call create --to sip:USER@DOMAIN [--sip-auth-username U --sip-auth-password-stdin]
        [--from URI] [--from-name NAME] [--sdp FILE] [--header 'X-Name: value']...
        [--request-id ID] [--wait none|ringing|answered] [--timeout SECONDS]
        Rings every binding of the AOR. --timeout here is the ring timeout (1-600, default 60);
        with --wait the command returns at the first ringing / the answer (exit 1 with reason
        CALL_FAILED when the call ends first). Ctrl-C stops waiting but does not hang up.
  call get ID    call list [--realm R] [--state trying|ringing|answered|ended]
  call hangup ID    call dtmf ID DIGITS [--duration MS]    (digits 0-9 * # A-D, 100-5000 ms)
  call answer ID [--sdp FILE]    call reject ID [--status 400-699]   (inbound calls; default 486)
  call watch [--realm R] [--types created,trying,ringing,answered,updated,dtmf,ended,incoming]
        [--call ID]   One line per event until Ctrl-C:
          #SEQ TIME TYPE NAME DIRECTION STATE TO [STATUS REASON] [END-REASON DURATION]
        Live only (no resume). INCOMING events need role calls or admin.

other:
  health [SERVICE]      grpc.health.v1 Check: prints SERVING (exit 0) or the status (exit 1)
  version               sbctl's version and its gRPC and protobuf libraries

exit status:
  0  success
  1  the server answered with an error (code, message and details on stderr), or not SERVING
  2  usage error: bad command line, unreadable --ca-file/--cert-file/--key-file, no password on stdin
  3  cannot reach the server (UNAVAILABLE, DEADLINE_EXCEEDED) or it ended the watch stream
  4  authentication or permission refused (UNAUTHENTICATED, PERMISSION_DENIED)
  5  not found (NOT_FOUND)
)";

}  // namespace

int main(int argc, char** argv) {
  sbctl::Args args = sbctl::parse_args(argc, argv);
  if (args.flag("--help") || args.flag("-h") || args.word(0) == "help") {
    std::cout << kUsage;
    return sbctl::kExitOk;
  }
  sbctl::GlobalOptions options = sbctl::read_global_options(args);
  if (args.failed()) return sbctl::usage_error(args.error());

  sbctl::Session session(options);
  std::string error;
  if (!session.load_tls_files(error)) return sbctl::usage_error(error);

  const std::string group = args.word(0);
  if (args.flag("--version") || group == "version")
    return sbctl::run_version_command(session, args);
  if (group == "realm") return sbctl::run_realm_command(session, args);
  if (group == "credential") return sbctl::run_credential_command(session, args);
  if (group == "acl") return sbctl::run_acl_command(session, args);
  if (group == "binding") return sbctl::run_binding_command(session, args);
  if (group == "watch") return sbctl::run_watch_command(session, args);
  if (group == "call") return sbctl::run_call_command(session, args);
  if (group == "health") return sbctl::run_health_command(session, args);
  if (group.empty()) return sbctl::usage_error("missing command");
  return sbctl::usage_error("unknown command \"" + group + "\"");
}
