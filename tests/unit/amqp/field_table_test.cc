#include "amqp/field_table.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "test_util.h"

namespace qmq::amqp {
namespace {

using testing::from_hex;
using testing::pika_vector;

#include "pika_vectors.inc"

bytes encode_one(const field_value& v) {
    bytes b;
    byte_writer w(b);
    encode_value(w, v);
    return b;
}

field_table round_trip(const field_table& t) {
    bytes b;
    byte_writer w(b);
    encode_table(w, t);
    EXPECT_EQ(b.size(), encoded_size(t));
    byte_reader r(b);
    auto back = decode_table(r);
    EXPECT_TRUE(back.ok()) << back.err().message;
    EXPECT_TRUE(r.at_end());
    return back.ok() ? std::move(back).value() : field_table{};
}

// Exact bytes per type, RabbitMQ's reading: s signed 16, u unsigned 16, I
// signed 32, i unsigned 32, l signed 64, x byte array.
TEST(FieldValue, EncodesEveryTypeAsRabbitMQDoes) {
    EXPECT_EQ(encode_one(true), from_hex("7401"));
    EXPECT_EQ(encode_one(int8_t{-2}), from_hex("62fe"));
    EXPECT_EQ(encode_one(uint8_t{200}), from_hex("42c8"));
    EXPECT_EQ(encode_one(int16_t{-2}), from_hex("73fffe"));
    EXPECT_EQ(encode_one(uint16_t{65535}), from_hex("75ffff"));
    EXPECT_EQ(encode_one(int32_t{-2}), from_hex("49fffffffe"));
    EXPECT_EQ(encode_one(uint32_t{4000000000u}), from_hex("69ee6b2800"));
    EXPECT_EQ(encode_one(int64_t{-2}), from_hex("6cfffffffffffffffe"));
    EXPECT_EQ(encode_one(1.5f), from_hex("663fc00000"));
    EXPECT_EQ(encode_one(1.5), from_hex("643ff8000000000000"));
    EXPECT_EQ(encode_one(decimal_value{2, 314}), from_hex("44020000013a"));
    EXPECT_EQ(encode_one(std::string("hi")), from_hex("53000000026869"));
    EXPECT_EQ(encode_one(field_array{int32_t{1}, true}), from_hex("41000000074900000001"
                                                                  "7401"));
    EXPECT_EQ(encode_one(timestamp_value{1}), from_hex("540000000000000001"));
    EXPECT_EQ(encode_one(field_table{{"a", true}}), from_hex("460000000401617401"));
    EXPECT_EQ(encode_one(void_value{}), from_hex("56"));
    EXPECT_EQ(encode_one(byte_array{std::string("\x00\xff", 2)}), from_hex("780000000200ff"));
}

TEST(FieldValue, TypeTagsCoverEverySpecType) {
    std::string tags;
    for (const field_value& v :
         {field_value(true), field_value(int8_t{}), field_value(uint8_t{}), field_value(int16_t{}),
          field_value(uint16_t{}), field_value(int32_t{}), field_value(uint32_t{}),
          field_value(int64_t{}), field_value(0.0f), field_value(0.0), field_value(decimal_value{}),
          field_value(std::string()), field_value(field_array{}), field_value(timestamp_value{}),
          field_value(field_table{}), field_value(void_value{}), field_value(byte_array{})}) {
        tags += v.type_tag();
    }
    EXPECT_EQ(tags, "tbBsuIilfdDSATFVx");
}

TEST(FieldTable, RoundTripsEveryTypeWithExtremes) {
    field_table t{
        {"t", false},
        {"b", std::numeric_limits<int8_t>::min()},
        {"B", std::numeric_limits<uint8_t>::max()},
        {"s", std::numeric_limits<int16_t>::min()},
        {"u", std::numeric_limits<uint16_t>::max()},
        {"I", std::numeric_limits<int32_t>::min()},
        {"i", std::numeric_limits<uint32_t>::max()},
        {"l", std::numeric_limits<int64_t>::min()},
        {"f", -0.25f},
        {"d", 1e300},
        {"D", decimal_value{9, 0xFFFFFFFFu}},
        {"S", std::string("with\0nul", 8)},
        {"A", field_array{field_array{}, field_table{}, void_value{}, std::string("x")}},
        {"T", timestamp_value{UINT64_MAX}},
        {"F", field_table{{"deep", field_table{{"deeper", field_array{int64_t{5}}}}}}},
        {"V", void_value{}},
        {"x", byte_array{std::string(300, '\xAB')}},
        {std::string(255, 'k'), true},
    };
    EXPECT_EQ(round_trip(t), t);
}

TEST(FieldTable, DecodesWhatPikaWrites) {
    bytes wire = from_hex(table_vector);
    byte_reader r(wire);
    auto t = decode_table(r);
    ASSERT_TRUE(t.ok()) << t.err().message;
    EXPECT_TRUE(r.at_end());
    EXPECT_EQ(t->get_bool("bool"), true);
    EXPECT_EQ(t->get_int("int"), 7);
    EXPECT_EQ(t->get_int("neg"), -100000);
    EXPECT_EQ(t->get_int("long"), int64_t{1} << 40);
    ASSERT_NE(t->get_string("str"), nullptr);
    EXPECT_EQ(*t->get_string("str"), "hello");
    ASSERT_NE(t->find("bytes"), nullptr);
    EXPECT_EQ(*t->find("bytes")->get_if<byte_array>(), byte_array{std::string("\x00\x01\xff", 3)});
    EXPECT_TRUE(t->find("none")->is<void_value>());
    EXPECT_EQ(*t->find("dec")->get_if<decimal_value>(), (decimal_value{2, 314}));
    EXPECT_EQ(t->find("ts")->get_if<timestamp_value>()->seconds, 1704164645u);
    const auto* arr = t->get_array("arr");
    ASSERT_NE(arr, nullptr);
    ASSERT_EQ(arr->size(), 4u);
    EXPECT_EQ((*arr)[2], field_value(field_array{true}));
    EXPECT_EQ(t->get_table("tbl")->get_table("inner")->get_int("deep"), 1);
    // And writes the same bytes back.
    bytes again;
    byte_writer w(again);
    encode_table(w, *t);
    EXPECT_EQ(again, wire);
}

TEST(FieldTable, LookupHelpers) {
    field_table t{{"n", uint16_t{7}}, {"s", "str"}, {"x", byte_array{"raw"}}, {"f", 1.0}};
    EXPECT_EQ(t.get_int("n"), 7);
    EXPECT_EQ(t.get_int("s"), std::nullopt);
    EXPECT_EQ(t.get_int("f"), std::nullopt);  // a double is not an integer
    EXPECT_EQ(t.get_int("missing"), std::nullopt);
    EXPECT_EQ(*t.get_string("s"), "str");
    EXPECT_EQ(*t.get_string("x"), "raw");
    EXPECT_EQ(t.get_bool("n"), std::nullopt);
    t.set("n", int64_t{-1});
    EXPECT_EQ(t.get_int("n"), -1);
    EXPECT_EQ(t.size(), 4u);
    t.set("new", true);
    EXPECT_EQ(t.entries().back().key, "new");
    EXPECT_TRUE(t.erase("s"));
    EXPECT_FALSE(t.erase("s"));
    EXPECT_FALSE(t.contains("s"));
}

TEST(FieldTable, EquivalenceIgnoresOrderButNotTypes) {
    field_table a{{"x-max-length", int32_t{10}}, {"x-dlx", "dead"}};
    field_table b{{"x-dlx", "dead"}, {"x-max-length", int32_t{10}}};
    field_table c{{"x-dlx", "dead"}, {"x-max-length", int64_t{10}}};
    EXPECT_NE(a, b);
    EXPECT_TRUE(a.equivalent(b));
    EXPECT_FALSE(a.equivalent(c));
    EXPECT_FALSE(a.equivalent(field_table{{"x-dlx", "dead"}}));
    field_table n1{{"t", field_table{{"a", 1}, {"b", 2}}}};
    field_table n2{{"t", field_table{{"b", 2}, {"a", 1}}}};
    EXPECT_TRUE(n1.equivalent(n2));
}

TEST(FieldTable, RejectsUnknownTypeWith502) {
    // length 6: key "k", tag 'Z'
    bytes wire = from_hex("00000003016b5a");
    wire[3] = std::byte{3};
    byte_reader r(wire);
    auto t = decode_table(r);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.err().code, 502);
    EXPECT_NE(t.err().message.find("unknown field type 'Z'"), std::string::npos) << t.err().message;
}

TEST(FieldTable, RejectsLengthsPastTheEndWith501) {
    for (const char* hex : {
             "00000010016b74",          // table length past the end
             "00000002016b",            // key without a tag
             "00000007016b530000ffff",  // string length past the end
             "00000006016b4100000005",  // array length past the end
             "00000003016b49",          // int32 with no bytes
             "000000",                  // truncated length
         }) {
        bytes wire = from_hex(hex);
        byte_reader r(wire);
        auto t = decode_table(r);
        ASSERT_FALSE(t.ok()) << hex;
        EXPECT_EQ(t.err().code, 501) << hex << ": " << t.err().message;
    }
}

TEST(FieldTable, EveryTruncationOfAValidTableFails) {
    field_table t{{"a", field_array{int32_t{1}, std::string("xy")}},
                  {"b", field_table{{"c", decimal_value{1, 2}}}},
                  {"d", timestamp_value{5}}};
    bytes wire;
    byte_writer w(wire);
    encode_table(w, t);
    for (std::size_t n = 0; n < wire.size(); ++n) {
        // Shorten the outer length too, so the cut is inside the table body.
        bytes cut(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(n));
        if (n >= 4) {
            byte_writer cw(cut);
            cw.patch_u32(0, static_cast<uint32_t>(n - 4));
        }
        byte_reader r(cut);
        auto back = decode_table(r);
        EXPECT_FALSE(back.ok() && back.value() == t) << "cut at " << n;
        if (back.ok()) {
            // A cut exactly between entries is a valid shorter table.
            EXPECT_LT(back->size(), t.size()) << "cut at " << n;
        }
    }
}

TEST(FieldTable, NestingDeeperThanTheBoundIsRefused) {
    auto nest = [](int depth) {
        field_value v = int32_t{1};
        for (int i = 0; i < depth; ++i) {
            v = field_table{{"n", std::move(v)}};
        }
        return std::get<field_table>(std::move(v.v));
    };
    {
        field_table ok = nest(field_depth_max);
        EXPECT_EQ(round_trip(ok), ok);
    }
    field_table deep = nest(field_depth_max + 2);
    bytes wire;
    byte_writer w(wire);
    encode_table(w, deep);
    byte_reader r(wire);
    auto t = decode_table(r);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.err().code, 502);
}

TEST(FieldTable, DuplicateKeysKeepWireOrderAndFindTheFirst) {
    // {k: I 1, k: t false}
    bytes wire = from_hex("0000000b016b4900000001016b7400");
    byte_reader r(wire);
    auto t = decode_table(r);
    ASSERT_TRUE(t.ok()) << t.err().message;
    EXPECT_EQ(t->size(), 2u);
    EXPECT_EQ(t->get_int("k"), 1);
}

TEST(FieldTable, AmqplainBodyHasNoLengthPrefix) {
    bytes body = from_hex(
        "054c4f47494e530000000567756573740850415353574f5244530000000567756573"
        "74");
    auto t = decode_table_body(body);
    ASSERT_TRUE(t.ok()) << t.err().message;
    EXPECT_EQ(*t->get_string("LOGIN"), "guest");
    EXPECT_EQ(*t->get_string("PASSWORD"), "guest");
}

TEST(FieldValue, NanIsNotEqualButRoundTripsBitExact) {
    field_table t{{"nan", std::numeric_limits<double>::quiet_NaN()}};
    field_table back = round_trip(t);
    EXPECT_TRUE(std::isnan(*back.find("nan")->get_if<double>()));
}

}  // namespace
}  // namespace qmq::amqp
