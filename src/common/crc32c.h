#pragma once

// CRC32C (Castagnoli), as used by the WAL and segment formats. Uses the SSE4.2
// crc32 instruction when the CPU has it (checked once at start), else a table.

#include <cstddef>
#include <cstdint>
#include <span>

namespace qmq {

// Extends `crc` (0 to start) over `data`. crc32c("123456789") == 0xE3069283.
uint32_t crc32c_extend(uint32_t crc, const void* data, std::size_t size);

inline uint32_t crc32c(const void* data, std::size_t size) {
    return crc32c_extend(0, data, size);
}
inline uint32_t crc32c(std::span<const std::byte> data) {
    return crc32c_extend(0, data.data(), data.size());
}

// True when the hardware path is in use (for logs and benchmarks).
bool crc32c_is_hardware();

}  // namespace qmq
