#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <mutex>

namespace qmq::log {

void init() {
    static std::once_flag once;
    std::call_once(once, [] {
        auto logger = spdlog::stderr_logger_mt("quorummq");
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
        spdlog::set_default_logger(logger);
    });
}

bool set_level(std::string_view name) {
    auto level = spdlog::level::from_str(std::string(name));
    // from_str returns off for unknown names; only accept "off" when asked.
    if (level == spdlog::level::off && name != "off") {
        return false;
    }
    spdlog::set_level(level);
    return true;
}

}  // namespace qmq::log
