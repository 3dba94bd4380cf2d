#pragma once

// The on-disk format shared by WAL, segment and segment-index files
// (documented in docs/storage.md). All integers are big-endian.
//
// Every file starts with a 128-byte file header:
//   magic u64 | version u16 | kind u16 | reserved u32 | seq u64 | group u64 |
//   uid u64 | node_id [84 bytes, zero padded] | crc32c u32 (of the 124 bytes before)
//
// A WAL file is a sequence of batches; one batch is what one write() +
// fdatasync() made durable. The batch header lets recovery tell a torn last
// batch (never acknowledged: drop it) from damage in the middle (report it):
//   magic u32 | body_len u32 | record_count u32 | crc32c u32 (of the 12 bytes before)
//
// A record (in WAL batches and, copied verbatim, in segment files):
//   header_crc u32 (of bytes 4..39) | payload_crc u32 | payload_len u32 |
//   kind u8 | type u8 | reserved u16 | group u64 | term u64 | index u64 | payload
// The separate header checksum lets recovery attribute a damaged payload to
// its group, so only that group refuses to start.
//
// A segment index file holds sparse entries after its file header:
//   index u64 | offset u64 | ordinal u32 (record number in the segment) |
//   crc32c u32 (of the 20 bytes before)

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.h"

namespace qmq::storage::format {

constexpr uint64_t file_magic = 0x514D512D53544F52ull;  // "QMQ-STOR"
constexpr uint16_t format_version = 1;
constexpr std::size_t file_header_size = 128;
constexpr std::size_t node_id_size_max = 84;
constexpr uint32_t batch_magic = 0x42415443u;  // "BATC"
constexpr std::size_t batch_header_size = 16;
constexpr std::size_t record_header_size = 40;
constexpr std::size_t index_entry_size = 24;
// Bounds one entry (RabbitMQ's message size limit is 128 MiB by default).
constexpr uint32_t payload_size_max = 256u << 20;
constexpr uint32_t batch_body_size_max = 1u << 31;

enum class file_kind : uint16_t { wal = 1, segment = 2, segment_index = 3, snapshot = 4 };
enum class record_kind : uint8_t { entry = 1, truncate = 2 };

struct file_header {
    file_kind kind = file_kind::wal;
    uint64_t seq = 0;
    uint64_t group = 0;  // 0 in WAL files
    uint64_t uid = 0;    // pairs a segment with its index file
    std::string node_id;
};

bytes encode_file_header(const file_header& h);
// Fails (nullopt) on short input, bad magic, version or checksum.
std::optional<file_header> decode_file_header(bytes_view data);

struct batch_header {
    uint32_t body_len = 0;
    uint32_t record_count = 0;
};
void encode_batch_header(const batch_header& h, std::byte* out);
std::optional<batch_header> decode_batch_header(bytes_view data);

struct record_header {
    uint32_t payload_crc = 0;
    uint32_t payload_len = 0;
    record_kind kind = record_kind::entry;
    uint8_t type = 0;
    uint64_t group = 0;
    uint64_t term = 0;
    uint64_t index = 0;
};

// Appends one record (header + payload) to `out`.
void append_record(bytes& out, record_kind kind, uint64_t group, uint64_t term, uint64_t index,
                   uint8_t type, bytes_view payload);
// Decodes and checks the 40-byte header (not the payload).
std::optional<record_header> decode_record_header(bytes_view data);
inline std::size_t record_size(const record_header& h) {
    return record_header_size + h.payload_len;
}
bool payload_matches(const record_header& h, bytes_view payload);

struct index_entry {
    uint64_t index = 0;
    uint64_t offset = 0;
    uint32_t ordinal = 0;
};
void append_index_entry(bytes& out, const index_entry& e);
std::optional<index_entry> decode_index_entry(bytes_view data);

// A group's durable release mark (file `released`): every index below
// `released` may be absent from the group's segments because the segment
// thread dropped it as released. Written before the entries are dropped, so
// recovery accepts a hole only up to it.
//   magic u32 "QMQR" | version u8 (=1) | reserved u8[3] | released u64 | crc32c u32
constexpr uint32_t release_mark_magic = 0x514D5152u;  // "QMQR"
constexpr std::size_t release_mark_size = 20;
bytes encode_release_mark(uint64_t released);
std::optional<uint64_t> decode_release_mark(bytes_view data);

}  // namespace qmq::storage::format
