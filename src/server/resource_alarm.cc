#include "server/resource_alarm.h"

#include <fmt/format.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

namespace qmq::server {

std::vector<alarm_change> resource_alarms::update(const resource_readings& r) {
    std::vector<alarm_change> changes;
    const bool memory = r.rss_bytes > _limits.memory_high_watermark_bytes;
    if (memory != _memory) {
        _memory = memory;
        changes.push_back(
            {alarm_change::resource::memory, memory,
             memory ? fmt::format("memory alarm set: resident memory {} bytes is above the high "
                                  "watermark {} bytes; blocking publishers",
                                  r.rss_bytes, _limits.memory_high_watermark_bytes)
                    : fmt::format("memory alarm cleared: resident memory {} bytes is below the "
                                  "high watermark {} bytes",
                                  r.rss_bytes, _limits.memory_high_watermark_bytes)});
    }
    // A failed statvfs keeps the last state: no reading is no news.
    if (r.disk_free_bytes) {
        const bool disk = *r.disk_free_bytes < _limits.disk_free_limit_bytes;
        if (disk != _disk) {
            _disk = disk;
            changes.push_back(
                {alarm_change::resource::disk, disk,
                 disk ? fmt::format("disk alarm set: free disk space {} bytes is below the limit "
                                    "{} bytes; blocking publishers",
                                    *r.disk_free_bytes, _limits.disk_free_limit_bytes)
                      : fmt::format("disk alarm cleared: free disk space {} bytes is above the "
                                    "limit {} bytes",
                                    *r.disk_free_bytes, _limits.disk_free_limit_bytes)});
        }
    }
    const bool refusing = r.wal_refusing.has_value();
    if (refusing != _wal_refusing) {
        _wal_refusing = refusing;
        changes.push_back(
            {alarm_change::resource::disk, refusing,
             refusing ? fmt::format("disk alarm set: the write-ahead log refuses writes ({}); "
                                    "blocking publishers",
                                    *r.wal_refusing)
                      : std::string("disk alarm cleared: the write-ahead log accepts writes "
                                    "again")});
    }
    return changes;
}

uint64_t read_rss_bytes() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f) {
        return 0;
    }
    unsigned long long size_pages = 0;
    unsigned long long resident_pages = 0;
    const int n = std::fscanf(f, "%llu %llu", &size_pages, &resident_pages);
    std::fclose(f);
    if (n != 2) {
        return 0;
    }
    return resident_pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

std::optional<uint64_t> read_disk_free_bytes(const std::string& path) {
    struct statvfs st {};
    if (::statvfs(path.c_str(), &st) != 0) {
        return std::nullopt;
    }
    return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

uint64_t total_memory_bytes() {
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const long page = ::sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) {
        return 0;
    }
    return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page);
}

}  // namespace qmq::server
