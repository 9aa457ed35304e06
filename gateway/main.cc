// gateway/main.cc — the switchboard executable: parse flags, start the SIP
// server, wait for SIGINT/SIGTERM, stop cleanly.
//
// Exit status: 0 after a clean shutdown (or --help/--version), 1 when a
// listen address cannot be bound, 2 for a bad command line.
//
// Signals are blocked before any thread starts (threads inherit the mask) and
// taken synchronously with sigwait() on the main thread, so no work happens in
// a signal handler.
#include <signal.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/command_line.h"
#include "gateway/json_log.h"
#include "gateway/sip_server.h"

#ifndef SWITCHBOARD_VERSION
#define SWITCHBOARD_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  switchboard::CommandLine cli;
  std::string error;
  if (!switchboard::parse_command_line(args, cli, error)) {
    std::fprintf(stderr, "switchboard: %s\nTry 'switchboard --help'.\n", error.c_str());
    return 2;
  }
  if (cli.help) {
    std::fputs(switchboard::usage("switchboard").c_str(), stdout);
    return 0;
  }
  if (cli.version) {
    std::printf("switchboard %s\n", SWITCHBOARD_VERSION);
    return 0;
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A client vanishing mid-write must not kill the process.
  signal(SIGPIPE, SIG_IGN);

  switchboard::Logger logger(cli.log_level);
  switchboard::SipServerOptions options;
  options.listen = cli.listen;
  options.threads = cli.threads;
  options.transport.tcp.idle_timeout = cli.tcp_idle_timeout;
  options.transport.tcp.max_connections = cli.tcp_max_connections;
  options.logger = &logger;

  switchboard::SipServer server(std::move(options));
  if (!server.start(&error)) {
    logger.error("cannot start", {{"error", error}});
    return 1;
  }
  for (const auto& a : server.bound())
    logger.info("listening", {{"transport", sip::transport::protocol_name(a.protocol)},
                              {"address", a.host_port()}});
  logger.info("started", {{"version", SWITCHBOARD_VERSION}, {"threads", server.threads()}});

  int signal_number = 0;
  while (sigwait(&signals, &signal_number) != 0) {
  }
  logger.info("stopping", {{"signal", signal_number == SIGINT ? "SIGINT" : "SIGTERM"}});
  server.stop();
  const auto& c = server.counters();
  logger.info("stopped", {{"received", c.received.load()},
                          {"parse_errors", c.parse_errors.load()},
                          {"dropped", c.dropped.load()}});
  return 0;
}
