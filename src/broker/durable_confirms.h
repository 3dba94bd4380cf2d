#pragma once

// Publisher confirms of one channel that wait for the disk: a persistent
// message routed to durable queues is confirmed once every one of their
// log entries is fdatasync'd (basic.nack if a write failed). Owned by the
// channel through a shared_ptr; the durability callbacks hold a weak_ptr, so
// a channel closed meanwhile is simply not answered.

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "broker/durable_engine.h"

namespace qmq::broker {

struct durable_wait {
    storage::group_id group;
    uint64_t index = 0;
};

class durable_confirms : public std::enable_shared_from_this<durable_confirms> {
  public:
    // send(seq, ok): basic.ack (ok) or basic.nack for publish `seq`.
    explicit durable_confirms(std::function<void(uint64_t, bool)> send) : _send(std::move(send)) {}

    void wait(durable_engine& engine, uint64_t seq, const std::vector<durable_wait>& waits);
    std::size_t pending() const { return _pending.size(); }

  private:
    struct entry {
        std::size_t remaining = 0;
        bool failed = false;
    };
    void done(uint64_t seq, bool ok);

    std::function<void(uint64_t, bool)> _send;
    std::unordered_map<uint64_t, entry> _pending;
};

}  // namespace qmq::broker
