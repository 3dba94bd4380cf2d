// storage-bench: appends per second, MB/s and fsyncs per second of the log
// store for 1 KiB records from 1, 10 and 1000 groups at three loads (one
// append in flight: one record per batch; 64 in flight; 4096 in flight), and
// in the same run the raw disk's write + fdatasync rate for the same batch
// sizes, with the ratio engine/raw. Optional: --memory (index bytes per
// entry for a million 1 KiB entries) and --pin-mb N (disk use after N MiB
// pushed and acknowledged behind one pinned message).
//
//   storage-bench [--dir DIR] [--seconds S] [--memory] [--pin-mb N]

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "storage/file.h"
#include "storage/log_store.h"

using namespace qmq;
using namespace qmq::storage;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::size_t record_bytes = 1024;

struct args {
    std::string dir = "/tmp/qmq-storage-bench";
    double seconds = 2.0;
    bool memory = false;
    uint64_t wal_mb = 64;
    uint64_t pin_mb = 0;
};

double since(clock_type::time_point t) {
    return std::chrono::duration<double>(clock_type::now() - t).count();
}

struct engine_result {
    double records_per_s;
    double mb_per_s;
    double syncs_per_s;
    double records_per_batch;
    double latency_us;  // mean append-to-durable for window 1
};

engine_result run_engine(const args& a, uint64_t groups, std::size_t window) {
    std::filesystem::remove_all(a.dir);
    log_store_options o;
    o.dir = a.dir;
    o.node_id = "bench";
    o.wal_file_bytes_max = a.wal_mb << 20;
    auto s = log_store::open(o);
    if (!s) {
        std::fprintf(stderr, "open: %s\n", s.err().message.c_str());
        std::exit(1);
    }
    std::vector<uint64_t> next(groups + 1, 1);
    bytes payload(record_bytes, std::byte{0x5a});
    uint64_t g = 0;
    std::size_t in_flight = 0;
    uint64_t done = 0;
    const uint64_t syncs0 = (*s)->stats().wal_batches;
    const auto start = clock_type::now();
    while (since(start) < a.seconds) {
        while (in_flight < window) {
            g = g % groups + 1;
            entry e{log_index(next[g]++), term_t(1), 0, payload};
            if (!(*s)->append(group_id(g), std::span<const entry>(&e, 1))) {
                std::fprintf(stderr, "append refused\n");
                std::exit(1);
            }
            ++in_flight;
        }
        (*s)->wait_durable(std::chrono::milliseconds(100));
        for (const auto& n : (*s)->take_durable()) {
            if (!n.durable) {
                std::fprintf(stderr, "write failed: %s\n", n.error.c_str());
                std::exit(1);
            }
            --in_flight;
            ++done;
        }
    }
    const double t = since(start);
    const uint64_t syncs = (*s)->stats().wal_batches - syncs0;
    engine_result r{};
    r.records_per_s = static_cast<double>(done) / t;
    r.mb_per_s = r.records_per_s * (record_bytes + 40) / 1e6;
    r.syncs_per_s = static_cast<double>(syncs) / t;
    r.records_per_batch = syncs ? static_cast<double>(done) / static_cast<double>(syncs) : 0;
    r.latency_us = window == 1 ? 1e6 / r.records_per_s : 0;
    s->reset();
    std::filesystem::remove_all(a.dir);
    return r;
}

// The raw disk: write(batch) + fdatasync in a loop, appending to one file.
double run_raw_mb_per_s(const args& a, std::size_t batch_bytes, double* syncs_per_s) {
    std::filesystem::create_directories(a.dir);
    const std::string path = a.dir + "/raw";
    int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) {
        std::perror("open raw");
        std::exit(1);
    }
    std::vector<char> buf(batch_bytes, 'r');
    uint64_t n = 0;
    uint64_t written = 0;
    const auto start = clock_type::now();
    while (since(start) < a.seconds) {
        if (::write(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size()) ||
            ::fdatasync(fd) != 0) {
            std::perror("raw write");
            std::exit(1);
        }
        ++n;
        written += buf.size();
        if (written > (1ull << 30)) {  // keep the file bounded
            ::ftruncate(fd, 0);
            ::lseek(fd, 0, SEEK_SET);
            written = 0;
        }
    }
    const double t = since(start);
    ::close(fd);
    std::filesystem::remove(path);
    *syncs_per_s = static_cast<double>(n) / t;
    return static_cast<double>(n) * static_cast<double>(batch_bytes) / t / 1e6;
}

