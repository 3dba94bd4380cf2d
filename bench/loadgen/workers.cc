#include "loadgen/workers.h"

#include <sys/socket.h>
#include <time.h>

#include <charconv>
#include <chrono>
#include <thread>

#include "loadgen/client.h"
#include "loadgen/message.h"

namespace qmq::bench {

namespace {

constexpr timeval confirm_wait_tv{0, 100'000};            // re-check stop flags this often
constexpr timeval consume_wait_tv{0, 50'000};             // ... and ack a partial batch
constexpr uint64_t rate_catch_up_max_ns = 1'000'000'000;  // burst at most 1 s behind
constexpr auto go_poll = std::chrono::milliseconds(10);
constexpr uint64_t unconfirmed_poll_every = 256;  // publishes between looks at the socket

void sleep_until_ns(uint64_t deadline_ns) {
    timespec ts{static_cast<time_t>(deadline_ns / 1'000'000'000),
                static_cast<long>(deadline_ns % 1'000'000'000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
}

std::string text(amqp_bytes_t b) {
    return std::string(static_cast<const char*>(b.bytes), b.len);
}

// An error for a method the broker sent to close or cancel under our feet.
result<void> on_unexpected_method(amqp_connection_state_t conn, const amqp_method_t& m) {
    switch (m.id) {
        case AMQP_CHANNEL_CLOSE_METHOD: {
            const auto* c = static_cast<amqp_channel_close_t*>(m.decoded);
            amqp_channel_close_ok_t ok{};
            amqp_send_method(conn, bench_channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
            return error{3, "channel closed by broker: " + std::to_string(c->reply_code) + " " +
                                text(c->reply_text)};
        }
        case AMQP_CONNECTION_CLOSE_METHOD: {
            const auto* c = static_cast<amqp_connection_close_t*>(m.decoded);
            return error{3, "connection closed by broker: " + std::to_string(c->reply_code) + " " +
                                text(c->reply_text)};
        }
        case AMQP_BASIC_CANCEL_METHOD:
            return error{3, "consumer cancelled by the broker"};
        default:
            return ok_result();  // connection.blocked/unblocked and the like
    }
}

}  // namespace

void run_control::fail(const std::string& message) {
    std::lock_guard lock(_mu);
    if (_first_error.empty()) {
        _first_error = message;
    }
    failed.store(true);
}

std::string run_control::first_error() {
    std::lock_guard lock(_mu);
    return _first_error;
}

void run_control::add_socket(int fd) {
    std::lock_guard lock(_mu);
    _sockets.push_back(fd);
}

void run_control::remove_socket(int fd) {
    std::lock_guard lock(_mu);
    std::erase(_sockets, fd);
}

void run_control::shutdown_sockets() {
    std::lock_guard lock(_mu);
    for (int fd : _sockets) {
        ::shutdown(fd, SHUT_RDWR);
    }
}

namespace {

// Registers a connected client's socket with the run for its lifetime; the
// socket leaves the list before the client closes it (so no fd is reused).
class socket_registration {
  public:
    socket_registration(run_control& ctl, client& c) : _ctl(ctl) {
        if (c.state() != nullptr && amqp_get_sockfd(c.state()) >= 0) {
            _fd = amqp_get_sockfd(c.state());
            _ctl.add_socket(_fd);
        }
    }
    ~socket_registration() {
        if (_fd >= 0) {
            _ctl.remove_socket(_fd);
        }
    }
    socket_registration(const socket_registration&) = delete;
    socket_registration& operator=(const socket_registration&) = delete;

  private:
    run_control& _ctl;
    int _fd = -1;
};

}  // namespace

// ---------------------------------------------------------------- producer

producer::producer(uint32_t index, const options& o, const topology& t, run_control& ctl)
    : _index(index), _o(o), _t(t), _ctl(ctl) {}

void producer::run() {
    client c;
    _client = &c;
    const std::string& uri = _o.uris[_index % _o.uris.size()];
    auto r = c.connect(uri, "quorummq-bench producer " + std::to_string(_index));
    if (r) {
        socket_registration reg(_ctl, c);
        r = publish_loop();
    }
    if (!r) {
        _ctl.fail("producer " + std::to_string(_index) + ": " + r.err().message);
    }
    record.published = _next_tag - 1;
    _ctl.producers_done.fetch_add(1);
    c.close();
    _client = nullptr;
}

result<void> producer::publish_loop() {
    amqp_connection_state_t conn = _client->state();
    if (_o.confirm > 0) {
        amqp_confirm_select(conn, bench_channel);
        if (auto r = _client->check("confirm.select"); !r) {
            return r;
        }
        _window.assign(_o.confirm, slot{});
    }
    std::vector<uint8_t> body(_o.size);
    for (std::size_t i = 0; i < body.size(); ++i) {
        body[i] = static_cast<uint8_t>('a' + i % 26);
    }
    const amqp_bytes_t body_bytes{body.size(), body.data()};
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.delivery_mode = _o.persistent ? 2 : 1;
    const amqp_bytes_t exchange = to_amqp(_t.exchange);
    const uint64_t interval_ns = _o.rate > 0 ? static_cast<uint64_t>(1e9 / _o.rate) : 0;
    uint64_t next_ns = monotonic_ns();

    while (!_ctl.stop_publishing.load(std::memory_order_relaxed) &&
           !_ctl.failed.load(std::memory_order_relaxed)) {
        if (_o.count > 0 && _next_tag > _o.count) {
            break;
        }
        if (_o.confirm > 0 && _next_tag - _oldest_unconfirmed >= _o.confirm) {
            if (auto r = handle_frames(true); !r) {
                return r;
            }
            continue;  // re-check the stop flags and the window
        }
        if (interval_ns > 0) {
            const uint64_t now = monotonic_ns();
            if (now < next_ns) {
                sleep_until_ns(next_ns);
            } else if (now - next_ns > rate_catch_up_max_ns) {
                next_ns = now;
            }
            next_ns += interval_ns;
        }
        const route& rt = _t.route_of(_index, _next_tag);
        const stamp s{_ctl.run_id, _index, _next_tag, monotonic_ns()};
        write_stamp(body, s);
        const int rc = amqp_basic_publish(conn, bench_channel, exchange, to_amqp(rt.routing_key), 0,
                                          0, &props, body_bytes);
        if (rc != AMQP_STATUS_OK) {
            return error{3, std::string("basic.publish: ") + amqp_error_string2(rc)};
        }
        if (_o.confirm > 0) {
            slot& sl = _window[_next_tag % _o.confirm];
            QMQ_ASSERT(!sl.outstanding);
            sl = slot{s.sent_ns, true};
        }
        ++_next_tag;
        published.store(_next_tag - 1, std::memory_order_relaxed);
        last_publish_ns.store(s.sent_ns, std::memory_order_relaxed);
        deliveries_routed.fetch_add(rt.queues.size(), std::memory_order_relaxed);
        // With confirms, read acks as they come (their latency is measured);
        // without, still look now and then so a channel.close (say, an
        // exchange that does not exist) stops the run instead of going unseen.
        if (_o.confirm > 0 || _next_tag % unconfirmed_poll_every == 0) {
            if (auto r = handle_frames(false); !r) {
                return r;
            }
        }
    }
    // Wait for the confirms still in flight.
    const uint64_t deadline =
        monotonic_ns() + static_cast<uint64_t>(_ctl.confirm_drain_timeout_s * 1e9);
    while (_o.confirm > 0 && _oldest_unconfirmed < _next_tag && monotonic_ns() < deadline &&
           !_ctl.failed.load()) {
        if (auto r = handle_frames(true); !r) {
            return r;
        }
    }
    if (_o.confirm > 0 && _oldest_unconfirmed < _next_tag) {
        return error{3, std::to_string(_next_tag - _oldest_unconfirmed) +
                            " publishes still unconfirmed after the drain timeout"};
    }
    return ok_result();
}

// Reads every frame already there (block: waiting up to confirm_wait_tv for
// the first one) and handles confirms.
result<void> producer::handle_frames(bool block) {
    amqp_connection_state_t conn = _client->state();
    timeval tv = block ? confirm_wait_tv : timeval{0, 0};
    for (;;) {
        amqp_frame_t frame;
        const int rc = amqp_simple_wait_frame_noblock(conn, &frame, &tv);
        if (rc == AMQP_STATUS_TIMEOUT) {
            break;
        }
        if (rc != AMQP_STATUS_OK) {
            return error{3, std::string("reading confirms: ") + amqp_error_string2(rc)};
        }
        tv = timeval{0, 0};
        if (frame.frame_type != AMQP_FRAME_METHOD) {
            continue;
        }
        const amqp_method_t& m = frame.payload.method;
        const bool is_confirm = m.id == AMQP_BASIC_ACK_METHOD || m.id == AMQP_BASIC_NACK_METHOD;
        if (is_confirm && _o.confirm == 0) {
            return error{3, "broker sent a confirm to a channel not in confirm mode"};
        }
        if (m.id == AMQP_BASIC_ACK_METHOD) {
            const auto* a = static_cast<amqp_basic_ack_t*>(m.decoded);
            if (a->delivery_tag >= _next_tag) {
                return error{3, "broker confirmed tag " + std::to_string(a->delivery_tag) +
                                    " never published"};
            }
            on_confirm(a->delivery_tag, a->multiple != 0, true);
        } else if (m.id == AMQP_BASIC_NACK_METHOD) {
            const auto* n = static_cast<amqp_basic_nack_t*>(m.decoded);
            if (n->delivery_tag >= _next_tag) {
                return error{
                    3, "broker nacked tag " + std::to_string(n->delivery_tag) + " never published"};
            }
            on_confirm(n->delivery_tag, n->multiple != 0, false);
        } else if (auto r = on_unexpected_method(conn, m); !r) {
            return r;
        }
    }
    amqp_maybe_release_buffers(conn);
    return ok_result();
}

void producer::on_confirm(uint64_t tag, bool multiple, bool ack) {
    const uint64_t now = monotonic_ns();
    const uint64_t first = multiple ? _oldest_unconfirmed : tag;
    uint64_t acked = 0;
    uint64_t nacks = 0;
    for (uint64_t t = first; t <= tag; ++t) {
        slot& sl = _window[t % _o.confirm];
        if (t < _oldest_unconfirmed || !sl.outstanding) {
            continue;
        }
        sl.outstanding = false;
        if (ack) {
            record.confirmed.set(t);
            confirm_latency.record_us((now - sl.sent_ns) / 1000);
            ++acked;
        } else {
            ++nacks;
        }
    }
    while (_oldest_unconfirmed < _next_tag &&
           !_window[_oldest_unconfirmed % _o.confirm].outstanding) {
        ++_oldest_unconfirmed;
    }
    confirmed.fetch_add(acked, std::memory_order_relaxed);
    nacked.fetch_add(nacks, std::memory_order_relaxed);
    record.nacked += nacks;
}

// ---------------------------------------------------------------- consumer

consumer::consumer(uint32_t index, const options& o, const topology& t, run_control& ctl)
    : _index(index), _o(o), _t(t), _ctl(ctl) {}

void consumer::run() {
    client c;
    const std::string& uri = _o.uris[_index % _o.uris.size()];
    const std::string who = "consumer " + std::to_string(_index);
    auto r = c.connect(uri, "quorummq-bench " + who);
    amqp_connection_state_t conn = c.state();
    if (r && _o.prefetch > 0) {
        amqp_basic_qos(conn, bench_channel, 0, _o.prefetch, 0);
        r = c.check("basic.qos");
    }
    auto subscribe = [&]() -> result<void> {
        for (uint32_t q : _t.consumer_queues[_index]) {
            const std::string tag = std::to_string(q);
            amqp_basic_consume(conn, bench_channel, to_amqp(_t.queue_names[q]), to_amqp(tag), 0,
                               _o.auto_ack ? 1 : 0, 0, amqp_empty_table);
            if (auto s = c.check("basic.consume " + _t.queue_names[q]); !s) {
                return s;
            }
        }
        return ok_result();
    };
    // Without a backlog, subscribe before any producer starts.
    if (r && !_o.backlog) {
        r = subscribe();
    }
    _ctl.consumers_ready.fetch_add(1);
    if (r && _o.backlog) {
        while (!_ctl.consumers_go.load() && !_ctl.failed.load() && !_ctl.stop_consuming.load()) {
            std::this_thread::sleep_for(go_poll);
        }
        r = subscribe();
    }
    if (r) {
        socket_registration reg(_ctl, c);
        r = consume_loop_on(c);
    }
    if (!r) {
        _ctl.fail(who + ": " + r.err().message);
    }
    c.close();
}

result<void> consumer::consume_loop_on(client& c) {
    amqp_connection_state_t conn = c.state();
    uint64_t pending = 0;
    uint64_t last_tag = 0;
    const auto ack = [&]() -> result<void> {
        if (pending == 0) {
            return ok_result();
        }
        pending = 0;
        if (int rc = amqp_basic_ack(conn, bench_channel, last_tag, 1); rc != AMQP_STATUS_OK) {
            return error{3, std::string("basic.ack: ") + amqp_error_string2(rc)};
        }
        return ok_result();
    };
    const uint32_t producers = _o.producers;
    const uint32_t queues = _o.queues;
    while (!_ctl.stop_consuming.load(std::memory_order_relaxed) &&
           !_ctl.failed.load(std::memory_order_relaxed)) {
        amqp_maybe_release_buffers(conn);
        amqp_envelope_t env;
        timeval tv = consume_wait_tv;
        const amqp_rpc_reply_t reply = amqp_consume_message(conn, &env, &tv, 0);
        if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
            reply.library_error == AMQP_STATUS_TIMEOUT) {
            if (auto r = ack(); !r) {
                return r;
            }
            continue;
        }
        if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
            reply.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
            amqp_frame_t frame;
            if (int rc = amqp_simple_wait_frame(conn, &frame); rc != AMQP_STATUS_OK) {
                return error{3, std::string("reading a frame: ") + amqp_error_string2(rc)};
            }
            if (frame.frame_type == AMQP_FRAME_METHOD) {
                if (auto r = on_unexpected_method(conn, frame.payload.method); !r) {
                    return r;
                }
            }
            continue;
        }
        if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
            return error{3, "consume: " + describe(reply)};
        }
        const uint64_t now = monotonic_ns();
        const auto body = std::span<const uint8_t>(
            static_cast<const uint8_t*>(env.message.body.bytes), env.message.body.len);
        const auto st = read_stamp(body);
        uint32_t queue = queues;
        const char* tag = static_cast<const char*>(env.consumer_tag.bytes);
        std::from_chars(tag, tag + env.consumer_tag.len, queue);
        if (!st || st->run_id != _ctl.run_id || st->producer >= producers || queue >= queues) {
            ++record.foreign;
        } else {
            record.record(queue, st->producer, st->seq);
            latency.record_us(now > st->sent_ns ? (now - st->sent_ns) / 1000 : 0);
        }
        consumed.fetch_add(1, std::memory_order_relaxed);
        last_consume_ns.store(now, std::memory_order_relaxed);
        if (!_o.auto_ack) {
            last_tag = env.delivery_tag;
            if (++pending >= _o.ack_every) {
                if (auto r = ack(); !r) {
                    amqp_destroy_envelope(&env);
                    return r;
                }
            }
        }
        amqp_destroy_envelope(&env);
    }
    return ack();
}

}  // namespace qmq::bench
