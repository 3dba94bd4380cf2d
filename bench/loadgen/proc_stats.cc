#include "loadgen/proc_stats.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <vector>

namespace qmq::bench {

namespace {

struct stat_fields {
    int ppid = 0;
    uint64_t ticks = 0;  // utime + stime
    uint64_t rss_pages = 0;
};

// /proc/<pid>/stat: "pid (comm) state ppid ... utime(14) stime(15) ... rss(24)".
// comm may hold spaces and parentheses, so parse from the last ')'.
std::optional<stat_fields> read_stat(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(in, line)) {
        return std::nullopt;
    }
    const auto close = line.rfind(')');
    if (close == std::string::npos) {
        return std::nullopt;
    }
    std::istringstream rest(line.substr(close + 2));
    std::vector<std::string> f;  // f[0] is field 3 (state)
    std::string tok;
    while (rest >> tok) {
        f.push_back(tok);
    }
    constexpr std::size_t rss_field = 24;
    if (f.size() < rss_field - 2) {
        return std::nullopt;
    }
    stat_fields s;
    s.ppid = std::stoi(f[4 - 3]);
    s.ticks = std::stoull(f[14 - 3]) + std::stoull(f[15 - 3]);
    s.rss_pages = std::stoull(f[rss_field - 3]);
    return s;
}

}  // namespace

std::optional<proc_sample> sample_process_tree(int pid) {
    const auto root = read_stat(pid);
    if (!root) {
        return std::nullopt;
    }
    std::unordered_map<int, stat_fields> all;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        const std::string name = it->path().filename();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        if (auto s = read_stat(std::stoi(name))) {
            all.emplace(std::stoi(name), *s);
        }
    }
    all[pid] = *root;
    // Descendants: repeat until no process joins (process trees are shallow).
    std::unordered_map<int, bool> in_tree{{pid, true}};
    for (bool grew = true; grew;) {
        grew = false;
        for (const auto& [p, s] : all) {
            if (!in_tree.count(p) && in_tree.count(s.ppid)) {
                in_tree[p] = true;
                grew = true;
            }
        }
    }
    const auto page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    const auto hz = static_cast<double>(sysconf(_SC_CLK_TCK));
    proc_sample out;
    for (const auto& [p, yes] : in_tree) {
        const stat_fields& s = all[p];
        out.rss_bytes += s.rss_pages * page;
        out.cpu_s += static_cast<double>(s.ticks) / hz;
        ++out.processes;
    }
    return out;
}

uint64_t disk_usage_bytes(const std::string& dir) {
    std::error_code ec;
    uint64_t total = 0;
    auto it = std::filesystem::recursive_directory_iterator(
        dir, std::filesystem::directory_options::skip_permission_denied, ec);
    if (ec) {
        return 0;
    }
    // Files come and go while the broker runs: skip what vanished.
    for (; it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) {
            break;
        }
        struct stat st {};
        if (::lstat(it->path().c_str(), &st) == 0) {
            total += static_cast<uint64_t>(st.st_blocks) * 512;
        }
    }
    return total;
}

}  // namespace qmq::bench
