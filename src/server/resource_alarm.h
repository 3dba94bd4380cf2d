#pragma once

// Resource alarms, as RabbitMQ raises them: memory use (resident set size)
// above the high watermark, or free disk space on the data dir's filesystem
// below the limit. While any alarm is set, publishers are blocked.
//
// The decision is pure (readings in, alarm state out) so it is tested without
// filling a disk; reading /proc and statvfs is separate.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace qmq::server {

struct resource_readings {
    uint64_t rss_bytes = 0;
    std::optional<uint64_t> disk_free_bytes;  // nullopt: statvfs failed
    // Set while the write-ahead log refuses writes (a write failed: ENOSPC,
    // EIO): the disk alarm is raised whatever statvfs says.
    std::optional<std::string> wal_refusing;
};

struct resource_limits {
    uint64_t memory_high_watermark_bytes = 0;
    uint64_t disk_free_limit_bytes = 0;
};

// One change of an alarm, for the log and for blocking connections.
struct alarm_change {
    enum class resource { memory, disk } which;
    bool raised;       // false: cleared
    std::string text;  // the log line
};

class resource_alarms {
  public:
    explicit resource_alarms(resource_limits limits) : _limits(limits) {}

    // Feeds one set of readings; returns the changes since the last call
    // (at most one per condition: memory, free disk, WAL refusing writes).
    std::vector<alarm_change> update(const resource_readings& r);

    bool memory_alarm() const { return _memory; }
    bool disk_alarm() const { return _disk || _wal_refusing; }
    bool any() const { return _memory || disk_alarm(); }
    const resource_limits& limits() const { return _limits; }

  private:
    resource_limits _limits;
    bool _memory = false;
    bool _disk = false;          // free space below the limit
    bool _wal_refusing = false;  // the write-ahead log refuses writes
};

// Reads this process's RSS from /proc/self/statm (0 on failure).
uint64_t read_rss_bytes();
// Free bytes for unprivileged users on the filesystem holding `path`.
std::optional<uint64_t> read_disk_free_bytes(const std::string& path);
// Total physical memory (for the relative watermark).
uint64_t total_memory_bytes();

}  // namespace qmq::server
