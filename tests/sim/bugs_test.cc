// Proof that the simulator finds bugs: each test breaks one Raft rule and
// expects a violation within a bounded number of seeds. A simulator that
// cannot fail these would also miss the same bugs in the real core.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "sim/simulation.h"

namespace {

using qmq::sim::run_simulation;
using qmq::sim::sim_options;

// Seeds tried per bug before the test fails. The runs are deterministic, so
// the seed where each bug shows is fixed for given code (see docs/raft.md);
// the bound leaves room for changes that move it.
constexpr uint64_t seeds_max = 1000;

// Runs seeds 1..seeds_max; the first violation found, or "" if none.
std::string first_violation(sim_options o, uint64_t& seed_out) {
    for (uint64_t seed = 1; seed <= seeds_max; ++seed) {
        o.seed = seed;
        const auto r = run_simulation(o);
        if (!r.ok) {
            seed_out = seed;
            return r.invariant + ": " + r.detail;
        }
    }
    return "";
}

void expect_found(const sim_options& o) {
    uint64_t seed = 0;
    const std::string v = first_violation(o, seed);
    EXPECT_FALSE(v.empty()) << "no violation in " << seeds_max << " seeds";
    if (!v.empty()) {
        std::printf("found at seed %llu: %s\n", static_cast<unsigned long long>(seed), v.c_str());
    }
}

TEST(SimulatorFindsBugs, ElectionRestrictionOff) {
    sim_options o;
    o.bugs.no_election_restriction = true;
    expect_found(o);
}

TEST(SimulatorFindsBugs, CountingNonDurableMatches) {
    sim_options o;
    o.bugs.count_non_durable = true;
    expect_found(o);
}

TEST(SimulatorFindsBugs, CommittingEarlierTermEntryByCounting) {
    sim_options o;
    o.bugs.commit_earlier_term = true;
    expect_found(o);
}

TEST(SimulatorFindsBugs, ForgettingTheVoteOnRestart) {
    sim_options o;
    o.forget_vote_on_restart = true;
    expect_found(o);
}

}  // namespace
