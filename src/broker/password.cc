#include "broker/password.h"

#include "broker/sha256.h"

namespace qmq::broker {
namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::size_t digest_size = 32;
constexpr std::size_t salt_size = 4;

int decode_char(char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

}  // namespace

std::string base64_encode(std::string_view raw) {
    std::string out;
    out.reserve((raw.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= raw.size(); i += 3) {
        const uint32_t v = (uint32_t{static_cast<uint8_t>(raw[i])} << 16) |
                           (uint32_t{static_cast<uint8_t>(raw[i + 1])} << 8) |
                           uint32_t{static_cast<uint8_t>(raw[i + 2])};
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    const std::size_t rest = raw.size() - i;
    if (rest > 0) {
        uint32_t v = uint32_t{static_cast<uint8_t>(raw[i])} << 16;
        if (rest == 2) {
            v |= uint32_t{static_cast<uint8_t>(raw[i + 1])} << 8;
        }
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += rest == 2 ? alphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        int pad = 0;
        uint32_t v = 0;
        for (std::size_t j = 0; j < 4; ++j) {
            const char c = text[i + j];
            if (c == '=' && last && j >= 2) {
                ++pad;
                v <<= 6;
                continue;
            }
            const int d = decode_char(c);
            if (d < 0 || pad > 0) {
                return std::nullopt;
            }
            v = (v << 6) | static_cast<uint32_t>(d);
        }
        out += static_cast<char>((v >> 16) & 0xFF);
        if (pad < 2)
            out += static_cast<char>((v >> 8) & 0xFF);
        if (pad < 1)
            out += static_cast<char>(v & 0xFF);
    }
    return out;
}

std::string hash_password(std::string_view password, password_salt salt) {
    sha256 h;
    h.update(salt.data(), salt.size());
    h.update(password);
    const sha256_digest d = h.finish();
    std::string raw(reinterpret_cast<const char*>(salt.data()), salt.size());
    raw.append(reinterpret_cast<const char*>(d.data()), d.size());
    return base64_encode(raw);
}

bool check_password(std::string_view password, std::string_view stored_hash) {
    const auto raw = base64_decode(stored_hash);
    if (!raw || raw->size() != salt_size + digest_size) {
        return false;
    }
    password_salt salt;
    for (std::size_t i = 0; i < salt_size; ++i) {
        salt[i] = static_cast<uint8_t>((*raw)[i]);
    }
    // Compare without an early exit so timing says nothing about the hash.
    const std::string expected = hash_password(password, salt);
    if (expected.size() != stored_hash.size()) {
        return false;
    }
    uint8_t diff = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        diff |= static_cast<uint8_t>(expected[i] ^ stored_hash[i]);
    }
    return diff == 0;
}

}  // namespace qmq::broker
