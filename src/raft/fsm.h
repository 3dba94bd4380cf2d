#pragma once

// One Raft group as a pure state machine (etcd-raft / ScyllaDB fsm style).
//
// Inputs: step(message), tick(), on_durable(term, index), propose(),
// change_membership(), transfer_leadership(), read_index(), compact().
// Output: take_output(), whose fields and their ordering rules are in
// output.h. No I/O, clocks, threads or global randomness: time is ticks, and
// the only randomness (election timeouts) comes from the seeded prng handed
// to the constructor. An idle follower costs a counter increment per tick.
//
// Files: fsm.cc (inputs, terms, output), fsm_election.cc (pre-vote, votes,
// check-quorum, transfer), fsm_replication.cc (leader: appends, flow control,
// commit, membership), fsm_follower.cc (append/heartbeat/snapshot handling),
// fsm_read.cc (ReadIndex).

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "common/prng.h"
#include "common/result.h"
#include "raft/log.h"
#include "raft/options.h"
#include "raft/output.h"
#include "raft/progress.h"

namespace qmq::raft {

// Error codes of the proposal-like inputs.
enum class errc : int {
    not_leader = 1,
    transfer_in_progress = 2,
    change_in_progress = 3,
    bad_configuration = 4,
    bad_target = 5,
};

// Everything a group restarts from: what its storage holds durably.
struct durable_state {
    hard_state hard;
    snapshot_meta snap;                      // index 0 / term 0 for a fresh log
    std::shared_ptr<const bytes> snap_data;  // may be null when snap.index is 0
    std::vector<log_entry> entries;          // snap.index+1 .. last, contiguous
};

class fsm {
  public:
    fsm(group_id group, node_id self, const options& opts, durable_state state, uint64_t seed);

    // --- inputs ---
    void step(message m);
    void tick();
    // The runtime's storage holds every entry up to (t, i) durably.
    void on_durable(term_t t, log_index i);
    // Leader only: appends a command; its index, or an error (not_leader:
    // the caller should forward to leader()).
    result<log_index> propose(bytes data);
    // Leader only: starts a joint-consensus change to these voters and
    // learners (C_old,new now, C_new automatically once that commits). One
    // change at a time; a learner cannot be an old voter (demote by removing).
    result<log_index> change_membership(std::vector<node_id> voters, std::vector<node_id> learners);
    // Leader only: bring `target` up to date, then make it campaign at once.
    result<void> transfer_leadership(node_id target);
    // Asks for a linearizable read point; answered in output.reads (or
    // dropped if leadership is lost: the caller retries on a timeout).
    void read_index(uint64_t context);
    // The application holds a durable snapshot of its state up to `upto`
    // (<= applied, and <= log().durable()): the log before it may go.
    void compact(log_index upto, std::shared_ptr<const bytes> data);
    // Starts an election now (tests, or an operator's "become leader").
    void campaign();

    // --- output ---
    bool has_output() const;
    output take_output();

    // --- state ---
    group_id group() const { return _group; }
    node_id self() const { return _self; }
    role current_role() const { return _role; }
    term_t term() const { return _term; }
    node_id vote() const { return _vote; }
    node_id leader() const { return _leader; }
    const raft_log& log() const { return _log; }
    const configuration& config() const { return _log.config(); }
    const progress* progress_of(node_id id) const;
    node_id transfer_target() const { return _transfer_target; }

  private:
    struct pending_read {
        uint64_t seq;
        uint64_t context;
        node_id origin;
        log_index index;
    };

    // fsm.cc
    void send(message m);
    bool promotable() const { return _log.config().is_voter(_self); }
    void reset(term_t t);
    void reset_election_timeout();
    void become_follower(term_t t, node_id leader);
    void step_by_term(message& m, bool& drop);
    // fsm_election.cc
    void campaign_impl(bool pre, bool transfer);
    void become_pre_candidate();
    void become_candidate();
    void become_leader();
    void on_vote_request(const message& m);
    void on_vote_response(const message& m);
    void tick_election();
    void tick_leader();
    bool quorum_active() const;
    // fsm_replication.cc
    void step_leader(message& m);
    bool send_append(node_id to, bool send_if_empty);
    void send_snapshot_chunk(node_id to);
    void send_heartbeat(node_id to, uint64_t context);
    void broadcast_append(bool send_if_empty);
    void broadcast_heartbeat(uint64_t context);
    bool maybe_commit();
    void after_commit();
    void append_as_leader(entry_kind kind, bytes data);
    void sync_progress_with_config();
    void on_append_response(const message& m);
    void on_heartbeat_response(const message& m);
    void on_snapshot_response(const message& m);
    log_index own_durable_match() const;
    // fsm_follower.cc
    void step_follower(message& m);
    void on_append(message& m);
    void on_heartbeat(const message& m);
    void on_snapshot_chunk(message& m);
    void send_append_ack();
    // fsm_read.cc
    void start_read(uint64_t context, node_id origin);
    void advance_reads();
    void deliver_read(const pending_read& r);
    bool committed_in_current_term() const;

    group_id _group;
    node_id _self;
    options _opts;
    prng _rng;

    term_t _term;
    node_id _vote;
    node_id _leader;
    role _role = role::follower;
    raft_log _log;
    std::shared_ptr<const bytes> _snap_data;

    uint32_t _election_elapsed = 0;
    uint32_t _heartbeat_elapsed = 0;
    uint32_t _randomized_timeout = 0;

    // candidate / pre-candidate: answers received (true: granted)
    std::map<node_id, bool> _votes;

    // leader
    std::map<node_id, progress> _progress;
    node_id _transfer_target;
    bool _broadcast_entries = false;  // new entries: flush appends at take_output
    bool _broadcast_commit = false;   // commit moved: tell followers
    uint64_t _read_seq = 0;
    bool _read_heartbeat_due = false;
    std::deque<pending_read> _pending_reads;         // waiting for a heartbeat quorum
    std::vector<pending_read> _reads_before_commit;  // waiting for our first commit

    // follower
    log_index _leader_matched;  // our log matches the current leader's up to here
    bool _ack_pending = false;  // an append ack waits for on_durable
    std::optional<snapshot_meta> _incoming_meta;
    bytes _incoming_data;

    // output being built
    hard_state _handed_hard_state;
    std::optional<snapshot> _snap_out;
    std::vector<message> _msgs;
    std::vector<read_state> _reads_out;
};

}  // namespace qmq::raft
