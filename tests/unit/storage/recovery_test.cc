// Recovery from torn tails and damage: never a silent skip, never garbage.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "storage/file.h"
#include "storage/format.h"
#include "storage/log_store.h"
#include "storage/paths.h"
#include "unit/storage/test_util.h"

namespace qmq::storage {
namespace {

using test::make_entry;
using test::scratch_dir;
using test::small_options;
using test::wait_notices;

// Writes `rounds` appends to each of groups 1..3, one batch per append.
void write_rounds(const std::string& dir, int rounds) {
    auto s = log_store::open(small_options(dir));
    ASSERT_TRUE(s);
    for (int r = 0; r < rounds; ++r) {
        for (uint64_t g = 1; g <= 3; ++g) {
            std::vector<entry> v;
            for (uint64_t i = 1; i <= 4; ++i) {
                v.push_back(make_entry(g, static_cast<uint64_t>(r) * 4 + i, 1));
            }
            ASSERT_TRUE((*s)->append(group_id(g), v));
            ASSERT_EQ(wait_notices(**s, 1).size(), 1u);  // one batch each
        }
    }
}

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

// Offsets of every batch in a WAL file.
std::vector<uint64_t> batch_offsets(const std::string& path) {
    auto data = read_whole_file(path);
    EXPECT_TRUE(data);
    std::vector<uint64_t> out;
    uint64_t pos = format::file_header_size;
    while (pos + format::batch_header_size <= data->size()) {
        auto h = format::decode_batch_header(bytes_view(*data).subspan(pos));
        if (!h) {
            break;
        }
        out.push_back(pos);
        pos += format::batch_header_size + h->body_len;
    }
    return out;
}

void flip_bit(const std::string& path, uint64_t offset, int bit) {
    auto f = file::open(path, file::mode::read_write);
    ASSERT_TRUE(f);
    std::byte b[1];
    ASSERT_TRUE((*f)->read_at(b, offset));
    b[0] ^= std::byte(1 << bit);
    ASSERT_TRUE((*f)->write_at(b, offset));
}

// Every group recovers without error, as a contiguous prefix of what was
// written, each entry intact. Returns the recovered last index per group.
std::vector<uint64_t> expect_clean_prefix(const std::string& dir) {
    auto s = log_store::open(small_options(dir));
    EXPECT_TRUE(s);
    std::vector<uint64_t> lasts;
    for (uint64_t g = 1; g <= 3; ++g) {
        auto info = (*s)->info(group_id(g));
        EXPECT_TRUE(info) << info.err().message;
        const uint64_t last = (info && *info) ? (*info)->last.value : 0;
        auto r = (*s)->read(group_id(g), log_index(1), log_index(last));
        EXPECT_TRUE(r);
        EXPECT_EQ(r->size(), last);
        for (std::size_t i = 0; i < r->size(); ++i) {
            EXPECT_EQ((*r)[i], make_entry(g, i + 1, 1));
        }
        lasts.push_back(last);
    }
    return lasts;
}

TEST(StorageRecovery, TornTailAtEveryCutPointOfTheLastBatchIsDropped) {
    scratch_dir dir;
    write_rounds(dir.path(), 5);
    const std::string wal = last_wal(dir.path());
    const auto batches = batch_offsets(wal);
    ASSERT_EQ(batches.size(), 15u);
    const uint64_t size = std::filesystem::file_size(wal);
    prng r(7);
    for (int k = 0; k < 12; ++k) {
        scratch_dir copy;
        std::filesystem::copy(dir.path(), copy.path(),
                              std::filesystem::copy_options::recursive |
                                  std::filesystem::copy_options::overwrite_existing);
        const uint64_t cut = r.between(batches.back(), size - 1);
        std::filesystem::resize_file(
            copy.path() + "/wal/" + std::filesystem::path(wal).filename().string(), cut);
        auto lasts = expect_clean_prefix(copy.path());
        // Only the last batch (group 3's last append) is lost.
        EXPECT_EQ(lasts[0], 20u);
        EXPECT_EQ(lasts[1], 20u);
        EXPECT_EQ(lasts[2], 16u) << "cut at " << cut;
    }
}

TEST(StorageRecovery, BitFlipInTheLastBatchIsTreatedAsATornWrite) {
    scratch_dir dir;
    write_rounds(dir.path(), 4);
    const std::string wal = last_wal(dir.path());
    const auto batches = batch_offsets(wal);
    const uint64_t size = std::filesystem::file_size(wal);
    prng r(11);
    for (int k = 0; k < 10; ++k) {
        scratch_dir copy;
        std::filesystem::copy(dir.path(), copy.path(), std::filesystem::copy_options::recursive);
        const std::string w =
            copy.path() + "/wal/" + std::filesystem::path(wal).filename().string();
        flip_bit(w, r.between(batches.back(), size - 1), static_cast<int>(r.below(8)));
        auto lasts = expect_clean_prefix(copy.path());
        EXPECT_EQ(lasts[2], 12u);
    }
}

TEST(StorageRecovery, PayloadDamageInTheMiddleStopsOnlyThatGroupWithFileAndOffset) {
    scratch_dir dir;
    write_rounds(dir.path(), 4);
    const std::string wal = last_wal(dir.path());
    const auto batches = batch_offsets(wal);
    // Batch 4 is group 2's second append; damage a payload byte of it.
    const uint64_t at = batches[4] + format::batch_header_size + format::record_header_size + 2;
    auto data = read_whole_file(wal);
    ASSERT_TRUE(data);
    auto rh = format::decode_record_header(
        bytes_view(*data).subspan(batches[4] + format::batch_header_size));
    ASSERT_TRUE(rh);
    ASSERT_EQ(rh->group, 2u);
    ASSERT_GT(rh->payload_len, 2u);
    flip_bit(wal, at, 3);
    for (int round = 0; round < 2; ++round) {
        auto s = log_store::open(small_options(dir.path()));
        ASSERT_TRUE(s);
        const auto& rec = (*s)->recovered();
        ASSERT_EQ(rec.size(), 3u);
        EXPECT_TRUE(rec[0].error.empty());
        EXPECT_TRUE(rec[2].error.empty());
        ASSERT_FALSE(rec[1].error.empty());
        EXPECT_NE(rec[1].error.find(std::filesystem::path(wal).filename().string()),
                  std::string::npos)
            << rec[1].error;
        EXPECT_NE(
            rec[1].error.find("offset " + std::to_string(at - 2 - format::record_header_size)),
            std::string::npos)
            << rec[1].error;
        EXPECT_FALSE((*s)->append(group_id(2), std::vector<entry>{make_entry(2, 17, 1)}));
        EXPECT_FALSE((*s)->read(group_id(2), log_index(1), log_index(4)));
        // Others go on, and keep going after the damaged file is set aside.
        auto r1 = (*s)->read(group_id(1), log_index(1), log_index(16));
        ASSERT_TRUE(r1);
        EXPECT_EQ(r1->size(), 16u);
        ASSERT_TRUE((*s)->append(group_id(1), std::vector<entry>{make_entry(1, 17 + round, 1)}));
        ASSERT_EQ(wait_notices(**s, 1).size(), 1u);
        ASSERT_TRUE((*s)->sync_segments());
    }
    EXPECT_TRUE(path_exists(paths::quarantine_dir(dir.path())));
}

TEST(StorageRecovery, HeaderDamageInTheMiddleStopsEveryGroup) {
    scratch_dir dir;
    write_rounds(dir.path(), 3);
    const std::string wal = last_wal(dir.path());
    const auto batches = batch_offsets(wal);
    // Damage the group field of batch 2's first record: whose is it?
    flip_bit(wal, batches[2] + format::batch_header_size + 20, 0);
    auto s = log_store::open(small_options(dir.path()));
    ASSERT_TRUE(s);
    for (const auto& rec : (*s)->recovered()) {
        EXPECT_NE(rec.error.find("offset"), std::string::npos) << rec.error;
    }
    EXPECT_EQ((*s)->recovered().size(), 3u);
    // A new group is unaffected.
    ASSERT_TRUE((*s)->append(group_id(50), std::vector<entry>{make_entry(50, 1, 1)}));
    EXPECT_EQ(wait_notices(**s, 1).size(), 1u);
}

void write_segment_group(const std::string& dir, uint64_t count) {
    auto s = log_store::open(small_options(dir));
    ASSERT_TRUE(s);
    std::vector<entry> v;
    for (uint64_t i = 1; i <= count; ++i) {
        v.push_back(make_entry(4, i, 1));
    }
    ASSERT_TRUE((*s)->append(group_id(4), v));
    ASSERT_EQ(wait_notices(**s, 1).size(), 1u);
    ASSERT_TRUE((*s)->sync_segments());
}

// The first record whose payload has at least 2 bytes.
uint64_t first_record_with_payload(const std::string& seg) {
    auto data = read_whole_file(seg);
    uint64_t pos = format::file_header_size;
    for (;;) {
        auto h = format::decode_record_header(bytes_view(*data).subspan(pos));
        EXPECT_TRUE(h);
        if (h->payload_len >= 2) {
            return pos;
        }
        pos += format::record_size(*h);
    }
}

TEST(StorageRecovery, SegmentDamageIsReportedOnReadWithFileAndOffset) {
    scratch_dir dir;
    write_segment_group(dir.path(), 350);  // ~120 KiB: the index covers the start
    const std::string seg = segment::data_path(paths::group_dir(dir.path(), 4), 1);
    ASSERT_TRUE(path_exists(seg));
    const uint64_t rec = first_record_with_payload(seg);
    flip_bit(seg, rec + format::record_header_size + 1, 5);
    auto s = log_store::open(small_options(dir.path()));
    ASSERT_TRUE(s);
    auto r = (*s)->read(group_id(4), log_index(1), log_index(50));
    ASSERT_FALSE(r);
    EXPECT_NE(r.err().message.find(seg), std::string::npos) << r.err().message;
    EXPECT_NE(r.err().message.find("offset " + std::to_string(rec)), std::string::npos)
        << r.err().message;
}

TEST(StorageRecovery, SegmentTailDamageWithoutItsWalStopsTheGroupAtStart) {
    scratch_dir dir;
    write_segment_group(dir.path(), 20);  // small: start-up scans all of it
    const std::string seg = segment::data_path(paths::group_dir(dir.path(), 4), 1);
    const uint64_t rec = first_record_with_payload(seg);
    flip_bit(seg, rec + format::record_header_size + 1, 5);
    auto s = log_store::open(small_options(dir.path()));
    ASSERT_TRUE(s);
    ASSERT_EQ((*s)->recovered().size(), 1u);
    const auto& err = (*s)->recovered()[0].error;
    EXPECT_NE(err.find(seg), std::string::npos) << err;
    EXPECT_NE(err.find("offset " + std::to_string(rec)), std::string::npos) << err;
    EXPECT_FALSE((*s)->read(group_id(4), log_index(1), log_index(20)));
}

}  // namespace
}  // namespace qmq::storage
