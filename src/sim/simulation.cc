#include "sim/simulation.h"

#include <algorithm>
#include <map>
#include <memory>
#include <sstream>
#include <vector>

#include "sim/checker.h"
#include "sim/disk.h"
#include "sim/network.h"

namespace qmq::sim {

namespace {

using raft::log_index;
using raft::node_id;
using raft::term_t;

constexpr raft::group_id sim_group{7};
constexpr std::size_t nodes_max = 5;
constexpr uint64_t liveness_check_every = 10;

bytes encode_u64(uint64_t v) {
    bytes b;
    byte_writer w(b);
    w.u64(v);
    return b;
}

uint64_t decode_u64(const bytes& b) {
    byte_reader r(b);
    const uint64_t v = r.u64();
    QMQ_ASSERT(r.ok());
    return v;
}

// The application's snapshot: its whole command sequence.
bytes encode_cmds(const std::vector<uint64_t>& cmds) {
    bytes b;
    byte_writer w(b);
    w.u64(cmds.size());
    for (auto c : cmds) {
        w.u64(c);
    }
    return b;
}

std::vector<uint64_t> decode_cmds(const bytes& b) {
    byte_reader r(b);
    std::vector<uint64_t> cmds(r.u64());
    for (auto& c : cmds) {
        c = r.u64();
    }
    QMQ_ASSERT(r.ok() && r.at_end());
    return cmds;
}

std::vector<node_id> ids(std::initializer_list<uint64_t> l) {
    std::vector<node_id> out;
    for (auto v : l) {
        out.push_back(node_id(v));
    }
    return out;
}

struct node_state {
    node_id id;
    bool up = true;
    std::unique_ptr<raft::fsm> core;
    std::unique_ptr<disk> store;
    std::vector<uint64_t> cmds;  // the application: commands applied, in order
    log_index applied;
    uint64_t tick_period = 10;
    uint64_t next_tick = 0;
    uint64_t disk_delay_max = 5;
    uint64_t restart_at = 0;
    uint64_t incarnation = 0;
    std::vector<raft::read_state> reads;      // answered, waiting for apply
    std::map<log_index, uint64_t> proposals;  // index -> command proposed here
};

struct issued_read {
    log_index must_see;  // highest index acknowledged to the client before the read
};

enum class shape { three, five, grow, shrink };

const char* to_string(shape s) {
    switch (s) {
        case shape::three:
            return "3 nodes";
        case shape::five:
            return "5 nodes";
        case shape::grow:
            return "grow 3->5";
        case shape::shrink:
            return "shrink 5->3";
    }
    return "?";
}

class simulation {
  public:
    explicit simulation(const sim_options& o);
    sim_result run();

  private:
    void choose_scenario();
    void start_node(node_state& n);
    void crash(node_state& n);
    void drain(node_state& n);
    void apply_entry(node_state& n, const raft::log_entry& e);
    void serve_reads(node_state& n);
    void maybe_compact(node_state& n);
    void step(bool faulty);
    void random_faults();
    void workload();
    void membership();
    node_state* find_leader();
    bool liveness_reached(std::string& why);
    void fail(std::string invariant, std::string detail);
    bool failed() const { return !_res.ok || !_check.ok(); }

    template <typename... Args>
    void trace(const Args&... args) {
        if (_o.trace == nullptr) {
            return;
        }
        std::ostringstream os;
        os << "t=" << _now << " ";
        (os << ... << args);
        *_o.trace << os.str() << "\n";
    }
    std::string describe(const raft::message& m) const;

    sim_options _o;
    prng _rng;
    raft::options _raft;
    network _net;
    checker _check;
    std::vector<node_state> _nodes;
    uint64_t _now = 0;
    sim_result _res;

    shape _shape = shape::three;
    raft::configuration _initial;
    std::vector<raft::configuration> _targets;  // membership stages still to reach
    uint32_t _crash_ppm = 0;
    uint64_t _down_max = 0;
    uint32_t _partition_ppm = 0;
    uint32_t _heal_ppm = 0;
    uint32_t _propose_ppm = 0;
    uint32_t _read_ppm = 0;
    uint32_t _transfer_ppm = 0;
    uint64_t _compact_every = 0;
    bool _stormy = false;
    // "Leader hunter" nemesis (stormy seeds): soon after a node becomes
    // leader it is cut off, and later healed; this strands fresh entries of
    // several terms on minorities, as in Figure 8.
    bool _hunt_leaders = false;
    node_id _hunted;
    uint64_t _hunt_at = 0;
    uint64_t _hunt_heal_at = 0;

