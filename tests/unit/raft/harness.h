#pragma once

// A tiny in-memory cluster for unit tests: outputs are carried out at once
// (entries durable immediately unless a node's disk is "held"), messages are
// queued and delivered on request. Tests read like the protocol rule they
// check: elect, propose, isolate, deliver, expect.

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "raft/fsm.h"

namespace qmq::raft::test {

inline node_id n(uint64_t v) {
    return node_id(v);
}
inline log_index li(uint64_t v) {
    return log_index(v);
}
inline term_t tm(uint64_t v) {
    return term_t(v);
}

// Eight big-endian bytes (written by hand: g++ 12 warns falsely on the
// inlined vector insert of byte_writer here).
inline bytes payload(uint64_t v) {
    bytes b(8);
    for (std::size_t i = 0; i < 8; ++i) {
        b[i] = static_cast<std::byte>(v >> (56 - 8 * i));
    }
    return b;
}

inline options test_options() {
    options o;
    o.election_ticks = 10;
    o.heartbeat_ticks = 1;
    return o;
}

inline durable_state fresh(std::vector<node_id> voters, std::vector<node_id> learners = {}) {
    durable_state s;
    s.snap.config.voters = normalized(std::move(voters));
    s.snap.config.learners = normalized(std::move(learners));
    return s;
}

class cluster {
  public:
    explicit cluster(uint64_t count, options o = test_options()) : _opts(o) {
        std::vector<node_id> voters;
        for (uint64_t i = 1; i <= count; ++i) {
            voters.push_back(n(i));
        }
        for (auto id : voters) {
            add(id, fresh(voters));
        }
    }

    void add(node_id id, durable_state s) {
        _nodes[id] = std::make_unique<fsm>(group_id(1), id, _opts, std::move(s), id.value * 77);
    }

    fsm& at(uint64_t id) { return *_nodes.at(n(id)); }

    // Carries out a node's output: persist (durable at once unless held),
    // queue messages, record applied entries.
    void collect(node_id id) {
        auto& f = *_nodes.at(id);
        while (f.has_output()) {
            output out = f.take_output();
            if (out.persist_snapshot) {
                snapshots_loaded[id].push_back(out.persist_snapshot->meta.index);
            }
            if (!out.persist_entries.empty()) {
                const auto& last = out.persist_entries.back();
                if (_held.count(id) != 0) {
                    _pending_durable[id] = {last.term, last.index};
                } else {
                    f.on_durable(last.term, last.index);
                }
            }
            for (auto& m : out.send) {
                queue.push_back(std::move(m));
            }
            for (auto& e : out.apply) {
                applied[id].push_back(e);
            }
            for (auto& r : out.reads) {
                reads[id].push_back(r);
            }
        }
    }
    void collect_all() {
        for (auto& [id, f] : _nodes) {
            collect(id);
        }
    }

    // Delivers queued messages until none are left (or max rounds).
    void stabilize(int rounds_max = 100) {
        collect_all();
        for (int i = 0; i < rounds_max && !queue.empty(); ++i) {
            deliver_all();
        }
    }
    void deliver_all() {
        auto batch = std::move(queue);
        queue.clear();
        for (auto& m : batch) {
            deliver(std::move(m));
        }
        collect_all();
    }
    void deliver(message m) {
        if (cut(m.from, m.to) || _nodes.count(m.to) == 0) {
            return;
        }
        const node_id to = m.to;
        ++delivered[m.type];
        _nodes.at(to)->step(std::move(m));
        collect(to);
    }

    void elect(uint64_t id) {
        at(id).campaign();
        stabilize();
    }
    void tick(uint64_t id, int times = 1) {
        for (int i = 0; i < times; ++i) {
            at(id).tick();
        }
        collect(n(id));
    }
    void tick_all(int times = 1) {
        for (int i = 0; i < times; ++i) {
            for (auto& [id, f] : _nodes) {
                f->tick();
            }
            collect_all();
        }
    }

    void isolate(uint64_t id) { _isolated.insert(n(id)); }
    void heal() { _isolated.clear(); }
    bool cut(node_id a, node_id b) const {
        return _isolated.count(a) != 0 || _isolated.count(b) != 0;
    }

    void hold_disk(uint64_t id) { _held.insert(n(id)); }
    void release_disk(uint64_t id) {
        _held.erase(n(id));
        auto it = _pending_durable.find(n(id));
        if (it != _pending_durable.end()) {
            at(id).on_durable(it->second.first, it->second.second);
            _pending_durable.erase(it);
        }
        collect(n(id));
    }

    // Messages of a type in the queue (optionally to one node).
    std::vector<message> queued(message_type t, uint64_t to = 0) const {
        std::vector<message> out;
        for (const auto& m : queue) {
            if (m.type == t && (to == 0 || m.to == n(to))) {
                out.push_back(m);
            }
        }
        return out;
    }

    std::vector<message> queue;
    std::map<message_type, int> delivered;
    std::map<node_id, std::vector<log_entry>> applied;
    std::map<node_id, std::vector<read_state>> reads;
    std::map<node_id, std::vector<log_index>> snapshots_loaded;

  private:
    options _opts;
    std::map<node_id, std::unique_ptr<fsm>> _nodes;
    std::set<node_id> _isolated;
    std::set<node_id> _held;
    std::map<node_id, std::pair<term_t, log_index>> _pending_durable;
};

}  // namespace qmq::raft::test
