#pragma once

// The logging facade. Edges (server, storage, transport) log; the pure cores
// (amqp, raft, queue) never do: they return what happened as data.
// Backed by spdlog, writing to stderr; one process-wide logger.

#include <spdlog/spdlog.h>

#include <string_view>

namespace qmq::log {

// Sets the level from a name: trace, debug, info, warn, error, off.
// Returns false for an unknown name.
bool set_level(std::string_view name);

// Installs the stderr logger with QuorumMQ's line format. Idempotent.
void init();

}  // namespace qmq::log

#define QMQ_LOG_TRACE(...) SPDLOG_TRACE(__VA_ARGS__)
#define QMQ_LOG_DEBUG(...) ::spdlog::debug(__VA_ARGS__)
#define QMQ_LOG_INFO(...) ::spdlog::info(__VA_ARGS__)
#define QMQ_LOG_WARN(...) ::spdlog::warn(__VA_ARGS__)
#define QMQ_LOG_ERROR(...) ::spdlog::error(__VA_ARGS__)
