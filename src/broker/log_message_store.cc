#include "broker/log_message_store.h"

#include "broker/durable_entry.h"
#include "common/log.h"

namespace qmq::broker {

void log_message_store::put(queue::message_ref ref, message_ptr msg) {
    const bool persistent = msg->content.properties.persistent();
    if (persistent) {
        _cached.push_back(ref.value);
        _cached_bytes += msg->body_size();
    }
    _refs[ref.value] = slot{std::move(msg), persistent};
    trim_cache();
}

void log_message_store::put_on_disk(queue::message_ref ref) {
    _refs[ref.value] = slot{nullptr, true};
}

const message_ptr* log_message_store::get(queue::message_ref ref) const {
    auto it = _refs.find(ref.value);
    if (it == _refs.end()) {
        return nullptr;
    }
    if (it->second.msg) {
        return &it->second.msg;
    }
    auto entries = _log.read(_group, storage::log_index(ref.value), storage::log_index(ref.value));
    if (!entries || entries->empty() || entries->front().index.value != ref.value) {
        QMQ_LOG_ERROR("durable queue log {}: message {} unreadable: {}", _group.value, ref.value,
                      entries ? "entry missing" : entries.err().message);
        return nullptr;
    }
    auto e = decode_durable_entry(bytes_view(entries->front().payload));
    if (!e || !e->msg) {
        QMQ_LOG_ERROR("durable queue log {}: entry {} holds no message", _group.value, ref.value);
        return nullptr;
    }
    _last_read = std::move(e->msg);
    return &_last_read;
}

void log_message_store::remove(queue::message_ref ref) {
    auto it = _refs.find(ref.value);
    if (it == _refs.end()) {
        return;
    }
    if (it->second.msg && it->second.on_disk) {
        _cached_bytes -= it->second.msg->body_size();
    }
    _refs.erase(it);
    // Stale entries of _cached are skipped by trim_cache().
    while (!_cached.empty() && !_refs.contains(_cached.front())) {
        _cached.pop_front();
    }
}

void log_message_store::trim_cache() {
    while (_cached_bytes > log_store_cache_bytes_max && !_cached.empty()) {
        const uint64_t ref = _cached.front();
        _cached.pop_front();
        auto it = _refs.find(ref);
        if (it != _refs.end() && it->second.msg && it->second.on_disk) {
            _cached_bytes -= it->second.msg->body_size();
            it->second.msg.reset();
        }
    }
}

}  // namespace qmq::broker
