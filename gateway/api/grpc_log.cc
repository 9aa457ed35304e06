// gateway/api/grpc_log.cc — see grpc_log.h.
#include "gateway/api/grpc_log.h"

#include <grpc/support/log.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <string_view>

namespace switchboard::api {
namespace {

std::atomic<Logger*> g_logger{nullptr};

void log_line(gpr_log_func_args* args) {
  std::string_view file = args->file != nullptr ? args->file : "";
  if (size_t slash = file.rfind('/'); slash != std::string_view::npos)
    file.remove_prefix(slash + 1);
  const std::string source = std::string(file) + ":" + std::to_string(args->line);
  Logger* logger = g_logger.load(std::memory_order_acquire);
  if (logger == nullptr) {
    std::fprintf(stderr, "grpc %s %s\n", source.c_str(), args->message);
    return;
  }
  LogLevel level = LogLevel::kError;
  if (args->severity == GPR_LOG_SEVERITY_DEBUG) level = LogLevel::kDebug;
  if (args->severity == GPR_LOG_SEVERITY_INFO) level = LogLevel::kInfo;
  if (!logger->enabled(level)) return;
  logger->log(level, "grpc",
              {{"detail", args->message != nullptr ? args->message : ""}, {"source", source}});
}

}  // namespace

void route_grpc_logs(Logger* logger) {
  g_logger.store(logger, std::memory_order_release);
  gpr_set_log_function(log_line);
}

}  // namespace switchboard::api
