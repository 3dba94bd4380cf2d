#include "queue/snapshot.h"

#include <string>

#include "common/crc32c.h"

namespace qmq::queue {

namespace {

constexpr uint32_t snapshot_magic = 0x514D5153;  // "QMQS"
// Bounds a corrupt count cannot exceed (each element takes >= 1 byte).
constexpr uint32_t consumer_kinds_max = 2;
constexpr uint32_t consumer_statuses_max = 3;

error corrupt(const std::string& what) {
    return error{1, "queue snapshot: " + what};
}

}  // namespace

// Friend of queue_state: writes and reads every field in one fixed order.
struct snapshot_codec {
    static void put_opt(byte_writer& w, const std::optional<uint64_t>& v) {
        w.u8(v ? 1 : 0);
        w.u64(v.value_or(0));
    }
    static std::optional<uint64_t> get_opt(byte_reader& r) {
        uint8_t present = r.u8();
        uint64_t v = r.u64();
        if (present > 1 || (present == 0 && v != 0)) {
            r.fail();  // one encoding per value
        }
        return present ? std::optional<uint64_t>(v) : std::nullopt;
    }
    static void put_msg(byte_writer& w, const message_record& m) {
        w.u64(m.ref.value);
        w.u64(m.expires_at_ms);
        w.u32(m.size);
        w.u32((static_cast<uint32_t>(m.delivery_count) << 8) | m.priority);
    }
    static message_record get_msg(byte_reader& r) {
        message_record m;
        m.ref = message_ref(r.u64());
        m.expires_at_ms = r.u64();
        m.size = r.u32();
        uint32_t dc_prio = r.u32();
        m.delivery_count = dc_prio >> 8;
        m.priority = dc_prio & 0xFF;
        return m;
    }

    static bytes write(const queue_state& s) {
        bytes out;
        byte_writer w(out);
        w.u32(snapshot_magic);
        w.u16(snapshot_version);
        const queue_config& c = s._cfg;
        put_opt(w, c.max_length);
        put_opt(w, c.max_length_bytes);
        w.u8(static_cast<uint8_t>(c.overflow));
        put_opt(w, c.message_ttl_ms);
        put_opt(w, c.expires_ms);
        put_opt(w, c.delivery_limit);
        w.u8(static_cast<uint8_t>(c.dead_letter));
        w.u8(c.single_active_consumer ? 1 : 0);
        w.u8(c.max_priority);
        w.u64(c.dedup_window_ms);
        w.u32(c.dedup_entries_max);
        w.u32(c.dlx_in_flight_max);
        w.u32(c.release_cursor_interval);

        w.u64(s._now_ms);
        w.u64(s._last_index.value);
        w.u64(s._applied);
        w.u8(s._deleted ? 1 : 0);
        w.u64(s._next_seq);
        put_opt(w, s._active ? std::optional<uint64_t>(s._active->value) : std::nullopt);
        w.u64(s._last_used_ms);
        w.u64(s._timer_ms);

        for (const auto& level : s._levels) {
            w.u64(level.size());
            for (const auto& m : level) {
                put_msg(w, m);
            }
        }
        w.u64(s._consumers.size());
        for (const auto& [id, c] : s._consumers) {
            w.u64(id.value);
            w.u64(c.owner.value);
            w.u32(c.prefetch);
            w.u32(static_cast<uint32_t>(c.priority));
            w.u8(c.exclusive ? 1 : 0);
            w.u8(static_cast<uint8_t>(c.kind));
            w.u8(static_cast<uint8_t>(c.status));
            w.u64(c.attach_seq);
            w.u64(c.service_seq);
            w.u64(c.checked_out.size());
            for (const auto& [ref, m] : c.checked_out) {
                put_msg(w, m);
            }
        }
        w.u64(s._dlx_pending.size());
        for (const auto& [ref, e] : s._dlx_pending) {
            put_msg(w, e.msg);
            w.u8(static_cast<uint8_t>(e.reason));
            w.u8(e.announced ? 1 : 0);
        }
        w.u64(s._publisher_seq.size());
        for (const auto& [owner, seq] : s._publisher_seq) {
            w.u64(owner.value);
            w.u64(seq);
        }
        w.u64(s._dedup_order.size());
        for (const auto& e : s._dedup_order) {
            w.u64(e.key);
            w.u64(e.at_ms);
        }
        w.u32(crc32c(out.data(), out.size()));
        return out;
    }

    // A count read from the snapshot must fit the bytes left.
    static bool plausible(const byte_reader& r, uint64_t n, size_t each) {
        return r.ok() && n <= r.remaining() / each;
    }

