#include "server/client_connection.h"

#include <fmt/format.h>

#include "amqp/constants.h"
#include "broker/broker.h"
#include "broker/vhost.h"
#include "common/assert.h"
#include "common/log.h"
#include "server/clock.h"
#include "server/connection_hub.h"

namespace qmq::server {

namespace {

std::string endpoint_text(const asio::ip::tcp::endpoint& e) {
    if (e.address().is_v6()) {
        return fmt::format("[{}]:{}", e.address().to_string(), e.port());
    }
    return fmt::format("{}:{}", e.address().to_string(), e.port());
}

std::string client_name(const amqp::field_table& props) {
    // pika and amqplib send "connection_name" when the application gives one.
    const std::string* name = props.get_string("connection_name");
    return name ? *name : std::string{};
}

}  // namespace

client_connection::client_connection(connection_hub& hub, asio::ip::tcp::socket socket, uint64_t id,
                                     bool over_limit)
    : _hub(hub), _socket(std::move(socket)), _id(id), _over_limit(over_limit) {
    std::error_code ec;
    const auto remote = _socket.remote_endpoint(ec);
    const auto local = _socket.local_endpoint(ec);
    _peer = ec ? "unknown" : endpoint_text(remote);
    _name = fmt::format("{} -> {}", _peer, ec ? "unknown" : endpoint_text(local));
    _peer_is_loopback = !ec && remote.address().is_loopback();
    if (!ec && remote.address().is_v6() && remote.address().to_v6().is_v4_mapped()) {
        _peer_is_loopback =
            asio::ip::make_address_v4(asio::ip::v4_mapped, remote.address().to_v6()).is_loopback();
    }
    _socket.set_option(asio::ip::tcp::no_delay(true), ec);
    _proto =
        std::make_unique<amqp::connection>(_hub.broker, _hub.limits, _peer_is_loopback, _hub.info);
    _read_buffer.resize(read_chunk_min);
}

client_connection::~client_connection() = default;

void client_connection::start() {
    QMQ_LOG_DEBUG("connection {}: accepted ({})", _id, _name);
    read_more();
}

bool client_connection::reading_allowed() const {
    if (_done || _proto->finished()) {
        return false;
    }
    if (_closing) {
        return true;  // the close-ok must get through even to a blocked connection
    }
    if ((_alarm && _publisher) || _broker_blocked || _flow_paused) {
        return false;
    }
    // Output the client has not taken yet: the write in flight plus what
    // piled up behind it (replies and deliveries).
    return !(_writing && _writing_buffer.size() + _proto->output_size() >= output_backlog_max);
}

void client_connection::set_reading_paused(bool paused) {
    if (paused == _reading_paused || _done) {
        return;
    }
    _reading_paused = paused;
    _proto->pause_heartbeat_check(paused);
}

void client_connection::read_more() {
    if (_reading) {
        return;
    }
    if (!reading_allowed()) {
        set_reading_paused(true);
        return;
    }
    if (!_held.empty()) {
        bytes held;
        held.swap(_held);
        process(held);
        if (!reading_allowed()) {
            set_reading_paused(true);
            return;
        }
    }
    set_reading_paused(false);
    _reading = true;
    _socket.async_read_some(asio::buffer(_read_buffer.data(), _read_buffer.size()),
                            [self = shared_from_this()](const std::error_code& ec, std::size_t n) {
                                self->on_read(ec, n);
                            });
}

void client_connection::on_read(const std::error_code& ec, std::size_t n) {
    _reading = false;
    if (_done) {
        return;
    }
    if (ec) {
        // RabbitMQ's wording for a socket that ends without connection.close.
        on_closed(0, ec == asio::error::eof ? "client unexpectedly closed TCP connection"
                                            : fmt::format("socket error: {}", ec.message()));
        shut("socket closed");
        return;
    }
    _bytes_in += n;
    if (!reading_allowed()) {
        // Paused while this read was in flight: keep the bytes for later.
        _held.assign(_read_buffer.begin(), _read_buffer.begin() + static_cast<std::ptrdiff_t>(n));
        set_reading_paused(true);
        return;
    }
    process(bytes_view(_read_buffer.data(), n));
    if (n == _read_buffer.size() && _read_buffer.size() < read_chunk_max) {
        _read_buffer.resize(_read_buffer.size() * 2);
    }
    read_more();
}

void client_connection::process(bytes_view data) {
    auto events = _proto->feed(data, monotonic_ms());
    handle(events);
    if (_session) {
        _session->on_batch_end();
    }
    check_flow();
    update_blocked();
    flush();
    if (_hub.flow) {
        // Acks and deliveries of this batch may have drained a queue some
        // publisher waits on.
        _hub.flow->poll(monotonic_ms());
    }
}

void client_connection::check_flow() {
    if (_flow_targets.empty()) {
        return;
    }
    if (_consumer || !_session || _closing || _flow_paused || !_hub.flow) {
        _flow_targets.clear();
        return;
    }
    broker::vhost* vh = _hub.broker.find_vhost(_proto->vhost());
    const uint64_t now = monotonic_ms();
    for (const auto& [exchange_name, routing_key] : _flow_targets) {
        broker::exchange* x = vh ? vh->find_exchange(exchange_name) : nullptr;
        // Headers exchanges route on the message's headers, not kept here.
        if (x == nullptr || x->type() == broker::exchange_type::headers) {
            continue;
        }
        _flow_route.clear();
        vh->route(*x, routing_key, nullptr, _flow_route);
        for (broker::classic_queue* q : _flow_route) {
            if (_hub.flow->over_high(*q, now)) {
                _flow_paused = true;
                _hub.flow->wait(weak_from_this(), flow_queue_ref{vh->name(), q->id()}, now);
                // Once per connection at info (RabbitMQ shows such a
                // connection in state "flow"); every pause at debug.
                if (!_flow_logged) {
                    _flow_logged = true;
                    QMQ_LOG_INFO(
                        "connection {}: publisher paused by flow control: {} has {} "
                        "ready messages (high watermark {})",
                        _name, q->describe(), q->message_count(), _hub.flow->settings().ready_high);
                } else {
                    QMQ_LOG_DEBUG("connection {}: publisher paused by flow control ({} ready)",
                                  _name, q->message_count());
                }
                _flow_targets.clear();
                return;
            }
        }
    }
    _flow_targets.clear();
}

void client_connection::flow_resume() {
    if (!_flow_paused) {
        return;
    }
    _flow_paused = false;
    // Deferred: we may be inside another connection's handler.
    asio::post(_socket.get_executor(), [self = shared_from_this()] { self->read_more(); });
}

void client_connection::handle(std::vector<amqp::connection_event>& events) {
    _closed_in_batch.clear();
    for (auto& event : events) {
        if (_done) {
            return;
        }
        std::visit(
            [&](auto& e) {
                using T = std::decay_t<decltype(e)>;
                if constexpr (std::is_same_v<T, amqp::connection_opened>) {
                    on_opened(e);
                } else if constexpr (std::is_same_v<T, amqp::connection_closed>) {
                    on_closed(e.reply_code, e.reason);
                } else if (_closing) {
                    // We sent connection.close (the broker asked, or shutdown):
                    // the rest of this batch is moot.
                    return;
                } else if constexpr (std::is_same_v<T, amqp::channel_opened>) {
                    if (_session) {
                        _session->on_channel_opened(e.channel);
                    }
                } else if constexpr (std::is_same_v<T, amqp::channel_closed>) {
                    if (_session && !_closed_in_batch.contains(e.channel)) {
                        _session->on_channel_closed(e.channel);
                    }
                } else if constexpr (std::is_same_v<T, amqp::method_received>) {
                    // Skip only what follows a close_channel() the session
                    // made earlier in this batch. The machine's own state is
                    // no guide: it has already read the whole batch, so a
                    // channel.close or connection.close that the peer sent
                    // after this method would make it look closed, and the
                    // methods before the close must still be carried out.
                    if (!_session || _closed_in_batch.contains(e.channel)) {
                        return;
                    }
                    if (const auto* p = std::get_if<amqp::basic_publish>(&e.m)) {
                        _publisher = true;
                        if (!_consumer && _hub.flow && _hub.flow->enabled() &&
                            (_flow_targets.empty() || _flow_targets.back().first != p->exchange ||
                             _flow_targets.back().second != p->routing_key)) {
                            _flow_targets.emplace_back(p->exchange, p->routing_key);
                        }
                    } else if (std::holds_alternative<amqp::basic_consume>(e.m) ||
                               std::holds_alternative<amqp::basic_get>(e.m)) {
                        _consumer = true;
                    }
                    _session->on_method(e.channel, e.m, e.body ? &*e.body : nullptr);
                }
            },
            event);
    }
}

void client_connection::on_opened(const amqp::connection_opened& e) {
    if (_over_limit) {
        _closing = true;
        _proto->close_connection(
            amqp::reply::not_allowed,
            fmt::format("NOT_ALLOWED - connection refused: node connection limit ({}) is reached",
                        _hub.connections_max));
        QMQ_LOG_WARN("connection {} refused: node connection limit ({}) reached, user '{}'", _name,
                     _hub.connections_max, e.user);
        return;
    }
    _opened_at_ms = monotonic_ms();
    _open_logged = true;
    const std::string app_name = client_name(e.client_properties);
    QMQ_LOG_INFO("connection opened: {} user '{}' vhost '{}'{}", _name, e.user, e.vhost,
                 app_name.empty() ? "" : fmt::format(" name '{}'", app_name));
    _session = std::make_unique<broker::session>(_hub.broker, *this, e.user, e.vhost, _name);
    if (_alarm) {
        update_blocked();
    }
}

void client_connection::on_closed(uint16_t code, const std::string& reason) {
    if (_session) {
        auto session = std::move(_session);
        session->on_connection_closed();
    }
    if (_close_logged) {
        return;
    }
    _close_logged = true;
    if (_open_logged) {
        QMQ_LOG_INFO(
            "connection closed: {} user '{}' vhost '{}' after {} ms: {}{} "
            "({} bytes in, {} bytes out in {} writes)",
            _name, _proto->user(), _proto->vhost(), monotonic_ms() - _opened_at_ms,
            code ? fmt::format("{} ", code) : "", reason, _bytes_in, _bytes_out, _writes);
    } else {
        QMQ_LOG_INFO("connection closed before open: {}: {}{}", _name,
                     code ? fmt::format("{} ", code) : "", reason);
    }
}

void client_connection::update_blocked() {
    const bool want = (_alarm && _publisher) || _broker_blocked;
    if (want == _blocked_sent || !_proto->opened()) {
        return;
    }
    _blocked_sent = want;
    _proto->set_blocked(want, _alarm ? _alarm_reason : "flow control");
    QMQ_LOG_INFO("connection {} {}", _name,
                 want ? fmt::format("blocked: {}", _alarm ? _alarm_reason : "flow control")
                      : std::string("unblocked"));
}

void client_connection::flush() {
    if (_writing || _done) {
        return;
    }
    if (!_proto->has_output()) {
        if (_proto->finished()) {
            // Everything the machine had to say is written: close-ok sent, or
            // our connection.close answered, or the error reply is out.
            on_closed(0, "closed");
            shut("finished");
        }
        return;
    }
    _proto->take_output(_writing_buffer);
    _writing = true;
    ++_writes;
    _bytes_out += _writing_buffer.size();
    asio::async_write(_socket, asio::buffer(_writing_buffer.data(), _writing_buffer.size()),
                      [self = shared_from_this()](const std::error_code& ec, std::size_t) {
                          self->on_written(ec);
                      });
}

void client_connection::schedule_flush() {
    if (_flush_scheduled || _writing || _done) {
        return;
    }
    _flush_scheduled = true;
    asio::post(_socket.get_executor(), [self = shared_from_this()] {
        self->_flush_scheduled = false;
        self->flush();
    });
}

void client_connection::on_written(const std::error_code& ec) {
    _writing = false;
    if (_done) {
        return;
    }
    if (ec) {
        on_closed(0, fmt::format("socket write error: {}", ec.message()));
        shut("write error");
        return;
    }
    flush();
    read_more();
}

void client_connection::tick(uint64_t now_ms) {
    if (_done) {
        return;
    }
    auto events = _proto->tick(now_ms);
    handle(events);
    flush();
}

void client_connection::on_alarm(bool alarm, const std::string& reason) {
    _alarm = alarm;
    _alarm_reason = reason;
    if (_done) {
        return;
    }
    update_blocked();
    flush();
    read_more();
}

void client_connection::force_close(const std::string& reason) {
    if (_done) {
        return;
    }
    if (_proto->opened()) {
        _closing = true;
        _proto->close_connection(amqp::reply::connection_forced,
                                 fmt::format("CONNECTION_FORCED - {}", reason));
        flush();
        read_more();
        return;
    }
    on_closed(amqp::reply::connection_forced, reason);
    shut(reason);
}

void client_connection::abort(const std::string& reason) {
    on_closed(0, reason);
    shut(reason);
}

void client_connection::send_method(uint16_t channel, const amqp::method& m,
                                    const amqp::content* content) {
    _proto->send_method(channel, m, content);
    schedule_flush();
}

void client_connection::close_channel(uint16_t channel, uint16_t code, std::string text,
                                      uint16_t class_id, uint16_t method_id) {
    QMQ_LOG_DEBUG("connection {}: channel {} closed by broker: {} {}", _name, channel, code, text);
    _proto->close_channel(channel, code, std::move(text), class_id, method_id);
    _closed_in_batch.insert(channel);
    schedule_flush();
}

void client_connection::close_connection(uint16_t code, std::string text) {
    _closing = true;
    _proto->close_connection(code, std::move(text));
    schedule_flush();
    read_more();
}

void client_connection::set_blocked(bool blocked) {
    _broker_blocked = blocked;
    update_blocked();
    schedule_flush();
    if (!blocked) {
        read_more();
    }
}

void client_connection::shut(const std::string& reason) {
    if (_done) {
        return;
    }
    _done = true;
    QMQ_LOG_DEBUG("connection {}: socket closed ({})", _name, reason);
    if (_session) {
        auto session = std::move(_session);
        session->on_connection_closed();
    }
    std::error_code ec;
    _socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    _socket.close(ec);
    // Deferred: the hub drops its reference, and we may be inside a handler.
    asio::post(_socket.get_executor(),
               [self = shared_from_this()] { self->_hub.on_done(self->_id); });
}

}  // namespace qmq::server
