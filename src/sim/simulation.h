#pragma once

// One seeded run of a Raft group under faults. The seed chooses the scenario
// (3 or 5 nodes, growing 3->5 or shrinking 5->3, fault rates, slow disks,
// tick rates) and every random decision after it, so a seed replays exactly.
//
// A run has two phases. The faulty phase (`steps` time units): messages are
// dropped, duplicated, delayed and reordered, partitions (symmetric and
// one-way) come and go, nodes crash (losing unsynced writes) and restart,
// disks are slow, leadership is transferred, membership changes, and a
// client proposes uniquely numbered commands and issues ReadIndex reads.
// Then everything heals and the liveness phase checks that a leader appears
// within a bounded time and that every command acknowledged as committed is
// applied on every member. Safety invariants (checker.h) are checked at every
// step. The client history is checked for linearizability against the log
// order as witness: a command acknowledged before another was proposed has
// the lower index, and a read sees every command acknowledged before it was
// issued.

#include <cstdint>
#include <ostream>
#include <string>

#include "raft/options.h"

namespace qmq::sim {

struct sim_options {
    uint64_t seed = 1;
    uint64_t steps = 3000;  // time units of the faulty phase
    // Bounds on the healed phase: a leader within leader_steps; a leader
    // that has committed in its term with every member caught up within
    // liveness_steps (a backlog streamed one entry per round trip, with one
    // append in flight, takes a while).
    uint64_t leader_steps = 3000;
    uint64_t liveness_steps = 20000;
    std::ostream* trace = nullptr;  // readable event log, when set
    raft::injected_bugs bugs;       // rules broken on purpose (tests)
    bool forget_vote_on_restart = false;
};

struct sim_result {
    bool ok = true;
    std::string invariant;  // the violated one, when !ok
    std::string detail;
    uint64_t steps = 0;  // time units simulated (both phases)
    uint64_t commands_acked = 0;
    uint64_t reads_checked = 0;
    uint64_t leaders = 0;
    uint64_t messages = 0;
    std::string scenario;  // a one-line description of what the seed chose
};

sim_result run_simulation(const sim_options& opts);

}  // namespace qmq::sim
