#pragma once

// Helpers for driving the amqp codec and connection machine by bytes.

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "amqp/connection.h"
#include "amqp/frame.h"

// GCC 12 at -O2 reports a false stringop-overflow inside vector::insert when
// a constant-size write into a fresh buffer is inlined (client_writer::header
// under harness::open). Test code only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif

namespace qmq::amqp::testing {

struct pika_vector {
    const char* name;
    const char* hex;
};

inline bytes from_hex(std::string_view hex) {
    bytes out;
    auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<std::byte>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
    }
    return out;
}

inline bytes to_bytes(std::string_view s) {
    auto v = as_bytes(s);
    return bytes(v.begin(), v.end());
}

template <typename M>
bytes encoded(const M& m) {
    bytes b;
    byte_writer w(b);
    encode(w, m);
    return b;
}

struct fake_auth : authenticator {
    std::string user = "guest";
    std::string password = "guest";
    std::vector<std::string> vhosts{"/"};
    std::string last_mechanism;
    bool last_loopback = false;
    int logins = 0;

    auth_decision login(std::string_view mechanism, std::string_view u, std::string_view p,
                        bool loopback) override {
        ++logins;
        last_mechanism = std::string(mechanism);
        last_loopback = loopback;
        if (u == user && p == password) {
            return auth_decision::allow();
        }
        return auth_decision::refuse(reply::access_refused, "");
    }
    auth_decision open_vhost(std::string_view, std::string_view vhost) override {
        for (const auto& v : vhosts) {
            if (v == vhost) {
                return auth_decision::allow();
            }
        }
        return auth_decision::refuse(reply::not_allowed,
                                     "vhost " + std::string(vhost) + " not found");
    }
};

// Builds what a client writes.
struct client_writer {
    bytes buf;
    byte_writer w{buf};

    client_writer& header() {
        w.raw(protocol_header, sizeof(protocol_header));
        return *this;
    }
    template <typename M>
    client_writer& send(uint16_t ch, const M& m) {
        write_method_frame(w, ch, m);
        return *this;
    }
    // connection.start-ok with PLAIN credentials (guest/guest by default).
    client_writer& start_ok_plain(const std::string& user = "guest",
                                  const std::string& password = "guest",
                                  field_table client_properties = {}) {
        connection_start_ok so;
        so.client_properties = std::move(client_properties);
        so.mechanism = "PLAIN";
        so.response = std::string(1, '\0') + user + std::string(1, '\0') + password;
        return send(0, so);
    }
    client_writer& send_content(uint16_t ch, const content& c, uint32_t frame_max = 131072) {
        write_content_frames(w, ch, c, frame_max);
        return *this;
    }
    client_writer& frame(uint8_t type, uint16_t ch, bytes_view payload, uint8_t end = frame_end) {
        w.u8(type);
        w.u16(ch);
        w.u32(static_cast<uint32_t>(payload.size()));
        w.raw(payload);
        w.u8(end);
        return *this;
    }
    bytes take() {
        bytes out;
        out.swap(buf);
        return out;
    }
};

// A frame the server wrote, decoded.
struct sent_frame {
    uint8_t type = 0;
    uint16_t channel = 0;
    bytes payload;
    std::optional<method> m;  // for method frames
};

inline std::vector<sent_frame> parse_all(bytes_view out) {
    std::vector<sent_frame> frames;
    while (!out.empty()) {
        auto p = parse_frame(out, 0);
        EXPECT_EQ(p.status, parse_status::ok) << p.reply_text;
        if (p.status != parse_status::ok) {
            break;
        }
        sent_frame f{p.frame.type, p.frame.channel,
                     bytes(p.frame.payload.begin(), p.frame.payload.end()), std::nullopt};
        if (f.type == frame_method) {
            auto m = decode_method(p.frame.payload);
            EXPECT_TRUE(m.ok()) << m.err().message;
            if (m.ok()) {
                f.m = std::move(m).value();
            }
        }
        frames.push_back(std::move(f));
        out = out.subspan(p.consumed);
    }
    return frames;
}

// One connection machine and a scripted client around it.
struct harness {
    fake_auth auth;
    connection_limits limits;
    std::unique_ptr<connection> conn;
    uint64_t now = 1000;
    std::vector<connection_event> events;
    std::vector<sent_frame> sent;
    bytes raw_out;  // everything the server wrote, unparsed

    explicit harness(connection_limits l = {}, bool loopback = true) : limits(l) {
        conn = std::make_unique<connection>(auth, limits, loopback);
    }

    void feed(const bytes& b) {
        auto ev = conn->feed(b, now);
        for (auto& e : ev) {
            events.push_back(std::move(e));
        }
        collect();
    }
    void feed(client_writer& c) { feed(c.take()); }
    void tick(uint64_t advance_ms) {
        now += advance_ms;
        auto ev = conn->tick(now);
        for (auto& e : ev) {
            events.push_back(std::move(e));
        }
        collect();
    }
    void collect() {
        bytes out = conn->take_output();
        raw_out.insert(raw_out.end(), out.begin(), out.end());
        if (!out.empty() && !(out.size() == 8 && out[0] == std::byte{'A'})) {
            for (auto& f : parse_all(out)) {
                sent.push_back(std::move(f));
            }
        }
    }

    static field_table capabilities() {
        return field_table{{"capabilities", field_table{{"authentication_failure_close", true},
                                                        {"connection.blocked", true},
                                                        {"consumer_cancel_notify", true}}},
                           {"product", "test-client"}};
    }

    // Header through open-ok; a test failure if it does not end open.
    void open(uint16_t heartbeat = 0, field_table props = capabilities()) {
        client_writer c;
        c.header();
        feed(c);
        c.start_ok_plain("guest", "guest", std::move(props));
        c.send(0, connection_tune_ok{limits.channel_max, limits.frame_max, heartbeat});
        c.send(0, connection_open{"/", "", false});
        feed(c);
        ASSERT_TRUE(conn->opened());
        sent.clear();
        events.clear();
    }

    template <typename M>
    const M* last() const {
        for (auto it = sent.rbegin(); it != sent.rend(); ++it) {
            if (it->m) {
                if (const auto* m = std::get_if<M>(&*it->m)) {
                    return m;
                }
            }
        }
        return nullptr;
    }
    template <typename E>
    const E* event() const {
        for (const auto& e : events) {
            if (const auto* x = std::get_if<E>(&e)) {
                return x;
            }
        }
        return nullptr;
    }
    template <typename E>
    int count() const {
        int n = 0;
        for (const auto& e : events) {
            n += std::holds_alternative<E>(e) ? 1 : 0;
        }
        return n;
    }
};

}  // namespace qmq::amqp::testing
