// Crash tests: a child process appends from many groups and reports each
// durable notice through a pipe; the parent SIGKILLs it at a random moment,
// optionally damages the tail of the last WAL file, and recovers. Every
// acknowledged entry must be there, intact; nothing never written may appear.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "storage/file.h"
#include "storage/format.h"
#include "storage/log_store.h"
#include "unit/storage/test_util.h"

namespace qmq::storage {
namespace {

using test::make_entry;
using test::scratch_dir;

constexpr uint64_t groups = 24;
constexpr std::size_t in_flight_max = 48;

log_store_options crash_options(const std::string& dir) {
    auto o = test::small_options(dir);
    o.wal_file_bytes_max = 192 * 1024;  // rollovers and segment flushes during the run
    o.segment_bytes_max = 96 * 1024;
    return o;
}

uint64_t term_of(uint64_t index) {
    return 1 + index / 64;
}

struct ack {
    uint64_t group;
    uint64_t last;
};

[[noreturn]] void child_main(const std::string& dir, int fd, uint64_t seed) {
    auto s = log_store::open(crash_options(dir));
    if (!s) {
        _exit(3);
    }
    prng r(seed);
    std::map<uint64_t, uint64_t> next;
    for (auto& rec : (*s)->recovered()) {
        next[rec.group.value] = rec.last.value;
    }
    std::size_t in_flight = 0;
    for (;;) {
        const uint64_t g = 1 + r.below(groups);
        const uint64_t n = 1 + r.below(4);
        std::vector<entry> v;
        for (uint64_t k = 0; k < n; ++k) {
            const uint64_t i = ++next[g];
            v.push_back(make_entry(g, i, term_of(i)));
        }
        if (!(*s)->append(group_id(g), v)) {
            _exit(4);
        }
        ++in_flight;
        while (in_flight >= in_flight_max) {
            (*s)->wait_durable(std::chrono::milliseconds(10));
            for (const auto& d : (*s)->take_durable()) {
                if (!d.durable) {
                    _exit(5);
                }
                ack a{d.group.value, d.last.value};
                if (::write(fd, &a, sizeof a) != sizeof a) {
                    _exit(6);
                }
                --in_flight;
            }
        }
    }
}

enum class damage { none, cut_tail, flip_in_last_batch };

std::string last_wal(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir + "/wal")) {
        if (e.path().extension() == ".wal") {
            names.push_back(e.path().string());
        }
    }
    std::sort(names.begin(), names.end());
    return names.empty() ? "" : names.back();
}

// Damages the newest WAL file's last batch; returns the lowest byte offset
// touched (entries written from there may be lost), or nullopt.
std::optional<uint64_t> apply_damage(const std::string& dir, damage d, prng& r) {
    if (d == damage::none) {
        return std::nullopt;
    }
    const std::string wal = last_wal(dir);
    auto data = read_whole_file(wal);
    EXPECT_TRUE(data);
    uint64_t pos = format::file_header_size;
    uint64_t last_batch = 0;
    while (pos + format::batch_header_size <= data->size()) {
        auto h = format::decode_batch_header(bytes_view(*data).subspan(pos));
        if (!h || pos + format::batch_header_size + h->body_len > data->size()) {
            break;
        }
        last_batch = pos;
        pos += format::batch_header_size + h->body_len;
    }
    if (last_batch == 0) {
        return std::nullopt;
    }
    const uint64_t at = r.between(last_batch, pos - 1);
    if (d == damage::cut_tail) {
        std::filesystem::resize_file(wal, at);
    } else {
        auto f = file::open(wal, file::mode::read_write);
        std::byte b[1];
        EXPECT_TRUE((*f)->read_at(b, at));
        b[0] ^= std::byte(1 << r.below(8));
        EXPECT_TRUE((*f)->write_at(b, at));
    }
    return last_batch;
}

void run_crash_rounds(damage d, uint64_t seed, int rounds) {
    scratch_dir dir;
    prng r(seed);
    std::map<uint64_t, uint64_t> acked;  // survives rounds: recovery must keep it
    for (int round = 0; round < rounds; ++round) {
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        const uint64_t child_seed = r.next();
        pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ::close(fds[0]);
            child_main(dir.path(), fds[1], child_seed);
        }
        ::close(fds[1]);
        ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
        std::map<uint64_t, uint64_t> round_acks;
        auto drain = [&] {
            ack a;
            while (::read(fds[0], &a, sizeof a) == sizeof a) {
                round_acks[a.group] = std::max(round_acks[a.group], a.last);
            }
        };
        const auto kill_at =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(r.between(150, 600));
        while (std::chrono::steady_clock::now() < kill_at) {
            drain();
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            << "child ended on its own (exit " << WEXITSTATUS(status) << ", signal "
            << (WIFSIGNALED(status) ? WTERMSIG(status) : 0) << ")";
        ::fcntl(fds[0], F_SETFL, 0);
        drain();
        ::close(fds[0]);

        const auto damaged_from = apply_damage(dir.path(), d, r);
        auto s = log_store::open(crash_options(dir.path()));
        ASSERT_TRUE(s) << s.err().message;
        std::size_t total = 0;
        for (const auto& rec : (*s)->recovered()) {
            ASSERT_TRUE(rec.error.empty()) << rec.error;
            const uint64_t g = rec.group.value;
            // Nothing invented: every stored entry is the one written.
            auto all = (*s)->read(rec.group, log_index(1), rec.last);
            ASSERT_TRUE(all) << all.err().message;
            ASSERT_EQ(all->size(), rec.last.value) << "group " << g;
            for (std::size_t i = 0; i < all->size(); ++i) {
                ASSERT_EQ((*all)[i], make_entry(g, i + 1, term_of(i + 1)))
                    << "group " << g << " index " << i + 1;
            }
            total += all->size();
            if (!damaged_from) {
                // Everything acknowledged is there.
                ASSERT_GE(rec.last.value, std::max(acked[g], round_acks[g])) << "group " << g;
            }
        }
        EXPECT_GT(total, 0u);
        // What survived is now the baseline the next round must keep.
        acked.clear();
        for (const auto& rec : (*s)->recovered()) {
            acked[rec.group.value] = rec.last.value;
        }
    }
}

TEST(StorageCrash, KilledWriterKeepsEveryAcknowledgedEntry) {
    run_crash_rounds(damage::none, 1, 6);
}

TEST(StorageCrash, KilledWriterThenTailCutAtRandomByte) {
    run_crash_rounds(damage::cut_tail, 2, 4);
}

TEST(StorageCrash, KilledWriterThenBitFlipInTheTail) {
    run_crash_rounds(damage::flip_in_last_batch, 3, 4);
}

}  // namespace
}  // namespace qmq::storage
