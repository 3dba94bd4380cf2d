#include "broker/dead_letter.h"

#include <gtest/gtest.h>

namespace qmq::broker {
namespace {

message original() {
    message m;
    m.exchange = "orders";
    m.routing_key = "new";
    m.content.properties.expiration = "5000";
    return m;
}

const amqp::field_table& death(const message& m, std::size_t i) {
    const amqp::field_array* a = m.content.properties.headers->get_array("x-death");
    EXPECT_NE(a, nullptr);
    EXPECT_LT(i, a->size());
    return *(*a)[i].get_if<amqp::field_table>();
}

TEST(DeadLetter, FirstDeathWritesRabbitMqFields) {
    auto d = make_dead_lettered(original(), "work", queue::dead_letter_reason::expired,
                                1'700'000'000'123, "dlx", "dead");
    EXPECT_EQ(d->exchange, "dlx");
    EXPECT_EQ(d->routing_key, "dead");
    EXPECT_FALSE(d->content.properties.expiration.has_value());
    const auto& e = death(*d, 0);
    EXPECT_EQ(e.get_int("count"), 1);
    EXPECT_EQ(*e.get_string("reason"), "expired");
    EXPECT_EQ(*e.get_string("queue"), "work");
    EXPECT_EQ(*e.get_string("exchange"), "orders");
    EXPECT_EQ(*e.get_string("original-expiration"), "5000");
    EXPECT_EQ(e.find("time")->get_if<amqp::timestamp_value>()->seconds, 1'700'000'000u);
    EXPECT_EQ(*d->content.properties.headers->get_string("x-first-death-queue"), "work");
    EXPECT_EQ(*d->content.properties.headers->get_string("x-last-death-reason"), "expired");
}

TEST(DeadLetter, SameQueueAndReasonIncrementsAndMovesToHead) {
    auto once =
        make_dead_lettered(original(), "a", queue::dead_letter_reason::rejected, 0, "", "b");
    auto twice = make_dead_lettered(*once, "b", queue::dead_letter_reason::rejected, 0, "", "a");
    auto thrice = make_dead_lettered(*twice, "a", queue::dead_letter_reason::rejected, 0, "", "b");
    const amqp::field_array* a = thrice->content.properties.headers->get_array("x-death");
    ASSERT_EQ(a->size(), 2u);
    EXPECT_EQ(*death(*thrice, 0).get_string("queue"), "a");
    EXPECT_EQ(death(*thrice, 0).get_int("count"), 2);
    EXPECT_EQ(*death(*thrice, 1).get_string("queue"), "b");
    EXPECT_EQ(death(*thrice, 1).get_int("count"), 1);
    // x-first-death-* keep the first one.
    EXPECT_EQ(*thrice->content.properties.headers->get_string("x-first-death-queue"), "a");
    EXPECT_EQ(*thrice->content.properties.headers->get_string("x-last-death-queue"), "a");
}

TEST(DeadLetter, CycleWithoutRejectionIsDetected) {
    auto expired =
        make_dead_lettered(original(), "a", queue::dead_letter_reason::expired, 0, "", "a");
    EXPECT_TRUE(dead_letter_cycle(*expired, "a"));
    EXPECT_FALSE(dead_letter_cycle(*expired, "other"));
    auto rejected =
        make_dead_lettered(original(), "a", queue::dead_letter_reason::rejected, 0, "", "a");
    EXPECT_FALSE(dead_letter_cycle(*rejected, "a"));
}

}  // namespace
}  // namespace qmq::broker
