#include "broker/durable_engine.h"

#include "common/log.h"

namespace qmq::broker {

result<std::unique_ptr<durable_engine>> durable_engine::open(const std::string& dir,
                                                             std::function<void()> on_ready) {
    std::unique_ptr<durable_engine> e(new durable_engine(dir));
    storage::log_store_options opts;
    opts.dir = dir;
    opts.node_id = "quorummq";
    opts.on_durable = std::move(on_ready);
    auto log = storage::log_store::open(std::move(opts));
    if (!log) {
        return log.err();
    }
    e->_log = std::move(*log);
    for (const auto& g : e->_log->recovered()) {
        if (!g.error.empty()) {
            QMQ_LOG_ERROR("durable queue log {:016x} damaged: {}", g.group.value, g.error);
        }
    }
    return e;
}

durable_engine::~durable_engine() = default;

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

void durable_engine::drain() {
    for (const auto& n : _log->take_durable()) {
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
