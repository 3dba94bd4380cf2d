#include "storage/wal_writer.h"

#include <chrono>
#include <cstring>

#include "common/assert.h"
#include "common/log.h"
#include "storage/format.h"
#include "storage/paths.h"

namespace qmq::storage {

wal_writer::wal_writer(config cfg, listener& l, uint64_t first_seq)
    : _cfg(std::move(cfg)), _listener(l), _seq(first_seq) {}

wal_writer::~wal_writer() {
    {
        std::lock_guard lock(_mu);
        _stop = true;
    }
    _cv.notify_all();
    if (_thread.joinable()) {
        _thread.join();
    }
}

result<void> wal_writer::start() {
    if (auto r = open_next(); !r) {
        return r;
    }
    _thread = std::thread([this] { run(); });
    return ok_result();
}

result<void> wal_writer::open_next() {
    const std::string path = paths::wal_file(_cfg.root, _seq);
    (void)remove_file(path);  // a leftover of an earlier failed attempt
    auto f = file::open(path, file::mode::create_new);
    if (!f) {
        return f.err();
    }
    format::file_header h{format::file_kind::wal, _seq, 0, 0, _cfg.node_id};
    auto fail = [&](const error& e) -> result<void> {
        (void)remove_file(path);
        return e;
    };
    if (auto r = (*f)->write_at(format::encode_file_header(h), 0); !r) {
        return fail(r.err());
    }
    if (auto r = (*f)->datasync(); !r) {
        return fail(r.err());
    }
    // The new name must be durable before any record in it is acknowledged.
    if (auto r = sync_dir(paths::wal_dir(_cfg.root)); !r) {
        return fail(r.err());
    }
    _file = std::move(*f);
    _offset = format::file_header_size;
    _listener.on_opened(_seq, _file);
    return ok_result();
}

void wal_writer::submit(std::shared_ptr<wal_request> r) {
    bool wake;
    {
        std::lock_guard lock(_mu);
        _queue.push_back(std::move(r));
        wake = _idle;  // a busy writer looks at the queue before it sleeps
    }
    if (wake) {
        _cv.notify_one();
    }
}

void wal_writer::drain(std::vector<std::shared_ptr<wal_request>>& out) {
    std::lock_guard lock(_mu);
    for (auto& r : _queue) {
        out.push_back(std::move(r));
    }
    _queue.clear();
}

uint64_t wal_writer::roll_and_wait() {
    std::unique_lock lock(_mu);
    const uint64_t gen = ++_roll_requested;
    _cv.notify_one();
    _roll_cv.wait(lock, [&] { return _roll_done >= gen || _stop; });
    return _last_closed;
}

uint64_t wal_writer::batches() const {
    std::lock_guard lock(_mu);
    return _batches;
}
uint64_t wal_writer::syncs() const {
    std::lock_guard lock(_mu);
    return _syncs;
}

void wal_writer::fail_batch(std::vector<std::shared_ptr<wal_request>>& batch, const error& err) {
    QMQ_LOG_ERROR("wal: {}; refusing writes until a new WAL file can be created", err.message);
    // Cut off whatever part of the batch reached the file, so the file ends
    // on a whole batch (best effort: recovery drops a torn last batch anyway).
    (void)_file->truncate(_offset);
    _listener.on_closed(_seq);
    _file.reset();
    ++_seq;
    _failed = true;
    _listener.on_failed(batch, err);
}

void wal_writer::run() {
    std::vector<std::shared_ptr<wal_request>> batch;
    bytes buf;
    for (;;) {
        bool roll = false;
        uint64_t roll_gen = 0;
        {
            std::unique_lock lock(_mu);
            if (_failed) {
                if (_roll_requested > _roll_done) {
                    _roll_done = _roll_requested;  // nothing to roll
                    _roll_cv.notify_all();
                }
                _cv.wait_for(lock, std::chrono::milliseconds(_cfg.retry_ms), [&] { return _stop; });
                if (_stop) {
                    return;
                }
                lock.unlock();
                if (open_next()) {
                    QMQ_LOG_INFO("wal: writing resumed in {}", paths::wal_file(_cfg.root, _seq));
                    _failed = false;
                    _listener.on_resumed();
                }
                continue;
            }
            _idle = true;
            _cv.wait(lock,
                     [&] { return _stop || !_queue.empty() || _roll_requested > _roll_done; });
            _idle = false;
            if (_roll_requested > _roll_done) {
                roll = true;
                roll_gen = _roll_requested;
            } else if (_queue.empty()) {
                QMQ_ASSERT(_stop);
                return;
            }
            // Take what is queued, up to the size bound (at least one).
            std::size_t bytes_taken = 0;
            while (!_queue.empty() &&
                   (batch.empty() ||
                    bytes_taken + _queue.front()->records.size() <= _cfg.batch_bytes_max)) {
                bytes_taken += _queue.front()->records.size();
                batch.push_back(std::move(_queue.front()));
                _queue.pop_front();
            }
        }
        if (!batch.empty()) {
            std::size_t size = format::batch_header_size;
            uint32_t count = 0;
            for (const auto& r : batch) {
                size += r->records.size();
                count += static_cast<uint32_t>(r->offsets.size());
            }
            auto out = std::make_shared<bytes>(size);
            std::size_t at = format::batch_header_size;
            for (const auto& r : batch) {
                std::memcpy(out->data() + at, r->records.data(), r->records.size());
                at += r->records.size();
            }
            format::encode_batch_header(
                {static_cast<uint32_t>(size - format::batch_header_size), count}, out->data());
            auto w = _file->write_at(*out, _offset);
            if (w) {
                w = _file->datasync();
            }
            if (!w) {
                fail_batch(batch, w.err());
                batch.clear();
                continue;
            }
            const uint64_t at_offset = _offset;
            _offset += size;
            {
                std::lock_guard lock(_mu);
                ++_batches;
                ++_syncs;
            }
            _listener.on_written(_seq, at_offset, std::move(out), batch);
            batch.clear();
        }
        const bool full = _offset >= _cfg.file_bytes_max;
        if (full || (roll && _offset > format::file_header_size)) {
            std::lock_guard lock(_mu);
            _last_closed = _seq;
        }
        if (full || (roll && _offset > format::file_header_size)) {
            _listener.on_closed(_seq);
            _file.reset();
            ++_seq;
            if (auto r = open_next(); !r) {
                QMQ_LOG_ERROR("wal: cannot start the next file: {}", r.err().message);
                std::vector<std::shared_ptr<wal_request>> none;
                _failed = true;
                _listener.on_failed(none, r.err());
            }
        }
        if (roll) {
            std::lock_guard lock(_mu);
            _roll_done = roll_gen;
            _roll_cv.notify_all();
        }
    }
}

}  // namespace qmq::storage
