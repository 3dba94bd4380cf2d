// Manual-ack consumer throughput through the broker core (no sockets): the
// unacked bookkeeping of the channel (insert per delivery, erase per ack)
// and the queue's settle. Printed for docs/broker.md; timing is not
// asserted (sanitizer builds and a loaded machine vary by 100x), delivery
// and settlement of everything are.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <vector>

#include "broker/broker.h"
#include "broker/session.h"
#include "broker/vhost.h"
#include "harness.h"

namespace qmq::broker {
namespace {

struct tag_sink final : session_sink {
    std::vector<uint64_t> tags;  // delivery tags not yet acked by the test
    uint64_t delivers = 0;
    uint64_t closes = 0;
    void send_method(uint16_t, const amqp::method& m, const amqp::content*) override {
        if (const auto* d = std::get_if<amqp::basic_deliver>(&m)) {
            tags.push_back(d->delivery_tag);
            ++delivers;
        }
    }
    void close_channel(uint16_t, uint16_t, std::string, uint16_t, uint16_t) override { ++closes; }
    void close_connection(uint16_t, std::string) override { ++closes; }
    void set_blocked(bool) override {}
};

enum class ack_style { each_in_order, each_reversed_window, multiple_every_50 };

double run(ack_style style, int n, uint16_t prefetch) {
    broker b(config::defaults());
    tag_sink sink;
    session s(b, sink, "guest", "/", "bench");
    s.on_channel_opened(1);
    amqp::queue_declare d;
    d.queue = "q";
    s.on_method(1, d, nullptr);
    s.on_method(1, amqp::basic_qos{0, prefetch, false}, nullptr);
    amqp::basic_consume c;
    c.queue = "q";
    s.on_method(1, c, nullptr);
    amqp::basic_publish p;
    p.routing_key = "q";
    const std::string payload(100, 'x');
    const auto start = std::chrono::steady_clock::now();
    int published = 0;
    while (published < n || !sink.tags.empty()) {
        for (int i = 0; i < 100 && published < n; ++i, ++published) {
            amqp::content body = testing::body(payload);
            s.on_method(1, p, &body);
        }
        std::vector<uint64_t> tags = std::move(sink.tags);
        sink.tags.clear();
        switch (style) {
            case ack_style::each_in_order:
                for (uint64_t t : tags) {
                    s.on_method(1, amqp::basic_ack{t, false}, nullptr);
                }
                break;
            case ack_style::each_reversed_window:
                for (auto it = tags.rbegin(); it != tags.rend(); ++it) {
                    s.on_method(1, amqp::basic_ack{*it, false}, nullptr);
                }
                break;
            case ack_style::multiple_every_50:
                for (std::size_t i = 49; i < tags.size(); i += 50) {
                    s.on_method(1, amqp::basic_ack{tags[i], true}, nullptr);
                }
                if (!tags.empty() && tags.size() % 50 != 0) {
                    s.on_method(1, amqp::basic_ack{tags.back(), true}, nullptr);
                }
                break;
        }
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(sink.delivers, static_cast<uint64_t>(n));
    EXPECT_EQ(sink.closes, 0u);
    const classic_queue* q = b.find_vhost("/")->find_queue("q");
    EXPECT_EQ(q->state().unacked_count(), 0u);
    EXPECT_EQ(q->message_count(), 0u);
    EXPECT_EQ(q->store().size(), 0u);
    return secs;
}

TEST(Throughput, ManualAckEachInOrder) {
    constexpr int n = 50'000;
    const double secs = run(ack_style::each_in_order, n, 200);
    std::printf(
        "publish -> manual-ack consumer (prefetch 200), ack each in order: %d msgs in "
        "%.3f s = %.0f msg/s\n",
        n, secs, n / secs);
}

TEST(Throughput, ManualAckEachReversedWithinAWindow) {
    constexpr int n = 50'000;
    const double secs = run(ack_style::each_reversed_window, n, 200);
    std::printf(
        "publish -> manual-ack consumer (prefetch 200), acks reversed per window: %d "
        "msgs in %.3f s = %.0f msg/s\n",
        n, secs, n / secs);
}

TEST(Throughput, ManualAckMultipleEvery50) {
    constexpr int n = 50'000;
    const double secs = run(ack_style::multiple_every_50, n, 200);
    std::printf(
        "publish -> manual-ack consumer (prefetch 200), ack multiple every 50: %d msgs "
        "in %.3f s = %.0f msg/s\n",
        n, secs, n / secs);
}

}  // namespace
}  // namespace qmq::broker
