#pragma once

// What the broker is built from: users, vhosts, permissions and limits. The
// server fills this from flags and the TOML file; tests build it in code.

#include <cstdint>
#include <string>
#include <vector>

namespace qmq::broker {

struct user_config {
    std::string name;
    std::string password_hash;  // rabbit_password_hashing_sha256 format (password.h)
    std::vector<std::string> tags;
};

// Regexes as RabbitMQ reads them: unanchored search; "" grants nothing.
struct permission_config {
    std::string user;
    std::string vhost;
    std::string configure;
    std::string write;
    std::string read;
};

struct limits_config {
    uint32_t queues_per_vhost_max = 100'000;
    uint32_t consumers_per_channel_max = 10'000;
    uint32_t unconfirmed_per_channel_max = 1'000'000;
    uint64_t message_size_max = 128ull << 20;  // 128 MiB, RabbitMQ's default
};

struct config {
    std::vector<user_config> users;
    std::vector<std::string> vhosts;
    std::vector<permission_config> permissions;
    // Users who may log in only over loopback (RabbitMQ's loopback_users).
    std::vector<std::string> loopback_users{"guest"};
    limits_config limits;

    // vhost "/", user guest/guest with full permissions on it.
    static config defaults();
};

}  // namespace qmq::broker
