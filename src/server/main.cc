// quorummq-server: flags and config, data dir lock, then the event loop until
// SIGTERM/SIGINT. Start-up failures print one line to stderr and exit
// non-zero (2: bad flags or config, 1: cannot run: data dir, listener).

#include <fmt/format.h>
#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string>

#include "common/log.h"
#include "server/broker_config.h"
#include "server/config.h"
#include "server/data_dir.h"
#include "server/resource_alarm.h"
#include "server/server.h"

namespace {

constexpr int exit_bad_usage = 2;
constexpr int exit_cannot_run = 1;

int fail(int code, const std::string& line) {
    std::fprintf(stderr, "quorummq-server: error: %s\n", line.c_str());
    return code;
}

std::string default_node_id() {
    char host[256] = {};
    if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
        return "quorummq@localhost";
    }
    return fmt::format("quorummq@{}", host);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace qmq::server;
    auto loaded = load_config(argc, argv);
    if (!loaded) {
        return fail(exit_bad_usage, loaded.err().message);
    }
    if (!loaded->config) {
        return loaded->exit_code;  // --help, --version
    }
    server_config config = std::move(*loaded->config);
    if (auto r = check_supported(config); !r) {
        return fail(exit_bad_usage, r.err().message);
    }
    if (config.node_id.empty()) {
        config.node_id = default_node_id();
    }
    qmq::log::init();
    qmq::log::set_level(config.log_level);

    auto lock = data_dir_lock::acquire(config.data_dir);
    if (!lock) {
        return fail(exit_cannot_run, lock.err().message);
    }

    uint64_t watermark = config.memory_high_watermark_bytes;
    if (watermark == 0) {
        watermark = static_cast<uint64_t>(static_cast<double>(total_memory_bytes()) *
                                          config.memory_high_watermark_fraction);
    }

    // A peer that vanishes mid-write must not kill the process.
    std::signal(SIGPIPE, SIG_IGN);

    server srv(config, make_broker_config(config), watermark);
    if (auto r = srv.listen(); !r) {
        return fail(exit_cannot_run, r.err().message);
    }
    QMQ_LOG_INFO(
        "quorummq-server 0.1.0 starting: node '{}', data dir '{}'{}", config.node_id,
        config.data_dir,
        config.config_file.empty() ? "" : fmt::format(", config '{}'", config.config_file));
    QMQ_LOG_INFO(
        "limits: memory high watermark {} bytes, disk free limit {} bytes, "
        "max connections {}, channel max {}, frame max {}, heartbeat {} s, "
        "max message size {} bytes",
        watermark, config.disk_free_limit_bytes, config.connections_max, config.channel_max,
        config.frame_max, config.heartbeat_s, config.message_size_max);
    QMQ_LOG_INFO("HTTP listener {} is not served yet (accepted for compatibility)",
                 config.http_listen.to_string());
    srv.run();
    // A second signal during teardown must not turn a clean exit into a kill:
    // keep it pending (the signal handlers go away with the server object).
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    return 0;
}
