#include "amqp/connection.h"

#include <algorithm>

namespace qmq::amqp {

namespace {

// Bodies up to this size are reserved in full from the header's announced
// size; larger ones grow as frames arrive, so a peer announcing 128 MiB and
// sending nothing does not get 128 MiB allocated.
constexpr uint64_t body_reserve_max = 1u << 20;

std::string prefixed(uint16_t code, std::string text) {
    std::string_view name = reply_name(code);
    if (name.empty() || std::string_view(text).starts_with(name)) {
        return text;
    }
    return std::string(name) + " - " + text;
}

std::string quoted(std::string_view name) {
    return "'" + std::string(name) + "'";
}

field_table server_properties(const server_info& info) {
    field_table caps{
        {"publisher_confirms", true},
        {"exchange_exchange_bindings", true},
        {"basic.nack", true},
        {"consumer_cancel_notify", true},
        {"connection.blocked", true},
        {"consumer_priorities", true},
        {"authentication_failure_close", true},
        {"per_consumer_qos", true},
    };
    field_table p{
        {"capabilities", std::move(caps)},
        {"product", info.product},
        {"version", info.version},
        {"platform", info.platform},
        {"copyright", "QuorumMQ authors"},
        {"information", "AMQP 0-9-1 broker with Raft-replicated quorum queues"},
    };
    if (!info.cluster_name.empty()) {
        p.set("cluster_name", info.cluster_name);
    }
    return p;
}

}  // namespace

connection::connection(authenticator& auth, connection_limits limits, bool peer_is_loopback,
                       server_info info)
    : _auth(auth),
      _limits(limits),
      _info(std::move(info)),
      _peer_is_loopback(peer_is_loopback),
      _channel_max(limits.channel_max == 0 ? UINT16_MAX : limits.channel_max),
      _frame_max(limits.frame_max) {
    QMQ_ASSERT(limits.frame_max >= frame_min_size);
}

void connection::advance_clock(uint64_t now_ms) {
    if (!_clock_started) {
        _clock_started = true;
        _started_ms = _last_received_ms = _last_sent_ms = now_ms;
    }
    _now_ms = std::max(_now_ms, now_ms);
}

std::vector<connection_event> connection::feed(bytes_view data, uint64_t now_ms) {
    std::vector<connection_event> events;
    feed(data, now_ms, events);
    return events;
}

void connection::begin_call(std::vector<connection_event>& events, uint64_t now_ms) {
    advance_clock(now_ms);
    _sink = &events;
    for (auto& e : _pending_events) {
        events.push_back(std::move(e));
    }
    _pending_events.clear();
}

void connection::feed(bytes_view data, uint64_t now_ms, std::vector<connection_event>& events) {
    begin_call(events, now_ms);
    if (_state != state::finished) {
        if (!data.empty()) {
            _last_received_ms = _now_ms;
        }
        feed_frames(_input_broken ? bytes_view{} : data);
    }
    _sink = nullptr;
}

void connection::feed_frames(bytes_view data) {
    bytes_view rest = complete_carried(data);
    while (!rest.empty() && _state != state::finished && !_input_broken) {
        if (_state == state::awaiting_header) {
            if (rest.size() < sizeof(protocol_header)) {
                break;
            }
            on_unit(rest.first(sizeof(protocol_header)));
            rest = rest.subspan(sizeof(protocol_header));
            continue;
        }
        auto p = parse_frame(rest, _frame_max);
        if (p.status == parse_status::need_more) {
            break;
        }
        if (p.status == parse_status::error) {
            _input_broken = true;
            fail(p.reply_code, p.reply_text);
            break;
        }
        on_frame(p.frame);
        rest = rest.subspan(p.consumed);
    }
    if (_state != state::finished && !_input_broken && !rest.empty()) {
        _in.assign(rest.begin(), rest.end());  // less than one frame
    }
}

// Completes the unit (protocol header or frame) carried over from the last
// feed with as few bytes of `data` as it needs; returns the rest of data.
bytes_view connection::complete_carried(bytes_view data) {
    while (!_in.empty() && !data.empty() && !_input_broken && _state != state::finished) {
        std::size_t target = 0;
        if (_state == state::awaiting_header) {
            target = sizeof(protocol_header);
        } else if (_in.size() < frame_header_size) {
            target = frame_header_size;
        } else {
            auto p = parse_frame(_in, _frame_max);  // checks type and size
            if (p.status == parse_status::error) {
                _input_broken = true;
                fail(p.reply_code, p.reply_text);
                break;
            }
            byte_reader r(bytes_view(_in).subspan(3, 4));
            target = frame_overhead + r.u32();
        }
        std::size_t take = std::min(target - _in.size(), data.size());
        _in.insert(_in.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
        data = data.subspan(take);
        if (_in.size() == target &&
            (target != frame_header_size || _state == state::awaiting_header)) {
            bytes unit;
            unit.swap(_in);  // _in is empty while the unit is handled
            on_unit(unit);
        }
    }
    if (_input_broken || _state == state::finished) {
        _in.clear();
        return {};
    }
    return data;
}

void connection::on_unit(bytes_view unit) {
    if (_state == state::awaiting_header) {
        on_protocol_header(unit);
        return;
    }
    auto p = parse_frame(unit, _frame_max);
    if (p.status != parse_status::ok) {
        _input_broken = true;
        fail(p.reply_code == 0 ? reply::frame_error : p.reply_code, p.reply_text);
        return;
    }
    on_frame(p.frame);
}

void connection::on_protocol_header(bytes_view header) {
    if (std::equal(header.begin(), header.end(), std::begin(protocol_header),
                   [](std::byte a, uint8_t b) { return std::to_integer<uint8_t>(a) == b; })) {
        send_start();
        _state = state::awaiting_start_ok;
        return;
    }
    // Any other header: answer with the one we speak and close (spec 4.2.2).
    byte_writer w(_out);
    w.raw(protocol_header, sizeof(protocol_header));
    note_sent();
    std::string shown;
    for (auto b : header) {
        auto c = std::to_integer<uint8_t>(b);
        shown += (c >= 0x20 && c < 0x7F) ? std::string(1, static_cast<char>(c))
                                         : "\\x" + std::to_string(c);
    }
    finish(0, "bad protocol header \"" + shown + "\"", false);
}

void connection::send_start() {
    connection_start m;
    m.version_major = 0;
    m.version_minor = 9;
    m.server_properties = server_properties(_info);
    m.mechanisms = "PLAIN AMQPLAIN";
    m.locales = "en_US";
    byte_writer w(_out);
    write_method_frame(w, 0, m);
    note_sent();
}

void connection::on_frame(const frame_view& f) {
    if (_state == state::closing) {
        on_closing_frame(f);
        return;
    }
    if (f.type == frame_heartbeat) {
        if (f.channel != 0) {
            fail(reply::frame_error,
                 "heartbeat frame on channel " + std::to_string(f.channel) + " (must be 0)");
        } else if (!f.payload.empty()) {
            // RabbitMQ (rabbit_command_assembler) accepts only empty heartbeats.
            fail(reply::frame_error, "heartbeat frame with a " + std::to_string(f.payload.size()) +
                                         "-byte payload (must be empty)");
        }
        return;
    }
    if (f.channel != 0) {
        if (_state != state::open) {
            fail(reply::channel_error, "frame on channel " + std::to_string(f.channel) +
                                           " before the connection is open");
            return;
        }
        on_channel_frame(f);
        return;
    }
    if (f.type != frame_method) {
        fail(reply::unexpected_frame, "content frame on channel 0");
        return;
    }
    auto m = decode_method(f.payload);
    if (!m.ok()) {
        fail(m.err().code, m.err().message);
        return;
    }
    if (_state == state::open) {
        on_method0(std::move(m).value());
    } else {
        on_handshake_method(std::move(m).value());
    }
}

void connection::on_closing_frame(const frame_view& f) {
    // After our connection.close only close-ok (or the peer's own close,
    // crossing ours) matters; everything else is discarded (spec 4.2.6).
    if (f.type != frame_method || f.channel != 0) {
        return;
    }
    auto m = decode_method(f.payload);
    if (!m.ok()) {
        return;
    }
    if (std::holds_alternative<connection_close_ok>(*m)) {
        finish(_close_code, _close_text, false);
    } else if (std::holds_alternative<connection_close>(*m)) {
        byte_writer w(_out);
        write_method_frame(w, 0, connection_close_ok{});
        note_sent();
        finish(_close_code, _close_text, false);
    }
}

void connection::on_handshake_method(method m) {
    if (const auto* c = std::get_if<connection_close>(&m)) {
        byte_writer w(_out);
        write_method_frame(w, 0, connection_close_ok{});
        note_sent();
        finish(c->reply_code, "closed by the client during the handshake: " + c->reply_text, true);
        return;
    }
    auto expect = [&](std::string_view want) {
        fail(reply::command_invalid, "expected " + quoted(want) + ", got " + quoted(name_of(m)),
             id_of(m).class_id, id_of(m).method_id);
    };
    switch (_state) {
        case state::awaiting_start_ok:
            if (const auto* s = std::get_if<connection_start_ok>(&m)) {
                on_start_ok(*s);
            } else {
                expect("connection.start-ok");
            }
            return;
        case state::awaiting_secure_ok:
            if (const auto* s = std::get_if<connection_secure_ok>(&m)) {
                // PLAIN with its response sent here instead of in start-ok.
                auto parts = std::string_view(s->response);
                auto first = parts.find('\0');
                auto second = first == std::string_view::npos ? first : parts.find('\0', first + 1);
                if (second == std::string_view::npos) {
                    fail(reply::access_refused, "PLAIN response is malformed", 10, 21);
                    return;
                }
                on_login("PLAIN", parts.substr(first + 1, second - first - 1),
                         parts.substr(second + 1));
            } else {
                expect("connection.secure-ok");
            }
            return;
        case state::awaiting_tune_ok:
            if (const auto* t = std::get_if<connection_tune_ok>(&m)) {
                on_tune_ok(*t);
            } else {
                expect("connection.tune-ok");
            }
            return;
        case state::awaiting_open:
            if (const auto* o = std::get_if<connection_open>(&m)) {
                on_open(*o);
            } else {
                expect("connection.open");
            }
            return;
        default:
            QMQ_UNREACHABLE();
    }
}

void connection::on_start_ok(const connection_start_ok& m) {
    _client_properties = m.client_properties;
    _mechanism = m.mechanism;
    if (m.mechanism == "PLAIN") {
        if (m.response.empty()) {
            // Ask for the response with an empty challenge (spec: secure).
            _state = state::awaiting_secure_ok;
            byte_writer w(_out);
            write_method_frame(w, 0, connection_secure{});
            note_sent();
            return;
        }
        // [authzid] NUL authcid NUL passwd (RFC 4616)
        std::string_view r = m.response;
        auto first = r.find('\0');
        auto second = first == std::string_view::npos ? first : r.find('\0', first + 1);
        if (second == std::string_view::npos ||
            r.find('\0', second + 1) != std::string_view::npos) {
            fail(reply::access_refused, "PLAIN response is malformed", 10, 11);
            return;
        }
        on_login("PLAIN", r.substr(first + 1, second - first - 1), r.substr(second + 1));
        return;
    }
    if (m.mechanism == "AMQPLAIN") {
        auto t = decode_table_body(as_bytes(m.response));
        if (!t.ok()) {
            fail(reply::access_refused, "AMQPLAIN response is malformed: " + t.err().message, 10,
                 11);
            return;
        }
        const std::string* user = t->get_string("LOGIN");
        const std::string* pass = t->get_string("PASSWORD");
        if (user == nullptr || pass == nullptr) {
            fail(reply::access_refused, "AMQPLAIN response lacks LOGIN or PASSWORD", 10, 11);
            return;
        }
        on_login("AMQPLAIN", *user, *pass);
        return;
    }
    fail(reply::command_invalid,
         "unknown authentication mechanism " + quoted(m.mechanism) + " (supported: PLAIN AMQPLAIN)",
         10, 11);
}

void connection::on_login(std::string_view mechanism, std::string_view user,
                          std::string_view password) {
    auth_decision d = _auth.login(mechanism, user, password, _peer_is_loopback);
    if (!d.ok()) {
        std::string text = d.reply_text.empty()
                               ? "Login was refused using authentication mechanism " +
                                     std::string(mechanism) +
                                     ". For details see the broker logfile."
                               : d.reply_text;
        if (client_has("authentication_failure_close")) {
            fail(d.reply_code, std::move(text), 10, 11);
        } else {
            // Older clients expect the socket to close without a reply.
            finish(d.reply_code, prefixed(d.reply_code, std::move(text)), false);
        }
        return;
    }
    _user = std::string(user);
    _state = state::awaiting_tune_ok;
    connection_tune t;
    t.channel_max = _limits.channel_max;
    t.frame_max = _limits.frame_max;
    t.heartbeat = _limits.heartbeat_s;
    byte_writer w(_out);
    write_method_frame(w, 0, t);
    note_sent();
}

void connection::on_tune_ok(const connection_tune_ok& m) {
    // RabbitMQ's rules (rabbit_reader): higher than offered, or a frame_max
    // below the minimum, is 530 NOT_ALLOWED. Unlike RabbitMQ, 0 ("no limit")
    // takes our offer instead of failing.
    auto refuse = [&](std::string_view field, uint64_t value, std::string_view cmp,
                      uint64_t bound) {
        fail(reply::not_allowed,
             "negotiated " + std::string(field) + " = " + std::to_string(value) + " is " +
                 std::string(cmp) + " allowed value (" + std::to_string(bound) + ")",
             10, 31);
    };
    uint16_t channel_max = m.channel_max == 0 ? _channel_max : m.channel_max;
    if (channel_max > _channel_max) {
        refuse("channel_max", channel_max, "higher than the maximum", _channel_max);
        return;
    }
    uint32_t frame_max = m.frame_max == 0 ? _limits.frame_max : m.frame_max;
    if (frame_max < frame_min_size) {
        refuse("frame_max", frame_max, "lower than the minimum", frame_min_size);
        return;
    }
    if (frame_max > _limits.frame_max) {
        refuse("frame_max", frame_max, "higher than the maximum", _limits.frame_max);
        return;
    }
    _channel_max = channel_max;
    _frame_max = frame_max;
    _heartbeat_s = m.heartbeat;
    _state = state::awaiting_open;
}

void connection::on_open(const connection_open& m) {
    auth_decision d = _auth.open_vhost(_user, m.virtual_host);
    if (!d.ok()) {
        fail(d.reply_code,
             d.reply_text.empty() ? "access to vhost " + quoted(m.virtual_host) + " refused"
                                  : d.reply_text,
             10, 40);
        return;
    }
    _vhost = m.virtual_host;
    _state = state::open;
    byte_writer w(_out);
    write_method_frame(w, 0, connection_open_ok{});
    note_sent();
    emit(connection_opened{_user, _vhost, _client_properties});
    send_blocked_state();
}

void connection::on_method0(method m) {
    const auto id = id_of(m);
    if (const auto* c = std::get_if<connection_close>(&m)) {
        byte_writer w(_out);
        write_method_frame(w, 0, connection_close_ok{});
        note_sent();
        finish(c->reply_code, c->reply_text.empty() ? "closed by the client" : c->reply_text, true);
        return;
    }
    if (std::holds_alternative<connection_update_secret>(m)) {
        fail(reply::not_implemented, "connection.update-secret is not supported", id.class_id,
             id.method_id);
        return;
    }
    if (std::holds_alternative<connection_open>(m)) {
        fail(reply::command_invalid, "second 'connection.open' on an open connection", id.class_id,
             id.method_id);
        return;
    }
    if (id.class_id == class_id::connection) {
        fail(reply::command_invalid, quoted(name_of(m)) + " is not valid on an open connection",
             id.class_id, id.method_id);
        return;
    }
    fail(reply::command_invalid, quoted(name_of(m)) + " is not allowed on channel 0", id.class_id,
         id.method_id);
}

connection::channel& connection::slot(uint16_t ch) {
    if (ch >= _channels.size()) {
        _channels.resize(std::size_t{ch} + 1);
    }
    return _channels[ch];
}

void connection::on_channel_frame(const frame_view& f) {
    const uint16_t ch = f.channel;
    if (ch > _channel_max) {
        fail(reply::not_allowed, "channel " + std::to_string(ch) +
                                     " is above the negotiated channel_max " +
                                     std::to_string(_channel_max));
        return;
    }
    channel& c = slot(ch);
    switch (c.state) {
        case channel_state::closed: {
            if (f.type != frame_method) {
                fail(reply::channel_error,
                     "content frame on channel " + std::to_string(ch) + ", which is not open");
                return;
            }
            auto m = decode_method(f.payload);
            if (!m.ok()) {
                fail(m.err().code, m.err().message);
                return;
            }
            if (std::holds_alternative<channel_open>(*m)) {
                c = channel{};
                c.state = channel_state::open;
                byte_writer w(_out);
                write_method_frame(w, ch, channel_open_ok{});
                note_sent();
                emit(channel_opened{ch});
                return;
            }
            if (std::holds_alternative<channel_close_ok>(*m)) {
                return;  // late close-ok after a close that crossed ours
            }
            fail(reply::channel_error,
                 "expected 'channel.open' on channel " + std::to_string(ch) + ", got " +
                     quoted(name_of(*m)),
                 id_of(*m).class_id, id_of(*m).method_id);
            return;
        }
        case channel_state::closing: {
            // Discard everything until close-ok (spec 4.2.5).
            if (f.type != frame_method) {
                return;
            }
            auto m = decode_method(f.payload);
            if (!m.ok()) {
                return;
            }
            if (std::holds_alternative<channel_close_ok>(*m)) {
                c = channel{};
            } else if (std::holds_alternative<channel_close>(*m)) {
                // The peer closed too: answer it; the channel is done.
                byte_writer w(_out);
                write_method_frame(w, ch, channel_close_ok{});
                note_sent();
                c = channel{};
            }
            return;
        }
        case channel_state::open:
            break;
    }
    if (c.pending) {
        if (f.type == frame_header && c.awaiting_header) {
            on_content_header(ch, c, f.payload);
        } else if (f.type == frame_body && !c.awaiting_header) {
            on_content_body(ch, c, f.payload);
        } else {
            fail(reply::unexpected_frame,
                 std::string("expected content ") + (c.awaiting_header ? "header" : "body") +
                     " for " + quoted(name_of(*c.pending)) + " on channel " + std::to_string(ch) +
                     ", got a " +
                     (f.type == frame_method   ? "method"
                      : f.type == frame_header ? "content header"
                                               : "content body") +
                     " frame",
                 id_of(*c.pending).class_id, id_of(*c.pending).method_id);
        }
        return;
    }
    if (f.type != frame_method) {
        fail(reply::unexpected_frame, std::string("expected a method frame on channel ") +
                                          std::to_string(ch) + ", got a content " +
                                          (f.type == frame_header ? "header" : "body") + " frame");
        return;
    }
    auto m = decode_method(f.payload);
    if (!m.ok()) {
        fail(m.err().code, m.err().message);
        return;
    }
    on_channel_method(ch, c, std::move(m).value());
}

void connection::on_channel_method(uint16_t ch, channel& c, method m) {
    const auto id = id_of(m);
    if (std::holds_alternative<channel_open>(m)) {
        fail(reply::channel_error, "second 'channel.open' on channel " + std::to_string(ch),
             id.class_id, id.method_id);
        return;
    }
    if (const auto* close = std::get_if<channel_close>(&m)) {
        byte_writer w(_out);
        write_method_frame(w, ch, channel_close_ok{});
        note_sent();
        c = channel{};
        emit(channel_closed{ch, close->reply_code, close->reply_text, true});
        return;
    }
    if (std::holds_alternative<channel_close_ok>(m) || std::holds_alternative<channel_flow_ok>(m)) {
        return;  // we never sent the request these answer; ignore, as RabbitMQ does
    }
    if (const auto* flow = std::get_if<channel_flow>(&m)) {
        if (!flow->active) {
            // RabbitMQ (since 3.3) refuses client-side flow control the same way.
            fail(reply::not_implemented, "channel.flow active=false is not supported", id.class_id,
                 id.method_id);
            return;
        }
        byte_writer w(_out);
        write_method_frame(w, ch, channel_flow_ok{true});
        note_sent();
        return;
    }
    if (std::holds_alternative<access_request>(m)) {
        byte_writer w(_out);
        write_method_frame(w, ch, access_request_ok{1});
        note_sent();
        return;
    }
    if (id.class_id == class_id::connection) {
        fail(reply::command_invalid,
             quoted(name_of(m)) + " on channel " + std::to_string(ch) + " (only channel 0)",
             id.class_id, id.method_id);
        return;
    }
    if (!is_from_client(m)) {
        fail(reply::command_invalid, quoted(name_of(m)) + " is not a method a client may send",
             id.class_id, id.method_id);
        return;
    }
    if (has_content(m)) {
        c.pending = std::move(m);
        c.awaiting_header = true;
        return;
    }
    emit(method_received{ch, std::move(m), std::nullopt});
}

void connection::on_content_header(uint16_t ch, channel& c, bytes_view payload) {
    const auto id = id_of(*c.pending);
    c.body.emplace();
    auto size = decode_content_header_into(payload, *c.body);
    if (!size.ok()) {
        fail(size.err().code, size.err().message, id.class_id, id.method_id);
        return;
    }
    if (c.body->class_id != id.class_id) {
        fail(reply::unexpected_frame,
             "content header for class " + std::to_string(c.body->class_id) + ", expected class " +
                 std::to_string(id.class_id),
             id.class_id, id.method_id);
        return;
    }
    const uint64_t body_size = *size;
    if (body_size > _limits.message_size_max) {
        // A soft error as in RabbitMQ (rabbit_channel check_msg_size).
        soft_fail(ch, reply::precondition_failed,
                  "message size " + std::to_string(body_size) +
                      " is larger than configured max size " +
                      std::to_string(_limits.message_size_max),
                  id.class_id, id.method_id);
        return;
    }
    c.body->body.reserve(std::min(body_size, body_reserve_max));
    c.body_remaining = body_size;
    c.awaiting_header = false;
    if (c.body_remaining == 0) {
        emit(method_received{ch, std::move(*c.pending), std::move(*c.body)});
        c.pending.reset();
        c.body.reset();
    }
}

void connection::on_content_body(uint16_t ch, channel& c, bytes_view payload) {
    if (payload.size() > c.body_remaining) {
        const auto id = id_of(*c.pending);
        fail(reply::frame_error,
             "content body frame of " + std::to_string(payload.size()) +
                 " bytes is longer than the " + std::to_string(c.body_remaining) +
                 " bytes left of the size its header announced",
             id.class_id, id.method_id);
        return;
    }
    auto& body = c.body->body;
    body.insert(body.end(), payload.begin(), payload.end());
    c.body_remaining -= payload.size();
    if (c.body_remaining == 0) {
        emit(method_received{ch, std::move(*c.pending), std::move(*c.body)});
        c.pending.reset();
        c.body.reset();
    }
}

std::vector<connection_event> connection::tick(uint64_t now_ms) {
    std::vector<connection_event> events;
    tick(now_ms, events);
    return events;
}

void connection::tick(uint64_t now_ms, std::vector<connection_event>& events) {
    begin_call(events, now_ms);
    tick_timers();
    _sink = nullptr;
}

void connection::tick_timers() {
    switch (_state) {
        case state::finished:
            break;
        case state::closing:
            if (_now_ms - _closing_since_ms >= _limits.close_timeout_ms) {
                finish(_close_code, _close_text, false);
            }
            break;
        case state::open:
        case state::awaiting_open:
            if (_heartbeat_s != 0) {
                const uint64_t interval_ms = uint64_t{_heartbeat_s} * 1000;
                if (!_heartbeat_check_paused && _now_ms - _last_received_ms >= 2 * interval_ms) {
                    finish(0,
                           "missed heartbeats from client, timeout: " +
                               std::to_string(_heartbeat_s) + "s",
                           false);
                    break;
                }
                // Half the interval, so the client sees one well within its own.
                if (_now_ms - _last_sent_ms >= interval_ms / 2) {
                    byte_writer w(_out);
                    write_heartbeat_frame(w);
                    note_sent();
                }
            }
            if (_state == state::awaiting_open &&
                _now_ms - _started_ms >= _limits.handshake_timeout_ms) {
                finish(0, "handshake timeout", false);
            }
            break;
        default:
            if (_now_ms - _started_ms >= _limits.handshake_timeout_ms) {
                finish(0, "handshake timeout", false);
            }
            break;
    }
}

bool connection::can_send(uint16_t ch) const {
    if (_state != state::open) {
        return false;
    }
    return ch == 0 || (ch < _channels.size() && _channels[ch].state == channel_state::open);
}

void connection::send_method(uint16_t channel, const method& m, const content* c) {
    std::visit([&](const auto& x) { send(channel, x, c); }, m);
}

void connection::close_channel(uint16_t ch, uint16_t reply_code, std::string reply_text,
                               uint16_t class_id, uint16_t method_id) {
    if (_state != state::open || ch == 0 || ch >= _channels.size() ||
        _channels[ch].state != channel_state::open) {
        return;
    }
    channel& c = _channels[ch];
    c = channel{};
    c.state = channel_state::closing;
    byte_writer w(_out);
    write_method_frame(w, ch,
                       channel_close{reply_code, prefixed(reply_code, std::move(reply_text)),
                                     class_id, method_id});
    note_sent();
}

void connection::soft_fail(uint16_t ch, uint16_t code, std::string text, uint16_t class_id,
                           uint16_t method_id) {
    std::string full = prefixed(code, std::move(text));
    close_channel(ch, code, full, class_id, method_id);
    emit(channel_closed{ch, code, std::move(full), false});
}

void connection::close_connection(uint16_t reply_code, std::string reply_text, uint16_t class_id,
                                  uint16_t method_id) {
    if (_state == state::closing || _state == state::finished) {
        return;
    }
    if (_state == state::awaiting_header) {
        finish(reply_code, std::move(reply_text), false);
        return;
    }
    _close_code = reply_code;
    _close_text = prefixed(reply_code, std::move(reply_text));
    byte_writer w(_out);
    write_method_frame(w, 0, connection_close{_close_code, _close_text, class_id, method_id});
    note_sent();
    _state = state::closing;
    _closing_since_ms = _now_ms;
}

void connection::fail(uint16_t code, std::string text, uint16_t class_id, uint16_t method_id) {
    if (_state == state::closing || _state == state::finished) {
        return;
    }
    close_connection(code, std::move(text), class_id, method_id);
    report_closed(_close_code, _close_text, false);
}

void connection::finish(uint16_t code, std::string reason, bool by_peer) {
    report_closed(code, std::move(reason), by_peer);
    _state = state::finished;
    _channels.clear();
    _in.clear();
}

void connection::report_closed(uint16_t code, std::string reason, bool by_peer) {
    if (_closed_reported) {
        return;
    }
    _closed_reported = true;
    emit(connection_closed{code, std::move(reason), by_peer});
}

void connection::set_blocked(bool blocked, std::string_view reason) {
    _blocked = blocked;
    if (blocked) {
        _blocked_reason = std::string(reason);
    }
    send_blocked_state();
}

void connection::send_blocked_state() {
    if (_state != state::open || _blocked == _blocked_sent || !client_has("connection.blocked")) {
        return;
    }
    _blocked_sent = _blocked;
    byte_writer w(_out);
    if (_blocked) {
        write_method_frame(w, 0, connection_blocked{_blocked_reason});
    } else {
        write_method_frame(w, 0, connection_unblocked{});
    }
    note_sent();
}

void connection::pause_heartbeat_check(bool paused) {
    if (_heartbeat_check_paused && !paused) {
        _last_received_ms = _now_ms;
    }
    _heartbeat_check_paused = paused;
}

bytes connection::take_output() {
    bytes out;
    out.swap(_out);
    return out;
}

void connection::take_output(bytes& into) {
    into.clear();
    into.swap(_out);
}

bool connection::is_channel_open(uint16_t ch) const {
    return _state == state::open && ch != 0 && ch < _channels.size() &&
           _channels[ch].state == channel_state::open;
}

bool connection::client_has(std::string_view capability) const {
    const field_table* caps = _client_properties.get_table("capabilities");
    if (caps == nullptr) {
        return false;
    }
    auto v = caps->get_bool(capability);
    return v && *v;
}

}  // namespace qmq::amqp
