#include "raft/progress.h"

#include <algorithm>

#include "common/assert.h"

namespace qmq::raft {

bool progress::paused() const {
    switch (state) {
        case progress_state::probe:
            return probe_sent;
        case progress_state::replicate:
            return inflight.full();
        case progress_state::snapshot:
            return true;
    }
    QMQ_UNREACHABLE();
}

void progress::become_probe() {
    // After a snapshot, resume right after it; otherwise after what matched.
    if (state == progress_state::snapshot) {
        next = std::max(match.next(), pending_snapshot.next());
    } else {
        next = match.next();
    }
    state = progress_state::probe;
    probe_sent = false;
    pending_snapshot = log_index{};
    snapshot_offset = 0;
    inflight.reset();
}

void progress::become_replicate() {
    state = progress_state::replicate;
    next = match.next();
    probe_sent = false;
    inflight.reset();
}

void progress::become_snapshot(log_index snap_index) {
    state = progress_state::snapshot;
    pending_snapshot = snap_index;
    snapshot_offset = 0;
    probe_sent = false;
    inflight.reset();
}

bool progress::maybe_update(log_index n) {
    bool updated = false;
    if (n > match) {
        match = n;
        updated = true;
        probe_sent = false;
    }
    next = std::max(next, n.next());
    return updated;
}

bool progress::maybe_decr_to(log_index rejected, log_index match_hint) {
    if (state == progress_state::replicate) {
        if (rejected <= match) {
            return false;  // stale: we already know it has more
        }
        next = match.next();
        return true;
    }
    if (next.prev() != rejected) {
        return false;  // not the answer to our current probe
    }
    next = std::max(std::min(rejected, match_hint.next()), match.next());
    probe_sent = false;
    return true;
}

void progress::sent_entries(log_index last, uint64_t size) {
    switch (state) {
        case progress_state::replicate:
            next = last.next();
            inflight.add(last, size);
            break;
        case progress_state::probe:
            probe_sent = true;
            break;
        case progress_state::snapshot:
            QMQ_UNREACHABLE();
    }
}

}  // namespace qmq::raft