uint64_t rss_bytes() {
    std::ifstream f("/proc/self/statm");
    uint64_t size = 0, resident = 0;
    f >> size >> resident;
    return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

void run_memory(const args& a) {
    constexpr uint64_t entries = 1'000'000;
    constexpr uint64_t groups = 1000;
    std::filesystem::remove_all(a.dir);
    log_store_options o;
    o.dir = a.dir;
    o.node_id = "bench";
    o.wal_file_bytes_max = 2ull << 30;  // keep all entries WAL-indexed first
    o.write_cache_bytes_max = 64u << 20;
    auto s = log_store::open(o);
    if (!s) {
        std::exit(1);
    }
    const uint64_t rss0 = rss_bytes();
    bytes payload(record_bytes, std::byte{1});
    std::vector<entry> v;
    std::size_t in_flight = 0;
    for (uint64_t i = 0; i < entries / groups; i += 10) {
        for (uint64_t g = 1; g <= groups; ++g) {
            v.clear();
            for (uint64_t k = 1; k <= 10; ++k) {
                v.push_back(entry{log_index(i + k), term_t(1), 0, payload});
            }
            (void)(*s)->append(group_id(g), v);
            ++in_flight;
            while (in_flight > 256) {
                (*s)->wait_durable(std::chrono::milliseconds(100));
                in_flight -= (*s)->take_durable().size();
            }
        }
    }
    while (in_flight > 0) {
        (*s)->wait_durable(std::chrono::milliseconds(100));
        in_flight -= (*s)->take_durable().size();
    }
    auto st = (*s)->stats();
    const uint64_t rss1 = rss_bytes();
    std::printf("memory, %llu entries of 1 KiB in %llu groups, all still in the WAL:\n",
                static_cast<unsigned long long>(entries), static_cast<unsigned long long>(groups));
    std::printf(
        "  index %.1f MB = %.1f bytes/entry; write cache %.1f MB (bounded); RSS growth "
        "%.1f MB = %.1f bytes/entry (cache included)\n",
        st.index_bytes / 1e6, static_cast<double>(st.index_bytes) / entries, st.cache_bytes / 1e6,
        (rss1 - rss0) / 1e6, static_cast<double>(rss1 - rss0) / entries);
    if (!(*s)->sync_segments()) {
        std::exit(1);
    }
    st = (*s)->stats();
    std::printf(
        "  after moving them to segments: index %.2f MB = %.2f bytes/entry "
        "(%llu segments)\n",
        st.index_bytes / 1e6, static_cast<double>(st.index_bytes) / entries,
        static_cast<unsigned long long>(st.segments));
    // Reading every group once loads the sparse indexes.
    for (uint64_t g = 1; g <= groups; ++g) {
        (void)(*s)->read(group_id(g), log_index(500), log_index(500));
    }
    st = (*s)->stats();
    std::printf(
        "  after reading from every segment (sparse indexes loaded): %.2f MB = %.2f "
        "bytes/entry\n",
        st.index_bytes / 1e6, static_cast<double>(st.index_bytes) / entries);
    s->reset();
    std::filesystem::remove_all(a.dir);
}

void run_pin(const args& a) {
    std::filesystem::remove_all(a.dir);
    log_store_options o;
    o.dir = a.dir;
    o.node_id = "bench";
    auto s = log_store::open(o);
    if (!s) {
        std::exit(1);
    }
    constexpr std::size_t body = 4096;
    const uint64_t total = a.pin_mb * (1ull << 20) / body;
    (*s)->set_live_indexes(group_id(1), {log_index(1)});
    bytes payload(body, std::byte{7});
    uint64_t peak = 0;
    std::size_t in_flight = 0;
    const auto start = clock_type::now();
    for (uint64_t i = 1; i <= total; i += 64) {
        std::vector<entry> v;
        for (uint64_t k = i; k < i + 64 && k <= total; ++k) {
            v.push_back(entry{log_index(k), term_t(1), 0, payload});
        }
        (void)(*s)->append(group_id(1), v);
        ++in_flight;
        while (in_flight >= 8) {
            (*s)->wait_durable(std::chrono::milliseconds(100));
            for (const auto& n : (*s)->take_durable()) {
                --in_flight;
                (*s)->set_release_point(group_id(1), n.last.next());
            }
        }
        if (i % 16384 == 1) {
            peak = std::max(peak, disk_usage(a.dir));
        }
    }
    while (in_flight > 0) {
        (*s)->wait_durable(std::chrono::milliseconds(100));
        for (const auto& n : (*s)->take_durable()) {
            --in_flight;
            (*s)->set_release_point(group_id(1), n.last.next());
        }
    }
    (void)(*s)->sync_segments();
    auto r = (*s)->read(group_id(1), log_index(1), log_index(1));
    std::printf(
        "pin: %llu MiB pushed and acked behind one pinned message in %.1f s; disk peak "
        "%.1f MB, at the end %.1f MB; pinned message readable: %s\n",
        static_cast<unsigned long long>(a.pin_mb), since(start), peak / 1e6,
        disk_usage(a.dir) / 1e6, (r && r->size() == 1) ? "yes" : "NO");
    s->reset();
    std::filesystem::remove_all(a.dir);
}

}  // namespace

