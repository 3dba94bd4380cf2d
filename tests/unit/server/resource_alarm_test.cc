#include "server/resource_alarm.h"

#include <gtest/gtest.h>

namespace qmq::server {
namespace {

TEST(ResourceAlarms, MemoryRaisesAndClearsOnce) {
    resource_alarms alarms({1000, 0});
    EXPECT_TRUE(alarms.update({500, 10}).empty());
    auto up = alarms.update({1500, 10});
    ASSERT_EQ(up.size(), 1u);
    EXPECT_EQ(up[0].which, alarm_change::resource::memory);
    EXPECT_TRUE(up[0].raised);
    EXPECT_NE(up[0].text.find("1500"), std::string::npos);
    EXPECT_TRUE(alarms.memory_alarm());
    EXPECT_TRUE(alarms.any());
    EXPECT_TRUE(alarms.update({2000, 10}).empty()) << "no repeat while still above";
    auto down = alarms.update({999, 10});
    ASSERT_EQ(down.size(), 1u);
    EXPECT_FALSE(down[0].raised);
    EXPECT_FALSE(alarms.any());
}

TEST(ResourceAlarms, DiskBelowLimit) {
    resource_alarms alarms({~0ull, 100});
    auto up = alarms.update({0, 99});
    ASSERT_EQ(up.size(), 1u);
    EXPECT_EQ(up[0].which, alarm_change::resource::disk);
    EXPECT_TRUE(alarms.disk_alarm());
    // A failed statvfs keeps the state.
    EXPECT_TRUE(alarms.update({0, std::nullopt}).empty());
    EXPECT_TRUE(alarms.disk_alarm());
    auto down = alarms.update({0, 100});
    ASSERT_EQ(down.size(), 1u);
    EXPECT_FALSE(down[0].raised);
    EXPECT_FALSE(alarms.any());
}

TEST(ResourceAlarms, WalRefusingWritesRaisesTheDiskAlarmWhateverTheFreeSpace) {
    resource_alarms alarms({~0ull, 0});  // no free-space limit at all
    auto up = alarms.update({0, 1'000'000, std::string("No space left on device")});
    ASSERT_EQ(up.size(), 1u);
    EXPECT_EQ(up[0].which, alarm_change::resource::disk);
    EXPECT_TRUE(up[0].raised);
    EXPECT_NE(up[0].text.find("write-ahead log refuses writes (No space left on device)"),
              std::string::npos)
        << up[0].text;
    EXPECT_TRUE(alarms.disk_alarm());
    EXPECT_TRUE(alarms.update({0, 1'000'000, std::string("again")}).empty());
    auto down = alarms.update({0, 1'000'000, std::nullopt});
    ASSERT_EQ(down.size(), 1u);
    EXPECT_FALSE(down[0].raised);
    EXPECT_FALSE(alarms.any());
}

TEST(ResourceAlarms, LowDiskAndWalRefusalAreClearedIndependently) {
    resource_alarms alarms({~0ull, 100});
    EXPECT_EQ(alarms.update({0, 50, std::string("EIO")}).size(), 2u);
    EXPECT_EQ(alarms.update({0, 500, std::string("EIO")}).size(), 1u) << "free space is back";
    EXPECT_TRUE(alarms.disk_alarm()) << "the WAL still refuses";
    EXPECT_EQ(alarms.update({0, 500, std::nullopt}).size(), 1u);
    EXPECT_FALSE(alarms.disk_alarm());
}

TEST(ResourceAlarms, BothAtOnce) {
    resource_alarms alarms({10, 10});
    auto up = alarms.update({11, 9});
    EXPECT_EQ(up.size(), 2u);
    EXPECT_TRUE(alarms.memory_alarm());
    EXPECT_TRUE(alarms.disk_alarm());
    auto down = alarms.update({10, 9});
    ASSERT_EQ(down.size(), 1u) << "only memory cleared";
    EXPECT_TRUE(alarms.any());
}

TEST(ResourceReadings, RealValuesArePlausible) {
    const uint64_t rss = read_rss_bytes();
    EXPECT_GT(rss, 100u * 1024);
    EXPECT_LT(rss, total_memory_bytes());
    auto free = read_disk_free_bytes("/");
    ASSERT_TRUE(free.has_value());
    EXPECT_FALSE(read_disk_free_bytes("/nonexistent/dir/x").has_value());
}

}  // namespace
}  // namespace qmq::server
