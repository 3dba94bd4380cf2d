#include <gtest/gtest.h>

#include <set>
#include <string_view>

#include "common/bytes.h"
#include "common/crc32c.h"
#include "common/prng.h"
#include "common/result.h"
#include "common/strong_type.h"

namespace qmq {
namespace {

TEST(Crc32c, MatchesTheStandardCheckValue) {
    constexpr std::string_view check = "123456789";
    EXPECT_EQ(crc32c(check.data(), check.size()), 0xE3069283u);
}

TEST(Crc32c, ExtendingInPiecesEqualsOneShot) {
    std::string data(1000, '\0');
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<char>(i * 7);
    uint32_t whole = crc32c(data.data(), data.size());
    for (size_t cut : {0u, 1u, 7u, 8u, 9u, 500u, 999u, 1000u}) {
        uint32_t part = crc32c_extend(0, data.data(), cut);
        part = crc32c_extend(part, data.data() + cut, data.size() - cut);
        EXPECT_EQ(part, whole) << "cut at " << cut;
    }
}

TEST(Prng, SameSeedGivesSameSequence) {
    prng a(42), b(42), c(43);
    bool differs = false;
    for (int i = 0; i < 100; ++i) {
        uint64_t x = a.next();
        EXPECT_EQ(x, b.next());
        differs |= (x != c.next());
    }
    EXPECT_TRUE(differs);
}

TEST(Prng, BelowStaysInRangeAndCoversIt) {
    prng r(7);
    std::set<uint64_t> seen;
    for (int i = 0; i < 1000; ++i) {
        uint64_t v = r.below(10);
        ASSERT_LT(v, 10u);
        seen.insert(v);
    }
    EXPECT_EQ(seen.size(), 10u);
}

TEST(Bytes, BigEndianRoundTrip) {
    bytes buf;
    byte_writer w(buf);
    w.u8(0xAB);
    w.u16(0x1234);
    w.u32(0xDEADBEEF);
    w.u64(0x0102030405060708ull);
    w.raw(std::string_view("hi"));
    ASSERT_EQ(buf.size(), 1u + 2 + 4 + 8 + 2);
    EXPECT_EQ(std::to_integer<int>(buf[1]), 0x12);

    byte_reader r(buf);
    EXPECT_EQ(r.u8(), 0xAB);
    EXPECT_EQ(r.u16(), 0x1234);
    EXPECT_EQ(r.u32(), 0xDEADBEEFu);
    EXPECT_EQ(r.u64(), 0x0102030405060708ull);
    EXPECT_EQ(r.take_string(2), "hi");
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(r.at_end());
}

TEST(Bytes, ShortReadFailsWithoutReadingPastTheEnd) {
    bytes buf(3);
    byte_reader r(buf);
    EXPECT_EQ(r.u32(), 0u);
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(r.take(1).empty());
}

TEST(Result, CarriesValueOrError) {
    result<int> good = 5;
    result<int> bad = error{28, "disk full"};
    EXPECT_TRUE(good.ok());
    EXPECT_EQ(*good, 5);
    EXPECT_FALSE(bad.ok());
    EXPECT_EQ(bad.err().code, 28);
}

TEST(StrongType, ComparesAndDoesNotMix) {
    using term = strong_type<uint64_t, struct term_tag>;
    using index = strong_type<uint64_t, struct index_tag>;
    static_assert(!std::is_convertible_v<term, index>);
    EXPECT_LT(term{1}, term{2});
    EXPECT_EQ(term{3}.next(), term{4});
}

}  // namespace
}  // namespace qmq
