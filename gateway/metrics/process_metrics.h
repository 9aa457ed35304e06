// gateway/metrics/process_metrics.h — the standard process_* metrics
// (Prometheus client conventions) read from /proc/self at scrape time:
// process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds,
// process_start_time_seconds, process_threads.
//
// Threading: the gauges read /proc on the scraping thread; nothing on the hot path.
#ifndef SWITCHBOARD_GATEWAY_METRICS_PROCESS_METRICS_H_
#define SWITCHBOARD_GATEWAY_METRICS_PROCESS_METRICS_H_

#include "gateway/metrics/metrics.h"

namespace switchboard::metrics {

void register_process_metrics(Registry& registry);

}  // namespace switchboard::metrics

#endif  // SWITCHBOARD_GATEWAY_METRICS_PROCESS_METRICS_H_
