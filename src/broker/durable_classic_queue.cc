// The durable half of classic_queue (classic_queue.h): opening and replaying
// its log, and appending each applied command to it.

#include "broker/broker.h"
#include "broker/classic_queue.h"
#include "broker/durable_engine.h"
#include "broker/vhost.h"
#include "common/log.h"

namespace qmq::broker {

void classic_queue::open_durable(durable_engine& engine) {
    const auto group = durable_engine::group_for(_vhost.name(), _name);
    auto store = std::make_unique<log_message_store>(engine.log(), group);
    auto dq = std::make_unique<durable_queue>(engine, group);
    queue::queue_state state = _state;
    auto rec = dq->recover(state, *store);
    if (!rec) {
        // A damaged log must not take the node down: the queue starts empty
        // and is not persisted (log_store refuses appends to the group).
        QMQ_LOG_ERROR("{}: log {:016x} not recovered, starting empty: {}", describe(), group.value,
                      rec.err().message);
        return;
    }
    _state = std::move(state);
    dq->attach(_state, *store);
    _store = std::move(store);
    _durable = std::move(dq);
    _last_index = rec->last_index;
    _last_consumer = rec->last_consumer;
    if (rec->replayed > 0 || rec->messages > 0) {
        QMQ_LOG_INFO("{}: recovered {} messages ({} commands replayed)", describe(), rec->messages,
                     rec->replayed);
    }
    // The previous run's consumers are gone: their messages come back.
    for (auto owner : rec->stale_owners) {
        (void)run(queue::down{owner, queue::down_kind::closed});
    }
    // Let the next tick re-arm the machine's timer (TTLs, x-expires).
    _timer_at_ms = 0;
}

void classic_queue::log_command(const queue::meta& m, const queue::command& cmd) {
    const message* body = nullptr;
    if (_publishing != nullptr && std::holds_alternative<queue::enqueue>(cmd) &&
        _publishing->content.properties.persistent()) {
        body = _publishing;
    }
    // A persistent publish waits for its entry; when the log refused it
    // (degraded queue) the engine answers that wait with a nack.
    _durable->append(m.index.value, m.leader_time_ms, cmd, body);
    if (body != nullptr) {
        _confirm_index = m.index.value;
    }
    // The machine's cursor fires every 4096 commands, maybe while the queue
    // was full; once it is empty, release the log behind it (gated inside
    // to one snapshot per 4096 commands; an empty state is tiny).
    if (_state.live_count() == 0 && !_state.is_deleted()) {
        _durable->on_release_cursor(queue::release_cursor{m.index, {}, false}, _state);
    }
    if (_state.is_deleted() && !_durable_deleted) {
        _durable_deleted = true;
        _durable->on_deleted(m.index.value);
    }
}

}  // namespace qmq::broker
