// access_control caches regex decisions per resource name (permissions are
// fixed for the broker's lifetime): the cached answers must be the regex's.

#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "broker/access_control.h"
#include "broker/password.h"

namespace qmq::broker {
namespace {

config sample() {
    config c = config::defaults();
    c.vhosts.push_back("prod");
    c.users.push_back({"bob", hash_password("secret", {9, 8, 7, 6}), {}});
    c.permissions.push_back({"bob", "prod", "^bob-", "^(amq\\.default|bob-[0-9]*7)$", ".*"});
    return c;
}

TEST(AccessCache, RepeatedChecksGiveTheRegexAnswer) {
    access_control ac(sample());
    for (int round = 0; round < 3; ++round) {
        EXPECT_TRUE(
            ac.check("bob", "prod", permission::write, resource_kind::exchange, "").allowed);
        EXPECT_TRUE(
            ac.check("bob", "prod", permission::write, resource_kind::exchange, "bob-17").allowed);
        auto no = ac.check("bob", "prod", permission::write, resource_kind::exchange, "bob-18");
        EXPECT_FALSE(no.allowed);
        EXPECT_EQ(no.reply_code, 403);
        EXPECT_NE(no.text.find("'bob-18'"), std::string::npos);
        // Same name, other permission: its own regex, not write's cache.
        EXPECT_TRUE(
            ac.check("bob", "prod", permission::configure, resource_kind::queue, "bob-18").allowed);
    }
}

TEST(AccessCache, ManyNamesBeyondTheCacheBoundStayCorrect) {
    access_control ac(sample());
    const std::regex re("^(amq\\.default|bob-[0-9]*7)$");
    // More distinct names than the cache holds, twice over: it starts over
    // when full and every answer still matches the regex.
    for (int pass = 0; pass < 2; ++pass) {
        for (int i = 0; i < 10000; ++i) {
            const std::string name = "bob-" + std::to_string(i);
            const bool want = std::regex_search(name, re);
            EXPECT_EQ(
                ac.check("bob", "prod", permission::write, resource_kind::queue, name).allowed,
                want)
                << name;
        }
    }
}

TEST(AccessCache, MatchAllAndEmptyPermissions) {
    config c = sample();
    c.users.push_back({"eve", hash_password("x", {1, 1, 1, 1}), {}});
    c.permissions.push_back({"eve", "prod", "", "", ""});
    access_control ac(c);
    EXPECT_TRUE(
        ac.check("bob", "prod", permission::read, resource_kind::queue, "anything").allowed);
    EXPECT_TRUE(ac.check("guest", "/", permission::write, resource_kind::exchange, "x").allowed);
    EXPECT_FALSE(ac.check("eve", "prod", permission::read, resource_kind::queue, "q").allowed);
    EXPECT_FALSE(ac.check("eve", "prod", permission::read, resource_kind::queue, "q").allowed);
}

}  // namespace
}  // namespace qmq::broker
