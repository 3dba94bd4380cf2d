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

void log_message_store::put_unlogged(queue::message_ref ref, message_ptr msg) {
    _refs[ref.value] = slot{std::move(msg), false};
}

void log_message_store::set_durable_up_to(uint64_t index) {
    if (index > _durable_up_to) {
        _durable_up_to = index;
        trim_cache();
    }
}

uint64_t log_message_store::keep_unlogged_from(queue::message_ref ref) {
    uint64_t lost = 0;
    for (auto it = _refs.lower_bound(ref.value); it != _refs.end(); ++it) {
        slot& s = it->second;
        if (!s.on_disk) {
            continue;
        }
        s.on_disk = false;
        if (s.msg) {
            _cached_bytes -= s.msg->body_size();
        } else {
            ++lost;
        }
    }
    if (lost > 0) {
        QMQ_LOG_ERROR(
            "durable queue log {:016x}: {} bodies from {} neither in the log nor in memory",
            _group.value, lost, ref.value);
    }
    return lost;
}

void log_message_store::for_each_unlogged(
    const std::function<void(uint64_t, const message&)>& fn) const {
    for (const auto& [ref, s] : _refs) {
        if (!s.on_disk && s.msg) {
            fn(ref, *s.msg);
        }
    }
}

std::vector<uint64_t> log_message_store::logged_refs() const {
    std::vector<uint64_t> out;
    for (const auto& [ref, s] : _refs) {
        if (s.on_disk) {
            out.push_back(ref);
        }
    }
    return out;
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
    // Refs are cached in increasing order: stop at the first not yet durable.
    while (_cached_bytes > log_store_cache_bytes_max && !_cached.empty() &&
           _cached.front() <= _durable_up_to) {
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
