#include "broker/queue_args.h"

#include <gtest/gtest.h>

namespace qmq::broker {
namespace {

const char* what = "queue 'q' in vhost '/'";

std::string error_of(const amqp::field_table& args) {
    auto r = parse_queue_args(args, what);
    EXPECT_FALSE(r.ok());
    if (r.ok())
        return "";
    EXPECT_EQ(r.err().code, 406);
    return r.err().message;
}

TEST(QueueArgs, ParsesKnownArguments) {
    auto r = parse_queue_args({{"x-message-ttl", 1000},
                               {"x-expires", int64_t{60000}},
                               {"x-max-length", int16_t{10}},
                               {"x-max-length-bytes", 1 << 20},
                               {"x-overflow", "reject-publish"},
                               {"x-max-priority", uint8_t{9}},
                               {"x-single-active-consumer", true},
                               {"x-dead-letter-exchange", "dlx"},
                               {"x-dead-letter-routing-key", "dead"},
                               {"x-queue-type", "classic"},
                               {"x-custom-thing", "kept"}},
                              what);
    ASSERT_TRUE(r.ok()) << r.err().message;
    const auto& m = r->machine;
    EXPECT_EQ(m.message_ttl_ms, 1000u);
    EXPECT_EQ(m.expires_ms, 60000u);
    EXPECT_EQ(m.max_length, 10u);
    EXPECT_EQ(m.max_length_bytes, 1u << 20);
    EXPECT_EQ(m.overflow, queue::overflow_policy::reject_publish);
    EXPECT_EQ(m.max_priority, 9);
    EXPECT_TRUE(m.single_active_consumer);
    EXPECT_EQ(m.dead_letter, queue::dead_letter_strategy::at_most_once);
    EXPECT_EQ(r->dead_letter_exchange, "dlx");
    EXPECT_EQ(r->dead_letter_routing_key, "dead");
}

TEST(QueueArgs, ErrorsNameTheArgument) {
    EXPECT_EQ(error_of({{"x-message-ttl", "soon"}}),
              "PRECONDITION_FAILED - invalid arg 'x-message-ttl' for queue 'q' in vhost '/': "
              "{unacceptable_type,longstr}");
    EXPECT_EQ(error_of({{"x-expires", 0}}),
              "PRECONDITION_FAILED - invalid arg 'x-expires' for queue 'q' in vhost '/': "
              "{value_zero,0}");
    EXPECT_NE(error_of({{"x-max-length", -1}}).find("'x-max-length'"), std::string::npos);
    EXPECT_NE(error_of({{"x-max-priority", 256}}).find("{value_too_large,256,255}"),
              std::string::npos);
    EXPECT_NE(error_of({{"x-overflow", "explode"}}).find("'x-overflow'"), std::string::npos);
    EXPECT_NE(error_of({{"x-single-active-consumer", 1}}).find("'x-single-active-consumer'"),
              std::string::npos);
    EXPECT_NE(error_of({{"x-dead-letter-routing-key", "k"}}).find("'x-dead-letter-routing-key'"),
              std::string::npos);
    EXPECT_NE(error_of({{"x-queue-type", "weird"}}).find("'x-queue-type'"), std::string::npos);
}

TEST(QueueArgs, QuorumIsRefusedAsNotSupportedYet) {
    const std::string e = error_of({{"x-queue-type", "quorum"}});
    EXPECT_NE(e.find("not supported yet"), std::string::npos);
    EXPECT_NE(e.find("x-queue-type"), std::string::npos);
}

TEST(QueueArgs, Expiration) {
    EXPECT_EQ(*parse_expiration("0"), 0u);
    EXPECT_EQ(*parse_expiration("60000"), 60000u);
    EXPECT_FALSE(parse_expiration("").ok());
    EXPECT_FALSE(parse_expiration("-1").ok());
    EXPECT_FALSE(parse_expiration("1s").ok());
    EXPECT_FALSE(parse_expiration("99999999999").ok());
}

}  // namespace
}  // namespace qmq::broker
