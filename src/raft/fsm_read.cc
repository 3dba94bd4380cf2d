// ReadIndex (thesis §6.4): a linearizable read without a log write. The
// leader records its commit index, confirms it is still leader with a round
// of heartbeats answered by a quorum, and then the read may be served once
// the state machine has applied that index. Check-quorum makes the "still
// leader" confirmation and the lease consistent.

#include "raft/fsm.h"
#include "raft/joint.h"

namespace qmq::raft {

bool fsm::committed_in_current_term() const {
    return _log.term_at(_log.committed()) == _term;
}

void fsm::read_index(uint64_t context) {
    if (_role == role::leader) {
        if (!committed_in_current_term()) {
            // Until our noop commits we do not know the commit index.
            if (_reads_before_commit.size() < _opts.pending_reads_max) {
                _reads_before_commit.push_back({0, context, _self, log_index{}});
            }
            return;
        }
        start_read(context, _self);
        return;
    }
    if (_leader != no_node) {
        message m;
        m.to = _leader;
        m.type = message_type::read_index;
        m.context = context;
        send(std::move(m));
    }
}

void fsm::start_read(uint64_t context, node_id origin) {
    pending_read r{++_read_seq, context, origin, _log.committed()};
    const configuration& cfg = _log.config();
    if (!cfg.joint() && cfg.voters.size() == 1 && cfg.voters.front() == _self) {
        deliver_read(r);  // nobody else could be leader
        return;
    }
    if (_pending_reads.size() >= _opts.pending_reads_max) {
        return;  // shed: the caller retries
    }
    _pending_reads.push_back(r);
    _read_heartbeat_due = true;
}

void fsm::advance_reads() {
    auto acked = [&](node_id id) -> uint64_t {
        if (id == _self) {
            return _read_seq;
        }
        auto it = _progress.find(id);
        return it == _progress.end() ? 0 : it->second.read_ack;
    };
    const uint64_t confirmed = joint_committed(_log.config(), acked);
    while (!_pending_reads.empty() && _pending_reads.front().seq <= confirmed) {
        deliver_read(_pending_reads.front());
        _pending_reads.pop_front();
    }
}

void fsm::deliver_read(const pending_read& r) {
    if (r.origin == _self) {
        _reads_out.push_back({r.context, r.index});
        return;
    }
    message m;
    m.to = r.origin;
    m.type = message_type::read_index_resp;
    m.context = r.context;
    m.index = r.index;
    send(std::move(m));
}

}  // namespace qmq::raft
