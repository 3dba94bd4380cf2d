#include "server/data_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace qmq::server {
namespace {

class DataDir : public testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/qmq-datadir-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        _root = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(_root); }
    std::string _root;
};

TEST_F(DataDir, CreatesNestedDirectory) {
    const std::string dir = _root + "/a/b";
    auto lock = data_dir_lock::acquire(dir);
    ASSERT_TRUE(lock.ok()) << lock.err().message;
    EXPECT_TRUE(std::filesystem::is_directory(dir));
    std::ifstream pid_file(dir + "/LOCK");
    long pid = 0;
    pid_file >> pid;
    EXPECT_EQ(pid, static_cast<long>(getpid()));
}

TEST_F(DataDir, SecondLockRefusedUntilFirstReleased) {
    {
        auto first = data_dir_lock::acquire(_root);
        ASSERT_TRUE(first.ok());
        auto second = data_dir_lock::acquire(_root);
        ASSERT_FALSE(second.ok());
        EXPECT_NE(second.err().message.find("in use by another quorummq-server"), std::string::npos)
            << second.err().message;
        EXPECT_NE(second.err().message.find(std::to_string(getpid())), std::string::npos);
    }
    auto again = data_dir_lock::acquire(_root);
    EXPECT_TRUE(again.ok()) << "released with the first lock";
}

TEST_F(DataDir, FileInTheWayIsUnusable) {
    const std::string file = _root + "/file";
    std::ofstream(file) << "x";
    auto lock = data_dir_lock::acquire(file);
    ASSERT_FALSE(lock.ok());
    EXPECT_NE(lock.err().message.find("unusable data dir"), std::string::npos);
    EXPECT_NE(lock.err().message.find(file), std::string::npos);
    auto under = data_dir_lock::acquire(file + "/sub");
    ASSERT_FALSE(under.ok());
    EXPECT_NE(under.err().message.find("cannot create"), std::string::npos) << under.err().message;
}

}  // namespace
}  // namespace qmq::server
