#pragma once

// The server's configuration: command-line flags and the TOML file given with
// --config. Every flag is also a top-level key of the file, spelled the same
// without the dashes in front ("data-dir"; "data_dir" is accepted too); a
// flag given on the command line wins over the file. Users, vhosts and
// permissions exist only in the file (tables [[users]], [[vhosts]],
// [[permissions]]). See docs/operations.md for every key.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "server/endpoint.h"
#include "server/flow_control.h"

namespace qmq::server {

// Bounds checked at load, named once (TigerBeetle's rule).
constexpr uint32_t frame_max_min = 4096;  // AMQP 0-9-1 §4.2.3: frame-min-size
constexpr uint32_t frame_max_max = 1u << 20;
constexpr uint16_t channel_max_default = 2047;  // RabbitMQ's default
constexpr uint32_t frame_max_default = 131072;  // RabbitMQ's default
constexpr uint16_t heartbeat_s_default = 60;
constexpr uint64_t message_size_max_default = 128ull << 20;  // RabbitMQ's default
constexpr uint64_t message_size_max_limit = 512ull << 20;    // RabbitMQ's ceiling
constexpr uint32_t connections_max_default = 10000;
constexpr uint32_t consumers_per_channel_max_default = 10000;
constexpr double memory_high_watermark_default = 0.4;              // of total RAM, as RabbitMQ
constexpr uint64_t disk_free_limit_default = 50ull * 1000 * 1000;  // RabbitMQ's 50MB

struct user_entry {
    std::string name;
    std::string password_hash;            // RabbitMQ's sha256 format; see broker/password.h
    std::optional<std::string> password;  // plain text, hashed at start-up
    std::vector<std::string> tags;
};

struct permission_entry {
    std::string user;
    std::string vhost;
    std::string configure = ".*";
    std::string write = ".*";
    std::string read = ".*";
};

struct server_config {
    std::string node_id;  // empty: "quorummq@<hostname>" at start-up
    std::string data_dir = "./data";
    endpoint amqp_listen{"127.0.0.1", 5672};
    std::optional<endpoint> cluster_listen;    // accepted, refused until clusters exist
    std::vector<std::string> peers;            // idem
    endpoint http_listen{"127.0.0.1", 15672};  // accepted, unused for now
    std::string log_level = "info";
    std::string config_file;  // empty when none

    // Resource alarms. The memory watermark is a fraction of total RAM
    // (0 < x <= 1) unless an absolute size is given.
    double memory_high_watermark_fraction = memory_high_watermark_default;
    uint64_t memory_high_watermark_bytes = 0;  // nonzero: absolute, wins over the fraction
    uint64_t disk_free_limit_bytes = disk_free_limit_default;

    // Limits.
    uint32_t connections_max = connections_max_default;
    uint16_t channel_max = channel_max_default;
    uint32_t frame_max = frame_max_default;
    uint16_t heartbeat_s = heartbeat_s_default;
    uint64_t message_size_max = message_size_max_default;
    uint32_t consumers_per_channel_max = consumers_per_channel_max_default;
    // Publisher flow control: pause a publishing-only connection while a
    // queue it publishes to has consumers and more ready messages than this
    // (resume below half). 0 turns it off. See server/flow_control.h.
    uint64_t flow_ready_high = flow_ready_high_default;

    // Access, from the file only. Empty users: the default guest/guest.
    std::vector<user_entry> users;
    std::vector<std::string> vhosts;  // empty: just "/"
    std::vector<permission_entry> permissions;
};

// What load_config decided: run with a config, or exit now (--help,
// --version: text already printed; exit_code 0).
struct load_outcome {
    std::optional<server_config> config;
    int exit_code = 0;
};

// Parses argv, then the --config file if any, then lets flags win. An error's
// message is the one line to print: what is wrong and where (flag name, or
// file:line for the config file).
result<load_outcome> load_config(int argc, const char* const* argv);

// Applies the TOML document `text` (named `source` in errors) onto `config`.
// Exposed for tests; load_config uses it.
result<void> apply_toml(server_config& config, std::string_view text, std::string_view source);

// Applies one option by its flag name (without dashes) from its text form.
result<void> apply_option(server_config& config, std::string_view name, std::string_view value);

// Refuses what parses but cannot run yet (cluster flags).
result<void> check_supported(const server_config& config);

// The flag names, in --help order.
std::vector<std::string_view> option_names();

}  // namespace qmq::server
