#pragma once

// One client connection: the socket, the pure amqp::connection machine and,
// once the connection is open, the broker::session, glued together.
//
//   socket --async_read--> amqp::connection::feed --events--> broker::session
//   socket <--async_write-- output buffer <--send_method-- session_sink (this)
//
// Write path: everything sent while handling a batch of input (or a timer,
// or a delivery from another connection) accumulates in the machine's output
// buffer; one async_write is in flight at a time and takes the whole buffer,
// so frames are coalesced and there is no syscall per frame.
//
// Reading stops (the kernel's TCP window then pushes back on the client) when
//  - a resource alarm is set and this connection has published (RabbitMQ
//    blocks publishers only), or the broker asked to block it;
//  - a write is in flight and, with the output queued behind it, 1 MiB or
//    more is waiting for the client (it is not reading fast enough);
//  - publisher flow control (flow_control.h): it only publishes, and a queue
//    it just published to has consumers that fall behind.
//
// Lifetime: owned by shared_ptr; the server's registry holds one reference
// and each pending async operation another, so the object outlives its last
// completion handler. Everything runs on the one event-loop thread.

#include <asio.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "amqp/connection.h"
#include "broker/session.h"
#include "broker/session_sink.h"
#include "common/bytes.h"
#include "server/flow_control.h"

namespace qmq::server {

struct connection_hub;

class client_connection final : public broker::session_sink,
                                public flow_waiter,
                                public std::enable_shared_from_this<client_connection> {
  public:
    // `over_limit`: accepted beyond max-connections; the handshake runs so
    // the client gets a clear 530 at connection.open, then it is closed.
    client_connection(connection_hub& hub, asio::ip::tcp::socket socket, uint64_t id,
                      bool over_limit);
    ~client_connection() override;
    client_connection(const client_connection&) = delete;
    client_connection& operator=(const client_connection&) = delete;

    void start();

    // From the server's timer.
    void tick(uint64_t now_ms);
    // Resource alarm state changed (any alarm set, and why).
    void on_alarm(bool alarm, const std::string& reason);
    // Shutdown: 320 CONNECTION_FORCED to an open connection, else drop it.
    void force_close(const std::string& reason);
    // Drops the connection now (shutdown deadline passed): the session ends
    // and the socket closes without waiting for the peer.
    void abort(const std::string& reason);

    uint64_t id() const { return _id; }
    bool done() const { return _done; }

    // broker::session_sink
    void send_method(uint16_t channel, const amqp::method& m,
                     const amqp::content* content) override;
    void close_channel(uint16_t channel, uint16_t code, std::string text, uint16_t class_id,
                       uint16_t method_id) override;
    void close_connection(uint16_t code, std::string text) override;
    void set_blocked(bool blocked) override;

    // flow_waiter
    void flow_resume() override;

  private:
    // After a batch: pauses reading if a queue this batch published to is
    // over flow control's high watermark.
    void check_flow();
    void read_more();
    void on_read(const std::error_code& ec, std::size_t n);
    // Feeds bytes to the machine and hands its events to the session.
    void process(bytes_view data);
    void handle(std::vector<amqp::connection_event>& events);
    void on_opened(const amqp::connection_opened& e);
    void on_closed(uint16_t code, const std::string& reason);
    // Starts a write of the pending output if none is in flight.
    void flush();
    // Coalesces sends that arrive outside our own handlers (deliveries from
    // another connection, broker ticks) into one flush on the next turn.
    void schedule_flush();
    void on_written(const std::error_code& ec);
    bool reading_allowed() const;
    // While we do not read, the client's heartbeats go unread too: the
    // machine's dead-peer check is paused meanwhile (RabbitMQ does the same).
    void set_reading_paused(bool paused);
    void update_blocked();
    // Closes the socket and drops the session; idempotent.
    void shut(const std::string& reason);

    connection_hub& _hub;
    asio::ip::tcp::socket _socket;
    const uint64_t _id;
    const bool _over_limit;
    std::string _peer;
    std::string _name;  // "peer -> local", as RabbitMQ names connections
    bool _peer_is_loopback = false;

    std::unique_ptr<amqp::connection> _proto;
    std::unique_ptr<broker::session> _session;

    bytes _read_buffer;
    bool _reading = false;
    // Bytes a read already in flight brought in after reading was paused;
    // fed when reading resumes (at most one read chunk).
    bytes _held;
    bool _reading_paused = false;
    bytes _writing_buffer;  // the batch the in-flight write is sending
    bool _writing = false;
    bool _flush_scheduled = false;

    // Channels the session closed while the current batch of events is
    // handled: the batch's later events for them are dropped.
    std::set<uint16_t> _closed_in_batch;

    bool _publisher = false;  // has sent basic.publish
    bool _consumer = false;   // has sent basic.consume or basic.get: never flow-paused
    bool _flow_paused = false;
    bool _flow_logged = false;
    // (exchange, routing key) of this batch's publishes, consecutive
    // duplicates dropped; routed once per batch by check_flow().
    std::vector<std::pair<std::string, std::string>> _flow_targets;
    std::vector<broker::classic_queue*> _flow_route;
    bool _alarm = false;  // a resource alarm is set
    std::string _alarm_reason;
    bool _broker_blocked = false;  // session_sink::set_blocked
    bool _blocked_sent = false;    // we told the machine blocked=true

    bool _closing = false;  // we sent connection.close: read until close-ok
    // Totals for the close log line (the write path's coalescing shows as
    // bytes per write).
    uint64_t _bytes_in = 0;
    uint64_t _bytes_out = 0;
    uint64_t _writes = 0;

    bool _open_logged = false;
    bool _close_logged = false;
    bool _done = false;
    uint64_t _opened_at_ms = 0;
};

}  // namespace qmq::server
