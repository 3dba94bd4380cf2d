#pragma once

// The message_store of a durable classic queue. A persistent message's body
// lives in the queue's log entry (its enqueue, index == ref): this store
// keeps only the set of live refs and, for recently published messages, the
// message itself (a bounded cache, so a consumer keeping up never reads the
// disk). Older bodies are read back from the log on delivery; the log's
// live indexes keep their entries readable after the log is compacted.
//
// A body leaves the cache only once its entry is durable (a failed write
// cuts the entry from the log: the body must still be here). Messages that
// are not in the log — transient ones, and persistent ones published while
// the queue's log refused writes — stay in memory until removed; the
// queue's snapshots carry them (for_each_unlogged).

#include <cstdint>
#include <deque>
#include <functional>
#include <map>

#include "broker/message_store.h"
#include "storage/log_store.h"

namespace qmq::broker {

// Recent persistent bodies kept in memory beyond what the log's cache holds.
inline constexpr uint64_t log_store_cache_bytes_max = 8u << 20;

class log_message_store final : public message_store {
  public:
    log_message_store(storage::log_store& log, storage::group_id group)
        : _log(log), _group(group) {}

    // A published message: persistent ones are (being) written to the log by
    // the caller at index `ref`; transient ones are kept here.
    void put(queue::message_ref ref, message_ptr msg) override;
    // A persistent message found in the log at replay: body stays on disk.
    void put_on_disk(queue::message_ref ref);
    // A message that is not in the log (from a snapshot): kept in memory.
    void put_unlogged(queue::message_ref ref, message_ptr msg);
    // The pointer stays valid until the next call on this store.
    const message_ptr* get(queue::message_ref ref) const override;
    void remove(queue::message_ref ref) override;
    uint64_t size() const override { return _refs.size(); }
    void clear() {
        _refs.clear();
        _cached.clear();
        _cached_bytes = 0;
    }

    // Entries up to `index` are durable: their bodies may leave the cache.
    void set_durable_up_to(uint64_t index);
    // The log does not (and will not) hold entries from `ref` on: keep every
    // live body from there in memory. Returns how many bodies were already
    // gone (0 unless a caller broke the durable-before-evict rule).
    uint64_t keep_unlogged_from(queue::message_ref ref);
    // Every live message that is not in the log, in ref order.
    void for_each_unlogged(const std::function<void(uint64_t, const message&)>& fn) const;
    // Live refs whose body is in the log, in order.
    std::vector<uint64_t> logged_refs() const;

    uint64_t cached_bytes() const { return _cached_bytes; }

  private:
    struct slot {
        message_ptr msg;       // null: on disk only
        bool on_disk = false;  // the body is (being written) in the log
    };
    void trim_cache();

    storage::log_store& _log;
    storage::group_id _group;
    std::map<uint64_t, slot> _refs;
    std::deque<uint64_t> _cached;  // persistent refs holding a body, oldest first
    uint64_t _cached_bytes = 0;
    uint64_t _durable_up_to = 0;
    mutable message_ptr _last_read;
};

}  // namespace qmq::broker
