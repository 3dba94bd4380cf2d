#pragma once

// The pure AMQP 0-9-1 connection machine, server side. It owns the protocol
// from the first byte to the last: protocol header, start/start-ok (PLAIN,
// AMQPLAIN), secure, tune/tune-ok (negotiated limits, then enforced), open,
// close in both directions, blocked/unblocked, heartbeats, channel
// open/close/flow, content assembly and every frame-level error. It sees no
// socket and no clock: the owner feeds it bytes and the time, and takes back
// events and output bytes.
//
//   server                       connection                      broker
//   socket bytes --feed(bytes, now)-->  parse, assemble  --events-->  session
//   socket  <--take_output()--   encode  <--send_method()/close_channel()--
//   timer   --tick(now)-->       heartbeats, dead peer, close timeout
//
// After finished() is true, the owner writes out what take_output() still
// returns and closes the socket; feed() ignores further input.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "amqp/authenticator.h"
#include "amqp/constants.h"
#include "amqp/content.h"
#include "amqp/field_table.h"
#include "amqp/frame.h"
#include "amqp/methods.h"
#include "common/bytes.h"

namespace qmq::amqp {

struct connection_limits {
    uint16_t channel_max = 2047;               // offered in tune; 0 would mean 65535
    uint32_t frame_max = 131072;               // offered in tune; at least frame_min_size
    uint16_t heartbeat_s = 60;                 // offered in tune; the client's tune-ok wins
    uint64_t message_size_max = 128ull << 20;  // body bytes; more -> 406 on the channel
    uint64_t handshake_timeout_ms = 10000;     // header to open-ok, else closed
    uint64_t close_timeout_ms = 3000;          // wait for close-ok, then give up
};

// Server properties sent in connection.start.
struct server_info {
    std::string product = "QuorumMQ";
    std::string version = "0.1.0";
    std::string platform = "C++20";
    std::string cluster_name;  // omitted when empty
};

// --- events, in the order the bytes produced them ---

struct connection_opened {
    std::string user;
    std::string vhost;
    field_table client_properties;  // connection_name, capabilities, product...
};

// The connection is over; reported exactly once, and nothing follows it.
// Every open channel is gone with it; no per-channel events are sent. When
// the machine closes (protocol error, peer close, dead peer) it is reported
// at once; after the owner's close_connection(), when close-ok arrives or the
// close times out. reply_code 0 means the socket ends without an AMQP close
// (bad protocol header, handshake timeout, missed heartbeats).
struct connection_closed {
    uint16_t reply_code = 0;  // 200 for a normal close
    std::string reason;       // for the log line
    bool by_peer = false;     // the client sent connection.close
};

struct channel_opened {
    uint16_t channel = 0;
};

// A channel the owner did not close itself is gone: the peer closed it, or
// the machine did for a soft error it found (e.g. a message over the size
// limit). Not reported for close_channel() calls.
struct channel_closed {
    uint16_t channel = 0;
    uint16_t reply_code = 0;
    std::string reason;
    bool by_peer = false;
};

// Any method for the broker (everything but connection.*, channel.open,
// channel.close/close-ok, channel.flow/flow-ok, access.request), with its
// content when the method carries one (basic.publish).
struct method_received {
    uint16_t channel = 0;
    method m;
    std::optional<content> body;
};

using connection_event = std::variant<connection_opened, connection_closed, channel_opened,
                                      channel_closed, method_received>;

class connection {
  public:
    connection(authenticator& auth, connection_limits limits, bool peer_is_loopback,
               server_info info = {});
    // Copyable between calls (never during feed/tick): the fuzzer snapshots
    // a machine after the handshake and copies it per input. The copy shares
    // the authenticator. A server never copies a connection.
    connection(const connection&) = default;
    connection& operator=(const connection&) = delete;

    // Consumes bytes read from the socket. Only an incomplete trailing frame
    // is copied (into an internal buffer); complete frames are parsed in
    // place. Events come back in wire order. If the owner calls
    // close_channel() while handling an event, later events of the same batch
    // for that channel must be skipped: check is_channel_open().
    std::vector<connection_event> feed(bytes_view data, uint64_t now_ms);
    // The same, appending to the caller's vector, so one vector (and its
    // capacity) can serve every read.
    void feed(bytes_view data, uint64_t now_ms, std::vector<connection_event>& events);

    // Heartbeats (one is sent when nothing else was sent for a whole
    // interval), the dead-peer check (nothing received for two intervals),
    // and the handshake and close timeouts. Call often (every 100 ms).
    std::vector<connection_event> tick(uint64_t now_ms);
    void tick(uint64_t now_ms, std::vector<connection_event>& events);

    // --- calls from the owner ---
    void send_method(uint16_t channel, const method& m, const content* c = nullptr);
    template <typename M>
    void send(uint16_t channel, const M& m, const content* c = nullptr);
    // Sends channel.close and discards the peer's frames on that channel
    // until its close-ok; the number can be reopened after that. Reply texts
    // get RabbitMQ's "NAME - " prefix (e.g. "NOT_FOUND - ") unless they
    // already start with it.
    void close_channel(uint16_t channel, uint16_t reply_code, std::string reply_text,
                       uint16_t class_id = 0, uint16_t method_id = 0);
    // Sends connection.close and waits for close-ok (or close_timeout_ms).
    void close_connection(uint16_t reply_code, std::string reply_text, uint16_t class_id = 0,
                          uint16_t method_id = 0);
    // connection.blocked/unblocked, only to clients whose capabilities say
    // connection.blocked, and only when the state changes.
    void set_blocked(bool blocked, std::string_view reason);

