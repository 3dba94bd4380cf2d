// Throughput of the publish and deliver paths through the connection
// machine. Disabled by default (timing is not a pass/fail matter); run with
//   build-amqp/bin/unit_amqp --gtest_also_run_disabled_tests --gtest_filter='*Perf*'

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "amqp/connection.h"
#include "test_util.h"

namespace qmq::amqp {
namespace {

using testing::client_writer;
using testing::harness;

constexpr int message_count = 1'000'000;
constexpr std::size_t body_size = 100;
constexpr std::size_t read_chunk = 64 * 1024;  // what one socket read might return

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(DISABLED_Perf, PublishPath) {
    harness h;
    h.open();
    client_writer c;
    c.send(1, channel_open{});
    h.feed(c);
    basic_publish p{0, "", "work-queue", false, false};
    content msg;
    msg.properties.delivery_mode = 2;
    msg.properties.content_type = "application/octet-stream";
    msg.body.assign(body_size, std::byte{'m'});
    for (int i = 0; i < message_count; ++i) {
        c.send(1, p);
        c.send_content(1, msg);
    }
    bytes stream = c.take();
    auto t0 = std::chrono::steady_clock::now();
    std::size_t received = 0;
    std::vector<connection_event> events;  // reused across reads, as a server would
    for (std::size_t at = 0; at < stream.size(); at += read_chunk) {
        std::size_t n = std::min(read_chunk, stream.size() - at);
        events.clear();
        h.conn->feed(bytes_view(stream).subspan(at, n), h.now, events);
        received += events.size();
    }
    double s = seconds_since(t0);
    ASSERT_EQ(received, static_cast<std::size_t>(message_count));
    std::printf("publish path: %d messages of %zu bytes in %.3f s: %.0f msg/s, %.0f MB/s of wire\n",
                message_count, body_size, s, message_count / s, stream.size() / s / 1e6);
}

TEST(DISABLED_Perf, DeliverPath) {
    harness h;
    h.open();
    client_writer c;
    c.send(1, channel_open{});
    h.feed(c);
    content msg;
    msg.properties.delivery_mode = 2;
    msg.body.assign(body_size, std::byte{'m'});
    basic_deliver d{"amq.ctag-0123456789", 0, false, "", "work-queue"};
    bytes out;
    std::size_t total = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < message_count; ++i) {
        d.delivery_tag = static_cast<uint64_t>(i) + 1;
        h.conn->send(1, d, &msg);
        if (i % 256 == 255) {  // one socket write per batch
            h.conn->take_output(out);
            total += out.size();
        }
    }
    h.conn->take_output(out);
    total += out.size();
    double s = seconds_since(t0);
    std::printf("deliver path: %d messages of %zu bytes in %.3f s: %.0f msg/s, %.0f MB/s of wire\n",
                message_count, body_size, s, message_count / s, total / s / 1e6);
    EXPECT_GT(total, static_cast<std::size_t>(message_count) * body_size);
}

}  // namespace
}  // namespace qmq::amqp
