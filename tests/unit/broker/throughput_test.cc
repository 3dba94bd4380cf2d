// Publish/deliver throughput through the broker core (no sockets), printed
// for docs/broker.md. Timing is not asserted (sanitizer builds and a loaded
// CI machine vary by 100x); what is asserted is that everything arrived and
// that fanout shares one body.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "broker/broker.h"
#include "broker/session.h"
#include "broker/vhost.h"
#include "harness.h"

namespace qmq::broker {
namespace {

struct counting_sink final : session_sink {
    uint64_t delivers = 0;
    uint64_t bytes = 0;
    uint64_t closes = 0;
    void send_method(uint16_t, const amqp::method& m, const amqp::content* c) override {
        if (std::holds_alternative<amqp::basic_deliver>(m)) {
            ++delivers;
            bytes += c->body.size();
        }
    }
    void close_channel(uint16_t, uint16_t, std::string, uint16_t, uint16_t) override { ++closes; }
    void close_connection(uint16_t, std::string) override { ++closes; }
    void set_blocked(bool) override {}
};

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void publish_n(session& s, const std::string& exchange, const std::string& key, int n,
               std::size_t body_size) {
    amqp::basic_publish p;
    p.exchange = exchange;
    p.routing_key = key;
    const std::string payload(body_size, 'x');
    for (int i = 0; i < n; ++i) {
        amqp::content c = testing::body(payload);
        s.on_method(1, p, &c);
    }
}

TEST(Throughput, PublishToAnAutoAckConsumer) {
    broker b(config::defaults());
    counting_sink sink;
    session s(b, sink, "guest", "/", "bench");
    s.on_channel_opened(1);
    amqp::queue_declare d;
    d.queue = "q";
    s.on_method(1, d, nullptr);
    amqp::basic_consume c;
    c.queue = "q";
    c.no_ack = true;
    s.on_method(1, c, nullptr);
    constexpr int n = 20'000;
    const auto start = std::chrono::steady_clock::now();
    publish_n(s, "", "q", n, 100);
    const double secs = seconds_since(start);
    std::printf("publish -> auto-ack consumer: %d msgs in %.3f s = %.0f msg/s\n", n, secs,
                n / secs);
    EXPECT_EQ(sink.delivers, static_cast<uint64_t>(n));
    EXPECT_EQ(sink.closes, 0u);
    EXPECT_EQ(b.find_vhost("/")->find_queue("q")->store().size(), 0u);
}

TEST(Throughput, FanoutToTenQueuesSharesTheBody) {
    broker b(config::defaults());
    counting_sink sink;
    session s(b, sink, "guest", "/", "bench");
    s.on_channel_opened(1);
    for (int i = 0; i < 10; ++i) {
        amqp::queue_declare d;
        d.queue = "f" + std::to_string(i);
        s.on_method(1, d, nullptr);
        amqp::queue_bind qb;
        qb.queue = d.queue;
        qb.exchange = "amq.fanout";
        s.on_method(1, qb, nullptr);
    }
    constexpr int n = 20'000;
    const auto start = std::chrono::steady_clock::now();
    publish_n(s, "amq.fanout", "", n, 1000);
    const double secs = seconds_since(start);
    std::printf("fanout to 10 queues (1000-byte bodies): %d publishes in %.3f s = %.0f msg/s\n", n,
                secs, n / secs);
    auto* vh = b.find_vhost("/");
    // One message object per publish, shared by all ten queues (refs start
    // after the declare's own command, so look for the first stored one).
    const message_ptr* first = nullptr;
    for (uint64_t ref = 1; ref < 10 && first == nullptr; ++ref) {
        first = vh->find_queue("f0")->store().get(queue::message_ref(ref));
    }
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->use_count(), 10);
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(vh->find_queue("f" + std::to_string(i))->message_count(),
                  static_cast<uint64_t>(n));
    }
}

}  // namespace
}  // namespace qmq::broker
