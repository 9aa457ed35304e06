// gateway/metrics/process_metrics.cc — see process_metrics.h.
#include "gateway/metrics/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace switchboard::metrics {

namespace {

// Fields of /proc/self/stat after the command name: [0] = state (field 3).
std::vector<std::string> stat_fields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> out;
  size_t close = line.rfind(')');
  if (close == std::string::npos) return out;
  std::istringstream rest(line.substr(close + 1));
  std::string f;
  while (rest >> f) out.push_back(f);
  return out;
}

double boot_time_seconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double v = 0;
      in >> v;
      return v;
    }
    std::string skip;
    std::getline(in, skip);
  }
  return 0;
}

}  // namespace

void register_process_metrics(Registry& registry) {
  const double ticks = double(sysconf(_SC_CLK_TCK));
  const double page = double(sysconf(_SC_PAGESIZE));
  registry.gauge(
      "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", {},
      [ticks](GaugeWriter& w) {
        auto f = stat_fields();  // utime = field 14, stime = 15 → indexes 11, 12
        if (f.size() > 12) w.set({}, (std::stod(f[11]) + std::stod(f[12])) / ticks);
      },
      "counter");
  registry.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", {},
                 [page](GaugeWriter& w) {
                   auto f = stat_fields();  // rss = field 24 → index 21 (pages)
                   if (f.size() > 21) w.set({}, std::stod(f[21]) * page);
                 });
  registry.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", {},
                 [](GaugeWriter& w) {
                   auto f = stat_fields();  // vsize = field 23 → index 20 (bytes)
                   if (f.size() > 20) w.set({}, std::stod(f[20]));
                 });
  registry.gauge("process_threads", "Number of OS threads in the process.", {},
                 [](GaugeWriter& w) {
                   auto f = stat_fields();  // num_threads = field 20 → index 17
                   if (f.size() > 17) w.set({}, std::stod(f[17]));
                 });
  registry.gauge("process_start_time_seconds",
                 "Start time of the process since unix epoch in seconds.", {},
                 [ticks](GaugeWriter& w) {
                   auto f = stat_fields();  // starttime = field 22 → index 19 (ticks since boot)
                   if (f.size() > 19) w.set({}, boot_time_seconds() + std::stod(f[19]) / ticks);
                 });
  registry.gauge("process_open_fds", "Number of open file descriptors.", {}, [](GaugeWriter& w) {
    std::error_code ec;
    size_t n = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
      ++n;
    w.set({}, double(n));
  });
  registry.gauge("process_max_fds", "Maximum number of open file descriptors.", {},
                 [](GaugeWriter& w) {
                   rlimit r{};
                   if (getrlimit(RLIMIT_NOFILE, &r) == 0) w.set({}, double(r.rlim_cur));
                 });
}

}  // namespace switchboard::metrics
