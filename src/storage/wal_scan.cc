#include "storage/wal_scan.h"

#include "common/log.h"

namespace qmq::storage {
namespace {

struct parsed_record {
    format::record_header header;
    uint64_t offset;
    bool payload_ok;
};

// Parses a batch body; false if its structure is broken (a record header
// is bad, or lengths and count disagree). Damaged payloads are flagged.
bool parse_body(bytes_view body, uint64_t body_offset, uint32_t count,
                std::vector<parsed_record>& out, uint64_t& bad_offset) {
    std::size_t at = 0;
    for (uint32_t i = 0; i < count; ++i) {
        auto h = format::decode_record_header(body.subspan(at));
        if (!h || at + format::record_size(*h) > body.size()) {
            bad_offset = body_offset + at;
            return false;
        }
        auto payload = body.subspan(at + format::record_header_size, h->payload_len);
        out.push_back({*h, body_offset + at, format::payload_matches(*h, payload)});
        at += format::record_size(*h);
    }
    if (at != body.size()) {
        bad_offset = body_offset + at;
        return false;
    }
    return true;
}

// Where the first fully valid batch in `rest` starts, if any.
std::optional<std::size_t> valid_batch_in(bytes_view rest) {
    for (std::size_t at = 0; at + format::batch_header_size <= rest.size(); ++at) {
        if (rest[at] != std::byte{'B'}) {
            continue;
        }
        auto bh = format::decode_batch_header(rest.subspan(at));
        if (!bh || at + format::batch_header_size + bh->body_len > rest.size()) {
            continue;
        }
        std::vector<parsed_record> recs;
        uint64_t bad = 0;
        auto body = rest.subspan(at + format::batch_header_size, bh->body_len);
        if (parse_body(body, 0, bh->record_count, recs, bad)) {
            bool all_ok = true;
            for (const auto& r : recs) {
                all_ok = all_ok && r.payload_ok;
            }
            if (all_ok) {
                return at;
            }
        }
    }
    return std::nullopt;
}

}  // namespace

result<wal_scan_outcome> scan_wal(file& f, const wal_record_fn& on_record,
                                  const wal_damage_fn& on_damage) {
    auto size_r = f.size();
    if (!size_r) {
        return size_r.err();
    }
    const uint64_t size = *size_r;
    wal_scan_outcome out;
    uint64_t pos = format::file_header_size;
    bytes hdr(format::batch_header_size);
    bytes body;
    std::vector<parsed_record> recs;

    // Offset of the next valid batch at or after `from`, if any.
    auto later_valid = [&](uint64_t from) -> result<std::optional<uint64_t>> {
        bytes rest(size - from);
        auto n = f.read_at(rest, from);
        if (!n) {
            return n.err();
        }
        rest.resize(*n);
        auto at = valid_batch_in(rest);
        return at ? std::optional<uint64_t>(from + *at) : std::nullopt;
    };
    auto report = [&](wal_damage d) {
        on_damage(d);
        out.damage.push_back(std::move(d));
    };
    auto where = [&](uint64_t offset) {
        return "wal " + f.path() + " offset " + std::to_string(offset);
    };
    // A bad batch at `pos`: the torn tail, or damage if a valid batch
    // follows (then true, with pos moved to that batch).
    auto bad_batch = [&](uint64_t bad_offset, const std::string& what) -> result<bool> {
        auto later = later_valid(pos + 1);
        if (!later) {
            return later.err();
        }
        if (*later) {
            report({bad_offset, std::nullopt, where(bad_offset) + ": " + what});
            pos = **later;
            return true;
        }
        QMQ_LOG_WARN("{}: dropping torn tail ({}, {} bytes)", where(pos), what, size - pos);
        if (auto r = f.truncate(pos); !r) {
            return r.err();
        }
        if (auto r = f.datasync(); !r) {
            return r.err();
        }
        out.torn_at = pos;
        return false;
    };

    while (pos < size) {
        std::optional<format::batch_header> bh;
        if (size - pos >= format::batch_header_size) {
            auto n = f.read_at(hdr, pos);
            if (!n) {
                return n.err();
            }
            bh = format::decode_batch_header(hdr);
        }
        if (!bh || pos + format::batch_header_size + bh->body_len > size) {
            auto r = bad_batch(pos, "bad or incomplete batch header");
            if (!r) {
                return r.err();
            }
            if (*r) {
                continue;
            }
            return out;
        }
        body.resize(bh->body_len);
        auto n = f.read_at(body, pos + format::batch_header_size);
        if (!n) {
            return n.err();
        }
        recs.clear();
        uint64_t bad_offset = 0;
        const uint64_t body_offset = pos + format::batch_header_size;
        const bool structure_ok = parse_body(body, body_offset, bh->record_count, recs, bad_offset);
        bool payloads_ok = true;
        for (const auto& r : recs) {
            payloads_ok = payloads_ok && r.payload_ok;
        }
        if (!structure_ok || !payloads_ok) {
            auto later = later_valid(pos + 1);
            if (!later) {
                return later.err();
            }
            if (!*later) {
                auto r = bad_batch(pos, structure_ok ? "payload checksum mismatch"
                                                     : "record header checksum mismatch");
                if (!r) {
                    return r.err();
                }
                return out;
            }
            if (!structure_ok) {
                // Records before the break are whole; the rest of the batch
                // cannot be attributed. Resume at the next valid batch.
                for (const auto& r : recs) {
                    if (r.payload_ok) {
                        on_record(r.header, r.offset);
                    }
                }
                report({bad_offset, std::nullopt,
                        where(bad_offset) + ": record header checksum mismatch"});
                pos = **later;
                continue;
            }
        }
        // A complete batch (possibly with damage in the middle of the file).
        for (const auto& r : recs) {
            if (r.payload_ok) {
                on_record(r.header, r.offset);
            } else {
                report({r.offset, r.header.group,
                        where(r.offset) + ": payload checksum mismatch (group " +
                            std::to_string(r.header.group) + " index " +
                            std::to_string(r.header.index) + ")"});
            }
        }
        pos = body_offset + bh->body_len;
    }
    return out;
}

}  // namespace qmq::storage
