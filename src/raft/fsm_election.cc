// Elections: randomized timeouts, pre-vote, the election restriction,
// check-quorum and leadership transfer.

#include "raft/fsm.h"
#include "raft/joint.h"

namespace qmq::raft {

void fsm::tick_election() {
    ++_election_elapsed;
    if (_election_elapsed >= _randomized_timeout) {
        _election_elapsed = 0;
        if (promotable()) {
            campaign_impl(_opts.pre_vote, false);
        } else {
            reset_election_timeout();
        }
    }
}

void fsm::tick_leader() {
    ++_heartbeat_elapsed;
    ++_election_elapsed;
    if (_election_elapsed >= _opts.election_ticks) {
        _election_elapsed = 0;
        // A transfer that has not finished in an election timeout is
        // abandoned so the group accepts proposals again.
        _transfer_target = no_node;
        if (_opts.check_quorum) {
            // Check-quorum (thesis §6.2): a leader that has not heard from a
            // quorum in an election timeout steps down, which also makes the
            // lease behind ReadIndex safe.
            const bool active = quorum_active();
            for (auto& [id, pr] : _progress) {
                pr.recent_active = id == _self;
            }
            if (!active) {
                become_follower(_term, no_node);
                return;
            }
        }
    }
    if (_heartbeat_elapsed >= _opts.heartbeat_ticks) {
        _heartbeat_elapsed = 0;
        broadcast_heartbeat(_read_seq);
        // Retransmit the current chunk to followers receiving a snapshot (a
        // lost chunk or answer would otherwise stall them).
        for (auto& [id, pr] : _progress) {
            if (id != _self && pr.state == progress_state::snapshot) {
                send_snapshot_chunk(id);
            }
        }
    }
}

bool fsm::quorum_active() const {
    auto vote = [&](node_id id) -> int {
        if (id == _self) {
            return 1;
        }
        auto it = _progress.find(id);
        return it != _progress.end() && it->second.recent_active ? 1 : 0;
    };
    return joint_vote(_log.config(), vote) == vote_result::won;
}

void fsm::campaign_impl(bool pre, bool transfer) {
    if (pre) {
        become_pre_candidate();
    } else {
        become_candidate();
    }
    const term_t vote_term = pre ? _term.next() : _term;
    _votes[_self] = true;
    auto vote = [&](node_id id) -> int {
        auto it = _votes.find(id);
        return it == _votes.end() ? -1 : (it->second ? 1 : 0);
    };
    if (joint_vote(_log.config(), vote) == vote_result::won) {
        // A single-voter group wins at once.
        if (pre) {
            campaign_impl(false, transfer);
        } else {
            become_leader();
        }
        return;
    }
    const configuration& cfg = _log.config();
    for (auto id : cfg.members()) {
        if (id == _self || !cfg.is_voter(id)) {
            continue;
        }
        message m;
        m.to = id;
        m.type = pre ? message_type::pre_vote : message_type::vote;
        m.term = vote_term;
        m.index = _log.last_index();
        m.log_term = _log.last_term();
        m.context = transfer ? context_transfer : 0;
        send(std::move(m));
    }
}

void fsm::become_pre_candidate() {
    // Term and vote are kept: a pre-vote costs the group nothing if it fails.
    const term_t t = _term;
    const node_id v = _vote;
    reset(t);
    _vote = v;
    _role = role::pre_candidate;
}

void fsm::become_candidate() {
    reset(_term.next());
    _vote = _self;
    _role = role::candidate;
}

void fsm::become_leader() {
    QMQ_ASSERT(_role == role::candidate);
    const term_t t = _term;
    const node_id v = _vote;
    reset(t);
    _vote = v;
    _role = role::leader;
    _leader = _self;
    sync_progress_with_config();
    _progress.at(_self).recent_active = true;
    // §3.6.2 / §6.4: a new leader commits an entry of its own term before it
    // can know which earlier entries are committed (and serve reads).
    append_as_leader(entry_kind::noop, {});
}

void fsm::on_vote_request(const message& m) {
    const bool pre = m.type == message_type::pre_vote;
    // We may vote for m.from if we already did in this term, or have voted
    // for nobody and know no leader; a pre-vote for a later term is free.
    const bool can_vote =
        _vote == m.from || (_vote == no_node && _leader == no_node) || (pre && m.term > _term);
    const bool log_ok = _opts.bugs.no_election_restriction || _log.up_to_date(m.index, m.log_term);
    message r;
    r.to = m.from;
    r.type = pre ? message_type::pre_vote_resp : message_type::vote_resp;
    if (can_vote && log_ok) {
        // A granted pre-vote answers in the candidate's future term so the
        // candidate counts it; a real vote is in our (equal) term.
        r.term = m.term;
        r.reject = false;
        if (!pre) {
            _election_elapsed = 0;
            _vote = m.from;
        }
    } else {
        r.term = _term;
        r.reject = true;
    }
    send(std::move(r));
}

void fsm::on_vote_response(const message& m) {
    const bool pre = _role == role::pre_candidate;
    if ((pre && m.type != message_type::pre_vote_resp) ||
        (!pre && m.type != message_type::vote_resp)) {
        return;
    }
    // A pre-candidate counts grants for term+1 only; rejections come in our
    // own term (a higher one already turned us into a follower).
    if (pre && !m.reject && m.term != _term.next()) {
        return;
    }
    if (!pre && m.term != _term) {
        return;
    }
    _votes.emplace(m.from, !m.reject);
    auto vote = [&](node_id id) -> int {
        auto it = _votes.find(id);
        return it == _votes.end() ? -1 : (it->second ? 1 : 0);
    };
    switch (joint_vote(_log.config(), vote)) {
        case vote_result::won:
            if (pre) {
                campaign_impl(false, false);
            } else {
                become_leader();
            }
            break;
        case vote_result::lost:
            become_follower(_term, no_node);
            break;
        case vote_result::pending:
            break;
    }
}

result<void> fsm::transfer_leadership(node_id target) {
    if (_role != role::leader) {
        return error{static_cast<int>(errc::not_leader), "raft: not the leader"};
    }
    if (target == _self) {
        return ok_result();
    }
    if (!_log.config().is_voter(target) || _progress.find(target) == _progress.end()) {
        return error{static_cast<int>(errc::bad_target), "raft: transfer target is not a voter"};
    }
    _transfer_target = target;
    // The transfer must finish within an election timeout (see tick_leader).
    _election_elapsed = 0;
    const progress& pr = _progress.at(target);
    if (pr.match == _log.last_index()) {
        message m;
        m.to = target;
        m.type = message_type::timeout_now;
        send(std::move(m));
    } else {
        send_append(target, true);
    }
    return ok_result();
}

}  // namespace qmq::raft
