#include "raft/configuration.h"

#include <algorithm>

namespace qmq::raft {

namespace {

bool has(const std::vector<node_id>& ids, node_id id) {
    return std::binary_search(ids.begin(), ids.end(), id);
}

void put_list(byte_writer& w, const std::vector<node_id>& ids) {
    w.u32(static_cast<uint32_t>(ids.size()));
    for (auto id : ids) {
        w.u64(id.value);
    }
}

bool get_list(byte_reader& r, std::vector<node_id>& out) {
    const uint32_t n = r.u32();
    if (!r.ok() || n > voters_max * 4 || r.remaining() < std::size_t{n} * 8) {
        return false;
    }
    for (uint32_t i = 0; i < n; ++i) {
        out.push_back(node_id(r.u64()));
    }
    return std::is_sorted(out.begin(), out.end()) &&
           std::adjacent_find(out.begin(), out.end()) == out.end();
}

}  // namespace

bool configuration::is_voter(node_id id) const {
    return has(voters, id) || has(voters_outgoing, id);
}

bool configuration::is_learner(node_id id) const {
    return has(learners, id);
}

std::vector<node_id> configuration::members() const {
    std::vector<node_id> all = voters;
    all.insert(all.end(), voters_outgoing.begin(), voters_outgoing.end());
    all.insert(all.end(), learners.begin(), learners.end());
    return normalized(std::move(all));
}

std::vector<node_id> normalized(std::vector<node_id> ids) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
}

bytes encode_configuration(const configuration& c) {
    bytes out;
    byte_writer w(out);
    put_list(w, c.voters);
    put_list(w, c.voters_outgoing);
    put_list(w, c.learners);
    return out;
}

result<configuration> decode_configuration(bytes_view data) {
    configuration c;
    byte_reader r(data);
    if (!get_list(r, c.voters) || !get_list(r, c.voters_outgoing) || !get_list(r, c.learners) ||
        !r.at_end()) {
        return error{1, "raft: malformed configuration entry"};
    }
    return c;
}

}  // namespace qmq::raft
