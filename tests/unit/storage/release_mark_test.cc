// Holes in a recovered log: entries dropped as released are covered by the
// durable release mark (file `released`), so recovery accepts exactly those;
// a hole that no release covers is lost entries and must refuse the group.

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "storage/file.h"
#include "storage/format.h"
#include "storage/log_store.h"
#include "storage/paths.h"
#include "unit/storage/test_util.h"

namespace qmq::storage {
namespace {

using test::make_entry;
using test::scratch_dir;

std::vector<entry> entries(uint64_t group, uint64_t from, uint64_t to) {
    std::vector<entry> out;
    for (uint64_t i = from; i <= to; ++i) {
        out.push_back(make_entry(group, i, 1));
    }
    return out;
}

void append_and_wait(log_store& s, group_id g, uint64_t from, uint64_t to) {
    ASSERT_TRUE(s.append(g, entries(g.value, from, to)));
    ASSERT_EQ(test::wait_notices(s, 1).size(), 1u);
}

// Cuts every segment of the group at the record boundary before `index`
// (as if those records had never reached the disk), leaving whole records
// only, so nothing looks torn.
void cut_segments_before(const std::string& root, uint64_t group, uint64_t index) {
    const std::string dir = paths::group_dir(root, group);
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
        if (f.path().extension() != ".seg") {
            continue;
        }
        auto data = read_whole_file(f.path().string());
        ASSERT_TRUE(data);
        uint64_t at = format::file_header_size;
        while (at + format::record_header_size <= data->size()) {
            auto h = format::decode_record_header(bytes_view(*data).subspan(at));
            ASSERT_TRUE(h.has_value());
            if (h->index >= index) {
                std::filesystem::resize_file(f.path(), at);
                break;
            }
            at += format::record_size(*h);
        }
    }
}

std::string group_error(const log_store& s, group_id g) {
    for (const auto& r : s.recovered()) {
        if (r.group == g) {
            return r.error;
        }
    }
    return "group not recovered";
}

TEST(StorageReleaseMark, HoleNotCoveredByAReleaseIsRefused) {
    scratch_dir dir;
    const group_id g(9);
    {
        auto s = log_store::open(test::small_options(dir.path()));
        ASSERT_TRUE(s) << s.err().message;
        append_and_wait(**s, g, 1, 100);
        ASSERT_TRUE((*s)->sync_segments());  // 1..100 in segments, WAL file deleted
        append_and_wait(**s, g, 101, 105);   // in the next WAL file
    }
    EXPECT_FALSE(path_exists(paths::release_mark(dir.path(), g.value)));
    cut_segments_before(dir.path(), g.value, 60);  // 60..100 lost, nothing released

    auto s = log_store::open(test::small_options(dir.path()));
    ASSERT_TRUE(s) << s.err().message;
    const std::string err = group_error(**s, g);
    EXPECT_NE(err.find("index 101 follows 59 (gap)"), std::string::npos) << err;
    EXPECT_FALSE((*s)->info(g));  // the group refuses reads, it does not serve a short log
}

TEST(StorageReleaseMark, HoleAboveTheReleaseMarkIsRefused) {
    scratch_dir dir;
    const group_id g(10);
    {
        auto s = log_store::open(test::small_options(dir.path()));
        ASSERT_TRUE(s) << s.err().message;
        append_and_wait(**s, g, 1, 10);
        (*s)->set_live_indexes(g, {log_index(4)});
        (*s)->set_release_point(g, log_index(11));
        ASSERT_TRUE((*s)->sync_segments());  // only 4 copied; mark 11 written first
        append_and_wait(**s, g, 11, 30);
        ASSERT_TRUE((*s)->sync_segments());  // 11..30 in segments
        append_and_wait(**s, g, 31, 31);
    }
    auto mark = read_whole_file(paths::release_mark(dir.path(), g.value));
    ASSERT_TRUE(mark);
    EXPECT_EQ(format::decode_release_mark(*mark), std::optional<uint64_t>(11));
    cut_segments_before(dir.path(), g.value, 20);  // 20..30 lost: above the mark

    auto s = log_store::open(test::small_options(dir.path()));
    ASSERT_TRUE(s) << s.err().message;
    const std::string err = group_error(**s, g);
    EXPECT_NE(err.find("index 31 follows 19 (gap)"), std::string::npos) << err;
}

TEST(StorageReleaseMark, DamagedMarkCoversNothing) {
    scratch_dir dir;
    const group_id g(11);
    {
        auto s = log_store::open(test::small_options(dir.path()));
        ASSERT_TRUE(s) << s.err().message;
        append_and_wait(**s, g, 1, 10);
        (*s)->set_live_indexes(g, {log_index(4)});
        (*s)->set_release_point(g, log_index(11));
        ASSERT_TRUE((*s)->sync_segments());
        append_and_wait(**s, g, 11, 11);
    }
    const std::string path = paths::release_mark(dir.path(), g.value);
    auto mark = read_whole_file(path);
    ASSERT_TRUE(mark);
    (*mark)[10] ^= std::byte{1};
    ASSERT_TRUE(write_file_atomically(path, *mark));

    auto s = log_store::open(test::small_options(dir.path()));
    ASSERT_TRUE(s) << s.err().message;
    EXPECT_NE(group_error(**s, g).find("(gap)"), std::string::npos);
}

TEST(StorageReleaseMark, MarkRoundTripsAndRejectsDamage) {
    const bytes b = format::encode_release_mark(123456789);
    ASSERT_EQ(b.size(), format::release_mark_size);
    EXPECT_EQ(format::decode_release_mark(b), std::optional<uint64_t>(123456789));
    for (std::size_t i = 0; i < b.size() * 8; ++i) {
        bytes c = b;
        c[i / 8] ^= std::byte(static_cast<uint8_t>(1u << (i % 8)));
        EXPECT_FALSE(format::decode_release_mark(c).has_value()) << "bit " << i;
    }
    EXPECT_FALSE(format::decode_release_mark(bytes_view(b).first(19)).has_value());
}

// The broker's restart pattern: at each start the segment thread moves the
// big WAL file of the previous run into segments while the whole log is read
// back in read_bytes_max pieces and a release point below everything unread
// is set; then more entries are appended and the store is closed at a random
// moment. Every entry must be read back, in order, after each restart.
TEST(StorageReleaseMark, RestartsWhileMovingWalFilesKeepEveryEntry) {
    scratch_dir dir;
    const group_id g(12);
    constexpr uint64_t per_round = 4000;
    constexpr int rounds = 6;
    constexpr uint64_t snapshot_at = 300;
    constexpr std::size_t payload_max = 300;
    auto opts = test::small_options(dir.path());
    opts.wal_file_bytes_max = 8u << 20;  // one round's entries in one WAL file
    opts.segment_bytes_max = 1u << 20;
    opts.read_bytes_max = 64u << 10;
    prng rnd(42);
    uint64_t total = 0;
    for (int round = 0; round <= rounds; ++round) {
        auto s = log_store::open(opts);
        ASSERT_TRUE(s) << s.err().message;
        if (total > 0) {
            ASSERT_TRUE(group_error(**s, g).empty())
                << "round " << round << ": " << group_error(**s, g);
            std::vector<log_index> live;  // below the snapshot: every other entry
            for (uint64_t i = 1; i < snapshot_at; i += 2) {
                live.emplace_back(i);
            }
            (*s)->set_live_indexes(g, live);
            (*s)->set_release_point(g, log_index(snapshot_at + 1));
            uint64_t from = 1;
            uint64_t got = 0;
            while (from <= total) {
                auto part = (*s)->read(g, log_index(from), log_index(total));
                ASSERT_TRUE(part) << part.err().message;
                ASSERT_FALSE(part->empty()) << "round " << round << ": nothing from " << from;
                for (const auto& e : *part) {
                    ASSERT_TRUE(test::entry_is_right(g.value, e, payload_max));
                    if (e.index.value > snapshot_at) {
                        ASSERT_EQ(e.index.value, snapshot_at + 1 + got) << "round " << round;
                        ++got;
                    }
                    from = e.index.value + 1;
                }
            }
            ASSERT_EQ(got, total - snapshot_at) << "round " << round;
        }
        if (round == rounds) {
            break;
        }
        std::vector<entry> more;
        for (uint64_t i = total + 1; i <= total + per_round; ++i) {
            more.push_back(make_entry(g.value, i, 1, payload_max));
        }
        ASSERT_TRUE((*s)->append(g, more));
        ASSERT_EQ(test::wait_notices(**s, 1).size(), 1u);
        total += per_round;
        std::this_thread::sleep_for(std::chrono::milliseconds(rnd.below(30)));
    }
}

}  // namespace
}  // namespace qmq::storage
