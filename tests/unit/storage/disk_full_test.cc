// Write errors: a full disk (a tiny tmpfs the test mounts) and injected EIO.
// The error reaches the caller with a clear message, the store refuses
// further writes instead of retrying or losing data, and resumes by itself
// once space is back; nothing acknowledged is lost.

#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "storage/file.h"
#include "storage/log_store.h"
#include "unit/storage/test_util.h"

namespace qmq::storage {
namespace {

using test::make_entry;
using test::scratch_dir;

constexpr std::size_t entry_bytes_max = 16 * 1024;

log_store_options tiny_options(const std::string& dir) {
    auto o = test::small_options(dir);
    o.wal_file_bytes_max = 512 * 1024;
    o.segment_bytes_max = 256 * 1024;
    o.write_retry_ms = 20;
    return o;
}

entry big_entry(uint64_t index) {
    return make_entry(1, index, 1, entry_bytes_max);
}

// Appends one entry at a time until one fails; returns the failed notice.
std::optional<durable_notice> fill_until_failure(log_store& s, uint64_t& next, int tries_max) {
    for (int k = 0; k < tries_max; ++k) {
        if (!s.append(group_id(1), std::vector<entry>{big_entry(next)})) {
            return std::nullopt;
        }
        auto n = test::wait_notices(s, 1);
        if (n.size() != 1) {
            return std::nullopt;
        }
        if (!n[0].durable) {
            return n[0];
        }
        ++next;
    }
    return std::nullopt;
}

// Retries an append until the store takes it again (bounded).
bool append_when_resumed(log_store& s, uint64_t index) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
        if (s.append(group_id(1), std::vector<entry>{big_entry(index)})) {
            auto n = test::wait_notices(s, 1);
            return n.size() == 1 && n[0].durable;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

void expect_intact(const std::string& dir, uint64_t last) {
    auto s = log_store::open(tiny_options(dir));
    ASSERT_TRUE(s) << s.err().message;
    auto info = (*s)->info(group_id(1));
    ASSERT_TRUE(info && *info);
    EXPECT_GE((*info)->last.value, last);
    for (uint64_t i = 1; i <= (*info)->last.value; ++i) {
        auto r = (*s)->read(group_id(1), log_index(i), log_index(i));
        ASSERT_TRUE(r) << r.err().message;
        ASSERT_EQ(r->size(), 1u);
        EXPECT_EQ((*r)[0], big_entry(i));
    }
}

TEST(StorageDiskFull, TinyTmpfsRefusesThenResumesWhenSpaceIsFreed) {
    scratch_dir mnt;
    if (::mount("tmpfs", mnt.path().c_str(), "tmpfs", 0, "size=3m") != 0) {
        GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno)
                     << "); StorageDiskFull.InjectedEioRefusesThenResumes covers the path";
    }
    struct unmount_at_end {
        std::string path;
        ~unmount_at_end() { ::umount2(path.c_str(), MNT_DETACH); }
    } guard{mnt.path()};
    const std::string dir = mnt.path() + "/data";
    const std::string filler = mnt.path() + "/filler";
    {
        std::ofstream f(filler, std::ios::binary);
        std::string mib(1 << 20, 'x');
        f.write(mib.data(), static_cast<std::streamsize>(mib.size()));
    }
    uint64_t next = 1;
    {
        auto s = log_store::open(tiny_options(dir));
        ASSERT_TRUE(s) << s.err().message;
        auto failed = fill_until_failure(**s, next, 400);
        ASSERT_TRUE(failed) << "the disk never filled up";
        EXPECT_NE(failed->error.find("No space left on device (ENOSPC)"), std::string::npos)
            << failed->error;
        EXPECT_EQ(failed->first.value, next);
        // Refused, not queued: nothing retries in the background.
        auto refused = (*s)->append(group_id(1), std::vector<entry>{big_entry(next)});
        ASSERT_FALSE(refused);
        EXPECT_NE(refused.err().message.find("ENOSPC"), std::string::npos) << refused.err().message;
        ASSERT_TRUE((*s)->write_error());
        auto info = (*s)->info(group_id(1));
        ASSERT_TRUE(info && *info);
        EXPECT_EQ((*info)->last.value, next - 1);  // cut back to what is durable
        // Free space; writing resumes without a restart.
        std::filesystem::remove(filler);
        ASSERT_TRUE(append_when_resumed(**s, next)) << "writes did not resume";
        EXPECT_FALSE((*s)->write_error());
        ++next;
    }
    expect_intact(dir, next - 1);
}

TEST(StorageDiskFull, InjectedEioRefusesThenResumes) {
    scratch_dir dir;
    uint64_t next = 1;
    {
        auto s = log_store::open(tiny_options(dir.path()));
        ASSERT_TRUE(s);
        for (; next <= 5; ++next) {
            ASSERT_TRUE((*s)->append(group_id(1), std::vector<entry>{big_entry(next)}));
            ASSERT_EQ(test::wait_notices(**s, 1).size(), 1u);
        }
        inject_write_errno(EIO);
        ASSERT_TRUE((*s)->append(group_id(1), std::vector<entry>{big_entry(next)}));
        auto n = test::wait_notices(**s, 1);
        ASSERT_EQ(n.size(), 1u);
        EXPECT_FALSE(n[0].durable);
        EXPECT_NE(n[0].error.find("Input/output error (EIO)"), std::string::npos) << n[0].error;
        EXPECT_FALSE((*s)->append(group_id(1), std::vector<entry>{big_entry(next)}));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // retries fail meanwhile
        EXPECT_TRUE((*s)->write_error());
        inject_write_errno(0);
        ASSERT_TRUE(append_when_resumed(**s, next)) << "writes did not resume";
        ++next;
    }
    expect_intact(dir.path(), next - 1);
}

}  // namespace
}  // namespace qmq::storage
