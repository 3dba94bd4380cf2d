#include "storage/format.h"

#include <algorithm>
#include <cstring>

#include "common/assert.h"
#include "common/crc32c.h"

namespace qmq::storage::format {

static_assert(file_header_size == 8 + 2 + 2 + 4 + 8 + 8 + 8 + node_id_size_max + 4);
static_assert(record_header_size == 4 + 4 + 4 + 1 + 1 + 2 + 8 + 8 + 8);

namespace {

void put_u32_at(std::byte* p, uint32_t v) {
    for (int i = 3; i >= 0; --i) {
        p[i] = static_cast<std::byte>(v & 0xFF);
        v >>= 8;
    }
}

uint32_t get_u32_at(const std::byte* p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
        v = (v << 8) | std::to_integer<uint32_t>(p[i]);
    }
    return v;
}

}  // namespace

bytes encode_file_header(const file_header& h) {
    QMQ_ASSERT(h.node_id.size() <= node_id_size_max);
    bytes out;
    out.reserve(file_header_size);
    byte_writer w(out);
    w.u64(file_magic);
    w.u16(format_version);
    w.u16(static_cast<uint16_t>(h.kind));
    w.u32(0);
    w.u64(h.seq);
    w.u64(h.group);
    w.u64(h.uid);
    w.raw(h.node_id);
    out.resize(file_header_size - 4, std::byte{0});
    w.u32(crc32c(out.data(), out.size()));
    QMQ_ASSERT(out.size() == file_header_size);
    return out;
}

std::optional<file_header> decode_file_header(bytes_view data) {
    if (data.size() < file_header_size) {
        return std::nullopt;
    }
    if (crc32c(data.data(), file_header_size - 4) !=
        get_u32_at(data.data() + file_header_size - 4)) {
        return std::nullopt;
    }
    byte_reader r(data.first(file_header_size));
    if (r.u64() != file_magic || r.u16() != format_version) {
        return std::nullopt;
    }
    file_header h;
    h.kind = static_cast<file_kind>(r.u16());
    r.u32();
    h.seq = r.u64();
    h.group = r.u64();
    h.uid = r.u64();
    auto id = r.take(node_id_size_max);
    std::string node(as_string_view(id));
    node.erase(std::find(node.begin(), node.end(), '\0'), node.end());
    h.node_id = std::move(node);
    return h;
}

void encode_batch_header(const batch_header& h, std::byte* out) {
    put_u32_at(out, batch_magic);
    put_u32_at(out + 4, h.body_len);
    put_u32_at(out + 8, h.record_count);
    put_u32_at(out + 12, crc32c(out, 12));
}

std::optional<batch_header> decode_batch_header(bytes_view data) {
    if (data.size() < batch_header_size || get_u32_at(data.data()) != batch_magic ||
        get_u32_at(data.data() + 12) != crc32c(data.data(), 12)) {
        return std::nullopt;
    }
    batch_header h{get_u32_at(data.data() + 4), get_u32_at(data.data() + 8)};
    if (h.body_len > batch_body_size_max) {
        return std::nullopt;
    }
    return h;
}

void append_record(bytes& out, record_kind kind, uint64_t group, uint64_t term, uint64_t index,
                   uint8_t type, bytes_view payload) {
    QMQ_ASSERT(payload.size() <= payload_size_max);
    const std::size_t start = out.size();
    byte_writer w(out);
    w.u32(0);  // header crc, patched below
    w.u32(crc32c(payload));
    w.u32(static_cast<uint32_t>(payload.size()));
    w.u8(static_cast<uint8_t>(kind));
    w.u8(type);
    w.u16(0);
    w.u64(group);
    w.u64(term);
    w.u64(index);
    w.patch_u32(start, crc32c(out.data() + start + 4, record_header_size - 4));
    w.raw(payload);
}

std::optional<record_header> decode_record_header(bytes_view data) {
    if (data.size() < record_header_size ||
        get_u32_at(data.data()) != crc32c(data.data() + 4, record_header_size - 4)) {
        return std::nullopt;
    }
    byte_reader r(data.subspan(4, record_header_size - 4));
    record_header h;
    h.payload_crc = r.u32();
    h.payload_len = r.u32();
    const uint8_t kind = r.u8();
    h.type = r.u8();
    r.u16();
    h.group = r.u64();
    h.term = r.u64();
    h.index = r.u64();
    if (kind != static_cast<uint8_t>(record_kind::entry) &&
        kind != static_cast<uint8_t>(record_kind::truncate)) {
        return std::nullopt;
    }
    if (h.payload_len > payload_size_max) {
        return std::nullopt;
    }
    h.kind = static_cast<record_kind>(kind);
    return h;
}

bool payload_matches(const record_header& h, bytes_view payload) {
    return payload.size() == h.payload_len && crc32c(payload) == h.payload_crc;
}

void append_index_entry(bytes& out, const index_entry& e) {
    const std::size_t start = out.size();
    byte_writer w(out);
    w.u64(e.index);
    w.u64(e.offset);
    w.u32(e.ordinal);
    w.u32(crc32c(out.data() + start, 20));
}

std::optional<index_entry> decode_index_entry(bytes_view data) {
    if (data.size() < index_entry_size || get_u32_at(data.data() + 20) != crc32c(data.data(), 20)) {
        return std::nullopt;
    }
    byte_reader r(data.first(20));
    index_entry e;
    e.index = r.u64();
    e.offset = r.u64();
    e.ordinal = r.u32();
    return e;
}

bytes encode_release_mark(uint64_t released) {
    bytes out;
    byte_writer w(out);
    w.u32(release_mark_magic);
    w.u8(1);
    w.u8(0);
    w.u16(0);
    w.u64(released);
    w.u32(crc32c(out.data(), 16));
    return out;
}

std::optional<uint64_t> decode_release_mark(bytes_view data) {
    if (data.size() != release_mark_size ||
        get_u32_at(data.data() + 16) != crc32c(data.data(), 16)) {
        return std::nullopt;
    }
    byte_reader r(data.first(16));
    if (r.u32() != release_mark_magic || r.u8() != 1) {
        return std::nullopt;
    }
    (void)r.u8();
    (void)r.u16();
    return r.u64();
}

}  // namespace qmq::storage::format
