#pragma once

// Sizes in flags and the config file: a plain number of bytes, or a number
// with a unit: kB/MB/GB/TB (powers of 1000) or KiB/MiB/GiB/TiB (powers of
// 1024), as RabbitMQ's disk_free_limit accepts them.

#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace qmq::server {

result<uint64_t> parse_byte_size(std::string_view text);

}  // namespace qmq::server
