#include "storage/state_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "storage/paths.h"
#include "unit/storage/test_util.h"

namespace qmq::storage {
namespace {

using test::scratch_dir;

TEST(StateStore, HardStateAndConfigRoundTripAndReplace) {
    scratch_dir dir;
    state_store st(dir.path());
    auto none = st.load_hard_state(group_id(3));
    ASSERT_TRUE(none);
    EXPECT_FALSE(*none);
    ASSERT_TRUE(st.save_hard_state(group_id(3), {term_t(4), 2}));
    ASSERT_TRUE(st.save_hard_state(group_id(3), {term_t(5), 0}));
    ASSERT_TRUE(st.save_config(group_id(3), as_bytes("voters=1,2,3")));
    state_store again(dir.path());
    auto hs = again.load_hard_state(group_id(3));
    ASSERT_TRUE(hs && *hs);
    EXPECT_EQ(**hs, (hard_state{term_t(5), 0}));
    auto cfg = again.load_config(group_id(3));
    ASSERT_TRUE(cfg && *cfg);
    EXPECT_EQ(as_string_view(**cfg), "voters=1,2,3");
    // No temp file is left behind.
    for (const auto& e : std::filesystem::directory_iterator(paths::group_dir(dir.path(), 3))) {
        EXPECT_NE(e.path().extension(), ".tmp");
    }
}

TEST(StateStore, DamagedHardStateIsAnErrorNotAGuess) {
    scratch_dir dir;
    state_store st(dir.path());
    ASSERT_TRUE(st.save_hard_state(group_id(1), {term_t(9), 1}));
    const std::string path = paths::group_dir(dir.path(), 1) + "/hard_state";
    auto data = read_whole_file(path);
    ASSERT_TRUE(data);
    (*data)[14] ^= std::byte{0x10};
    ASSERT_TRUE(write_file_atomically(path, *data));
    auto hs = st.load_hard_state(group_id(1));
    ASSERT_FALSE(hs);
    EXPECT_NE(hs.err().message.find(path), std::string::npos) << hs.err().message;
}

TEST(StateStore, SnapshotsAreWrittenAndReadInChunks) {
    scratch_dir dir;
    state_store st(dir.path());
    snapshot_meta m{log_index(1000), term_t(7),
                    bytes(as_bytes("cfg").begin(), as_bytes("cfg").end())};
    {
        auto w = st.begin_snapshot(group_id(2), m);
        ASSERT_TRUE(w);
        for (int i = 0; i < 50; ++i) {
            bytes chunk(1000 + i, std::byte(i));
            ASSERT_TRUE((*w)->write(chunk));
        }
        ASSERT_TRUE((*w)->commit());
    }
    auto r = st.open_snapshot(group_id(2));
    ASSERT_TRUE(r && *r);
    EXPECT_EQ((*r)->meta(), m);
    for (int i = 0; i < 50; ++i) {
        auto c = (*r)->next_chunk();
        ASSERT_TRUE(c) << c.err().message;
        ASSERT_EQ(*c, bytes(1000 + i, std::byte(i)));
    }
    auto end = (*r)->next_chunk();
    ASSERT_TRUE(end);
    EXPECT_TRUE(end->empty());
}

TEST(StateStore, UncommittedSnapshotLeavesThePreviousOne) {
    scratch_dir dir;
    state_store st(dir.path());
    {
        auto w = st.begin_snapshot(group_id(2), {log_index(10), term_t(1), {}});
        ASSERT_TRUE(w);
        ASSERT_TRUE((*w)->write(bytes(10, std::byte{1})));
        ASSERT_TRUE((*w)->commit());
    }
    {
        auto w = st.begin_snapshot(group_id(2), {log_index(20), term_t(2), {}});
        ASSERT_TRUE(w);
        ASSERT_TRUE((*w)->write(bytes(10, std::byte{2})));
        // Abandoned (a crash or an error): no commit.
    }
    auto r = st.open_snapshot(group_id(2));
    ASSERT_TRUE(r && *r);
    EXPECT_EQ((*r)->meta().index, log_index(10));
    auto c = (*r)->next_chunk();
    ASSERT_TRUE(c);
    EXPECT_EQ(*c, bytes(10, std::byte{1}));
}

TEST(StateStore, DamagedSnapshotChunkIsReportedWithOffset) {
    scratch_dir dir;
    state_store st(dir.path());
    {
        auto w = st.begin_snapshot(group_id(5), {log_index(3), term_t(1), {}});
        ASSERT_TRUE(w);
        ASSERT_TRUE((*w)->write(bytes(100, std::byte{7})));
        ASSERT_TRUE((*w)->write(bytes(100, std::byte{8})));
        ASSERT_TRUE((*w)->commit());
    }
    const std::string path = paths::group_dir(dir.path(), 5) + "/snapshot";
    auto data = read_whole_file(path);
    ASSERT_TRUE(data);
    (*data)[data->size() - 20 - 5] ^= std::byte{1};  // inside the second chunk
    ASSERT_TRUE(write_file_atomically(path, *data));
    auto r = st.open_snapshot(group_id(5));
    ASSERT_TRUE(r && *r);
    ASSERT_TRUE((*r)->next_chunk());
    auto bad = (*r)->next_chunk();
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.err().message.find("offset"), std::string::npos);
    EXPECT_NE(bad.err().message.find("checksum"), std::string::npos);
}

}  // namespace
}  // namespace qmq::storage
