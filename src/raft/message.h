#pragma once

// Messages between the members of one group. One flat struct (etcd's shape)
// so the runtime can batch the messages of many groups bound for the same
// node and encode them with one codec; `group` says which group each is for.

#include <cstdint>
#include <optional>
#include <vector>

#include "raft/entry.h"

namespace qmq::raft {

enum class message_type : uint8_t {
    pre_vote,         // would you vote for me in `term`? (term not yet taken)
    pre_vote_resp,    // reject=false: yes
    vote,             // RequestVote for `term`
    vote_resp,        // reject=false: vote granted
    append,           // AppendEntries
    append_resp,      // reject=false: durable and matching up to `index`
    heartbeat,        // leader liveness, commit, ReadIndex round in `context`
    heartbeat_resp,   // echoes `context`
    snapshot,         // one InstallSnapshot chunk
    snapshot_resp,    // reject=false: installed; reject=true: send from `context`
    timeout_now,      // leadership transfer: campaign now
    read_index,       // follower -> leader: a ReadIndex request `context`
    read_index_resp,  // leader -> follower: read `context` may be served at `index`
};

const char* to_string(message_type t);

struct snapshot_chunk {
    snapshot_meta meta;
    uint64_t offset = 0;  // of `data` within the snapshot
    uint64_t total = 0;   // size of the whole snapshot
    bytes data;
    bool last = false;
};

struct message {
    group_id group;
    node_id from;
    node_id to;
    message_type type = message_type::heartbeat;
    term_t term;  // sender's term (a vote request's: the term it campaigns for)

    // append: index of the entry before `entries`; vote: candidate's last
    // index; append_resp: matched index (ack) or the rejected prev index;
    // snapshot_resp: the snapshot's index; read_index_resp: the read index.
    log_index index;
    // append: term at `index`; vote: candidate's last term.
    term_t log_term;
    // append/heartbeat: the leader's commit index (as far as this follower
    // matches).
    log_index commit;
    bool reject = false;
    // append_resp rejections: the follower's best guess of where the logs
    // diverge (the largest index <= `index` with term <= the leader's).
    log_index hint_index;
    term_t hint_term;
    // heartbeat(_resp): ReadIndex round; read_index(_resp): the caller's
    // request id; vote/pre_vote: 1 when a leadership transfer asked for it.
    uint64_t context = 0;
    std::vector<log_entry> entries;
    std::optional<snapshot_chunk> chunk;
};

inline constexpr uint64_t context_transfer = 1;

}  // namespace qmq::raft
