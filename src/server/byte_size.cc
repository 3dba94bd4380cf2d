#include "server/byte_size.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <limits>
#include <utility>

namespace qmq::server {

namespace {

constexpr std::array<std::pair<std::string_view, uint64_t>, 13> units{{
    {"", 1},
    {"B", 1},
    {"kB", 1000},
    {"KB", 1000},
    {"MB", 1000ull * 1000},
    {"GB", 1000ull * 1000 * 1000},
    {"TB", 1000ull * 1000 * 1000 * 1000},
    {"KiB", 1024},
    {"MiB", 1024ull * 1024},
    {"GiB", 1024ull * 1024 * 1024},
    {"TiB", 1024ull * 1024 * 1024 * 1024},
    {"K", 1024},
    {"M", 1024ull * 1024},
}};

}  // namespace

result<uint64_t> parse_byte_size(std::string_view text) {
    uint64_t number = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, number);
    if (ptr == text.data() || ec != std::errc{}) {
        return error{0,
                     fmt::format("'{}' is not a size (expected e.g. 50MB, 2GiB or 1048576)", text)};
    }
    std::string_view unit(ptr, static_cast<std::size_t>(end - ptr));
    while (!unit.empty() && unit.front() == ' ') {
        unit.remove_prefix(1);
    }
    for (const auto& [name, factor] : units) {
        if (unit == name) {
            if (number > std::numeric_limits<uint64_t>::max() / factor) {
                return error{0, fmt::format("'{}' is too large", text)};
            }
            return number * factor;
        }
    }
    return error{0, fmt::format("'{}' has an unknown unit '{}' (use B, kB, MB, GB, KiB, MiB, GiB)",
                                text, unit)};
}

}  // namespace qmq::server
