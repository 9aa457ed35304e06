// gateway/command_line.h — the switchboard command line.
//
//   switchboard [--config FILE] [--sip-listen udp:HOST:PORT|tcp:HOST:PORT]...
//               [--data-dir DIR] [--threads N] [--log-level debug|info|warn|error]
//               [--tcp-idle-timeout SECONDS] [--tcp-max-connections N]
//               [--grpc-listen HOST:PORT|off] [--metrics-listen IP:PORT|off]
//               [--print-config] [--help] [--version]
//
// Both "--flag value" and "--flag=value" work. Parsing is separate from main()
// so tests can check every error message without starting a process.
//
// A flag that is not given stays unset (nullopt / empty): the configuration
// (gateway/config.h) decides between flags, environment, file and defaults,
// in that order.
//
//   switchboard::CommandLine cli;
//   std::string error;
//   if (!switchboard::parse_command_line(args, cli, error)) die(error);
//   auto config = switchboard::load_config(cli, switchboard::process_environment());
//
// Threading: pure functions.
#ifndef SWITCHBOARD_GATEWAY_COMMAND_LINE_H_
#define SWITCHBOARD_GATEWAY_COMMAND_LINE_H_

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/json_log.h"
#include "sip/transport/listen_address.h"

namespace switchboard {

// A decimal number (at most 12 digits) within [min, max]; nullopt otherwise.
// Shared by the command line and the configuration file.
std::optional<uint64_t> parse_number(std::string_view s, uint64_t min, uint64_t max);

// The gRPC API's listen address: "HOST:PORT" with an IPv4 address, a
// bracketed IPv6 address ("[::1]:50051") or a host name, and a port 0-65535
// (0: any free port). "off" or "" turns the API off and gives "". nullopt,
// with `why` set, for anything else.
std::optional<std::string> parse_grpc_listen(std::string_view text, std::string* why);

// The metrics endpoint's listen address: "IP:PORT" with an IPv4 address or a
// bracketed IPv6 address (no host names: it is bound as given), port 0-65535.
// "off" or "" gives "" (no endpoint). nullopt, with `why`, for anything else.
std::optional<std::string> parse_metrics_listen(std::string_view text, std::string* why);

struct CommandLine {
  std::optional<std::string> config_file;             // --config
  std::vector<sip::transport::ListenAddress> listen;  // --sip-listen, in order; empty: not given
  std::optional<std::string> data_dir;                // --data-dir
  std::optional<unsigned> threads;                    // --threads (1-256)
  std::optional<LogLevel> log_level;                  // --log-level
  std::optional<std::chrono::seconds> tcp_idle_timeout;
  std::optional<size_t> tcp_max_connections;
  std::optional<std::string> grpc_listen;  // --grpc-listen; "" = off
  std::optional<std::string> metrics_listen;  // --metrics-listen; "" = off
  bool print_config = false;  // --print-config: print the effective configuration and exit
  bool help = false;
  bool version = false;
};

// Parses argv[1..]. On failure returns false with a one-line `error`
// ("--threads: expected a number from 1 to 256, got \"x\"").
bool parse_command_line(std::span<const std::string_view> args, CommandLine& out,
                        std::string& error);

// The --help text: every flag, the environment variables and the exit codes.
std::string usage(std::string_view program);

}  // namespace switchboard

#endif  // SWITCHBOARD_GATEWAY_COMMAND_LINE_H_
