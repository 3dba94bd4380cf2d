#pragma once

// Producers and consumers: one connection and one thread each. Counters are
// relaxed atomics read by the reporter every second; latency goes into a
// per-worker interval histogram the reporter takes (under a mutex nobody else
// contends for) and merges.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "loadgen/histogram.h"
#include "loadgen/options.h"
#include "loadgen/topology.h"
#include "loadgen/verify.h"

namespace qmq::bench {

class client;

// Latencies are recorded in microseconds, up to an hour, to 3 digits.
constexpr uint64_t latency_us_max = 3'600'000'000ull;
constexpr int latency_digits = 3;
inline histogram make_latency_histogram() {
    return histogram(latency_us_max, latency_digits);
}

// What every thread of one run shares.
struct run_control {
    uint64_t run_id = 0;
    std::atomic<bool> stop_publishing{false};
    std::atomic<bool> consumers_go{false};  // false only while a backlog builds
    std::atomic<bool> stop_consuming{false};
    std::atomic<bool> failed{false};
    std::atomic<uint32_t> consumers_ready{0};
    std::atomic<uint32_t> producers_done{0};
    double confirm_drain_timeout_s = 30;

    void fail(const std::string& message);
    std::string first_error();

    // Sockets of live connections, so an aborted run can unblock a worker
    // stuck in a blocking send or receive (a broker that stopped reading).
    void add_socket(int fd);
    void remove_socket(int fd);
    void shutdown_sockets();

  private:
    std::mutex _mu;
    std::string _first_error;
    std::vector<int> _sockets;
};

// The latency histogram a worker fills and the reporter empties.
class latency_probe {
  public:
    latency_probe() : _interval(make_latency_histogram()) {}
    void record_us(uint64_t us) {
        std::lock_guard lock(_mu);
        _interval.record(us);
    }
    // Moves what was recorded since the last call into `into`.
    void take(histogram& into) {
        std::lock_guard lock(_mu);
        into.merge(_interval);
        _interval.reset();
    }

  private:
    std::mutex _mu;
    histogram _interval;
};

class producer {
  public:
    producer(uint32_t index, const options& o, const topology& t, run_control& ctl);
    void run();  // the thread body

    std::atomic<uint64_t> published{0};
    std::atomic<uint64_t> confirmed{0};
    std::atomic<uint64_t> nacked{0};
    std::atomic<uint64_t> deliveries_routed{0};  // published x queues reached
    std::atomic<uint64_t> last_publish_ns{0};
    latency_probe confirm_latency;

    // Read only after the thread has ended.
    producer_record record;

  private:
    result<void> publish_loop();
    result<void> handle_frames(bool block);
    void on_confirm(uint64_t tag, bool multiple, bool ack);

    struct slot {
        uint64_t sent_ns = 0;
        bool outstanding = false;
    };

    uint32_t _index;
    const options& _o;
    const topology& _t;
    run_control& _ctl;
    client* _client = nullptr;
    std::vector<slot> _window;  // tag % window: publish time of unconfirmed tags
    uint64_t _next_tag = 1;     // tag of the next publish
    uint64_t _oldest_unconfirmed = 1;
};

class consumer {
  public:
    consumer(uint32_t index, const options& o, const topology& t, run_control& ctl);
    void run();  // the thread body

    std::atomic<uint64_t> consumed{0};
    std::atomic<uint64_t> last_consume_ns{0};
    latency_probe latency;

    // Read only after the thread has ended.
    consumer_record record;

  private:
    result<void> consume_loop_on(client& c);

    uint32_t _index;
    const options& _o;
    const topology& _t;
    run_control& _ctl;
};

}  // namespace qmq::bench
