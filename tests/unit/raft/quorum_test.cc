// Quorum rules: simple majorities and joint consensus (majority.h, joint.h).

#include <gtest/gtest.h>

#include <map>

#include "raft/joint.h"
#include "unit/raft/harness.h"

namespace qmq::raft::test {
namespace {

auto acks(std::map<uint64_t, uint64_t> m) {
    return [m](node_id id) -> uint64_t {
        auto it = m.find(id.value);
        return it == m.end() ? 0 : it->second;
    };
}

auto votes(std::map<uint64_t, int> m) {
    return [m](node_id id) -> int {
        auto it = m.find(id.value);
        return it == m.end() ? -1 : it->second;
    };
}

TEST(Quorum, MajorityCommitsWhatMoreThanHalfHave) {
    std::vector<node_id> v{n(1), n(2), n(3)};
    EXPECT_EQ(majority_committed(v, acks({{1, 9}, {2, 5}, {3, 2}})), 5u);
    std::vector<node_id> five{n(1), n(2), n(3), n(4), n(5)};
    EXPECT_EQ(majority_committed(five, acks({{1, 9}, {2, 8}, {3, 1}, {4, 1}, {5, 7}})), 7u);
}

TEST(Quorum, EmptyVoterSetPlacesNoLimit) {
    EXPECT_EQ(majority_committed({}, acks({})), ~uint64_t{0});
    EXPECT_EQ(majority_vote({}, votes({})), vote_result::won);
}

TEST(Quorum, VoteIsLostOnceAMajorityCanNoLongerBeReached) {
    std::vector<node_id> v{n(1), n(2), n(3)};
    EXPECT_EQ(majority_vote(v, votes({{1, 1}})), vote_result::pending);
    EXPECT_EQ(majority_vote(v, votes({{1, 1}, {2, 1}})), vote_result::won);
    EXPECT_EQ(majority_vote(v, votes({{1, 1}, {2, 0}})), vote_result::pending);
    EXPECT_EQ(majority_vote(v, votes({{1, 1}, {2, 0}, {3, 0}})), vote_result::lost);
}

TEST(Quorum, JointCommitNeedsAMajorityOfBothConfigurations) {
    configuration c;
    c.voters = {n(3), n(4), n(5)};           // C_new
    c.voters_outgoing = {n(1), n(2), n(3)};  // C_old
    // Old majority (1,2) at 10, new majority (4,5) only at 4.
    EXPECT_EQ(joint_committed(c, acks({{1, 10}, {2, 10}, {3, 0}, {4, 4}, {5, 4}})), 4u);
}

TEST(Quorum, JointVoteNeedsAMajorityOfBothConfigurations) {
    configuration c;
    c.voters = {n(3), n(4), n(5)};
    c.voters_outgoing = {n(1), n(2), n(3)};
    EXPECT_EQ(joint_vote(c, votes({{1, 1}, {2, 1}})), vote_result::pending);
    EXPECT_EQ(joint_vote(c, votes({{1, 1}, {2, 1}, {4, 1}, {5, 1}})), vote_result::won);
    EXPECT_EQ(joint_vote(c, votes({{4, 0}, {5, 0}})), vote_result::lost);
}

TEST(Configuration, EncodingRoundTrips) {
    configuration c;
    c.voters = {n(1), n(2)};
    c.voters_outgoing = {n(1), n(3)};
    c.learners = {n(9)};
    auto back = decode_configuration(encode_configuration(c));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, c);
    EXPECT_FALSE(decode_configuration(bytes{std::byte{1}}).ok());
}

}  // namespace
}  // namespace qmq::raft::test
