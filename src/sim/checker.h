#pragma once

// The safety invariants of Raft (paper Figure 3), checked as the simulation
// runs. Each check is fed by the simulation at the moment the fact becomes
// visible, so a violation is reported at the step that caused it.
//
//   election safety      at most one leader per term
//   log matching         an (index, term) names one entry, with one
//                        predecessor term (so equal entries have equal prefixes)
//   leader completeness  a new leader holds every entry committed before it
//   state machine safety no two nodes apply different entries at one index,
//                        and every node's command sequence is a prefix of one
//                        history

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "raft/fsm.h"

namespace qmq::sim {

struct violation {
    std::string invariant;  // e.g. "election safety"
    std::string detail;
};

class checker {
  public:
    void on_leader(raft::node_id n, raft::term_t t, const raft::raft_log& log);
    // An entry a node hands to storage; prev_term is its predecessor's term
    // in that node's log (nullopt if compacted away).
    void on_persist(raft::node_id n, const raft::log_entry& e,
                    std::optional<raft::term_t> prev_term);
    void on_apply(raft::node_id n, const raft::log_entry& e);
    // A node's command sequence position k holds command `cmd`.
    void on_command(raft::node_id n, std::size_t k, uint64_t cmd);

    const std::optional<violation>& first_violation() const { return _violation; }
    bool ok() const { return !_violation.has_value(); }
    const std::vector<uint64_t>& history() const { return _history; }
    std::size_t leaders_elected() const { return _leaders.size(); }

  private:
    void fail(std::string invariant, std::string detail);
    static uint64_t fingerprint(const raft::log_entry& e);

    struct seen_entry {
        uint64_t fp;
        std::optional<raft::term_t> prev_term;
    };
    std::map<raft::term_t, raft::node_id> _leaders;
    std::map<std::pair<raft::log_index, raft::term_t>, seen_entry> _entries;
    std::map<raft::log_index, std::pair<raft::term_t, uint64_t>> _applied;
    std::vector<uint64_t> _history;
    std::optional<violation> _violation;
};

}  // namespace qmq::sim
