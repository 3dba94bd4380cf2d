#pragma once

// Helpers shared by the storage tests: scratch directories, deterministic
// payloads, and a wait for durable notices.

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/prng.h"
#include "storage/log_store.h"

namespace qmq::storage::test {

class scratch_dir {
  public:
    scratch_dir() {
        static int n = 0;
        _path = "/tmp/qmq-storage-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
        std::filesystem::remove_all(_path);
        std::filesystem::create_directories(_path);
    }
    ~scratch_dir() {
        std::error_code ec;
        std::filesystem::remove_all(_path, ec);
    }
    const std::string& path() const { return _path; }

  private:
    std::string _path;
};

// The payload of (group, index, term) is a function of the three, so a
// reader can tell a right entry from an invented or damaged one.
inline bytes payload_for(uint64_t group, uint64_t index, uint64_t term,
                         std::size_t size_max = 600) {
    prng r(group * 1'000'003 + index * 7919 + term);
    const std::size_t n = static_cast<std::size_t>(r.below(size_max + 1));
    bytes b(n);
    for (auto& x : b) {
        x = static_cast<std::byte>(r.next() & 0xFF);
    }
    return b;
}

inline entry make_entry(uint64_t group, uint64_t index, uint64_t term, std::size_t size_max = 600) {
    return entry{log_index(index), term_t(term), static_cast<entry_type>(index % 3),
                 payload_for(group, index, term, size_max)};
}

inline bool entry_is_right(uint64_t group, const entry& e, std::size_t size_max = 600) {
    return e == make_entry(group, e.index.value, e.term.value, size_max);
}

inline log_store_options small_options(const std::string& dir) {
    log_store_options o;
    o.dir = dir;
    o.node_id = "test-node";
    o.wal_file_bytes_max = 256 * 1024;
    o.segment_bytes_max = 128 * 1024;
    o.write_cache_bytes_max = 64 * 1024;
    o.batch_bytes_max = 64 * 1024;
    return o;
}

// Collects notices until `count` appends are answered or the timeout passes.
inline std::vector<durable_notice> wait_notices(
    log_store& s, std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::vector<durable_notice> all;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (all.size() < count && std::chrono::steady_clock::now() < deadline) {
        s.wait_durable(std::chrono::milliseconds(50));
        for (auto& n : s.take_durable()) {
            all.push_back(std::move(n));
        }
    }
    return all;
}

}  // namespace qmq::storage::test