    uint64_t _next_cmd = 1;
    std::map<uint64_t, log_index> _acked;  // command -> index
    log_index _max_acked;
    uint64_t _next_read = 1;
    std::map<uint64_t, issued_read> _reads;
    // Per command in flight: the highest index acknowledged before it was
    // proposed. Its own index must be higher (real-time order).
    std::map<uint64_t, log_index> _must_follow;
};

simulation::simulation(const sim_options& o) : _o(o), _rng(o.seed), _net(_rng) {}

void simulation::choose_scenario() {
    _shape = static_cast<shape>(_rng.below(4));
    const bool starts_five = _shape == shape::five || _shape == shape::shrink;
    _initial.voters = starts_five ? ids({1, 2, 3, 4, 5}) : ids({1, 2, 3});
    const std::size_t count = _shape == shape::three ? 3 : nodes_max;
    if (_shape == shape::grow) {
        raft::configuration learners;
        learners.voters = ids({1, 2, 3});
        learners.learners = ids({4, 5});
        raft::configuration all;
        all.voters = ids({1, 2, 3, 4, 5});
        _targets = {learners, all};
    } else if (_shape == shape::shrink) {
        raft::configuration three;
        three.voters = ids({1, 2, 3});
        _targets = {three};
    }

    _raft.election_ticks = 10;
    _raft.heartbeat_ticks = 2;
    // One seed in four is "stormy": frequent crashes with quick restarts and
    // leader isolations, which is where vote and durability bugs hide; half
    // of those run without pre-vote and check-quorum, whose leases otherwise
    // keep a stale node from ever leading again (Figure 8 needs that).
    _stormy = _rng.below(4) == 0;
    _hunt_leaders = _stormy && _rng.below(2) == 0;
    _raft.pre_vote = _rng.below(_stormy ? 2 : 4) != 0;
    _raft.check_quorum = _rng.below(_stormy ? 2 : 4) != 0;
    _raft.append_entries_max = static_cast<uint32_t>(_rng.between(1, 4));
    _raft.append_bytes_max = _rng.between(64, 1024);
    _raft.inflight_msgs_max = static_cast<uint32_t>(_rng.between(1, 16));
    _raft.inflight_bytes_max = _rng.between(256, 8192);
    _raft.snapshot_chunk_bytes = _rng.between(64, 1024);
    _raft.bugs = _o.bugs;

    network_faults f;
    f.drop_ppm = static_cast<uint32_t>(_rng.below(100'000));
    f.duplicate_ppm = static_cast<uint32_t>(_rng.below(50'000));
    f.delay_min = 1;
    f.delay_max = _rng.between(3, 30);
    f.long_delay_ppm = static_cast<uint32_t>(_rng.below(20'000));
    f.long_delay_max = _rng.between(50, 400);
    _net.set_faults(f);

    const bool stormy = _stormy;
    _crash_ppm =
        static_cast<uint32_t>(stormy ? _rng.between(5'000, 30'000) : _rng.between(200, 2'000));
    _down_max = _rng.between(20, 800);
    _partition_ppm =
        static_cast<uint32_t>(stormy ? _rng.between(5'000, 50'000) : _rng.between(200, 3'000));
    _heal_ppm =
        static_cast<uint32_t>(stormy ? _rng.between(5'000, 50'000) : _rng.between(1'000, 10'000));
    _propose_ppm = static_cast<uint32_t>(_rng.between(30'000, 300'000));
    _read_ppm = static_cast<uint32_t>(_rng.between(5'000, 50'000));
    _transfer_ppm = static_cast<uint32_t>(_rng.below(1'000));
    _compact_every = _rng.between(5, 80);

    for (std::size_t i = 0; i < count; ++i) {
        node_state n;
        n.id = node_id(i + 1);
        raft::snapshot_meta initial;
        if (std::binary_search(_initial.voters.begin(), _initial.voters.end(), n.id)) {
            initial.config = _initial;
        }
        n.store = std::make_unique<disk>(initial);
        n.tick_period = _rng.between(7, 14);  // uneven clocks
        n.next_tick = _rng.between(1, n.tick_period);
        n.disk_delay_max = _rng.below(4) == 0 ? _rng.between(50, 300) : _rng.between(0, 10);
        _nodes.push_back(std::move(n));
    }
    for (auto& n : _nodes) {
        start_node(n);
    }

    std::ostringstream os;
    os << to_string(_shape) << (stormy ? ", stormy" : "")
       << (_hunt_leaders ? ", leader hunter" : "") << ", drop " << f.drop_ppm / 10'000.0
       << "%, dup " << f.duplicate_ppm / 10'000.0 << "%, delay<=" << f.delay_max << ", pre_vote "
       << _raft.pre_vote << ", check_quorum " << _raft.check_quorum << ", inflight "
       << _raft.inflight_msgs_max << ", compact every " << _compact_every;
    _res.scenario = os.str();
    trace("scenario: ", _res.scenario);
}

void simulation::start_node(node_state& n) {
    const uint64_t seed = _o.seed * 1'000'003 + n.id.value * 7'919 + n.incarnation;
    ++n.incarnation;
    auto state = n.store->load(_o.forget_vote_on_restart);
    n.cmds.clear();
    n.applied = state.snap.index;
    if (state.snap_data) {
        n.cmds = decode_cmds(*state.snap_data);
        for (std::size_t k = 0; k < n.cmds.size(); ++k) {
            _check.on_command(n.id, k, n.cmds[k]);
        }
    }
    n.core = std::make_unique<raft::fsm>(sim_group, n.id, _raft, std::move(state), seed);
    n.up = true;
    n.reads.clear();
    n.proposals.clear();
}

void simulation::crash(node_state& n) {
    trace("n", n.id, " crashes (", n.store->pending_writes(), " writes lost)");
    n.up = false;
    n.core.reset();
    n.store->crash();
    n.restart_at = _now + (_rng.below(2) == 0 ? _rng.between(1, 30) : _rng.between(1, _down_max));
}

void simulation::fail(std::string invariant, std::string detail) {
    if (_res.ok) {
        _res.ok = false;
        _res.invariant = std::move(invariant);
        _res.detail = std::move(detail);
        trace("VIOLATION ", _res.invariant, ": ", _res.detail);
    }
}

std::string simulation::describe(const raft::message& m) const {
    std::ostringstream os;
    os << "n" << m.from << "->n" << m.to << " " << raft::to_string(m.type) << " term=" << m.term;
    switch (m.type) {
        case raft::message_type::append:
            os << " prev=" << m.index << "/" << m.log_term << " n=" << m.entries.size()
               << " commit=" << m.commit;
            break;
        case raft::message_type::append_resp:
            os << (m.reject ? " reject " : " ack ") << m.index;
            if (m.reject) {
                os << " hint=" << m.hint_index << "/" << m.hint_term;
            }
            break;
        case raft::message_type::vote:
        case raft::message_type::pre_vote:
            os << " last=" << m.index << "/" << m.log_term;
            break;
        case raft::message_type::vote_resp:
        case raft::message_type::pre_vote_resp:
            os << (m.reject ? " rejected" : " granted");
            break;
        case raft::message_type::snapshot:
            os << " snap=" << m.chunk->meta.index << " off=" << m.chunk->offset
               << (m.chunk->last ? " last" : "");
            break;
        case raft::message_type::snapshot_resp:
            os << (m.reject ? " want off=" : " installed ")
               << (m.reject ? m.context : m.index.value);
            break;
        case raft::message_type::heartbeat:
            os << " commit=" << m.commit << " ctx=" << m.context;
            break;
        default:
            break;
    }
    return os.str();
}

void simulation::drain(node_state& n) {
    while (n.up && n.core->has_output() && !failed()) {
        const raft::role before = n.core->current_role();
        raft::output out = n.core->take_output();
        if (out.persist_hard_state) {
            n.store->save_hard_state(*out.persist_hard_state);
        }
        if (out.persist_snapshot) {
            const auto& s = *out.persist_snapshot;
            trace("n", n.id, " installs snapshot ", s.meta.index, "/", s.meta.term);
            n.store->save_received_snapshot(s);
            n.cmds = decode_cmds(*s.data);
            for (std::size_t k = 0; k < n.cmds.size(); ++k) {
                _check.on_command(n.id, k, n.cmds[k]);
            }
            n.applied = s.meta.index;
        }
        if (!out.persist_entries.empty()) {
            for (const auto& e : out.persist_entries) {
                _check.on_persist(n.id, e, n.core->log().term_at(e.index.prev()));
            }
            n.store->start_append(std::move(out.persist_entries),
                                  _now + _rng.between(0, n.disk_delay_max));
        }
        for (auto& m : out.send) {
            if (_o.trace != nullptr) {
                trace(describe(m));
            }
            _net.send(std::move(m), _now);
        }
        for (const auto& e : out.apply) {
            apply_entry(n, e);
        }
        for (const auto& r : out.reads) {
            n.reads.push_back(r);
        }
        serve_reads(n);
        if (n.core->current_role() == raft::role::leader) {
            if (before != raft::role::leader) {
                trace("n", n.id, " becomes leader of term ", n.core->term());
                if (_hunt_leaders && _hunt_at <= _now && _rng.below(2) == 0) {
                    _hunted = n.id;
                    _hunt_at = _now + _rng.between(1, 40);
                }
            }
            _check.on_leader(n.id, n.core->term(), n.core->log());
        }
        maybe_compact(n);
    }
    if (!_check.ok() && _res.ok) {
        fail(_check.first_violation()->invariant, _check.first_violation()->detail);
    }
}

void simulation::apply_entry(node_state& n, const raft::log_entry& e) {
    _check.on_apply(n.id, e);
    if (e.index != n.applied.next()) {
        std::ostringstream os;
        os << "n" << n.id << " applies " << e.index << " after " << n.applied;
        fail("apply order", os.str());
        return;
    }
    n.applied = e.index;
    auto it = n.proposals.find(e.index);
    if (e.kind != raft::entry_kind::command) {
        if (it != n.proposals.end()) {
            n.proposals.erase(it);
        }
        return;
    }
    const uint64_t cmd = decode_u64(e.data);
    _check.on_command(n.id, n.cmds.size(), cmd);
    n.cmds.push_back(cmd);
    if (it != n.proposals.end()) {
        if (it->second == cmd) {
            // The node that took the proposal applied it: the client is told
            // it is committed. From now on it must never be lost.
            auto bound = _must_follow.find(cmd);
            if (bound != _must_follow.end() && e.index <= bound->second) {
                std::ostringstream os;
                os << "command " << cmd << " committed at " << e.index << " but " << bound->second
                   << " was acknowledged before it was proposed";
                fail("linearizability (real-time order)", os.str());
            }
            _acked.emplace(cmd, e.index);
            _max_acked = std::max(_max_acked, e.index);
            ++_res.commands_acked;
            trace("client: command ", cmd, " committed at ", e.index);
        }
        n.proposals.erase(it);
    }
}

void simulation::serve_reads(node_state& n) {
    auto it = n.reads.begin();
    while (it != n.reads.end()) {
        if (it->index > n.applied) {
            ++it;
            continue;
        }
        auto r = _reads.find(it->context);
        if (r != _reads.end()) {
            if (it->index < r->second.must_see) {
                std::ostringstream os;
                os << "read " << it->context << " at n" << n.id << " served at index " << it->index
                   << " but index " << r->second.must_see << " was acknowledged before it";
                fail("linearizability (stale read)", os.str());
            }
            ++_res.reads_checked;
            _reads.erase(r);
        }
        it = n.reads.erase(it);
    }
}

void simulation::maybe_compact(node_state& n) {
    // Only at a durable index (fsm::compact's rule); a slow disk delays it.
    if (n.applied.value < n.core->log().snap_index().value + _compact_every ||
        n.applied > n.core->log().durable()) {
        return;
    }
    auto data = std::make_shared<const bytes>(encode_cmds(n.cmds));
    n.core->compact(n.applied, data);
    n.store->save_local_snapshot(raft::snapshot{n.core->log().snap(), data});
}

node_state* simulation::find_leader() {
    node_state* best = nullptr;
    for (auto& n : _nodes) {
        if (n.up && n.core->current_role() == raft::role::leader &&
            (best == nullptr || n.core->term() > best->core->term())) {
            best = &n;
        }
    }
    return best;
}

void simulation::random_faults() {
    if (_hunt_leaders && _hunt_at == _now && _hunted != raft::no_node) {
        for (auto& n : _nodes) {
            if (n.id != _hunted) {
                _net.cut_both(_hunted, n.id);
            }
        }
        trace("nemesis: leader n", _hunted, " cut off");
        _hunted = raft::no_node;
        _hunt_heal_at = _now + _rng.between(20, 400);
    }
    if (_hunt_heal_at == _now) {
        _net.heal();
        trace("nemesis: healed");
    }
    for (auto& n : _nodes) {
        if (n.up && _rng.chance_ppm(_crash_ppm / static_cast<uint32_t>(_nodes.size()))) {
            crash(n);
        }
    }
    if (_rng.chance_ppm(_partition_ppm)) {
        // Stormy seeds mostly isolate the leader: that strands its newest
        // entries on a minority, the setting of Raft's Figure 8.
        const auto kind = _stormy && _rng.below(2) == 0 ? 3 : _rng.below(4);
        const std::size_t count = _nodes.size();
        if (kind == 0 || kind == 3) {
            // Isolate one node both ways; kind 3 aims at the leader (its
            // fresh entries are then on a minority: Figure 8's setting).
            node_state* leader = kind == 3 ? find_leader() : nullptr;
            const node_id victim = leader ? leader->id : _nodes[_rng.below(count)].id;
            for (auto& n : _nodes) {
                if (n.id != victim) {
                    _net.cut_both(victim, n.id);
                }
            }
            trace("partition: n", victim, " isolated");
        } else if (kind == 1) {
            // Split into two random sides.
            std::vector<bool> side(count);
            for (auto&& s : side) {
                s = _rng.below(2) == 0;
            }
            std::ostringstream os;
            for (std::size_t a = 0; a < count; ++a) {
                os << (side[a] ? "A" : "B");
                for (std::size_t b = a + 1; b < count; ++b) {
                    if (side[a] != side[b]) {
                        _net.cut_both(_nodes[a].id, _nodes[b].id);
                    }
                }
            }
            trace("partition: sides ", os.str());
        } else {
            // One-way: a node can send but not hear, or the reverse.
            const node_id victim = _nodes[_rng.below(count)].id;
            const bool deaf = _rng.below(2) == 0;
            for (auto& n : _nodes) {
                if (n.id != victim) {
                    if (deaf) {
                        _net.cut(n.id, victim);
                    } else {
                        _net.cut(victim, n.id);
                    }
                }
            }
            trace("partition: n", victim, deaf ? " cannot hear" : " cannot speak");
        }
    }
    if (_rng.chance_ppm(_heal_ppm)) {
        _net.heal();
        trace("partition healed");
    }
    if (_rng.chance_ppm(_transfer_ppm)) {
        if (auto* l = find_leader()) {
            const auto& voters = l->core->config().voters;
            const node_id target = voters[_rng.below(voters.size())];
            auto r = l->core->transfer_leadership(target);
            trace("n", l->id, " transfers leadership to n", target, r.ok() ? "" : " (refused)");
            drain(*l);
        }
    }
}

void simulation::workload() {
    if (_rng.chance_ppm(_propose_ppm)) {
        node_state& at = _nodes[_rng.below(_nodes.size())];
        node_state* target = nullptr;
        if (at.up && at.core->current_role() == raft::role::leader) {
            target = &at;
        } else if (at.up && at.core->leader() != raft::no_node) {
            node_state& fwd = _nodes[at.core->leader().value - 1];
            target = fwd.up ? &fwd : nullptr;  // forwarded to the leader it knows
        }
        if (target != nullptr) {
            const uint64_t cmd = _next_cmd++;
            auto r = target->core->propose(encode_u64(cmd));
            if (r.ok()) {
                target->proposals[*r] = cmd;
                _must_follow[cmd] = _max_acked;
                trace("client: command ", cmd, " proposed at n", target->id, " index ", *r);
            }
            drain(*target);
        }
    }
    if (_rng.chance_ppm(_read_ppm)) {
        node_state& at = _nodes[_rng.below(_nodes.size())];
        if (at.up) {
            const uint64_t id = _next_read++;
            _reads[id] = issued_read{_max_acked};
            trace("client: read ", id, " at n", at.id, " must see ", _max_acked);
            at.core->read_index(id);
            drain(at);
        }
    }
}

void simulation::membership() {
    if (_targets.empty() || !_rng.chance_ppm(20'000)) {
        return;
    }
    node_state* l = find_leader();
    if (l == nullptr) {
        return;
    }
    const auto& cfg = l->core->config();
    const auto& target = _targets.front();
    const bool settled =
        !cfg.joint() && l->core->log().config_index() <= l->core->log().committed();
    if (settled && cfg == target) {
        trace("membership: reached stage ", cfg.voters.size(), " voters, ", cfg.learners.size(),
              " learners");
        _targets.erase(_targets.begin());
        return;
    }
    if (settled) {
        auto r = l->core->change_membership(target.voters, target.learners);
        trace("n", l->id, " proposes membership change", r.ok() ? "" : " (refused)");
        drain(*l);
    }
}

void simulation::step(bool faulty) {
    ++_now;
    if (faulty) {
        random_faults();
        workload();
        if (_now > _o.steps / 4) {
            membership();
        }
    }
    for (auto& n : _nodes) {
        if (!n.up && _now >= n.restart_at) {
            start_node(n);
            trace("n", n.id, " restarts at term ", n.core->term(), " last ",
                  n.core->log().last_index(), " snap ", n.core->log().snap_index());
            drain(n);
        }
    }
    for (auto& m : _net.take_due(_now)) {
        node_state& n = _nodes[m.to.value - 1];
        if (n.up) {
            ++_res.messages;
            n.core->step(std::move(m));
            drain(n);
        }
    }
    for (auto& n : _nodes) {
        if (!n.up) {
            continue;
        }
        if (auto d = n.store->complete_due(_now)) {
            n.core->on_durable(d->first, d->second);
            drain(n);
        }
        if (_now >= n.next_tick) {
            n.next_tick = _now + n.tick_period;
            n.core->tick();
            drain(n);
        }
    }
}

bool simulation::liveness_reached(std::string& why) {
    node_state* l = find_leader();
    if (l == nullptr) {
        why = "no leader";
        return false;
    }
    const auto& log = l->core->log();
    if (log.term_at(log.committed()) != l->core->term()) {
        why = "leader has not committed in its term";
        return false;
    }
    for (auto id : l->core->config().members()) {
        node_state& m = _nodes[id.value - 1];
        if (m.applied < log.committed() || m.applied < _max_acked) {
            std::ostringstream os;
            os << "n" << id << " applied " << m.applied << " of " << log.committed();
            why = os.str();
            return false;
        }
    }
    return true;
}

sim_result simulation::run() {
    choose_scenario();
    for (uint64_t i = 0; i < _o.steps && !failed(); ++i) {
        step(true);
    }
    if (!failed()) {
        // Heal everything, then the group must make progress.
        trace("--- healing: network repaired, every node restarted ---");
        _net.heal();
        network_faults calm;
        calm.delay_max = 5;
        _net.set_faults(calm);
        for (auto& n : _nodes) {
            n.disk_delay_max = std::min<uint64_t>(n.disk_delay_max, 10);
            if (!n.up) {
                n.restart_at = _now;
            }
        }
        std::string why;
        bool live = false;
        bool led = false;
        for (uint64_t i = 0; i < _o.liveness_steps && !failed(); ++i) {
            step(false);
            if (i % liveness_check_every != 0) {
                continue;
            }
            if (!led) {
                led = find_leader() != nullptr;
                if (!led && i >= _o.leader_steps) {
                    fail("liveness", "no leader within " + std::to_string(_o.leader_steps) +
                                         " steps of healing");
                    break;
                }
            }
            if (liveness_reached(why)) {
                live = true;
                break;
            }
        }
        if (!failed() && !live) {
            fail("liveness", why);
        }
        if (!failed()) {
            node_state* l = find_leader();
            for (auto id : l->core->config().members()) {
                const auto& cmds = _nodes[id.value - 1].cmds;
                std::vector<uint64_t> sorted = cmds;
                std::sort(sorted.begin(), sorted.end());
                for (const auto& [cmd, index] : _acked) {
                    if (!std::binary_search(sorted.begin(), sorted.end(), cmd)) {
                        std::ostringstream os;
                        os << "command " << cmd << " acknowledged at index " << index
                           << " is missing on n" << id;
                        fail("durability (lost acknowledged command)", os.str());
                        break;
                    }
                }
            }
        }
    }
    _res.steps = _now;
    _res.leaders = _check.leaders_elected();
    return _res;
}

}  // namespace

sim_result run_simulation(const sim_options& opts) {
    simulation s(opts);
    return s.run();
}

}  // namespace qmq::sim
