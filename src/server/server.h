#pragma once

// The running server: one Asio event loop (one thread for now), the AMQP
// listener, the client connections, the broker, and the timers that drive
// the pure cores (connection heartbeats, broker TTLs) and the resource
// alarms. Ownership is explicit (this object owns the broker and the
// connection registry, each connection is touched only from this loop) so
// that N loops, each with its own connections, is a later configuration.
//
// Shutdown (SIGTERM/SIGINT): stop accepting, send connection.close 320
// CONNECTION_FORCED to every open connection, wait for their close-ok (at
// most shutdown_grace_ms), then return from run().

#include <asio.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "broker/broker.h"
#include "broker/durable_engine.h"
#include "common/result.h"
#include "server/config.h"
#include "server/connection_hub.h"
#include "server/resource_alarm.h"

namespace qmq::server {

class client_connection;

constexpr uint64_t tick_interval_ms = 100;
constexpr uint64_t alarm_check_interval_ms = 500;
constexpr uint64_t shutdown_grace_ms = 5000;
// Accepted sockets beyond max-connections still get a 530 reply through the
// handshake; past this many extra, they are closed at once.
constexpr uint32_t connections_over_limit_slack = 64;

class server {
  public:
    // `broker_config` is the access part of the config, already converted.
    server(const server_config& config, broker::config broker_config,
           uint64_t memory_high_watermark_bytes);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Opens the durable store in the data dir (recovering it), then binds
    // the listener; the error is one line naming the directory or address.
    result<void> listen();
    // The bound AMQP address (the real port when 0 was asked).
    endpoint amqp_endpoint() const;
    // Runs until a signal has shut the server down.
    void run();

  private:
    void accept_next();
    void on_tick();
    void check_resources();
    void on_signal(int signal);
    void begin_shutdown(const std::string& reason);
    void maybe_finish_shutdown();
    void on_connection_done(uint64_t id);

    server_config _config;
    asio::io_context _io{1};
    // Outlives the broker (its durable queues use it), dies before _io.
    std::unique_ptr<broker::durable_engine> _durable;
    std::unique_ptr<broker::broker> _broker;
    std::unique_ptr<flow_control> _flow;  // publisher flow control, on the broker
    connection_hub _hub;
    asio::ip::tcp::acceptor _acceptor;
    asio::signal_set _signals;
    asio::steady_timer _tick_timer;
    resource_alarms _alarms;
    std::string _alarm_reason;
    uint64_t _last_alarm_check_ms = 0;

    std::map<uint64_t, std::shared_ptr<client_connection>> _connections;
    uint64_t _next_connection_id = 1;
    bool _shutting_down = false;
    uint64_t _shutdown_deadline_ms = 0;
};

}  // namespace qmq::server
