#include "amqp/methods.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace qmq::amqp {
namespace {

using testing::encoded;
using testing::from_hex;
using testing::pika_vector;

#include "pika_vectors.inc"

// Every method pika knows, with non-default values in every field: we decode
// pika's bytes to the right method and write the very same bytes back.
TEST(Methods, DecodeAndReencodePikaBytesForEveryMethod) {
    int n = 0;
    for (const auto& v : method_vectors) {
        bytes wire = from_hex(v.hex);
        auto m = decode_method(wire);
        ASSERT_TRUE(m.ok()) << v.name << ": " << m.err().message;
        EXPECT_EQ(name_of(*m), v.name);
        EXPECT_EQ(name_of(id_of(*m)), v.name);
        bytes again;
        byte_writer w(again);
        encode(w, *m);
        EXPECT_EQ(again, wire) << v.name;
        ++n;
    }
    // pika lacks only connection.update-secret and update-secret-ok.
    EXPECT_EQ(n + 2, static_cast<int>(std::variant_size_v<method>));
}

TEST(Methods, PikaValuesLandInTheRightFields) {
    for (const auto& v : method_vectors) {
        bytes wire = from_hex(v.hex);
        auto m = decode_method(wire);
        ASSERT_TRUE(m.ok());
        if (const auto* q = std::get_if<queue_declare>(&*m)) {
            // sample(): field i gets 1000+i (short), "<name>-<i>", bits i%3 != 1
            EXPECT_EQ(q->ticket, 1000);
            EXPECT_EQ(q->queue, "queue-1");
            EXPECT_TRUE(q->passive);     // i=2
            EXPECT_TRUE(q->durable);     // i=3
            EXPECT_FALSE(q->exclusive);  // i=4
            EXPECT_TRUE(q->auto_delete);
            EXPECT_TRUE(q->nowait);
            EXPECT_EQ(q->arguments.get_int("i"), 1);
            EXPECT_EQ(q->arguments.get_table("nested")->get_int("n"), -5);
        }
        if (const auto* d = std::get_if<basic_deliver>(&*m)) {
            EXPECT_EQ(d->consumer_tag, "consumer_tag-0");
            EXPECT_EQ(d->delivery_tag, (uint64_t{1} << 40) + 1);
            EXPECT_TRUE(d->redelivered);
            EXPECT_EQ(d->exchange, "exchange-3");
            EXPECT_EQ(d->routing_key, "routing_key-4");
        }
        if (const auto* t = std::get_if<connection_tune>(&*m)) {
            EXPECT_EQ(t->channel_max, 1000);
            EXPECT_EQ(t->frame_max, 100001u);
            EXPECT_EQ(t->heartbeat, 1002);
        }
    }
}

// Our own round trip for every alternative of the variant, defaults and a
// changed copy, so the two methods pika lacks are covered too.
template <std::size_t I = 0>
void round_trip_all(int& count) {
    if constexpr (I < std::variant_size_v<method>) {
        using M = std::variant_alternative_t<I, method>;
        M m{};
        bytes wire = encoded(m);
        auto back = decode_method(wire);
        EXPECT_TRUE(back.ok()) << M::amqp_name;
        if (back.ok()) {
            EXPECT_TRUE(std::holds_alternative<M>(*back)) << M::amqp_name;
            EXPECT_EQ(std::get<M>(*back), m) << M::amqp_name;
        }
        EXPECT_EQ(is_known(method_key{M::amqp_class_id, M::amqp_method_id}), true);
        ++count;
        round_trip_all<I + 1>(count);
    }
}

TEST(Methods, EveryAlternativeRoundTripsWithDefaults) {
    int count = 0;
    round_trip_all(count);
    EXPECT_EQ(count, 66);  // every method of the spec
}

TEST(Methods, UpdateSecretRoundTrips) {
    connection_update_secret m{"token-value", "refresh"};
    auto back = decode_method(encoded(m));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(std::get<connection_update_secret>(*back), m);
    EXPECT_TRUE(is_from_client(*back));
    EXPECT_FALSE(is_from_client(method{connection_update_secret_ok{}}));
}

TEST(Methods, BitsPackIntoOneOctetLowBitFirst) {
    queue_declare q;
    q.queue = "q";
    q.passive = false;
    q.durable = true;
    q.exclusive = false;
    q.auto_delete = true;
    q.nowait = true;
    // ids 0032 000a, ticket 0000, "q", bits 0b11010, empty table
    EXPECT_EQ(encoded(q), from_hex("0032000a000001711a00000000"));
    basic_nack n{42, true, false};
    EXPECT_EQ(encoded(n), from_hex("003c0078000000000000002a01"));
}

TEST(Methods, SpecDefaultsAreKept) {
    EXPECT_TRUE(basic_nack{}.requeue);
    EXPECT_TRUE(basic_reject{}.requeue);
    EXPECT_EQ(connection_open{}.virtual_host, "/");
    EXPECT_EQ(exchange_declare{}.type, "direct");
}

TEST(Methods, AttributesFollowTheSpec) {
    EXPECT_TRUE(basic_publish::has_content);
    EXPECT_TRUE(basic_deliver::has_content);
    EXPECT_FALSE(basic_ack::has_content);
    EXPECT_TRUE(queue_declare::synchronous);
    EXPECT_FALSE(basic_deliver::from_client);
    EXPECT_TRUE(basic_ack::from_client);  // acks go both ways (confirms)
    EXPECT_TRUE(basic_cancel::from_client);
    EXPECT_EQ(name_of(method_key{60, 40}), "basic.publish");
    EXPECT_EQ(name_of(method_key{60, 41}), "unknown");
    EXPECT_FALSE(is_known(method_key{99, 1}));
}

TEST(Methods, UnknownIdsAre540) {
    auto m = decode_method(from_hex("00630001"));
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.err().code, 540);
    EXPECT_NE(m.err().message.find("class 99 method 1"), std::string::npos);
}

TEST(Methods, EveryTruncationAndAnyExtraByteIs501) {
    for (const auto& v : method_vectors) {
        bytes wire = from_hex(v.hex);
        for (std::size_t n = 0; n < wire.size(); ++n) {
            bytes cut(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(n));
            auto m = decode_method(cut);
            ASSERT_FALSE(m.ok()) << v.name << " cut at " << n;
            EXPECT_EQ(m.err().code, 501) << v.name << " cut at " << n << ": " << m.err().message;
        }
        wire.push_back(std::byte{0});
        auto m = decode_method(wire);
        ASSERT_FALSE(m.ok()) << v.name;
        EXPECT_EQ(m.err().code, 501);
        EXPECT_NE(m.err().message.find(v.name), std::string::npos) << m.err().message;
    }
}

TEST(Methods, GarbageInATableIs502AndNamesTheField) {
    // queue.declare with arguments {k: 'Z'}
    auto m = decode_method(from_hex("0032000a000001710000000003016b5a"));
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.err().code, 502);
    EXPECT_NE(m.err().message.find("queue.declare arguments"), std::string::npos)
        << m.err().message;
}

TEST(Methods, LongShortstrIsTruncatedNotFatal) {
    connection_close c{320, std::string(400, 'x'), 0, 0};
    auto back = decode_method(encoded(c));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(std::get<connection_close>(*back).reply_text.size(), 255u);
}

}  // namespace
}  // namespace qmq::amqp
