// raft-sim: runs seeded simulations of a Raft group under faults.
//
//   raft-sim --seed N [--steps S] [--trace]     one seed, replayed exactly
//   raft-sim --seeds A-B [--steps S] [--max-seconds T]
//
// The last line is `raft-sim: <seeds> seeds, <steps> steps, <violations>
// violations`, or names the failing seed and invariant (exit status 1).

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "sim/simulation.h"

namespace {

// The seed being run, so that a failed assertion (abort) still names it.
volatile uint64_t g_current_seed = 0;

void on_abort(int) {
    char buf[96];
    const int n = std::snprintf(buf, sizeof buf, "raft-sim: seed %llu aborted (assertion)\n",
                                static_cast<unsigned long long>(g_current_seed));
    if (n > 0) {
        (void)!write(STDOUT_FILENO, buf, static_cast<std::size_t>(n));
    }
    std::signal(SIGABRT, SIG_DFL);
    std::raise(SIGABRT);
}

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "raft-sim: %s\nusage: raft-sim --seed N [--steps S] [--trace]\n"
                 "       raft-sim --seeds A-B [--steps S] [--max-seconds T]\n",
                 why);
    std::exit(2);
}

uint64_t parse_u64(const std::string& s) {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) {
        usage(("not a number: " + s).c_str());
    }
    return std::stoull(s);
}

}  // namespace

int main(int argc, char** argv) {
    uint64_t first = 1;
    uint64_t last = 0;
    bool have_seed = false;
    bool trace = false;
    double max_seconds = 0;
    qmq::sim::sim_options base;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                usage(("missing value for " + arg).c_str());
            }
            return argv[++i];
        };
        if (arg == "--seed") {
            first = last = parse_u64(value());
            have_seed = true;
        } else if (arg == "--seeds") {
            const std::string v = value();
            const auto dash = v.find('-');
            if (dash == std::string::npos) {
                usage("--seeds wants A-B");
            }
            first = parse_u64(v.substr(0, dash));
            last = parse_u64(v.substr(dash + 1));
            if (last < first) {
                usage("--seeds A-B needs A <= B");
            }
            have_seed = true;
        } else if (arg == "--steps") {
            base.steps = parse_u64(value());
        } else if (arg == "--trace") {
            trace = true;
        } else if (arg == "--max-seconds") {
            max_seconds = std::stod(value());
        } else {
            usage(("unknown argument " + arg).c_str());
        }
    }
    if (!have_seed) {
        usage("give --seed N or --seeds A-B");
    }
    if (trace && first != last) {
        usage("--trace is for one seed");
    }

    std::signal(SIGABRT, on_abort);
    const auto start = std::chrono::steady_clock::now();
    uint64_t seeds = 0;
    uint64_t steps = 0;
    for (uint64_t seed = first; seed <= last; ++seed) {
        if (max_seconds > 0 && seeds > 0) {
            const std::chrono::duration<double> spent = std::chrono::steady_clock::now() - start;
            if (spent.count() >= max_seconds) {
                break;
            }
        }
        g_current_seed = seed;
        std::cout.flush();
        qmq::sim::sim_options o = base;
        o.seed = seed;
        o.trace = trace ? &std::cout : nullptr;
        const auto r = qmq::sim::run_simulation(o);
        ++seeds;
        steps += r.steps;
        if (first == last) {
            std::cout << "seed " << seed << ": " << r.scenario << "; " << r.steps << " steps, "
                      << r.messages << " messages, " << r.leaders << " leaders, "
                      << r.commands_acked << " commands acknowledged, " << r.reads_checked
                      << " reads checked\n";
        }
        if (!r.ok) {
            std::cout << "raft-sim: " << seeds << " seeds, " << steps << " steps, 1 violations\n";
            std::cout << "raft-sim: seed " << seed << " violates " << r.invariant << ": "
                      << r.detail << "\n";
            return 1;
        }
        if (seed == ~uint64_t{0}) {
            break;
        }
    }
    std::cout << "raft-sim: " << seeds << " seeds, " << steps << " steps, 0 violations\n";
    return 0;
}
