#pragma once

// The in-memory Raft log of one group: a snapshot point followed by entries.
// It also tracks what the runtime has been handed to persist, what is known
// durable, what is committed and what was handed out to apply, and the
// membership history (a config takes effect when appended, §4.1, so a
// truncation must be able to revert it).
//
//   snap_index <= applied <= committed         (committed may exceed durable on a follower)
//   snap_index <= durable <= last_index
//   persist_from - 1 <= last_index             (entries >= persist_from not yet handed out)

#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "raft/entry.h"

namespace qmq::raft {

class raft_log {
  public:
    // Restores from durable state: a snapshot point and the entries after it,
    // all of which are durable.
    raft_log(snapshot_meta snap, std::vector<log_entry> entries);

    log_index snap_index() const { return _snap.index; }
    term_t snap_term() const { return _snap.term; }
    const snapshot_meta& snap() const { return _snap; }
    log_index first_index() const { return _snap.index.next(); }
    log_index last_index() const;
    term_t last_term() const;
    log_index committed() const { return _committed; }
    log_index applied() const { return _applied; }
    log_index durable() const { return _durable; }

    // Term of the entry at i; the snapshot's term at its index; nullopt when
    // compacted away (i < snap_index) or beyond the end.
    std::optional<term_t> term_at(log_index i) const;
    bool matches(log_index i, term_t t) const { return term_at(i) == t; }
    const log_entry& at(log_index i) const;

    // §5.4.1 election restriction: is a log ending at (last, last_term) at
    // least as up to date as ours?
    bool up_to_date(log_index last, term_t last_term_other) const;

    // Leader: appends entries whose index follows last_index().
    void append(std::vector<log_entry> entries);
    void append(log_entry e);

    // Follower: if our log matches (prev, prev_term), drops entries we already
    // have, truncates the first conflicting suffix and appends the rest.
    // Returns the index of the last entry of the request, or nullopt on a
    // mismatch.
    std::optional<log_index> maybe_append(log_index prev, term_t prev_term,
                                          std::vector<log_entry>& entries);

    // Fast backtracking (etcd): the largest index <= i whose term is <= t,
    // with its term. Used by both sides of a rejected append.
    std::pair<log_index, term_t> find_conflict_by_term(log_index i, term_t t) const;

    // Copies entries [from, ...] up to count_max entries and bytes_max bytes
    // (always at least one entry if any exists).
    std::vector<log_entry> slice(log_index from, uint32_t count_max, uint64_t bytes_max,
                                 uint64_t& bytes_out) const;

    void commit_to(log_index i);

    // "Durable up to (term, index)": taken only if our entry at index still
    // has that term (a report about a since-truncated write is ignored).
    bool on_durable(term_t t, log_index i);

    // Entries not yet handed to the runtime to persist (from the first index
    // that changed, so a truncation is included).
    std::vector<log_entry> take_unpersisted();
    bool has_unpersisted() const { return _persist_from <= last_index(); }

    // Committed entries not yet handed out to apply.
    std::vector<log_entry> take_committed();
    bool has_committed() const { return _applied < _committed; }

    // Drops entries up to i (i <= applied); the snapshot now stands for them.
    void compact(log_index i);
    // Replaces the whole log with a snapshot received from the leader.
    void restore(const snapshot_meta& s);

    // Membership in force: the last config entry in the log, else the
    // snapshot's, and the index where it was appended.
    const configuration& config() const { return _configs.back().second; }
    log_index config_index() const { return _configs.back().first; }

  private:
    void truncate_from(log_index i);
    void note_configs(const std::vector<log_entry>& entries);
    std::size_t offset(log_index i) const;

    snapshot_meta _snap;
    std::deque<log_entry> _entries;  // indexes snap_index+1 .. last_index
    log_index _committed;
    log_index _applied;
    log_index _durable;
    log_index _persist_from;
    // (index, config) of every config entry in the log, oldest first; the
    // front is the snapshot's config.
    std::vector<std::pair<log_index, configuration>> _configs;
};

}  // namespace qmq::raft
