// The segment thread of log_store: moves closed WAL files into per-group
// segments, cuts segments after suffix truncations, deletes and compacts
// segments below release points. It is the only thread that changes a
// group's segment list (under _mu), so it may read that list without _mu.

#include <algorithm>
#include <chrono>

#include "common/assert.h"
#include "common/log.h"
#include "storage/format.h"
#include "storage/log_store.h"
#include "storage/paths.h"

namespace qmq::storage {
namespace {

constexpr uint64_t flush_read_bytes_max = 1u << 20;  // one pread while copying
constexpr auto flush_retry_delay = std::chrono::milliseconds(200);

}  // namespace

void log_store::segment_loop() {
    std::unique_lock lock(_mu);
    for (;;) {
        _segment_cv.wait(lock, [&] {
            if (_stop || !_closed.empty() || _compaction_done < _compaction_gen) {
                return true;
            }
            for (const auto& [id, g] : _groups) {
                if (g->compaction_due) {
                    return true;
                }
            }
            return false;
        });
        if (_stop) {
            return;
        }
        if (!_closed.empty()) {
            const uint64_t seq = _closed.front();
            lock.unlock();
            auto r = flush_wal_file(seq);
            lock.lock();
            if (r) {
                _closed.pop_front();
                _flushed_up_to = std::max(_flushed_up_to, seq);
                _segment_error.reset();
            } else {
                QMQ_LOG_ERROR("storage: moving wal {} to segments failed: {}", seq,
                              r.err().message);
                _segment_error = r.err();
                _segment_done_cv.notify_all();
                _segment_cv.wait_for(lock, flush_retry_delay, [&] { return _stop; });
            }
            _segment_done_cv.notify_all();
            continue;
        }
        const uint64_t gen = _compaction_gen;
        lock.unlock();
        compact_groups();
        lock.lock();
        _compaction_done = gen;
        _segment_done_cv.notify_all();
    }
}

result<void> log_store::sync_segments() {
    uint64_t closed = _writer->roll_and_wait();
    std::unique_lock lock(_mu);
    for (uint64_t seq : _closed) {
        closed = std::max(closed, seq);  // recovered files still waiting
    }
    const uint64_t gen = ++_compaction_gen;
    for (auto& [id, g] : _groups) {
        g->compaction_due = true;
    }
    _segment_cv.notify_all();
    _segment_done_cv.wait(lock, [&] {
        return _stop || _segment_error || (_flushed_up_to >= closed && _compaction_done >= gen);
    });
    if (_segment_error) {
        return *_segment_error;
    }
    return ok_result();
}

result<void> log_store::flush_wal_file(uint64_t seq) {
    std::vector<uint64_t> ids;
    {
        std::lock_guard lock(_mu);
        for (const auto& [id, g] : _groups) {
            const bool has_entries = !g->wal.empty() && g->wal.front().wal_seq == seq;
            const bool needs_cut = !g->segments.empty() && g->segments.back()->last() > g->seg_last;
            if ((has_entries || needs_cut) && g->error.empty()) {
                ids.push_back(id);
            }
        }
    }
    for (uint64_t id : ids) {
        if (auto r = flush_group(id, seq); !r) {
            return r;
        }
    }
    bool keep;
    {
        std::lock_guard lock(_mu);
        keep = _keep_wal.count(seq) > 0;
        _wal_files.erase(seq);
        auto lo = _cache.lower_bound({seq, 0});
        auto hi = _cache.lower_bound({seq + 1, 0});
        for (auto it = lo; it != hi; ++it) {
            _cache_bytes -= it->second->size();
        }
        _cache.erase(lo, hi);
    }
    const std::string path = paths::wal_file(_opts.dir, seq);
    if (keep) {
        // Damaged: keep it for inspection, out of the replay path.
        const std::string q = paths::quarantine_dir(_opts.dir);
        if (auto r = make_dirs(q); !r) {
            return r;
        }
        if (auto r = rename_file(path, q + "/" + paths::hex16(seq) + ".wal"); !r) {
            return r;
        }
        QMQ_LOG_WARN("storage: damaged wal {} moved to {}", path, q);
    } else if (auto r = remove_file(path); !r) {
        return r;
    }
    // The deletion must be durable before a later WAL file is deleted:
    // replaying an old file over newer segments would cut them.
    return sync_dir(paths::wal_dir(_opts.dir));
}

result<void> log_store::flush_group(uint64_t id, uint64_t seq) {
    struct planned {
        uint64_t index;
        uint64_t term;
        uint64_t offset;
        uint32_t len;
    };
    std::vector<planned> plan;
    uint64_t seg_last;
    uint64_t release;
    bool skips = false;
    std::shared_ptr<file> wal;
    group_state* gp;
    {
        std::lock_guard lock(_mu);
        auto it = _groups.find(id);
        QMQ_ASSERT(it != _groups.end());
        gp = it->second.get();
        auto& g = *gp;
        seg_last = g.seg_last;
        release = g.release;
        for (std::size_t k = 0; k < g.wal.size() && g.wal[k].wal_seq == seq; ++k) {
            const uint64_t index = g.wal_first + k;
            if (!released_locked(g, index)) {
                plan.push_back({index, g.wal[k].term, g.wal[k].offset, g.wal[k].len});
            } else {
                skips = true;
            }
        }
        auto f = _wal_files.find(seq);
        QMQ_ASSERT(f != _wal_files.end());
        wal = f->second;
    }
    auto& g = *gp;  // only this thread changes g.segments
    // Released entries are left out: the release mark must be durable
    // before the WAL file that holds them goes, or recovery could not tell
    // their absence from a loss.
    if (skips) {
        if (auto r = persist_release(id, release); !r) {
            return r;
        }
    }

    // Cut segments back to what the log still holds (suffix truncation).
    while (!g.segments.empty() && g.segments.back()->last() > seg_last) {
        auto s = g.segments.back();
        bool now_empty = s->first() > seg_last;
        if (!now_empty) {
            auto r = s->truncate_from(seg_last + 1);
            if (!r) {
                return r.err();
            }
            now_empty = *r;
        }
        if (!now_empty) {
            break;
        }
        if (auto r = s->remove_files(); !r) {
            return r;
        }
        std::lock_guard lock(_mu);
        g.segments.pop_back();
    }

    // Copy the entries, reading runs of adjacent records with one pread.
    const std::string dir = paths::group_dir(_opts.dir, id);
    std::vector<std::shared_ptr<segment>> created;
    std::shared_ptr<segment> target;
    if (!g.segments.empty() && g.segments.back()->size_bytes() < _opts.segment_bytes_max) {
        target = g.segments.back();
    }
    std::vector<segment*> touched;
    // On failure, leave no half-written state behind: segments this flush
    // created go, the others forget their unsynced records (the WAL file
    // stays, so the flush is retried from the start).
    struct cleanup {
        std::vector<std::shared_ptr<segment>>& created;
        std::vector<segment*>& touched;
        bool done = false;
        ~cleanup() {
            if (done) {
                return;
            }
            for (segment* s : touched) {
                s->discard_pending();
            }
            for (auto& s : created) {
                (void)s->remove_files();
            }
        }
    } on_error{created, touched};
    bytes buf;
    std::size_t i = 0;
    while (i < plan.size()) {
        std::size_t j = i + 1;
        uint64_t run = plan[i].len;
        while (j < plan.size() && plan[j].offset == plan[j - 1].offset + plan[j - 1].len &&
               run + plan[j].len <= flush_read_bytes_max) {
            run += plan[j].len;
            ++j;
        }
        buf.resize(run);
        auto n = wal->read_at(buf, plan[i].offset);
        if (!n) {
            return n.err();
        }
        std::vector<segment::record_ref> refs;
        std::vector<uint32_t> ends;
        uint32_t at = 0;
        for (std::size_t k = i; k < j; ++k) {
            auto h = *n == run ? format::decode_record_header(bytes_view(buf).subspan(at))
                               : std::nullopt;
            if (!h || h->group != id || h->index != plan[k].index ||
                !format::payload_matches(
                    *h, bytes_view(buf).subspan(at + format::record_header_size, h->payload_len))) {
                return error{EIO, "wal " + wal->path() + " offset " +
                                      std::to_string(plan[k].offset) +
                                      ": record does not match group " + std::to_string(id) +
                                      " index " + std::to_string(plan[k].index)};
            }
            refs.push_back({plan[k].index, plan[k].term, at});
            at += plan[k].len;
            ends.push_back(at);
        }
        // Append in chunks that keep each segment near segment_bytes_max.
        std::size_t k = 0;
        while (k < refs.size()) {
            if (!target || target->write_end() >= _opts.segment_bytes_max) {
                if (target &&
                    std::find(touched.begin(), touched.end(), target.get()) != touched.end()) {
                    if (auto r = target->sync(); !r) {
                        return r;
                    }
                }
                if (g.segments.empty() && created.empty()) {
                    if (auto r = make_dirs(dir); !r) {
                        return r;
                    }
                    if (auto r = sync_dir(paths::groups_dir(_opts.dir)); !r) {
                        return r;
                    }
                }
                auto s = segment::create(dir, _opts.node_id, id, g.next_segment_seq++);
                if (!s) {
                    return s.err();
                }
                target = *s;
                created.push_back(target);
            }
            const uint64_t room = _opts.segment_bytes_max - target->write_end();
            const uint32_t base = refs[k].offset;
            std::size_t m = k + 1;
            while (m < refs.size() && ends[m] - base <= room) {
                ++m;
            }
            std::vector<segment::record_ref> chunk(refs.begin() + static_cast<std::ptrdiff_t>(k),
                                                   refs.begin() + static_cast<std::ptrdiff_t>(m));
            for (auto& c : chunk) {
                c.offset -= base;
            }
            if (auto r = target->append(bytes_view(buf).subspan(base, ends[m - 1] - base), chunk);
                !r) {
                return r;
            }
            if (std::find(touched.begin(), touched.end(), target.get()) == touched.end()) {
                touched.push_back(target.get());
            }
            k = m;
        }
        i = j;
    }
    for (segment* s : touched) {
        if (auto r = s->sync(); !r) {
            return r;
        }
    }
    on_error.done = true;

    std::lock_guard lock(_mu);
    for (auto& s : created) {
        if (!s->empty()) {
            g.segments.push_back(s);
        } else {
            (void)s->remove_files();
        }
    }
    uint64_t popped_last = 0;
    while (!g.wal.empty() && g.wal.front().wal_seq == seq) {
        popped_last = g.wal_first;
        g.wal.pop_front();
        ++g.wal_first;
    }
    if (popped_last != 0) {
        g.seg_last = popped_last;
    }
    if (g.wal.empty()) {
        g.wal_first = 0;
    }
    recompute_first_locked(g);
    return ok_result();
}

void log_store::compact_groups() {
    std::vector<uint64_t> ids;
    {
        std::lock_guard lock(_mu);
        for (auto& [id, g] : _groups) {
            if (g->compaction_due) {
                g->compaction_due = false;
                if (g->error.empty()) {
                    ids.push_back(id);
                }
            }
        }
    }
    for (uint64_t id : ids) {
        if (auto r = compact_group(id); !r) {
            QMQ_LOG_ERROR("storage: compaction of group {} failed: {}", id, r.err().message);
        }
    }
}

result<void> log_store::persist_release(uint64_t id, uint64_t release) {
    {
        std::lock_guard lock(_mu);
        if (_groups.at(id)->released_durable >= release) {
            return ok_result();
        }
    }
    const std::string dir = paths::group_dir(_opts.dir, id);
    if (!path_exists(dir)) {
        if (auto r = make_dirs(dir); !r) {
            return r;
        }
        if (auto r = sync_dir(paths::groups_dir(_opts.dir)); !r) {
            return r;
        }
    }
    if (auto r = write_file_atomically(paths::release_mark(_opts.dir, id),
                                       format::encode_release_mark(release));
        !r) {
        return r;
    }
    std::lock_guard lock(_mu);
    auto& g = *_groups.at(id);
    g.released_durable = std::max(g.released_durable, release);
    return ok_result();
}

result<void> log_store::compact_group(uint64_t id) {
    uint64_t release;
    uint64_t seg_last;
    std::vector<uint64_t> live;
    group_state* gp;
    {
        std::lock_guard lock(_mu);
        gp = _groups.at(id).get();
        release = gp->release;
        seg_last = gp->seg_last;
        live = gp->live;
    }
    auto& g = *gp;
    // Deleting or rewriting a segment drops released records (possibly its
    // tail): the release mark goes first.
    if (!g.segments.empty() && g.segments.front()->last() < release &&
        g.segments.front()->last() <= seg_last) {
        if (auto r = persist_release(id, release); !r) {
            return r;
        }
    }
    for (std::size_t k = 0; k < g.segments.size();) {
        auto s = g.segments[k];
        const uint64_t first = s->first();
        const uint64_t last = s->last();
        if (last >= release || last > seg_last) {
            break;  // segments are in index order
        }
        auto lo = std::lower_bound(live.begin(), live.end(), first);
        auto hi = std::upper_bound(live.begin(), live.end(), last);
        const uint64_t live_n = static_cast<uint64_t>(hi - lo);
        const uint64_t count = s->record_count();
        std::shared_ptr<segment> replacement;
        if (live_n == 0) {
            if (auto r = s->remove_files(); !r) {
                return r;
            }
        } else if ((count - std::min(count, live_n)) * 100 >=
                       uint64_t{_opts.compaction_dead_percent_min} * count &&
                   live_n < count) {
            auto r = s->rewrite(std::span<const uint64_t>(&*lo, live_n));
            if (!r) {
                return r.err();
            }
            replacement = *r;
        } else {
            ++k;
            continue;
        }
        std::lock_guard lock(_mu);
        if (replacement) {
            g.segments[k] = replacement;
            ++_segments_compacted;
            ++k;
        } else {
            g.segments.erase(g.segments.begin() + static_cast<std::ptrdiff_t>(k));
            ++_segments_deleted;
        }
        recompute_first_locked(g);
    }
    return ok_result();
}

}  // namespace qmq::storage
