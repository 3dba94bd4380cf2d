#pragma once

// One benchmark run: declare the topology, start consumers then producers,
// report every second, stop, verify, tear down.

#include <ostream>

#include "loadgen/options.h"
#include "loadgen/report.h"

namespace qmq::bench {

// Exit codes of quorummq-bench.
constexpr int exit_ok = 0;
constexpr int exit_missing = 1;  // a confirmed message was never consumed
constexpr int exit_usage = 2;
constexpr int exit_failed = 3;  // connection or broker error: no valid result

// Runs the benchmark, writing per-second lines to `human` (unless quiet).
run_results run_bench(const options& o, std::ostream& human);

int exit_code(const run_results& r);

}  // namespace qmq::bench
