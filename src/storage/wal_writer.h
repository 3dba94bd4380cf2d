#pragma once

// The node's WAL writer: one thread that turns queued appends from any
// group into batches, writes each batch with one write and makes it durable
// with one fdatasync (group commit). A batch closes when the queue is empty
// (the writer caught up) or at batch_bytes_max: at low load a lone append is
// written at once, at high load appends that arrive during an fdatasync
// share the next one. There is no timer.
//
// On a write or fdatasync error the batch and everything queued behind it
// fail (listener.on_failed), the file is cut back and closed, and the writer
// refuses work until it can create a fresh WAL file again (retried every
// retry_ms): a full disk resumes by itself once space is freed.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "storage/file.h"

namespace qmq::storage {

struct wal_request {
    uint64_t id = 0;
    uint64_t group = 0;
    uint64_t first = 0;
    uint64_t last = 0;
    uint64_t term = 0;
    bool is_truncate = false;       // a truncate record; no notice is sent
    bytes records;                  // encoded records
    std::vector<uint32_t> offsets;  // start of each record in `records`
};

class wal_writer {
  public:
    class listener {
      public:
        virtual ~listener() = default;
        // The batch at file offset `batch_offset` of WAL file `seq` is durable.
        virtual void on_written(uint64_t seq, uint64_t batch_offset,
                                std::shared_ptr<const bytes> batch,
                                std::vector<std::shared_ptr<wal_request>>& requests) = 0;
        // These requests were not written. Called with the queue already
        // drained into `requests`.
        virtual void on_failed(std::vector<std::shared_ptr<wal_request>>& requests,
                               const error& err) = 0;
        // WAL file `seq` will get no more writes.
        virtual void on_closed(uint64_t seq) = 0;
        // A new WAL file was created (at start, rollover, or resume).
        virtual void on_opened(uint64_t seq, std::shared_ptr<file> f) = 0;
        virtual void on_resumed() = 0;
    };

    struct config {
        std::string root;
        std::string node_id;
        uint64_t file_bytes_max;
        uint64_t batch_bytes_max;
        uint32_t retry_ms;
    };

    wal_writer(config cfg, listener& l, uint64_t first_seq);
    ~wal_writer();  // writes what is queued, then stops

    // Creates the first file and starts the thread.
    result<void> start();
    // Queues a request. Call with the store's lock held so that queue order
    // matches the order of the in-memory log.
    void submit(std::shared_ptr<wal_request> r);
    // Closes the current file (if it holds any batch) after what is queued;
    // returns the seq of the last closed file, or 0.
    uint64_t roll_and_wait();
    // Moves every queued request into `out` (used by the failure path).
    void drain(std::vector<std::shared_ptr<wal_request>>& out);

    uint64_t batches() const;
    uint64_t syncs() const;

  private:
    void run();
    result<void> open_next();
    void fail_batch(std::vector<std::shared_ptr<wal_request>>& batch, const error& err);

    const config _cfg;
    listener& _listener;

    mutable std::mutex _mu;
    std::condition_variable _cv;
    std::condition_variable _roll_cv;
    std::deque<std::shared_ptr<wal_request>> _queue;
    bool _stop = false;
    bool _idle = false;            // the writer waits for work
    uint64_t _roll_requested = 0;  // generation counters for roll_and_wait
    uint64_t _roll_done = 0;
    uint64_t _last_closed = 0;
    uint64_t _batches = 0;
    uint64_t _syncs = 0;

    // Writer-thread state.
    uint64_t _seq;
    std::shared_ptr<file> _file;
    uint64_t _offset = 0;
    bool _failed = false;
    std::thread _thread;
};

}  // namespace qmq::storage
