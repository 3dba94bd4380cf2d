// quorummq-bench: drives an AMQP 0-9-1 broker through rabbitmq-c (the same
// third-party client for RabbitMQ and QuorumMQ) and reports throughput,
// latency, broker cost, and whether every confirmed message was consumed.

#include <signal.h>

#include <fstream>
#include <iostream>

#include "loadgen/options.h"
#include "loadgen/run.h"

int main(int argc, char** argv) {
    using namespace qmq::bench;
    // A broker that drops the connection must give an error, not kill us.
    ::signal(SIGPIPE, SIG_IGN);
    auto parsed = parse_options(argc, argv);
    if (!parsed) {
        if (parsed.err().code == 0) {
            std::cout << parsed.err().message;
            return exit_ok;
        }
        std::cerr << "quorummq-bench: " << parsed.err().message << "\n";
        return exit_usage;
    }
    const options& o = *parsed;
    // With JSON on stdout, the human-readable lines go to stderr.
    std::ostream& human = o.json_path == "-" ? std::cerr : std::cout;
    const run_results r = run_bench(o, human);
    print_summary(human, o, r);
    if (!o.json_path.empty()) {
        const std::string text = to_json(o, r).dump(2) + "\n";
        if (o.json_path == "-") {
            std::cout << text;
        } else {
            std::ofstream out(o.json_path);
            out << text;
            if (!out) {
                std::cerr << "quorummq-bench: cannot write " << o.json_path << "\n";
                return exit_failed;
            }
        }
    }
    if (!r.error.empty()) {
        std::cerr << "quorummq-bench: " << r.error << "\n";
    }
    return exit_code(r);
}
