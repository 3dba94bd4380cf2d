#include "broker/durable_queue.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <thread>
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
// Snapshot data: version 1: the serialized machine state (queue/snapshot.h);
// version 2: state_len u64 | state | unlogged u32 | (ref u64 | len u32 |
// durable entry holding the message) ...  -- the messages that are not in
// the log (transient ones, and those published while the log refused writes).
constexpr uint8_t snapshot_meta_version_v1 = 1;
constexpr uint8_t snapshot_meta_version = 2;

// A hole above the snapshot at recovery is re-read this often, this many
// times (a WAL file being moved to segments), before recovery gives up.
constexpr int recovery_hole_retries_max = 50;
constexpr int recovery_hole_retry_ms = 20;

// Gap entries (indexes applied while the log refused writes, covered by the
// snapshot written at resume) are appended in slices of this many.
constexpr uint64_t gap_entries_per_append = 4096;
// After a failed resume, wait this long before the next attempt.
constexpr int64_t resume_retry_ms = 1000;

int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

durable_queue::durable_queue(durable_engine& engine, storage::group_id group)
    : _engine(engine), _group(group) {}

durable_queue::~durable_queue() {
    _engine.detach(_group, this);
}

void durable_queue::attach(const queue::queue_state& state, log_message_store& store) {
    _state = &state;
    _store = &store;
    _engine.attach(_group, this);
}

bytes durable_queue::snapshot_data(const queue::queue_state& state) const {
    bytes out;
    const bytes st = queue::serialize(state);
    byte_writer w(out);
    w.u64(st.size());
    w.raw(bytes_view(st));
    const std::size_t count_at = out.size();
    w.u32(0);
    uint32_t n = 0;
    bytes entry;
    if (_store != nullptr) {
        _store->for_each_unlogged([&](uint64_t ref, const message& m) {
            entry.clear();
            encode_durable_entry(entry, 0, queue::enqueue{}, &m);
            w.u64(ref);
            w.u32(static_cast<uint32_t>(entry.size()));
            w.raw(bytes_view(entry));
            ++n;
        });
    }
    const uint32_t be = n;
    for (int i = 0; i < 4; ++i) {
        out[count_at + i] = std::byte((be >> (24 - 8 * i)) & 0xff);
    }
    return out;
}

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

