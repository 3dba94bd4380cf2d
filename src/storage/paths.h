#pragma once

// Where each kind of file lives under the data directory:
//   <dir>/wal/<seq hex16>.wal           node-wide write-ahead log files
//   <dir>/groups/<group hex16>/          one directory per group:
//       <seq hex16>.seg, <seq hex16>.idx  segments and their sparse indexes
//       hard_state, config               small state, replaced atomically
//       snapshot, snapshot.meta          the latest snapshot
//       CORRUPT                          why this group refuses to start
//       released                         indexes below it may be absent (release mark)

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace qmq::storage::paths {

inline std::string hex16(uint64_t v) {
    char buf[20];
    std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
    return buf;
}

// Parses "<hex16><suffix>"; nullopt for any other name.
inline std::optional<uint64_t> parse_hex16(const std::string& name, const std::string& suffix) {
    if (name.size() != 16 + suffix.size() || name.compare(16, suffix.size(), suffix) != 0) {
        return std::nullopt;
    }
    uint64_t v = 0;
    for (std::size_t i = 0; i < 16; ++i) {
        const char c = name[i];
        uint64_t d;
        if (c >= '0' && c <= '9') {
            d = static_cast<uint64_t>(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            d = static_cast<uint64_t>(c - 'a' + 10);
        } else {
            return std::nullopt;
        }
        v = (v << 4) | d;
    }
    return v;
}

inline std::string wal_dir(const std::string& root) {
    return root + "/wal";
}
inline std::string wal_file(const std::string& root, uint64_t seq) {
    return wal_dir(root) + "/" + hex16(seq) + ".wal";
}
inline std::string groups_dir(const std::string& root) {
    return root + "/groups";
}
inline std::string group_dir(const std::string& root, uint64_t group) {
    return groups_dir(root) + "/" + hex16(group);
}
inline std::string corrupt_marker(const std::string& root, uint64_t group) {
    return group_dir(root, group) + "/CORRUPT";
}
inline std::string release_mark(const std::string& root, uint64_t group) {
    return group_dir(root, group) + "/released";
}
inline std::string quarantine_dir(const std::string& root) {
    return root + "/wal/quarantine";
}

}  // namespace qmq::storage::paths
