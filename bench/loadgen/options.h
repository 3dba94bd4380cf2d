#pragma once

// The load generator's options, in the spirit of RabbitMQ's PerfTest, and
// their parsing and validation (separate from main so tests can drive it).

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace qmq::bench {

// Bounds on what one run may ask for, so a typo cannot fork 10^6 threads.
constexpr uint32_t connections_max = 4096;
constexpr uint32_t queues_max = 100'000;
constexpr uint32_t message_size_max = 64 * 1024 * 1024;
constexpr uint32_t confirm_window_max = 1'000'000;

enum class exchange_kind { direct, fanout, topic };

struct queue_arg {
    std::string key;
    // Numbers become AMQP long-longs, true/false booleans, the rest strings.
    std::string value;
};

struct options {
    std::vector<std::string> uris{"amqp://guest:guest@127.0.0.1:5672/%2f"};
    uint32_t producers = 1;
    uint32_t consumers = 1;
    uint32_t queues = 1;
    std::string queue_prefix = "qmq-bench";
    std::string queue_type;  // empty: the broker's default (classic)
    std::vector<queue_arg> queue_args;
    bool durable = false;      // durable queues (and exchange)
    bool keep_queues = false;  // do not delete queues and exchange at the end
    std::string exchange;      // empty: the default exchange, routing by queue name
    exchange_kind exchange_type = exchange_kind::direct;
    std::string routing_key;  // fixed key; empty: each queue's own name
    uint32_t size = 1024;     // message body bytes (at least the stamp)
    bool persistent = false;
    uint32_t confirm = 0;    // unconfirmed publishes in flight; 0: no confirms
    uint16_t prefetch = 0;   // basic.qos per consumer channel; 0: unlimited
    uint32_t ack_every = 1;  // ack with multiple=true every N deliveries
    bool auto_ack = false;
    double rate = 0;  // per producer, messages/s; 0: flat out
    double duration_s = 10;
    uint64_t count = 0;    // per producer; 0: run for duration_s
    bool backlog = false;  // publish everything first, then start consumers
    double drain_timeout_s = 30;
    double stall_timeout_s = 60;   // abort when nothing moves for this long
    std::vector<int> broker_pids;  // several for a cluster: figures are summed
    std::vector<std::string> broker_data_dirs;
    std::string json_path;  // "-" for stdout
    std::string label;      // free text copied into the JSON
    bool quiet = false;     // no per-second lines
};

// Parses argv (argv[0] is the program name). Help and bad input come back as
// an error whose code is 0 for --help (message = help text) and 2 otherwise.
result<options> parse_options(int argc, const char* const* argv);

// Checks the combination of options; parse_options calls it too.
result<void> validate(const options& o);

const char* to_string(exchange_kind k);

}  // namespace qmq::bench
