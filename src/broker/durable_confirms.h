#pragma once

// Publisher confirms of one channel.
//
// confirm_coalescer orders and coalesces them (pure): every publish in
// confirm mode gets the next sequence number and stays pending until its
// outcome is decided (at once for transient queues, after the disk for
// durable ones). flush() turns what was decided since into the fewest
// basic.ack/basic.nack frames, as RabbitMQ does: a run of equal outcomes
// that starts at the lowest unconfirmed number goes out as one frame with
// multiple=true; a decided number above a still-pending one goes out alone
// (multiple would confirm the pending one too). A frame never covers a
// number already confirmed, so each number is confirmed exactly once.
//
// durable_confirms waits for the disk: a persistent message routed to
// durable queues is decided once every one of their log entries is
// fdatasync'd (nack if a write failed). Owned by the channel through a
// shared_ptr; the durability callbacks hold a weak_ptr, so a channel closed
// meanwhile is simply not answered.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "broker/durable_engine.h"

namespace qmq::broker {

class confirm_coalescer {
  public:
    struct frame {
        uint64_t tag = 0;
        bool multiple = false;
        bool ack = true;  // basic.ack, else basic.nack
        bool operator==(const frame&) const = default;
    };

    // A publish in confirm mode: returns its sequence number (1, 2, ...).
    uint64_t next();
    void decide(uint64_t seq, bool ack);
    // Appends the frames for everything decided since the last flush.
    void flush(std::vector<frame>& out);

    bool has_decided() const { return !_decided.empty(); }
    // Published and not yet confirmed (pending or decided-unsent).
    std::size_t unconfirmed() const { return _states.size() - _sent; }

  private:
    enum class state : uint8_t { pending, ack, nack, sent };
    state& at(uint64_t seq) { return _states[seq - _low]; }

    uint64_t _low = 1;               // sequence number of _states.front()
    std::deque<state> _states;       // _low .. last published
    std::vector<uint64_t> _decided;  // decided since the last flush
    std::size_t _sent = 0;           // entries of _states in state sent
};

struct durable_wait {
    storage::group_id group;
    uint64_t index = 0;
};

class durable_confirms : public std::enable_shared_from_this<durable_confirms> {
  public:
    // decided(seq, ok): every wait of publish `seq` answered. flush(): after
    // a drain of the engine's notices decided some (once per drain).
    durable_confirms(std::function<void(uint64_t, bool)> decided, std::function<void()> flush)
        : _decided(std::move(decided)), _flush(std::move(flush)) {}

    void wait(durable_engine& engine, uint64_t seq, const std::vector<durable_wait>& waits);
    std::size_t pending() const { return _pending.size(); }

  private:
    struct entry {
        std::size_t remaining = 0;
        bool failed = false;
    };
    void done(durable_engine& engine, uint64_t seq, bool ok);

    std::function<void(uint64_t, bool)> _decided;
    std::function<void()> _flush;
    std::unordered_map<uint64_t, entry> _pending;
    bool _flush_scheduled = false;
};

}  // namespace qmq::broker
