#include "broker/durable_queue.h"

#include <fmt/format.h>

#include <algorithm>
#include <type_traits>

#include "broker/durable_entry.h"
#include "common/log.h"
#include "queue/snapshot.h"

namespace qmq::broker {
namespace {

// A snapshot costs O(live messages): take one only when at least this many
// commands (and at least as many as live messages) passed since the last.
constexpr uint64_t snapshot_commands_min = 4096;

// Snapshot meta: version u8 | deleted u8 | last_consumer u64 |
//                owners u32 | owner u64 ... | release u64 | live u32 | index u64 ...
constexpr uint8_t snapshot_meta_version = 1;

}  // namespace

durable_queue::durable_queue(durable_engine& engine, storage::group_id group)
    : _engine(engine), _group(group) {}

bytes durable_queue::snapshot_meta(bool deleted, uint64_t release,
                                   const std::vector<uint64_t>& live) const {
    bytes out;
    byte_writer w(out);
    w.u8(snapshot_meta_version);
    w.u8(deleted ? 1 : 0);
    w.u64(_last_consumer);
    w.u32(static_cast<uint32_t>(_owners.size()));
    for (uint64_t o : _owners) {
        w.u64(o);
    }
    w.u64(release);
    w.u32(static_cast<uint32_t>(live.size()));
    for (uint64_t i : live) {
        w.u64(i);
    }
    return out;
}

void durable_queue::track(const queue::command& cmd, const queue::reply& r) {
    if (const auto* c = std::get_if<queue::checkout>(&cmd)) {
        _last_consumer = std::max(_last_consumer, c->consumer.value);
        _owners.insert(c->owner.value);
    } else if (const auto* d = std::get_if<queue::dequeue>(&cmd)) {
        _last_consumer = std::max(_last_consumer, d->consumer.value);
        _owners.insert(d->owner.value);
    } else if (const auto* dn = std::get_if<queue::down>(&cmd)) {
        if (dn->kind == queue::down_kind::closed) {
            _owners.erase(dn->owner.value);
        }
    }
    (void)r;
}

result<durable_recovery> durable_queue::recover(queue::queue_state& state,
                                                log_message_store& store) {
    durable_recovery out;
    const queue::queue_state fresh = state;
    auto& log = _engine.log();
    uint64_t snap_index = 0;
    bool deleted = false;
    uint64_t release = 0;
    std::set<uint64_t> live;  // enqueues below `release` still needed
    auto reader = _engine.states().open_snapshot(_group);
    if (!reader) {
        return reader.err();
    }
    if (*reader) {
        const auto& m = (*reader)->meta();
        snap_index = m.index.value;
        byte_reader r{bytes_view(m.meta)};
        if (r.u8() != snapshot_meta_version) {
            return error{1, "durable queue snapshot: unknown meta version"};
        }
        deleted = r.u8() != 0;
        _last_consumer = r.u64();
        const uint32_t n = r.u32();
        for (uint32_t i = 0; i < n && r.ok(); ++i) {
            _owners.insert(r.u64());
        }
        release = r.u64();
        const uint32_t nl = r.u32();
        for (uint32_t i = 0; i < nl && r.ok(); ++i) {
            live.insert(r.u64());
        }
        if (!r.ok()) {
            return error{1, "durable queue snapshot: bad meta"};
        }
        if (deleted) {
            _owners.clear();
        } else {
            bytes all;
            for (;;) {
                auto chunk = (*reader)->next_chunk();
                if (!chunk) {
                    return chunk.err();
                }
                if (chunk->empty()) {
                    break;
                }
                all.insert(all.end(), chunk->begin(), chunk->end());
            }
            auto st = queue::deserialize(bytes_view(all));
            if (!st) {
                return st.err();
            }
            state = std::move(*st);
        }
    }
    if (auto d = _engine.deleting(_group); d && *d >= snap_index) {
        // Deleted in this process, its release not yet done: start empty.
        snap_index = *d;
        deleted = true;
        _owners.clear();
        live.clear();
        release = 0;
        state = queue::queue_state(fresh);
    }
    // Release points are not persisted by the log store: set them again.
    if (release > 0) {
        _engine.log().set_live_indexes(_group, {live.begin(), live.end()});
        _engine.log().set_release_point(_group, storage::log_index(release));
    }
    _last_snapshot = snap_index;
    out.last_index = snap_index;

    auto info = log.info(_group);
    if (!info) {
        return info.err();
    }
    queue::apply_result res;
    if (*info && (*info)->last.value > 0) {
        uint64_t from = std::max<uint64_t>((*info)->first.value, 1);
        const uint64_t to = (*info)->last.value;
        out.last_index = std::max(out.last_index, to);
        while (from <= to) {
            auto entries = log.read(_group, storage::log_index(from), storage::log_index(to));
            if (!entries) {
                return entries.err();
            }
            if (entries->empty()) {
                break;
            }
            for (auto& e : *entries) {
                const uint64_t index = e.index.value;
                auto de = decode_durable_entry(bytes_view(e.payload));
                if (!de) {
                    return error{1, fmt::format("entry {}: {}", index, de.err().message)};
                }
                const auto* enq = std::get_if<queue::enqueue>(&de->cmd);
                if (index <= snap_index) {
                    // Below the snapshot: only live messages' enqueues matter.
                    if (!deleted && enq != nullptr && de->msg &&
                        (index >= release || live.contains(index))) {
                        store.put_on_disk(queue::message_ref(index));
                    }
                    continue;
                }
                if (enq != nullptr && !de->msg) {
                    continue;  // transient: gone with the restart
                }
                if (enq != nullptr) {
                    store.put_on_disk(queue::message_ref(index));
                }
                queue::apply(queue::meta{queue::log_index(index), 0, de->time_ms}, de->cmd, state,
                             res);
                ++out.replayed;
                track(de->cmd, res.r);
                if (state.is_deleted()) {
                    // A previous incarnation deleted before its release
                    // happened: what follows belongs to a new queue.
                    state = queue::queue_state(fresh);
                    store.clear();
                    _owners.clear();
                    continue;
                }
                // Free what the running queue freed (classic_queue.cc).
                if (enq != nullptr) {
                    const auto* er = std::get_if<queue::enqueue_reply>(&res.r);
                    if (er == nullptr || er->outcome != queue::enqueue_outcome::accepted) {
                        store.remove(queue::message_ref(index));
                    }
                } else if (const auto* s = std::get_if<queue::settle>(&de->cmd)) {
                    const auto* cr = std::get_if<queue::count_reply>(&res.r);
                    if (cr != nullptr && cr->count > 0) {
                        for (auto ref : s->refs) {
                            store.remove(ref);
                        }
                    }
                } else if (const auto* dq = std::get_if<queue::dequeue>(&de->cmd)) {
                    const auto* dr = std::get_if<queue::dequeue_reply>(&res.r);
                    if (dq->no_ack && dr != nullptr && dr->code == queue::status::ok) {
                        store.remove(dr->ref);
                    }
                }
                for (const auto& fx : res.effects) {
                    if (const auto* d = std::get_if<queue::dropped>(&fx)) {
                        for (auto ref : d->refs) {
                            store.remove(ref);
                        }
                    } else if (const auto* dl = std::get_if<queue::dead_letter>(&fx)) {
                        // Republished to its dead-letter target in the first run.
                        store.remove(dl->ref);
                    }
                }
            }
            from = entries->back().index.value + 1;
        }
    }
    _last_appended = out.last_index;
    out.last_consumer = _last_consumer;
    for (uint64_t o : _owners) {
        out.stale_owners.emplace_back(o);
    }
    out.messages = store.size();
    return out;
}

void durable_queue::append(uint64_t index, uint64_t time_ms, const queue::command& cmd,
                           const message* msg) {
    // Tracking needs no reply for the commands it looks at.
    track(cmd, queue::reply{});
    if (_failed) {
        return;
    }
    storage::entry e;
    e.index = storage::log_index(index);
    e.term = storage::term_t(1);
    e.type = durable_entry_type;
    encode_durable_entry(e.payload, time_ms, cmd, msg);
    if (auto r = _engine.log().append(_group, std::span<const storage::entry>(&e, 1)); !r) {
        // The log would now have a gap: stop appending, say so once.
        _failed = true;
        QMQ_LOG_ERROR(
            "durable queue log {:016x}: append {} refused: {}; queue no longer "
            "persisted",
            _group.value, index, r.err().message);
        return;
    }
    _last_appended = index;
}

namespace {

result<void> write_snapshot(durable_engine& engine, storage::group_id group, uint64_t index,
                            bytes meta, bytes_view state_bytes) {
    storage::snapshot_meta m{storage::log_index(index), storage::term_t(1), std::move(meta)};
    auto w = engine.states().begin_snapshot(group, m);
    if (!w) {
        return w.err();
    }
    for (std::size_t off = 0; off < state_bytes.size();
         off += storage::snapshot_writer::chunk_bytes_max) {
        const auto n = std::min<std::size_t>(storage::snapshot_writer::chunk_bytes_max,
                                             state_bytes.size() - off);
        if (auto r = (*w)->write(state_bytes.subspan(off, n)); !r) {
            return r;
        }
    }
    return (*w)->commit();
}

// Once entries up to `index` are durable (so the log never has a gap
// behind a snapshot): snapshot, then release the log behind it.
void snapshot_when_durable(durable_engine& engine, storage::group_id group, uint64_t index,
                           bytes meta, bytes state_bytes, uint64_t release,
                           std::vector<uint64_t> live, bool deleting) {
    engine.when_durable(
        group, index,
        [&engine, group, index, meta = std::move(meta), state_bytes = std::move(state_bytes),
         release, live = std::move(live), deleting](bool ok) mutable {
            if (deleting) {
                engine.set_deleting(group, std::nullopt);
            }
            if (!ok) {
                return;  // the write failed; the queue logged it
            }
            if (auto r =
                    write_snapshot(engine, group, index, std::move(meta), bytes_view(state_bytes));
                !r) {
                QMQ_LOG_ERROR("durable queue log {:016x}: snapshot at {} failed: {}", group.value,
                              index, r.err().message);
                return;
            }
            std::vector<storage::log_index> l;
            l.reserve(live.size());
            for (uint64_t i : live) {
                l.emplace_back(i);
            }
            engine.log().set_live_indexes(group, std::move(l));
            engine.log().set_release_point(group, storage::log_index(release));
        });
}

}  // namespace

void durable_queue::on_release_cursor(const queue::release_cursor& rc,
                                      const queue::queue_state& state) {
    const uint64_t index = rc.snapshot_index.value;
    if (_failed || index <= _last_snapshot ||
        index - _last_snapshot < std::max(snapshot_commands_min, state.live_count())) {
        return;
    }
    _last_snapshot = index;
    std::vector<uint64_t> live;
    live.reserve(rc.live.size());
    for (auto ref : rc.live) {
        live.push_back(ref.value);
    }
    // With a truncated list, everything above its last entry stays.
    const uint64_t release =
        rc.truncated && !rc.live.empty() ? rc.live.back().value + 1 : index + 1;
    bytes meta = snapshot_meta(false, release, live);
    snapshot_when_durable(_engine, _group, index, std::move(meta), queue::serialize(state), release,
                          std::move(live), false);
}

void durable_queue::on_deleted(uint64_t index) {
    if (_failed) {
        return;
    }
    _owners.clear();
    _last_snapshot = index;
    _engine.set_deleting(_group, index);
    snapshot_when_durable(_engine, _group, index, snapshot_meta(true, index + 1, {}), bytes(),
                          index + 1, {}, true);
}

}  // namespace qmq::broker
