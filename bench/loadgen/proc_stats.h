#pragma once

// What the broker costs, read from /proc: resident memory and CPU time of a
// process together with all its descendants (RabbitMQ's beam.smp has helper
// children; a fair comparison counts them), and the disk a directory uses.

#include <cstdint>
#include <optional>
#include <string>

namespace qmq::bench {

struct proc_sample {
    uint64_t rss_bytes = 0;
    double cpu_s = 0;  // user + system, since each process started
    uint32_t processes = 0;
};

// nullopt when `pid` does not exist.
std::optional<proc_sample> sample_process_tree(int pid);

// Bytes allocated on disk under `dir` (st_blocks * 512, no link followed);
// 0 if it does not exist.
uint64_t disk_usage_bytes(const std::string& dir);

}  // namespace qmq::bench
