#include "broker/sha256.h"

#include <gtest/gtest.h>

#include <string>

#include "broker/password.h"

namespace qmq::broker {
namespace {

std::string hex(const sha256_digest& d) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (uint8_t b : d) {
        s += digits[b >> 4];
        s += digits[b & 15];
    }
    return s;
}

// FIPS 180-4 / NIST example vectors.
TEST(Sha256, KnownVectors) {
    EXPECT_EQ(hex(sha256::of("")),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(hex(sha256::of("abc")),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(hex(sha256::of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, MillionAsInPieces) {
    sha256 h;
    const std::string chunk(1000, 'a');
    for (int i = 0; i < 1000; ++i) {
        h.update(chunk);
    }
    EXPECT_EQ(hex(h.finish()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Base64, RoundTripsAllPaddings) {
    EXPECT_EQ(base64_encode(""), "");
    EXPECT_EQ(base64_encode("f"), "Zg==");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    EXPECT_EQ(base64_encode("foo"), "Zm9v");
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
    for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
        auto back = base64_decode(base64_encode(s));
        ASSERT_TRUE(back.has_value());
        EXPECT_EQ(*back, s);
    }
    EXPECT_FALSE(base64_decode("Zg=").has_value());
    EXPECT_FALSE(base64_decode("Z===").has_value());
    EXPECT_FALSE(base64_decode("Zm9v!A==").has_value());
    EXPECT_FALSE(base64_decode("Zg==Zg==").has_value());
}

// The example from RabbitMQ's passwords guide (salt 908DC60A, "test12").
TEST(PasswordHash, MatchesRabbitMqExample) {
    EXPECT_EQ(hash_password("test12", {0x90, 0x8d, 0xc6, 0x0a}),
              "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR");
    EXPECT_TRUE(check_password("test12", "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR"));
    EXPECT_FALSE(check_password("test13", "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR"));
    EXPECT_FALSE(check_password("test12", "not base64"));
    EXPECT_FALSE(check_password("test12", "Zm9v"));  // valid base64, wrong length
}

TEST(PasswordHash, SaltChangesTheHash) {
    const auto a = hash_password("guest", {1, 2, 3, 4});
    const auto b = hash_password("guest", {1, 2, 3, 5});
    EXPECT_NE(a, b);
    EXPECT_EQ(a, "AQIDBEMMOXwY6PKx/JKP9PAqfsb4ozuD0Ta3pxxa9gEYBMmD");  // python hashlib
    EXPECT_TRUE(check_password("guest", a));
    EXPECT_TRUE(check_password("guest", b));
}

}  // namespace
}  // namespace qmq::broker