    static result<queue_state> read(bytes_view data) {
        if (data.size() < 4 + 2 + 4) {
            return corrupt("too short");
        }
        byte_reader tail(data.subspan(data.size() - 4));
        if (tail.u32() != crc32c(data.data(), data.size() - 4)) {
            return corrupt("checksum mismatch");
        }
        byte_reader r(data.subspan(0, data.size() - 4));
        if (r.u32() != snapshot_magic) {
            return corrupt("bad magic");
        }
        if (uint16_t v = r.u16(); v != snapshot_version) {
            return corrupt("unsupported version " + std::to_string(v));
        }
        queue_config c;
        c.max_length = get_opt(r);
        c.max_length_bytes = get_opt(r);
        uint8_t overflow = r.u8();
        c.message_ttl_ms = get_opt(r);
        c.expires_ms = get_opt(r);
        auto limit = get_opt(r);
        uint8_t dead_letter = r.u8();
        uint8_t sac = r.u8();
        c.max_priority = r.u8();
        c.dedup_window_ms = r.u64();
        c.dedup_entries_max = r.u32();
        c.dlx_in_flight_max = r.u32();
        c.release_cursor_interval = r.u32();
        if (!r.ok() || overflow > 2 || dead_letter > 2 || sac > 1 ||
            c.release_cursor_interval == 0 || (c.expires_ms && *c.expires_ms == 0) ||
            (limit && *limit > UINT32_MAX)) {
            return corrupt("bad config");
        }
        c.overflow = static_cast<overflow_policy>(overflow);
        c.dead_letter = static_cast<dead_letter_strategy>(dead_letter);
        c.single_active_consumer = sac == 1;
        if (limit) {
            c.delivery_limit = static_cast<uint32_t>(*limit);
        }
        queue_state s(c, 0);
        s._now_ms = r.u64();
        s._last_index = log_index(r.u64());
        s._applied = r.u64();
        uint8_t deleted = r.u8();
        s._next_seq = r.u64();
        if (auto active = get_opt(r)) {
            s._active = consumer_id(*active);
        }
        s._last_used_ms = r.u64();
        s._timer_ms = r.u64();
        if (!r.ok() || deleted > 1) {
            return corrupt("bad header");
        }
        s._deleted = deleted == 1;

        for (size_t p = 0; p < s._levels.size(); ++p) {
            uint64_t n = r.u64();
            if (!plausible(r, n, 24)) {
                return corrupt("bad level size");
            }
            auto& level = s._levels[p];
            for (uint64_t i = 0; i < n; ++i) {
                message_record m = get_msg(r);
                if (m.priority != p || (!level.empty() && !(level.back().ref < m.ref))) {
                    return corrupt("level out of order");
                }
                level.push_back(m);
                s._ready_count++;
                s._ready_bytes += m.size;
            }
        }
        uint64_t consumers = r.u64();
        if (!plausible(r, consumers, 43)) {
            return corrupt("bad consumer count");
        }
        for (uint64_t i = 0; i < consumers; ++i) {
            consumer_id id(r.u64());
            if (!s._consumers.empty() && !(s._consumers.rbegin()->first < id)) {
                return corrupt("consumers out of order");
            }
            consumer_record rec;
            rec.owner = owner_id(r.u64());
            rec.prefetch = r.u32();
            rec.priority = static_cast<int32_t>(r.u32());
            uint8_t exclusive = r.u8();
            uint8_t kind = r.u8();
            uint8_t st = r.u8();
            rec.attach_seq = r.u64();
            rec.service_seq = r.u64();
            uint64_t n = r.u64();
            if (!plausible(r, n, 24) || exclusive > 1 || kind >= consumer_kinds_max ||
                st >= consumer_statuses_max) {
                return corrupt("bad consumer");
            }
            rec.exclusive = exclusive == 1;
            rec.kind = static_cast<consumer_kind>(kind);
            rec.status = static_cast<consumer_status>(st);
            for (uint64_t j = 0; j < n; ++j) {
                message_record m = get_msg(r);
                if (!rec.checked_out.empty() && !(rec.checked_out.rbegin()->first < m.ref)) {
                    return corrupt("checked-out messages out of order");
                }
                rec.checked_out.emplace(m.ref, m);
            }
            s._unacked_count += n;
            if (rec.kind == consumer_kind::consume && rec.status != consumer_status::cancelled) {
                s._consume_count++;
            }
            bool eligible = !c.single_active_consumer && rec.kind == consumer_kind::consume &&
                            rec.status == consumer_status::up &&
                            (rec.prefetch == 0 || rec.checked_out.size() < rec.prefetch);
            if (eligible) {
                s._service.insert({-static_cast<int64_t>(rec.priority), rec.service_seq, id});
            }
            if (!s._consumers.emplace(id, std::move(rec)).second) {
                return corrupt("duplicate consumer");
            }
        }
        uint64_t dlx = r.u64();
        if (!plausible(r, dlx, 26)) {
            return corrupt("bad dlx count");
        }
        for (uint64_t i = 0; i < dlx; ++i) {
            message_record m = get_msg(r);
            uint8_t reason = r.u8();
            uint8_t announced = r.u8();
            if (!s._dlx_pending.empty() && !(s._dlx_pending.rbegin()->first < m.ref)) {
                return corrupt("dlx entries out of order");
            }
            if (reason > 3 || announced > 1) {
                return corrupt("bad dlx entry");
            }
            s._dlx_pending.emplace(
                m.ref, dlx_entry{m, static_cast<dead_letter_reason>(reason), announced == 1});
            if (announced == 1) {
                s._dlx_announced++;
            } else {
                s._dlx_waiting.insert(m.ref);
            }
        }
        uint64_t pubs = r.u64();
        if (!plausible(r, pubs, 16)) {
            return corrupt("bad publisher count");
        }
        for (uint64_t i = 0; i < pubs; ++i) {
            owner_id owner(r.u64());
            if (!s._publisher_seq.empty() && !(s._publisher_seq.rbegin()->first < owner)) {
                return corrupt("publishers out of order");
            }
            s._publisher_seq[owner] = r.u64();
        }
        uint64_t dedup = r.u64();
        if (!plausible(r, dedup, 16)) {
            return corrupt("bad dedup count");
        }
        for (uint64_t i = 0; i < dedup; ++i) {
            uint64_t key = r.u64();
            uint64_t at = r.u64();
            s._dedup_order.push_back({key, at});
            s._dedup_seen_ms[key] = at;
        }
        if (!r.ok() || !r.at_end()) {
            return corrupt("trailing or missing bytes");
        }
        if (s._active && !s._consumers.contains(*s._active)) {
            return corrupt("active consumer unknown");
        }
        return s;
    }
};

bytes serialize(const queue_state& state) {
    return snapshot_codec::write(state);
}

result<queue_state> deserialize(bytes_view data) {
    return snapshot_codec::read(data);
}

}  // namespace qmq::queue
