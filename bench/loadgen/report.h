#pragma once

// What a run measured, and how it is shown: one line per second, a summary at
// the end, and JSON for scripts (bench/compare, bench/plot).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "loadgen/histogram.h"
#include "loadgen/options.h"
#include "loadgen/verify.h"

namespace qmq::bench {

struct latency_summary {
    uint64_t count = 0;
    uint64_t p50 = 0, p95 = 0, p99 = 0, p999 = 0, max = 0;  // microseconds
    double mean = 0;
};
latency_summary summarize(const histogram& h);

struct broker_figures {
    uint64_t rss_bytes = 0;
    double cpu_percent = 0;  // of one core, over the interval
};

struct second_report {
    double t_s = 0;
    uint64_t published = 0, confirmed = 0, consumed = 0;  // in this second
    latency_summary latency, confirm_latency;
    std::optional<broker_figures> broker;
};

struct run_results {
    std::string error;  // empty when the run completed
    uint64_t run_id = 0;
    uint32_t amqp_consumers = 0;  // basic.consume subscriptions

    double publish_s = 0;  // first to last publish
    double consume_s = 0;  // consumers' start to last delivery
    uint64_t published = 0, confirmed = 0, nacked = 0, consumed = 0, routed = 0;
    double publish_rate = 0, confirm_rate = 0, consume_rate = 0;
    latency_summary latency, confirm_latency;

    // Broker, when --broker-pid was given.
    std::optional<uint64_t> rss_start, rss_peak, rss_end;
    std::optional<double> cpu_s, cpu_percent;  // over the run, one core = 100
    std::optional<uint64_t> disk_end;          // with --broker-data-dir

    // --backlog: the broker holding everything, then the drain.
    uint64_t backlog_messages = 0;
    std::optional<uint64_t> backlog_rss, backlog_disk;
    double drain_s = 0, drain_rate = 0;

    std::optional<verify_result> verified;  // none when nothing consumed
    std::vector<second_report> seconds;
};

std::string format_second(const second_report& s);
void print_summary(std::ostream& out, const options& o, const run_results& r);
nlohmann::json to_json(const options& o, const run_results& r);

}  // namespace qmq::bench
