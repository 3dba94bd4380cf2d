#pragma once

// Password hashes in RabbitMQ's rabbit_password_hashing_sha256 format, so a
// hash made by `rabbitmqctl hash_password` (or copied from a RabbitMQ
// definitions export) logs in here unchanged:
//   base64( salt[4] ++ sha256( salt[4] ++ utf8(password) ) )

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace qmq::broker {

using password_salt = std::array<uint8_t, 4>;

// The stored hash for `password` with the given salt. The caller picks the
// salt (from a seeded prng in tests, from the OS at start-up in the server).
std::string hash_password(std::string_view password, password_salt salt);

// True when `password` matches `stored_hash`; false for a malformed hash.
bool check_password(std::string_view password, std::string_view stored_hash);

std::string base64_encode(std::string_view raw);
// nullopt when `text` is not canonical base64 (padding included).
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace qmq::broker
