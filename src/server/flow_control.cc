#include "server/flow_control.h"

#include "broker/broker.h"
#include "broker/classic_queue.h"
#include "broker/vhost.h"

namespace qmq::server {

bool flow_control::over_high(const broker::classic_queue& q, uint64_t now_ms) const {
    if (!enabled() || q.consumer_count() == 0 || q.message_count() <= _settings.ready_high) {
        return false;
    }
    auto it = _exempt_until.find(q.id());
    return it == _exempt_until.end() || now_ms >= it->second;
}

void flow_control::wait(std::weak_ptr<flow_waiter> w, flow_queue_ref q, uint64_t now_ms) {
    uint64_t ready = 0;
    if (auto* queue = find(q)) {
        ready = queue->message_count();
    }
    ++_pauses;
    _waiters.push_back(waiter{std::move(w), std::move(q), ready, now_ms});
}

broker::classic_queue* flow_control::find(const flow_queue_ref& q) const {
    broker::vhost* vh = _broker.find_vhost(q.vhost);
    return vh ? vh->find_queue_by_id(q.queue_id) : nullptr;
}

bool flow_control::released(waiter& w, uint64_t now_ms) {
    if (w.w.expired()) {
        return true;
    }
    broker::classic_queue* q = find(w.q);
    if (q == nullptr || q->consumer_count() == 0 || q->message_count() < _settings.ready_low()) {
        return true;
    }
    const uint64_t ready = q->message_count();
    if (ready < w.last_ready) {
        w.last_progress_ms = now_ms;
    }
    w.last_ready = ready;
    if (now_ms - w.last_progress_ms >= _settings.stall_ms) {
        // Its consumers take nothing: waiting longer would starve the
        // publisher. Let the queue fill for a while, as if unconsumed.
        ++_stalls;
        _exempt_until[q->id()] = now_ms + _settings.stall_exempt_ms;
        return true;
    }
    return false;
}

void flow_control::poll(uint64_t now_ms) {
    if (_waiters.empty() || _polling) {
        return;
    }
    _polling = true;
    std::vector<std::weak_ptr<flow_waiter>> resume;
    std::erase_if(_waiters, [&](waiter& w) {
        if (!released(w, now_ms)) {
            return false;
        }
        resume.push_back(std::move(w.w));
        return true;
    });
    if (_waiters.empty()) {
        std::erase_if(_exempt_until, [&](const auto& e) { return now_ms >= e.second; });
    }
    _polling = false;
    for (auto& w : resume) {
        if (auto p = w.lock()) {
            p->flow_resume();
        }
    }
}

}  // namespace qmq::server