int main(int argc, char** argv) {
    args a;
    for (int i = 1; i < argc; ++i) {
        std::string k = argv[i];
        if (k == "--dir" && i + 1 < argc) {
            a.dir = argv[++i];
        } else if (k == "--seconds" && i + 1 < argc) {
            a.seconds = std::atof(argv[++i]);
        } else if (k == "--wal-mb" && i + 1 < argc) {
            a.wal_mb = std::strtoull(argv[++i], nullptr, 10);
        } else if (k == "--memory") {
            a.memory = true;
        } else if (k == "--pin-mb" && i + 1 < argc) {
            a.pin_mb = std::strtoull(argv[++i], nullptr, 10);
        } else {
            std::fprintf(stderr,
                         "usage: storage-bench [--dir DIR] [--seconds S] [--wal-mb N] "
                         "[--memory] [--pin-mb N]\n");
            return 2;
        }
    }
    std::printf("storage-bench: 1 KiB records, %.1f s per case, dir %s\n", a.seconds,
                a.dir.c_str());
    std::printf("%-7s %-7s | %10s %8s %8s %9s %9s | %8s %8s | %6s\n", "groups", "window",
                "appends/s", "MB/s", "syncs/s", "rec/batch", "lat_us", "raw MB/s", "raw s/s",
                "ratio");
    for (uint64_t groups : {1ull, 10ull, 1000ull}) {
        for (std::size_t window : {std::size_t{1}, std::size_t{64}, std::size_t{4096}}) {
            auto e = run_engine(a, groups, window);
            const std::size_t batch = static_cast<std::size_t>(
                std::max(1.0, e.records_per_batch) * (record_bytes + 40) + 16);
            double raw_syncs = 0;
            const double raw = run_raw_mb_per_s(a, batch, &raw_syncs);
            std::printf("%-7llu %-7zu | %10.0f %8.1f %8.0f %9.1f %9.0f | %8.1f %8.0f | %6.2f\n",
                        static_cast<unsigned long long>(groups), window, e.records_per_s,
                        e.mb_per_s, e.syncs_per_s, e.records_per_batch, e.latency_us, raw,
                        raw_syncs, e.mb_per_s / raw);
            std::fflush(stdout);
        }
    }
    if (a.memory) {
        run_memory(a);
    }
    if (a.pin_mb > 0) {
        run_pin(a);
    }
    return 0;
}
