#pragma once

// Where a queue keeps the bodies and properties of its live messages, named
// by the ref the queue machine gave them (the enqueue's log index). The
// machine itself holds only numbers. Today every queue uses memory_store;
// durable queues will get a store backed by the write-ahead log (storage/)
// behind this same interface.

#include <cstdint>
#include <deque>

#include "broker/message.h"
#include "common/assert.h"
#include "queue/types.h"

namespace qmq::broker {

class message_store {
  public:
    virtual ~message_store() = default;
    // refs are put in increasing order.
    virtual void put(queue::message_ref ref, message_ptr msg) = 0;
    // null when the ref is not (or no longer) stored.
    virtual const message_ptr* get(queue::message_ref ref) const = 0;
    virtual void remove(queue::message_ref ref) = 0;
    virtual uint64_t size() const = 0;
};

// Refs grow by one per queue command, so live messages sit in a window
// [base, base + slots): a deque of slots indexed by ref - base, trimmed from
// the front as the oldest messages go. No allocation per message beyond the
// message itself (deque blocks are reused).
class memory_store final : public message_store {
  public:
    void put(queue::message_ref ref, message_ptr msg) override {
        if (_slots.empty()) {
            _base = ref.value;
        }
        QMQ_ASSERT(ref.value >= _base + _slots.size());
        _slots.resize(ref.value - _base);
        _slots.push_back(std::move(msg));
        ++_count;
    }
    const message_ptr* get(queue::message_ref ref) const override {
        if (ref.value < _base || ref.value - _base >= _slots.size()) {
            return nullptr;
        }
        const message_ptr& p = _slots[ref.value - _base];
        return p ? &p : nullptr;
    }
    void remove(queue::message_ref ref) override {
        if (ref.value < _base || ref.value - _base >= _slots.size()) {
            return;
        }
        message_ptr& p = _slots[ref.value - _base];
        if (!p) {
            return;
        }
        p.reset();
        --_count;
        while (!_slots.empty() && !_slots.front()) {
            _slots.pop_front();
            ++_base;
        }
    }
    uint64_t size() const override { return _count; }

  private:
    std::deque<message_ptr> _slots;
    uint64_t _base = 0;
    uint64_t _count = 0;
};

}  // namespace qmq::broker
