// gateway/command_line.h — the switchboard command line.
//
//   switchboard [--sip-listen udp:HOST:PORT|tcp:HOST:PORT]... [--threads N]
//               [--log-level debug|info|warn|error] [--tcp-idle-timeout SECONDS]
//               [--tcp-max-connections N] [--help] [--version]
//
// Both "--flag value" and "--flag=value" work. Parsing is separate from main()
// so tests can check every error message without starting a process.
//
// Threading: pure functions.
#ifndef SWITCHBOARD_GATEWAY_COMMAND_LINE_H_
#define SWITCHBOARD_GATEWAY_COMMAND_LINE_H_

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/json_log.h"
#include "sip/transport/listen_address.h"

namespace switchboard {

struct CommandLine {
  std::vector<sip::transport::ListenAddress> listen;  // default: udp and tcp on 127.0.0.1:5060
  unsigned threads = 0;                               // default: the number of CPUs
  LogLevel log_level = LogLevel::kInfo;
  std::chrono::seconds tcp_idle_timeout{300};
  size_t tcp_max_connections = 4096;
  bool help = false;
  bool version = false;
};

// Parses argv[1..]. On failure returns false with a one-line `error`
// ("--threads: expected a number from 1 to 256, got \"x\"").
bool parse_command_line(std::span<const std::string_view> args, CommandLine& out,
                        std::string& error);

// The --help text.
std::string usage(std::string_view program);

}  // namespace switchboard

#endif  // SWITCHBOARD_GATEWAY_COMMAND_LINE_H_