void durable_queue::track(const queue::command& cmd) {
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
    uint8_t data_version = 0;
    std::vector<std::pair<uint64_t, message_ptr>> unlogged;  // bodies in the snapshot
    // A snapshot of this group may still be queued (queue deleted and
    // declared again): read the latest.
    _engine.flush_snapshots();
    auto reader = _engine.states().open_snapshot(_group);
    if (!reader) {
        return reader.err();
    }
    if (*reader) {
        const auto& m = (*reader)->meta();
        snap_index = m.index.value;
        byte_reader r{bytes_view(m.meta)};
        const uint8_t version = r.u8();
        if (version != snapshot_meta_version && version != snapshot_meta_version_v1) {
            return error{1, "durable queue snapshot: unknown meta version"};
        }
        data_version = version;
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
            bytes_view state_bytes(all);
            if (data_version != snapshot_meta_version_v1) {
                byte_reader dr{bytes_view(all)};
                const uint64_t len = dr.u64();
                if (!dr.ok() || len > dr.remaining()) {
                    return error{1, "durable queue snapshot: bad state length"};
                }
                state_bytes = dr.take(static_cast<std::size_t>(len));
                const uint32_t count = dr.u32();
                for (uint32_t i = 0; i < count && dr.ok(); ++i) {
                    const uint64_t ref = dr.u64();
                    const uint32_t elen = dr.u32();
                    if (!dr.ok() || elen > dr.remaining()) {
                        return error{1, "durable queue snapshot: bad message length"};
                    }
                    auto de = decode_durable_entry(dr.take(elen));
                    if (!de || !de->msg) {
                        return error{1, fmt::format("durable queue snapshot: message {}: {}", ref,
                                                    de ? "missing" : de.err().message)};
                    }
                    unlogged.emplace_back(ref, std::move(de->msg));
                }
                if (!dr.ok()) {
                    return error{1, "durable queue snapshot: truncated messages"};
                }
            }
            auto st = queue::deserialize(state_bytes);
            if (!st) {
                return st.err();
            }
            state = std::move(*st);
            for (auto& [ref, msg] : unlogged) {
                store.put_unlogged(queue::message_ref(ref), std::move(msg));
            }
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
        store.clear();
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
    if (*info && (*info)->first.value > 0) {
        _log_last = (*info)->last.value;
    }
    if (*info && (*info)->last.value > 0) {
        uint64_t from = std::max<uint64_t>((*info)->first.value, 1);
        const uint64_t to = (*info)->last.value;
        out.last_index = std::max(out.last_index, to);
        // Every entry above the snapshot is needed: a hole there (a read
        // racing the segment thread's move of a WAL file) is retried for a
        // while, then refused, never silently skipped.
        uint64_t next_needed = snap_index + 1;
        int retries = 0;
        while (from <= to) {
            auto entries = log.read(_group, storage::log_index(from), storage::log_index(to));
            if (!entries) {
                return entries.err();
            }
            bool hole = false;
            if (entries->empty()) {
                hole = next_needed <= to;
                if (!hole) {
                    break;
                }
            }
            for (auto& e : *entries) {
                const uint64_t index = e.index.value;
                if (index > snap_index) {
                    if (index != next_needed) {
                        hole = true;
                        break;
                    }
                    ++next_needed;
                }
                from = index + 1;
                if (e.type == durable_gap_type) {
                    continue;  // applied while the log refused writes: in a snapshot
                }
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
                track(de->cmd);
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
            if (hole) {
                if (++retries > recovery_hole_retries_max) {
                    return error{1, fmt::format("log has no entry {} (last {})", next_needed, to)};
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(recovery_hole_retry_ms));
                from = next_needed;
                continue;
            }
            retries = 0;
        }
    }
    _last_appended = out.last_index;
    _applied = out.last_index;
    out.last_consumer = _last_consumer;
    for (uint64_t o : _owners) {
        out.stale_owners.emplace_back(o);
    }
    out.messages = store.size();
    return out;
}

void durable_queue::enter_degraded(uint64_t from, const std::string& why) {
    // Everything from `from` on is not in the log: its bodies stay in memory.
    if (_store != nullptr) {
        _store->keep_unlogged_from(queue::message_ref(from));
    }
    for (uint64_t i = from; i <= _applied; ++i) {
        _engine.refuse(_group, i);
    }
    if (!_degraded) {
        _degraded = true;
        _degraded_commands = 0;
        _nacked = 0;
        _next_attempt_ms = 0;
        QMQ_LOG_ERROR(
            "durable queue log {:016x}: write refused at index {}: {}; queue degraded: "
            "running in memory, persistent publishes nacked, until the disk accepts writes",
            _group.value, from, why);
    }
    _engine.note_degraded(_group);
}

bool durable_queue::append(uint64_t index, uint64_t time_ms, const queue::command& cmd,
                           const message* msg) {
    // Tracking needs no reply for the commands it looks at.
    track(cmd);
    _applied = index;
    if (_degraded) {
        ++_degraded_commands;
        if (msg != nullptr) {
            ++_nacked;
            if (_store != nullptr) {
                _store->keep_unlogged_from(queue::message_ref(index));
            }
        }
        _engine.refuse(_group, index);
        return false;
    }
    // After a restart between a resume snapshot and its gap entries.
    if (_log_last != 0 && index > _log_last + 1 && index - 1 <= _last_snapshot &&
        !append_gap(_log_last + 1, index - 1)) {
        enter_degraded(index, "gap entries refused");
        ++_degraded_commands;
        return false;
    }
    storage::entry e;
    e.index = storage::log_index(index);
    e.term = storage::term_t(1);
    e.type = durable_entry_type;
    encode_durable_entry(e.payload, time_ms, cmd, msg);
    if (auto r = _engine.log().append(_group, std::span<const storage::entry>(&e, 1)); !r) {
        enter_degraded(index, r.err().message);
        ++_degraded_commands;
        if (msg != nullptr) {
            ++_nacked;
        }
        return false;
    }
    _last_appended = index;
    _log_last = index;
    return true;
}

bool durable_queue::append_gap(uint64_t from, uint64_t to) {
    std::vector<storage::entry> gap;
    for (uint64_t i = from; i <= to;) {
        const uint64_t n = std::min(gap_entries_per_append, to - i + 1);
        gap.resize(n);
        for (uint64_t k = 0; k < n; ++k) {
            gap[k].index = storage::log_index(i + k);
            gap[k].term = storage::term_t(1);
            gap[k].type = durable_gap_type;
        }
        if (auto r = _engine.log().append(_group, gap); !r) {
            QMQ_LOG_WARN("durable queue log {:016x}: gap entries {}..{} refused: {}", _group.value,
                         i, to, r.err().message);
            return false;
        }
        i += n;
        _log_last = i - 1;
    }
    return true;
}

void durable_queue::on_notice(const storage::durable_notice& n) {
    if (n.durable) {
        if (_store != nullptr) {
            _store->set_durable_up_to(n.last.value);
        }
        return;
    }
    // The log was cut back to before n.first.
    if (n.first.value <= _log_last) {
        _log_last = n.first.value - 1;
    }
    enter_degraded(n.first.value, n.error);
}

namespace {

result<void> write_snapshot_now(durable_engine& engine, storage::group_id group, uint64_t index,
                                bytes meta, bytes_view data) {
    storage::snapshot_meta m{storage::log_index(index), storage::term_t(1), std::move(meta)};
    return engine.write_snapshot_now(group, m, data);
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
            if (!ok) {
                if (deleting) {
                    engine.set_deleting(group, std::nullopt);
                }
                return;  // the write failed; the queue logged it
            }
            // Written on the snapshot thread; the release waits for it.
            storage::snapshot_meta m{storage::log_index(index), storage::term_t(1),
                                     std::move(meta)};
            engine.write_snapshot_async(
                group, std::move(m), std::move(state_bytes),
                [&engine, group, index, release, live = std::move(live),
                 deleting](const result<void>& r) mutable {
                    if (deleting) {
                        engine.set_deleting(group, std::nullopt);
                    }
                    if (!r) {
                        QMQ_LOG_ERROR("durable queue log {:016x}: snapshot at {} failed: {}",
                                      group.value, index, r.err().message);
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
        });
}

}  // namespace

void durable_queue::on_release_cursor(const queue::release_cursor& rc,
                                      const queue::queue_state& state) {
    const uint64_t index = rc.snapshot_index.value;
    if (_degraded || index <= _last_snapshot ||
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
    snapshot_when_durable(_engine, _group, index, std::move(meta), snapshot_data(state), release,
                          std::move(live), false);
}

void durable_queue::on_deleted(uint64_t index) {
    _owners.clear();
    _last_snapshot = index;
    _engine.set_deleting(_group, index);
    if (!_degraded) {
        snapshot_when_durable(_engine, _group, index, snapshot_meta(true, index + 1, {}), bytes(),
                              index + 1, {}, true);
        return;
    }
    // The log refuses writes: record the deletion once it accepts them again
    // (this object goes with the queue, the engine keeps the job).
    _deleted_at = index;
    durable_engine& engine = _engine;
    const storage::group_id group = _group;
    bytes meta = snapshot_meta(true, index + 1, {});
    _engine.retry_later([&engine, group, index, meta = std::move(meta)]() {
        engine.flush_snapshots();
        if (auto cur = engine.states().open_snapshot(group);
            cur && *cur && (*cur)->meta().index.value >= index) {
            engine.set_deleting(group, std::nullopt);
            return true;  // a newer queue of the same name snapshotted since
        }
        if (auto r = write_snapshot_now(engine, group, index, meta, bytes_view()); !r) {
            return false;
        }
        engine.log().set_live_indexes(group, {});
        engine.log().set_release_point(group, storage::log_index(index + 1));
        engine.set_deleting(group, std::nullopt);
        return true;
    });
}

bool durable_queue::try_resume() {
    if (!_degraded) {
        return true;
    }
    if (_deleted_at || _state == nullptr || _store == nullptr || _engine.log().write_error()) {
        return false;
    }
    const int64_t now = steady_ms();
    if (now < _next_attempt_ms) {
        return false;
    }
    _next_attempt_ms = now + resume_retry_ms;
    auto info = _engine.log().info(_group);
    if (!info) {
        QMQ_LOG_ERROR("durable queue log {:016x}: cannot resume: {}", _group.value,
                      info.err().message);
        return false;
    }
    const uint64_t log_last = *info && (*info)->first.value > 0 ? (*info)->last.value : 0;
    const uint64_t at = _applied;
    // The snapshot at `at` captures everything applied in memory; the bodies
    // the log lacks go inside it, those it holds stay live in it.
    _store->keep_unlogged_from(queue::message_ref(log_last + 1));
    std::vector<uint64_t> live = _store->logged_refs();
    bytes meta = snapshot_meta(false, at + 1, live);
    if (auto r = write_snapshot_now(_engine, _group, at, std::move(meta),
                                    bytes_view(snapshot_data(*_state)));
        !r) {
        QMQ_LOG_WARN("durable queue log {:016x}: resume snapshot at {} failed: {}", _group.value,
                     at, r.err().message);
        return false;
    }
    _last_snapshot = at;
    _log_last = log_last;
    if (log_last != 0 && at > log_last && !append_gap(log_last + 1, at)) {
        return false;
    }
    std::vector<storage::log_index> l;
    l.reserve(live.size());
    for (uint64_t i : live) {
        l.emplace_back(i);
    }
    _engine.log().set_live_indexes(_group, std::move(l));
    _engine.log().set_release_point(_group, storage::log_index(at + 1));
    _degraded = false;
    QMQ_LOG_INFO(
        "durable queue log {:016x}: disk accepts writes again; resumed with a snapshot at {} "
        "({} commands applied in memory while degraded, {} persistent publishes nacked)",
        _group.value, at, _degraded_commands, _nacked);
    return true;
}

}  // namespace qmq::broker
