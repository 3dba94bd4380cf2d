#pragma once

// A simulated network between the nodes of one group. Every message gets a
// delivery time; it may be dropped, duplicated, delayed (hence reordered) or
// cut by a partition. Links are directed, so a partition can be asymmetric.
// All randomness comes from the simulation's prng: a seed replays exactly.

#include <cstdint>
#include <queue>
#include <set>
#include <utility>
#include <vector>

#include "common/prng.h"
#include "raft/message.h"

namespace qmq::sim {

struct network_faults {
    uint32_t drop_ppm = 0;       // per message, parts per million
    uint32_t duplicate_ppm = 0;  // per message
    uint64_t delay_min = 1;      // time units
    uint64_t delay_max = 10;
    uint32_t long_delay_ppm = 0;  // a message delayed up to long_delay_max
    uint64_t long_delay_max = 200;
};

class network {
  public:
    explicit network(prng& rng) : _rng(rng) {}

    void set_faults(const network_faults& f) { _faults = f; }
    const network_faults& faults() const { return _faults; }

    void send(raft::message m, uint64_t now);
    // Messages whose delivery time has come, in delivery order; those on a
    // cut link are dropped here (so a cut also catches messages in flight).
    std::vector<raft::message> take_due(uint64_t now);

    void cut(raft::node_id from, raft::node_id to) { _cut.insert({from, to}); }
    void cut_both(raft::node_id a, raft::node_id b) {
        cut(a, b);
        cut(b, a);
    }
    void heal() { _cut.clear(); }
    bool is_cut(raft::node_id from, raft::node_id to) const { return _cut.count({from, to}) != 0; }
    std::size_t in_flight() const { return _queue.size(); }

    uint64_t delivered() const { return _delivered; }
    uint64_t dropped() const { return _dropped; }

  private:
    struct flight {
        uint64_t at;
        uint64_t seq;
        raft::message m;
        bool operator>(const flight& o) const { return at != o.at ? at > o.at : seq > o.seq; }
    };
    void enqueue(raft::message m, uint64_t now);

    prng& _rng;
    network_faults _faults;
    std::set<std::pair<raft::node_id, raft::node_id>> _cut;
    std::priority_queue<flight, std::vector<flight>, std::greater<>> _queue;
    uint64_t _seq = 0;
    uint64_t _delivered = 0;
    uint64_t _dropped = 0;
};

}  // namespace qmq::sim
