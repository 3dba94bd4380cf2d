#include "server/broker_config.h"

#include <gtest/gtest.h>

#include "broker/password.h"

namespace qmq::server {
namespace {

TEST(BrokerConfig, NoUsersMeansGuestOnSlash) {
    server_config c;
    auto b = make_broker_config(c);
    ASSERT_EQ(b.users.size(), 1u);
    EXPECT_EQ(b.users[0].name, "guest");
    EXPECT_TRUE(broker::check_password("guest", b.users[0].password_hash));
    EXPECT_EQ(b.vhosts, std::vector<std::string>{"/"});
    EXPECT_EQ(b.limits.message_size_max, message_size_max_default);
}

TEST(BrokerConfig, PlainPasswordsAreHashedWithFreshSalt) {
    server_config c;
    c.users.push_back({"alice", "", std::string("s3cret"), {"administrator"}});
    c.users.push_back({"bob", "", std::string("s3cret"), {}});
    c.vhosts = {"/prod", "/"};
    c.permissions.push_back({"alice", "/prod", ".*", "^amq", ""});
    c.message_size_max = 4096;
    c.consumers_per_channel_max = 3;
    auto b = make_broker_config(c);
    ASSERT_EQ(b.users.size(), 2u);
    EXPECT_TRUE(broker::check_password("s3cret", b.users[0].password_hash));
    EXPECT_FALSE(broker::check_password("S3cret", b.users[0].password_hash));
    EXPECT_NE(b.users[0].password_hash, b.users[1].password_hash) << "salted";
    EXPECT_EQ(b.users[0].tags, std::vector<std::string>{"administrator"});
    EXPECT_EQ(b.vhosts, (std::vector<std::string>{"/prod", "/"}));
    ASSERT_EQ(b.permissions.size(), 1u);
    EXPECT_EQ(b.permissions[0].write, "^amq");
    EXPECT_EQ(b.permissions[0].read, "");
    EXPECT_EQ(b.limits.message_size_max, 4096u);
    EXPECT_EQ(b.limits.consumers_per_channel_max, 3u);
}

TEST(BrokerConfig, StoredHashPassesThrough) {
    server_config c;
    const std::string hash = broker::hash_password("pw", {1, 2, 3, 4});
    c.users.push_back({"carol", hash, std::nullopt, {}});
    auto b = make_broker_config(c);
    ASSERT_EQ(b.users.size(), 1u);
    EXPECT_EQ(b.users[0].password_hash, hash);
    EXPECT_EQ(b.vhosts, std::vector<std::string>{"/"}) << "'/' always exists";
}

}  // namespace
}  // namespace qmq::server
