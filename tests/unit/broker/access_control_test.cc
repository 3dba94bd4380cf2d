#include "broker/access_control.h"

#include <gtest/gtest.h>

#include "broker/password.h"

namespace qmq::broker {
namespace {

config sample() {
    config c = config::defaults();
    c.vhosts.push_back("prod");
    c.users.push_back({"bob", hash_password("secret", {9, 8, 7, 6}), {}});
    c.users.push_back({"eve", hash_password("x", {1, 1, 1, 1}), {}});
    c.permissions.push_back({"bob", "prod", "^bob-", "^(amq\\.default|bob-.*)$", "^bob-"});
    c.permissions.push_back({"eve", "prod", "", "", ""});
    return c;
}

TEST(AccessControl, GuestOnlyFromLoopback) {
    access_control ac(sample());
    EXPECT_TRUE(ac.login("guest", "guest", true).allowed);
    auto remote = ac.login("guest", "guest", false);
    EXPECT_FALSE(remote.allowed);
    EXPECT_EQ(remote.reply_code, 403);
    EXPECT_NE(remote.text.find("localhost"), std::string::npos);
    EXPECT_TRUE(ac.login("bob", "secret", false).allowed);
}

TEST(AccessControl, WrongPasswordOrUnknownUserIs403) {
    access_control ac(sample());
    EXPECT_EQ(ac.login("bob", "nope", true).reply_code, 403);
    EXPECT_EQ(ac.login("nobody", "x", true).reply_code, 403);
}

TEST(AccessControl, VhostOpenIs530WhenUnknownOrNoPermissions) {
    access_control ac(sample());
    EXPECT_TRUE(ac.open_vhost("guest", "/").allowed);
    EXPECT_EQ(ac.open_vhost("guest", "nope").reply_code, 530);
    EXPECT_EQ(ac.open_vhost("guest", "prod").reply_code, 530);  // no permissions there
    EXPECT_TRUE(ac.open_vhost("bob", "prod").allowed);
}

TEST(AccessControl, RegexesAreUnanchoredSearchesAndEmptyGrantsNothing) {
    access_control ac(sample());
    EXPECT_TRUE(
        ac.check("bob", "prod", permission::configure, resource_kind::queue, "bob-q").allowed);
    EXPECT_FALSE(
        ac.check("bob", "prod", permission::configure, resource_kind::queue, "x-bob-q").allowed);
    // The default exchange is checked under the name amq.default.
    EXPECT_TRUE(ac.check("bob", "prod", permission::write, resource_kind::exchange, "").allowed);
    auto denied = ac.check("bob", "prod", permission::write, resource_kind::exchange, "amq.topic");
    EXPECT_FALSE(denied.allowed);
    EXPECT_EQ(denied.reply_code, 403);
    EXPECT_EQ(denied.text,
              "ACCESS_REFUSED - write access to exchange 'amq.topic' in vhost 'prod' refused for "
              "user 'bob'");
    EXPECT_FALSE(ac.check("eve", "prod", permission::read, resource_kind::queue, "q").allowed);
    // Unanchored: "bob-" matches anywhere at start only because of ^; ".*" matches all.
    EXPECT_TRUE(ac.check("guest", "/", permission::read, resource_kind::queue, "any").allowed);
}

TEST(AccessControl, MalformedRegexGrantsNothing) {
    config c = config::defaults();
    c.permissions.push_back({"guest", "/", "(", "(", "("});
    access_control ac(c);
    EXPECT_FALSE(ac.check("guest", "/", permission::read, resource_kind::queue, "q").allowed);
}

}  // namespace
}  // namespace qmq::broker
