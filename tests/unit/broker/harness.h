#pragma once

// Drives broker sessions in unit tests: a recording session_sink, and a
// client that sends methods and reads back what the broker answered.

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "amqp/content.h"
#include "amqp/methods.h"
#include "broker/broker.h"
#include "broker/session.h"
#include "broker/session_sink.h"

namespace qmq::broker::testing {

struct recorder final : session_sink {
    struct sent {
        uint16_t channel;
        amqp::method m;
        std::optional<amqp::content> c;
    };
    struct closed {
        uint16_t channel;
        uint16_t code;
        std::string text;
    };
    std::vector<sent> out;
    std::vector<closed> channel_closes;
    std::optional<closed> connection_close;

    void send_method(uint16_t ch, const amqp::method& m, const amqp::content* c) override {
        out.push_back({ch, m, c ? std::optional<amqp::content>(*c) : std::nullopt});
    }
    void close_channel(uint16_t ch, uint16_t code, std::string text, uint16_t, uint16_t) override {
        channel_closes.push_back({ch, code, std::move(text)});
    }
    void close_connection(uint16_t code, std::string text) override {
        connection_close = closed{0, code, std::move(text)};
    }
    void set_blocked(bool) override {}
};

inline amqp::content body(std::string text, amqp::basic_properties p = {}) {
    amqp::content c;
    c.properties = std::move(p);
    c.body.assign(reinterpret_cast<const std::byte*>(text.data()),
                  reinterpret_cast<const std::byte*>(text.data()) + text.size());
    return c;
}

inline std::string text_of(const amqp::content& c) {
    return std::string(reinterpret_cast<const char*>(c.body.data()), c.body.size());
}

class client {
  public:
    explicit client(broker& b, std::string user = "guest", std::string vhost = "/")
        : _s(std::make_unique<session>(b, sink, std::move(user), std::move(vhost), "test")) {}

    recorder sink;

    session& s() { return *_s; }
    void open(uint16_t ch = 1) { _s->on_channel_opened(ch); }
    void close_channel(uint16_t ch = 1) { _s->on_channel_closed(ch); }
    void disconnect() { _s->on_connection_closed(); }

    // Sends a method; returns how many things were sent back since.
    std::size_t send(const amqp::method& m, uint16_t ch = 1) {
        const std::size_t before = sink.out.size();
        _s->on_method(ch, m, nullptr);
        return sink.out.size() - before;
    }
    void publish(std::string exchange, std::string key, std::string text,
                 amqp::basic_properties p = {}, bool mandatory = false, uint16_t ch = 1) {
        amqp::content c = body(std::move(text), std::move(p));
        amqp::basic_publish m;
        m.exchange = std::move(exchange);
        m.routing_key = std::move(key);
        m.mandatory = mandatory;
        _s->on_method(ch, m, &c);
    }

    // The last sent method of type M (fails the test if none).
    template <typename M>
    M last() {
        for (auto it = sink.out.rbegin(); it != sink.out.rend(); ++it) {
            if (const M* m = std::get_if<M>(&it->m)) {
                return *m;
            }
        }
        ADD_FAILURE() << "no " << M::amqp_name << " sent";
        return M{};
    }
    template <typename M>
    std::vector<recorder::sent> all() {
        std::vector<recorder::sent> v;
        for (const auto& s : sink.out) {
            if (std::holds_alternative<M>(s.m))
                v.push_back(s);
        }
        return v;
    }
    // Bodies of every basic.deliver so far, in order.
    std::vector<std::string> delivered() {
        std::vector<std::string> v;
        for (const auto& s : sink.out) {
            if (std::holds_alternative<amqp::basic_deliver>(s.m))
                v.push_back(text_of(*s.c));
        }
        return v;
    }

    amqp::queue_declare_ok declare(std::string name, amqp::field_table args = {},
                                   bool exclusive = false, bool auto_delete = false) {
        amqp::queue_declare d;
        d.queue = std::move(name);
        d.arguments = std::move(args);
        d.exclusive = exclusive;
        d.auto_delete = auto_delete;
        send(d);
        // A refused declare closes the channel instead; callers check that.
        if (!sink.out.empty()) {
            if (const auto* ok = std::get_if<amqp::queue_declare_ok>(&sink.out.back().m)) {
                return *ok;
            }
        }
        return {};
    }
    void bind(std::string queue, std::string exchange, std::string key,
              amqp::field_table args = {}) {
        amqp::queue_bind b;
        b.queue = std::move(queue);
        b.exchange = std::move(exchange);
        b.routing_key = std::move(key);
        b.arguments = std::move(args);
        send(b);
    }
    std::string consume(std::string queue, bool no_ack = false, std::string tag = "",
                        amqp::field_table args = {}, uint16_t ch = 1) {
        amqp::basic_consume c;
        c.queue = std::move(queue);
        c.no_ack = no_ack;
        c.consumer_tag = std::move(tag);
        c.arguments = std::move(args);
        send(c, ch);
        return last<amqp::basic_consume_ok>().consumer_tag;
    }
    // basic.get: the body, or nullopt for get-empty.
    std::optional<std::string> get(std::string queue, bool no_ack = true) {
        amqp::basic_get g;
        g.queue = std::move(queue);
        g.no_ack = no_ack;
        send(g);
        const auto& s = sink.out.back();
        if (std::holds_alternative<amqp::basic_get_ok>(s.m))
            return text_of(*s.c);
        return std::nullopt;
    }

    uint16_t last_channel_close_code() const {
        return sink.channel_closes.empty() ? 0 : sink.channel_closes.back().code;
    }
    std::string last_channel_close_text() const {
        return sink.channel_closes.empty() ? "" : sink.channel_closes.back().text;
    }

  private:
    std::unique_ptr<session> _s;
};

}  // namespace qmq::broker::testing
