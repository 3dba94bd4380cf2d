// Every seed that ever made the simulator report a violation, replayed. The
// file lists one seed per line (optionally "seed steps"), '#' starts a
// comment saying what the seed found and what fixed it.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "sim/simulation.h"

TEST(SimRegression, EverySeedThatEverFailedNowPasses) {
    std::ifstream in(QMQ_REGRESS_SEEDS);
    ASSERT_TRUE(in.good()) << "cannot read " << QMQ_REGRESS_SEEDS;
    std::string line;
    int count = 0;
    while (std::getline(in, line)) {
        line = line.substr(0, line.find('#'));
        std::istringstream fields(line);
        qmq::sim::sim_options o;
        if (!(fields >> o.seed)) {
            continue;
        }
        fields >> o.steps;
        const auto r = qmq::sim::run_simulation(o);
        EXPECT_TRUE(r.ok) << "seed " << o.seed << " violates " << r.invariant << ": " << r.detail;
        ++count;
    }
    EXPECT_GT(count, 0);
}
