#include "loadgen/options.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

#include "loadgen/message.h"

namespace qmq::bench {
namespace {

result<options> parse(std::initializer_list<const char*> args) {
    std::vector<const char*> argv{"quorummq-bench"};
    argv.insert(argv.end(), args.begin(), args.end());
    return parse_options(static_cast<int>(argv.size()), argv.data());
}

TEST(Options, Defaults) {
    auto o = parse({});
    ASSERT_TRUE(o.ok()) << o.err().message;
    EXPECT_EQ(o->uris.size(), 1u);
    EXPECT_EQ(o->producers, 1u);
    EXPECT_EQ(o->consumers, 1u);
    EXPECT_EQ(o->queues, 1u);
    EXPECT_EQ(o->size, 1024u);
    EXPECT_EQ(o->confirm, 0u);
    EXPECT_FALSE(o->persistent);
    EXPECT_EQ(o->rate, 0);
    EXPECT_EQ(o->duration_s, 10);
}

TEST(Options, EveryOptionIsParsed) {
    auto o = parse({"--uri",
                    "amqp://a:b@h1:1/v,amqp://a:b@h2:2/v",
                    "--uri",
                    "amqp://h3",
                    "-x",
                    "4",
                    "-y",
                    "5",
                    "-q",
                    "6",
                    "--queue-prefix",
                    "pfx",
                    "--queue-type",
                    "quorum",
                    "--queue-arg",
                    "x-max-length=1000",
                    "--queue-arg",
                    "x-overflow=reject-publish",
                    "--durable",
                    "--keep-queues",
                    "-e",
                    "ex",
                    "-t",
                    "fanout",
                    "-s",
                    "4096",
                    "-f",
                    "-c",
                    "100",
                    "-Q",
                    "500",
                    "-A",
                    "50",
                    "-r",
                    "1000.5",
                    "-z",
                    "7.5",
                    "--drain-timeout",
                    "9",
                    "--broker-pid",
                    "123",
                    "--broker-pid",
                    "456",
                    "--broker-data-dir",
                    "/d",
                    "--json",
                    "-",
                    "--label",
                    "l",
                    "--quiet"});
    ASSERT_TRUE(o.ok()) << o.err().message;
    EXPECT_EQ(o->uris,
              (std::vector<std::string>{"amqp://a:b@h1:1/v", "amqp://a:b@h2:2/v", "amqp://h3"}));
    EXPECT_EQ(o->producers, 4u);
    EXPECT_EQ(o->consumers, 5u);
    EXPECT_EQ(o->queues, 6u);
    EXPECT_EQ(o->queue_prefix, "pfx");
    EXPECT_EQ(o->queue_type, "quorum");
    ASSERT_EQ(o->queue_args.size(), 2u);
    EXPECT_EQ(o->queue_args[0].key, "x-max-length");
    EXPECT_EQ(o->queue_args[0].value, "1000");
    EXPECT_EQ(o->queue_args[1].value, "reject-publish");
    EXPECT_TRUE(o->durable);
    EXPECT_TRUE(o->keep_queues);
    EXPECT_EQ(o->exchange, "ex");
    EXPECT_EQ(o->exchange_type, exchange_kind::fanout);
    EXPECT_EQ(o->size, 4096u);
    EXPECT_TRUE(o->persistent);
    EXPECT_EQ(o->confirm, 100u);
    EXPECT_EQ(o->prefetch, 500u);
    EXPECT_EQ(o->ack_every, 50u);
    EXPECT_DOUBLE_EQ(o->rate, 1000.5);
    EXPECT_DOUBLE_EQ(o->duration_s, 7.5);
    EXPECT_DOUBLE_EQ(o->drain_timeout_s, 9);
    EXPECT_EQ(o->broker_pids, (std::vector<int>{123, 456}));
    EXPECT_EQ(o->broker_data_dirs, (std::vector<std::string>{"/d"}));
    EXPECT_EQ(o->json_path, "-");
    EXPECT_EQ(o->label, "l");
    EXPECT_TRUE(o->quiet);
}

TEST(Options, CountAndBacklog) {
    auto o = parse({"--count", "100000", "--backlog"});
    ASSERT_TRUE(o.ok()) << o.err().message;
    EXPECT_EQ(o->count, 100000u);
    EXPECT_TRUE(o->backlog);
}

TEST(Options, HelpIsNotAnError) {
    auto o = parse({"--help"});
    ASSERT_FALSE(o.ok());
    EXPECT_EQ(o.err().code, 0);
    EXPECT_NE(o.err().message.find("--confirm"), std::string::npos);
}

TEST(Options, BadInputIsRejectedWithAReason) {
    const auto rejected = [](std::initializer_list<const char*> args, const char* why) {
        auto o = parse(args);
        EXPECT_FALSE(o.ok()) << why;
        if (!o.ok()) {
            EXPECT_EQ(o.err().code, 2) << why;
            EXPECT_FALSE(o.err().message.empty()) << why;
        }
    };
    rejected({"--no-such-option"}, "unknown option");
    rejected({"--producers", "x"}, "not a number");
    rejected({"--producers", "0", "--consumers", "0"}, "nothing to do");
    rejected({"--queues", "0"}, "no queue");
    rejected({"--size", "8"}, "smaller than the stamp");
    rejected({"--ack-every", "0"}, "ack every 0");
    rejected({"--prefetch", "10", "--ack-every", "20"}, "ack batch above prefetch stalls");
    rejected({"--rate", "-1"}, "negative rate");
    rejected({"--duration", "0"}, "neither duration nor count");
    rejected({"--backlog"}, "backlog without count");
    rejected({"--exchange-type", "fanout"}, "type without a named exchange");
    rejected({"--exchange-type", "headers", "-e", "x"}, "unsupported type");
    rejected({"--queue-type", "quorum"}, "quorum without durable");
    rejected({"--queue-arg", "novalue"}, "arg without =");
    rejected({"--producers", "5000"}, "too many connections");
}

TEST(Options, SizeCanBeExactlyTheStamp) {
    auto o = parse({"--size", std::to_string(stamp_size).c_str()});
    EXPECT_TRUE(o.ok());
}

}  // namespace
}  // namespace qmq::bench
