#pragma once

// Publisher flow control, in the spirit of RabbitMQ's credit flow: when
// producers outrun consumers, stop reading the publishing connections so the
// backlog (and with it latency and memory) stays bounded, instead of letting
// a queue grow as fast as the socket can be read.
//
// A connection that only publishes is paused after a socket read whose
// publishes reached a queue that has consumers and more than `ready_high`
// ready messages. It is resumed when that queue is below `ready_low`, has
// no consumers left, is gone, or made no progress (ready count not falling)
// for `stall_ms`: a stuck consumer must not starve publishers, so such a
// queue is then exempt for `stall_exempt_ms` (it fills as if unconsumed).
//
// Never paused: connections that consume (basic.consume / basic.get), so a
// client that publishes and consumes on one connection, or two clients that
// feed each other, cannot deadlock; queues without consumers (a backlog is
// what the user asked for: it fills at full speed).
//
// The pure decisions live here; client_connection does the routing lookup
// and the socket side. Single event-loop thread.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace qmq::broker {
class broker;
class classic_queue;
}  // namespace qmq::broker

namespace qmq::server {

constexpr uint64_t flow_ready_high_default = 3000;
constexpr uint64_t flow_stall_ms_default = 2000;
constexpr uint64_t flow_stall_exempt_ms_default = 10000;

struct flow_settings {
    uint64_t ready_high = flow_ready_high_default;  // 0: flow control off
    uint64_t stall_ms = flow_stall_ms_default;
    uint64_t stall_exempt_ms = flow_stall_exempt_ms_default;
    uint64_t ready_low() const { return ready_high / 2; }
};

// A paused publisher, told when it may read again.
class flow_waiter {
  public:
    virtual ~flow_waiter() = default;
    virtual void flow_resume() = 0;
};

// One queue a batch of publishes reached.
struct flow_queue_ref {
    std::string vhost;
    uint64_t queue_id = 0;
};

class flow_control {
  public:
    flow_control(broker::broker& b, flow_settings s) : _broker(b), _settings(s) {}

    bool enabled() const { return _settings.ready_high != 0; }
    const flow_settings& settings() const { return _settings; }

    // Whether publishing into `q` should pause its publisher now.
    bool over_high(const broker::classic_queue& q, uint64_t now_ms) const;

    // Registers a paused publisher waiting on `q`.
    void wait(std::weak_ptr<flow_waiter> w, flow_queue_ref q, uint64_t now_ms);

    // Resumes the waiters whose queue allows it. Cheap when none wait; called
    // after every socket read of any connection and on the server's tick.
    void poll(uint64_t now_ms);

    std::size_t waiting() const { return _waiters.size(); }
    uint64_t pauses() const { return _pauses; }
    uint64_t stalls() const { return _stalls; }

  private:
    struct waiter {
        std::weak_ptr<flow_waiter> w;
        flow_queue_ref q;
        uint64_t last_ready = 0;
        uint64_t last_progress_ms = 0;
    };
    // Resumes and forgets waiter i if its queue allows; true if it did.
    bool released(waiter& w, uint64_t now_ms);
    broker::classic_queue* find(const flow_queue_ref& q) const;

    broker::broker& _broker;
    flow_settings _settings;
    std::vector<waiter> _waiters;
    // Queue id -> until when it is exempt (stalled consumers).
    std::unordered_map<uint64_t, uint64_t> _exempt_until;
    bool _polling = false;
    uint64_t _pauses = 0;
    uint64_t _stalls = 0;
};

}  // namespace qmq::server