    // While the owner stops reading the socket (a blocked publisher), the
    // peer's heartbeats cannot arrive: pause the dead-peer check, as RabbitMQ
    // pauses its heartbeat monitor. Resuming restarts the interval from now.
    void pause_heartbeat_check(bool paused);

    // Bytes to write to the socket. take_output(buf) swaps: hand back the
    // buffer you last wrote out (cleared here) so its capacity is reused.
    bytes take_output();
    void take_output(bytes& into);
    bool has_output() const { return !_out.empty(); }
    // Pending output bytes, for the owner's back-pressure (stop delivering to
    // a client that does not read).
    std::size_t output_size() const { return _out.size(); }

    // --- state ---
    bool opened() const { return _state == state::open; }
    bool finished() const { return _state == state::finished; }
    bool is_channel_open(uint16_t channel) const;
    uint16_t channel_max() const { return _channel_max; }
    uint32_t frame_max() const { return _frame_max; }
    uint16_t heartbeat_s() const { return _heartbeat_s; }
    const std::string& user() const { return _user; }
    const std::string& vhost() const { return _vhost; }
    const field_table& client_properties() const { return _client_properties; }
    // A capability the client announced in client_properties.capabilities.
    bool client_has(std::string_view capability) const;

  private:
    enum class state {
        awaiting_header,
        awaiting_start_ok,
        awaiting_secure_ok,
        awaiting_tune_ok,
        awaiting_open,
        open,
        closing,  // we sent connection.close; waiting for close-ok
        finished,
    };
    enum class channel_state : uint8_t { closed, open, closing };

    struct channel {
        channel_state state = channel_state::closed;
        // Content being assembled: the method, then a header, then bodies.
        std::optional<method> pending;
        std::optional<content> body;
        uint64_t body_remaining = 0;
        bool awaiting_header = false;
    };

    void advance_clock(uint64_t now_ms);
    bytes_view complete_carried(bytes_view data);
    void on_unit(bytes_view unit);  // a protocol header or one whole frame
    void on_frame(const frame_view& f);
    void on_protocol_header(bytes_view header);
    void on_closing_frame(const frame_view& f);
    void on_handshake_method(method m);
    void on_method0(method m);
    void on_channel_frame(const frame_view& f);
    void on_channel_method(uint16_t ch, channel& c, method m);
    void on_content_header(uint16_t ch, channel& c, bytes_view payload);
    void on_content_body(uint16_t ch, channel& c, bytes_view payload);
    void on_start_ok(const connection_start_ok& m);
    void on_login(std::string_view mechanism, std::string_view user, std::string_view password);
    void on_tune_ok(const connection_tune_ok& m);
    void on_open(const connection_open& m);

    void send_start();
    void send_blocked_state();
    // Hard error: connection.close with the code and text, then closing;
    // reports connection_closed at once.
    void fail(uint16_t code, std::string text, uint16_t class_id = 0, uint16_t method_id = 0);
    // Soft error found by the machine: channel.close and channel_closed.
    void soft_fail(uint16_t ch, uint16_t code, std::string text, uint16_t class_id = 0,
                   uint16_t method_id = 0);
    void finish(uint16_t code, std::string reason, bool by_peer);
    void report_closed(uint16_t code, std::string reason, bool by_peer);
    channel& slot(uint16_t ch);
    // Owner sends go out only on an open connection and an open channel (or
    // channel 0); anything else is dropped, as the peer could not take it.
    bool can_send(uint16_t ch) const;
    void feed_frames(bytes_view data);
    void tick_timers();
    // Events go to the vector of the feed()/tick() call in progress; one
    // raised by an owner call (close_connection before the header) waits in
    // _pending_events for the next call.
    void emit(connection_event e) {
        (_sink != nullptr ? *_sink : _pending_events).push_back(std::move(e));
    }
    void begin_call(std::vector<connection_event>& events, uint64_t now_ms);
    void note_sent() { _last_sent_ms = _now_ms; }

    authenticator& _auth;
    connection_limits _limits;
    server_info _info;
    bool _peer_is_loopback;

    state _state = state::awaiting_header;
    uint16_t _channel_max;
    uint32_t _frame_max;
    uint16_t _heartbeat_s = 0;
    std::string _user;
    std::string _vhost;
    std::string _mechanism;
    field_table _client_properties;
    bool _blocked = false;
    bool _blocked_sent = false;  // what the client was last told
    std::string _blocked_reason;
    bool _closed_reported = false;
    bool _heartbeat_check_paused = false;
    bool _input_broken = false;  // framing lost after a frame error: ignore input
    uint16_t _close_code = 0;    // of the connection.close we sent
    std::string _close_text;

    std::vector<channel> _channels;  // indexed by channel number, grown on demand
    bytes _in;                       // an incomplete unit carried between feeds
    bytes _out;
    std::vector<connection_event>* _sink = nullptr;
    std::vector<connection_event> _pending_events;

    uint64_t _now_ms = 0;
    bool _clock_started = false;
    uint64_t _started_ms = 0;
    uint64_t _last_received_ms = 0;
    uint64_t _last_sent_ms = 0;
    uint64_t _closing_since_ms = 0;
};

template <typename M>
void connection::send(uint16_t channel, const M& m, const content* c) {
    if (!can_send(channel)) {
        return;
    }
    byte_writer w(_out);
    write_method_frame(w, channel, m);
    if (c != nullptr) {
        write_content_frames(w, channel, *c, _frame_max);
    }
    note_sent();
}

}  // namespace qmq::amqp
