#include "broker/durable_engine.h"

#include <algorithm>

#include "broker/durable_queue.h"
#include "common/log.h"

namespace qmq::broker {

result<std::unique_ptr<durable_engine>> durable_engine::open(const std::string& dir,
                                                             std::function<void()> on_ready) {
    std::unique_ptr<durable_engine> e(new durable_engine(dir));
    storage::log_store_options opts;
    opts.dir = dir;
    opts.node_id = "quorummq";
    opts.on_durable = on_ready;
    e->_on_ready = std::move(on_ready);
    auto log = storage::log_store::open(std::move(opts));
    if (!log) {
        return log.err();
    }
    e->_log = std::move(*log);
    e->_snap_thread = std::thread([p = e.get()] { p->snapshot_loop(); });
    for (const auto& g : e->_log->recovered()) {
        if (!g.error.empty()) {
            QMQ_LOG_ERROR("durable queue log {:016x} damaged: {}", g.group.value, g.error);
        }
    }
    return e;
}

durable_engine::~durable_engine() {
    if (_snap_thread.joinable()) {
        // Queued snapshots are written first: each covers only durable entries.
        {
            std::lock_guard lock(_snap_mu);
            _snap_stop = true;
        }
        _snap_cv.notify_all();
        _snap_thread.join();
    }
}

result<void> write_snapshot(storage::state_store& states, storage::group_id g,
                            const storage::snapshot_meta& meta, bytes_view data) {
    auto w = states.begin_snapshot(g, meta);
    if (!w) {
        return w.err();
    }
    for (std::size_t off = 0; off < data.size(); off += storage::snapshot_writer::chunk_bytes_max) {
        const auto n =
            std::min<std::size_t>(storage::snapshot_writer::chunk_bytes_max, data.size() - off);
        if (auto r = (*w)->write(data.subspan(off, n)); !r) {
            return r;
        }
    }
    return (*w)->commit();
}

result<void> durable_engine::write_snapshot_now(storage::group_id g,
                                                const storage::snapshot_meta& meta,
                                                bytes_view data) {
    flush_snapshots();
    auto& last = _snap_index[g.value];
    last = std::max(last, meta.index.value);
    return write_snapshot(_states, g, meta, data);
}

void durable_engine::write_snapshot_async(storage::group_id g, storage::snapshot_meta meta,
                                          bytes data,
                                          std::function<void(const result<void>&)> done) {
    auto& last = _snap_index[g.value];
    if (meta.index.value < last) {
        return;  // a newer snapshot is queued or written already
    }
    last = meta.index.value;
    {
        std::lock_guard lock(_snap_mu);
        _snap_jobs.push_back(snapshot_job{g, std::move(meta), std::move(data), std::move(done)});
    }
    _snap_cv.notify_all();
}

std::size_t durable_engine::flush_snapshots() {
    std::unique_lock lock(_snap_mu);
    const std::size_t n = _snap_jobs.size() + (_snap_busy ? 1 : 0);
    _snap_cv.wait(lock, [&] { return _snap_jobs.empty() && !_snap_busy; });
    return n;
}

void durable_engine::snapshot_loop() {
    std::unique_lock lock(_snap_mu);
    for (;;) {
        _snap_cv.wait(lock, [&] { return _snap_stop || !_snap_jobs.empty(); });
        if (_snap_jobs.empty()) {
            return;  // stopping, nothing left
        }
        snapshot_job job = std::move(_snap_jobs.front());
        _snap_jobs.pop_front();
        _snap_busy = true;
        lock.unlock();
        job.outcome = write_snapshot(_states, job.group, job.meta, bytes_view(job.data));
        job.data = bytes();  // free it now, not when the loop gets to it
        lock.lock();
        _snap_busy = false;
        _snap_done.push_back(std::move(job));
        _snap_cv.notify_all();
        if (_on_ready && !_snap_stop) {
            lock.unlock();
            _on_ready();
            lock.lock();
        }
    }
}

storage::group_id durable_engine::group_for(std::string_view vhost, std::string_view queue) {
    // FNV-1a 64 of "vhost\0queue"; 0 and 1 are reserved (0 by storage, 1 for
    // the metadata), so they map elsewhere.
    uint64_t h = 14695981039346656037ull;
    const auto mix = [&](std::string_view s) {
        for (unsigned char c : s) {
            h ^= c;
            h *= 1099511628211ull;
        }
    };
    mix(vhost);
    mix(std::string_view("\0", 1));
    mix(queue);
    if (h < 2) {
        h += 2;
    }
    return storage::group_id(h);
}

void durable_engine::when_durable(storage::group_id g, uint64_t index,
                                  std::function<void(bool)> done) {
    auto& w = _waiters[g.value];
    if (w.refused_to != 0 && index >= w.refused_from && index <= w.refused_to) {
        done(false);
        return;
    }
    if (index <= w.durable_up_to) {
        done(true);
        return;
    }
    w.waiting.emplace(index, std::move(done));
}

void durable_engine::set_deleting(storage::group_id g, std::optional<uint64_t> index) {
    if (index) {
        _deleting[g.value] = *index;
    } else {
        _deleting.erase(g.value);
    }
}

std::optional<uint64_t> durable_engine::deleting(storage::group_id g) const {
    auto it = _deleting.find(g.value);
    if (it == _deleting.end()) {
        return std::nullopt;
    }
    return it->second;
}

void durable_engine::refuse(storage::group_id g, uint64_t index) {
    auto& w = _waiters[g.value];
    if (w.refused_to != 0 && index == w.refused_to + 1) {
        w.refused_to = index;
    } else {
        w.refused_from = index;
        w.refused_to = index;
    }
}

void durable_engine::attach(storage::group_id g, durable_queue* q) {
    _queues[g.value] = q;
}

void durable_engine::detach(storage::group_id g, durable_queue* q) {
    auto it = _queues.find(g.value);
    if (it != _queues.end() && it->second == q) {
        _queues.erase(it);
    }
}

void durable_engine::note_degraded(storage::group_id g) {
    if (std::find(_degraded.begin(), _degraded.end(), g.value) == _degraded.end()) {
        _degraded.push_back(g.value);
    }
}

void durable_engine::retry_later(std::function<bool()> job) {
    _retries.push_back(std::move(job));
}

std::optional<std::string> durable_engine::writes_refused() const {
    if (auto e = _log->write_error()) {
        return e->message;
    }
    return std::nullopt;
}

void durable_engine::tick() {
    if ((_degraded.empty() && _retries.empty()) || _log->write_error()) {
        return;
    }
    // A queue may be resumed, detached or deleted meanwhile: look each up.
    auto degraded = std::move(_degraded);
    _degraded.clear();
    for (uint64_t g : degraded) {
        auto it = _queues.find(g);
        if (it != _queues.end() && !it->second->try_resume()) {
            note_degraded(storage::group_id(g));
        }
    }
    auto retries = std::move(_retries);
    _retries.clear();
    for (auto& job : retries) {
        if (!job()) {
            _retries.push_back(std::move(job));
        }
    }
}

void durable_engine::at_drain_end(std::function<void()> fn) {
    if (!_draining) {
        fn();
        return;
    }
    _drain_end.push_back(std::move(fn));
}

void durable_engine::drain() {
    _draining = true;
    drain_notices();
    _draining = false;
    // Callbacks may append to the log (and so reach when_durable) but never
    // drain: run the list that this drain built.
    auto callbacks = std::move(_drain_end);
    _drain_end.clear();
    for (auto& fn : callbacks) {
        fn();
    }
}

void durable_engine::drain_notices() {
    std::vector<snapshot_job> done;
    {
        std::lock_guard lock(_snap_mu);
        done.swap(_snap_done);
    }
    for (auto& job : done) {
        if (job.done) {
            job.done(job.outcome);
        }
    }
    for (const auto& n : _log->take_durable()) {
        if (auto q = _queues.find(n.group.value); q != _queues.end()) {
            q->second->on_notice(n);
        }
        auto it = _waiters.find(n.group.value);
        if (it == _waiters.end()) {
            if (n.durable) {
                _waiters[n.group.value].durable_up_to = n.last.value;
            }
            continue;
        }
        auto& w = it->second;
        if (!n.durable) {
            QMQ_LOG_ERROR("durable queue log {:016x}: entries {}..{} not written: {}",
                          n.group.value, n.first.value, n.last.value, n.error);
        } else if (n.last.value > w.durable_up_to) {
            w.durable_up_to = n.last.value;
        }
        const uint64_t upto = n.durable ? w.durable_up_to : n.last.value;
        auto end = w.waiting.upper_bound(upto);
        std::vector<std::function<void(bool)>> ready;
        for (auto x = w.waiting.begin(); x != end; ++x) {
            ready.push_back(std::move(x->second));
        }
        w.waiting.erase(w.waiting.begin(), end);
        for (auto& fn : ready) {
            fn(n.durable);
        }
    }
}

}  // namespace qmq::broker
