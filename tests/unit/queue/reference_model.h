#pragma once

// A plain reference model of the queue machine's semantics: flat vectors and
// linear scans, no incremental bookkeeping. The property test runs the same
// random command stream through it and through queue/machine.h and expects
// every reply and effect to agree. Written from the rules in
// docs/queue-machine.md, not from machine.cc.

#include <algorithm>
#include <map>
#include <optional>
#include <vector>

#include "queue/commands.h"
#include "queue/effects.h"
#include "queue/machine.h"

namespace qmq::queue::testing {

class reference_model {
  public:
    explicit reference_model(queue_config cfg, uint64_t created_ms)
        : _cfg(cfg), _now(created_ms), _last_used(created_ms) {}

    apply_result apply(const meta& m, const command& cmd) {
        _out = {};
        _out.r = status_reply{};
        _index = m.index.value;
        _now = std::max(_now, m.leader_time_ms);
        _applied++;
        if (!_deleted && _cfg.expires_ms && consumer_count() == 0 &&
            _now > sat(_last_used, *_cfg.expires_ms)) {
            delete_all(true);
        }
        if (_deleted) {
            if (const auto* e = std::get_if<enqueue>(&cmd)) {
                publish_outcome(*e, enqueue_outcome::queue_deleted);
            } else {
                _out.r = status_reply{status::queue_deleted};
            }
            return _out;
        }
        _drop_head = false;
        expire_heads();
        std::visit([this](const auto& c) { on(c); }, cmd);
        if (!_deleted) {
            finish();
        }
        return _out;
    }

    uint64_t ready_count() const { return _ready.size(); }
    uint64_t unacked_count() const {
        uint64_t n = 0;
        for (const auto& [id, c] : _consumers)
            n += c.out.size();
        return n;
    }
    uint64_t consumer_count() const {
        uint64_t n = 0;
        for (const auto& [id, c] : _consumers) {
            n += c.kind == consumer_kind::consume && c.status != consumer_status::cancelled;
        }
        return n;
    }
    uint64_t dlx_count() const { return _dlx.size(); }
    bool deleted() const { return _deleted; }

  private:
    struct msg {
        uint64_t ref;
        uint64_t expires;
        uint32_t size;
        uint32_t dc;
        uint32_t prio;
    };
    struct cons {
        uint64_t owner;
        uint32_t prefetch;
        int32_t priority;
        bool exclusive;
        consumer_kind kind;
        consumer_status status;
        uint64_t attach;
        uint64_t service;
        std::vector<msg> out;  // any order; sorted when order matters
    };

    static uint64_t sat(uint64_t a, uint64_t b) {
        return b > time_never_ms - a ? time_never_ms : a + b;
    }

    void emit(effect e) { _out.effects.push_back(std::move(e)); }
    void drop(drop_reason r, uint64_t ref) {
        if (!_out.effects.empty()) {
            if (auto* d = std::get_if<dropped>(&_out.effects.back()); d && d->reason == r) {
                d->refs.push_back(message_ref(ref));
                return;
            }
        }
        emit(dropped{r, {message_ref(ref)}});
    }
    void dead_letter_msg(const msg& x, dead_letter_reason why) {
        if (_cfg.dead_letter == dead_letter_strategy::none) {
            drop(static_cast<drop_reason>(why), x.ref);
            return;
        }
        if (_cfg.dead_letter == dead_letter_strategy::at_least_once) {
            bool room = dlx_room();
            _dlx.push_back({x, why, room});
            if (!room)
                return;  // waits for a dlx_settle to make room
        }
        emit(dead_letter{message_ref(x.ref), why, x.dc});
    }

    bool dlx_room() const {
        uint64_t announced = 0;
        for (const auto& d : _dlx)
            announced += d.announced;
        return _cfg.dlx_in_flight_max == 0 || announced < _cfg.dlx_in_flight_max;
    }

    // Index into _ready of the head of level p (lowest ref), or -1.
    int head_of(uint32_t p) const {
        int best = -1;
        for (size_t i = 0; i < _ready.size(); ++i) {
            if (_ready[i].prio == p && (best < 0 || _ready[i].ref < _ready[size_t(best)].ref)) {
                best = int(i);
            }
        }
        return best;
    }
    int next_index() const {
        for (int p = _cfg.max_priority; p >= 0; --p) {
            int h = head_of(uint32_t(p));
            if (h >= 0)
                return h;
        }
        return -1;
    }
    msg take(int i) {
        msg x = _ready[size_t(i)];
        _ready.erase(_ready.begin() + i);
        return x;
    }
    void expire_heads() {
        for (int p = _cfg.max_priority; p >= 0; --p) {
            for (int h = head_of(uint32_t(p)); h >= 0 && _now > _ready[size_t(h)].expires;
                 h = head_of(uint32_t(p))) {
                dead_letter_msg(take(h), dead_letter_reason::expired);
            }
        }
    }
    void requeue(msg x) {
        if (x.dc < delivery_count_max)
            x.dc++;
        if (_cfg.delivery_limit && x.dc > *_cfg.delivery_limit) {
            dead_letter_msg(x, dead_letter_reason::delivery_limit);
        } else {
            _ready.push_back(x);
        }
    }
    static bool room(const cons& c) { return c.prefetch == 0 || c.out.size() < c.prefetch; }
    void give(uint64_t id, cons& c, const msg& x) {
        c.out.push_back(x);
        emit(deliver{consumer_id(id), message_ref(x.ref), x.dc, x.dc > 0});
    }
    static void sort_out(std::vector<msg>& v) {
        std::sort(v.begin(), v.end(), [](const msg& a, const msg& b) { return a.ref < b.ref; });
    }
    void cleanup(uint64_t id) {
        auto it = _consumers.find(id);
        if (it != _consumers.end() && it->second.out.empty() &&
            (it->second.status == consumer_status::cancelled ||
             it->second.kind == consumer_kind::get)) {
            _consumers.erase(it);
        }
    }
    void left() {
        if (consumer_count() == 0)
            _last_used = _now;
    }

    std::optional<uint64_t> sac_best() const {
        std::optional<uint64_t> best;
        for (const auto& [id, c] : _consumers) {
            if (c.kind != consumer_kind::consume || c.status != consumer_status::up)
                continue;
            if (!best) {
                best = id;
                continue;
            }
            const cons& b = _consumers.at(*best);
            if (c.priority > b.priority || (c.priority == b.priority && c.attach < b.attach)) {
                best = id;
            }
        }
        return best;
    }

    void finish() {
        // Single active consumer selection, then expiry, then delivery.
        std::optional<uint64_t> receiver;
        if (_cfg.single_active_consumer) {
            auto best = sac_best();
            if (_active && !_consumers.contains(*_active))
                _active.reset();
            if (_active) {
                if (best == _active) {
                    receiver = _active;
                } else if (_consumers.at(*_active).out.empty()) {
                    _active.reset();
                }
            }
            if (!_active && best) {
                _active = best;
                emit(consumer_activated{consumer_id(*best)});
                receiver = best;
            }
        }
        expire_heads();
        for (;;) {
            if (next_index() < 0)
                break;
            std::optional<uint64_t> to;
            if (_cfg.single_active_consumer) {
                if (receiver && room(_consumers.at(*receiver)))
                    to = receiver;
            } else {
                for (const auto& [id, c] : _consumers) {
                    if (c.kind != consumer_kind::consume || c.status != consumer_status::up ||
                        !room(c)) {
                        continue;
                    }
                    if (!to) {
                        to = id;
                        continue;
                    }
                    const cons& b = _consumers.at(*to);
                    if (c.priority > b.priority ||
                        (c.priority == b.priority && c.service < b.service)) {
                        to = id;
                    }
                }
            }
            if (!to)
                break;
            cons& c = _consumers.at(*to);
            give(*to, c, take(next_index()));
            if (!_cfg.single_active_consumer)
                c.service = _seq++;
            expire_heads();
        }
        if (_drop_head && _cfg.overflow == overflow_policy::drop_head) {
            while ((_cfg.max_length && _ready.size() > *_cfg.max_length) ||
                   (_cfg.max_length_bytes && ready_bytes() > *_cfg.max_length_bytes)) {
                dead_letter_msg(take(next_index()), dead_letter_reason::maxlen);
                expire_heads();
            }
        }
        uint64_t next = time_never_ms;
        for (int p = _cfg.max_priority; p >= 0; --p) {
            int h = head_of(uint32_t(p));
            if (h >= 0 && _ready[size_t(h)].expires != time_never_ms) {
                next = std::min(next, sat(_ready[size_t(h)].expires, 1));
            }
        }
        if (_cfg.expires_ms && consumer_count() == 0) {
            next = std::min(next, sat(sat(_last_used, *_cfg.expires_ms), 1));
        }
        if (next != _timer) {
            _timer = next;
            emit(timer{next});
        }
        if (_applied % _cfg.release_cursor_interval == 0) {
            std::vector<message_ref> live;
            for (const auto& x : _ready)
                live.push_back(message_ref(x.ref));
            for (const auto& [id, c] : _consumers) {
                for (const auto& x : c.out)
                    live.push_back(message_ref(x.ref));
            }
            for (const auto& d : _dlx)
                live.push_back(message_ref(d.m.ref));
            std::sort(live.begin(), live.end());
            bool truncated = live.size() > release_live_max;
            if (truncated)
                live.resize(release_live_max);
            emit(release_cursor{log_index(_index), live, truncated});
        }
    }

    uint64_t ready_bytes() const {
        uint64_t b = 0;
        for (const auto& x : _ready)
            b += x.size;
        return b;
    }

    void publish_outcome(const enqueue& e, enqueue_outcome o) {
        _out.r = enqueue_reply{o};
        if (e.publisher_seq > 0)
            emit(confirm{e.publisher, e.publisher_seq, o});
    }

    void forget_old_keys() {
        std::erase_if(_dedup,
                      [&](const auto& kv) { return _now > sat(kv.second, _cfg.dedup_window_ms); });
        while (_dedup.size() > _cfg.dedup_entries_max)
            _dedup.erase(_dedup.begin());
    }

    void on(const enqueue& e) {
        bool by_key = _cfg.dedup_window_ms > 0 && e.dedup_key != 0;
        if (e.publisher_seq > 0) {
            auto it = _pub.find(e.publisher.value);
            if (it != _pub.end() && e.publisher_seq <= it->second) {
                publish_outcome(e, enqueue_outcome::duplicate);
                return;
            }
            _pub[e.publisher.value] = e.publisher_seq;
        }
        if (by_key) {
            forget_old_keys();
            for (const auto& [k, at] : _dedup) {
                if (k == e.dedup_key) {
                    publish_outcome(e, enqueue_outcome::duplicate);
                    return;
                }
            }
        }
        std::optional<uint64_t> ttl = _cfg.message_ttl_ms;
        if (e.expiration_ms)
            ttl = ttl ? std::min(*ttl, *e.expiration_ms) : *e.expiration_ms;
        uint64_t expires = ttl ? std::min(sat(_now, *ttl), time_never_ms - 1) : time_never_ms;
        msg x{_index, expires, e.size, 0, std::min<uint32_t>(e.priority, _cfg.max_priority)};
        bool full = (_cfg.max_length && _ready.size() >= *_cfg.max_length) ||
                    (_cfg.max_length_bytes && ready_bytes() >= *_cfg.max_length_bytes);
        if (_cfg.overflow != overflow_policy::drop_head && full) {
            publish_outcome(e, enqueue_outcome::rejected);
            if (_cfg.overflow == overflow_policy::reject_publish_dlx) {
                dead_letter_msg(x, dead_letter_reason::maxlen);
            }
            return;
        }
        if (by_key) {
            _dedup.push_back({e.dedup_key, _now});
            forget_old_keys();
        }
        _ready.push_back(x);
        publish_outcome(e, enqueue_outcome::accepted);
        _drop_head = true;
    }

    void on(const checkout& c) {
        if (_consumers.contains(c.consumer.value)) {
            _out.r = status_reply{status::consumer_exists};
            return;
        }
        for (const auto& [id, o] : _consumers) {
            if (o.kind == consumer_kind::consume && o.status != consumer_status::cancelled &&
                (c.exclusive || o.exclusive)) {
                _out.r = status_reply{status::exclusive_conflict};
                return;
            }
        }
        uint64_t seq = _seq++;
        _consumers[c.consumer.value] =
            cons{c.owner.value,       c.prefetch, c.priority, c.exclusive, consumer_kind::consume,
                 consumer_status::up, seq,        seq,        {}};
        _last_used = _now;
        _out.r = status_reply{status::ok};
    }

    void on(const cancel& c) {
        auto it = _consumers.find(c.consumer.value);
        if (it == _consumers.end() || it->second.kind != consumer_kind::consume ||
            it->second.status == consumer_status::cancelled) {
            _out.r = status_reply{status::unknown_consumer};
            return;
        }
        it->second.status = consumer_status::cancelled;
        left();
        cleanup(c.consumer.value);
        _out.r = status_reply{status::ok};
    }

    template <typename F>
    void settle_each(consumer_id id, const std::vector<message_ref>& refs, F f) {
        auto it = _consumers.find(id.value);
        if (it == _consumers.end()) {
            _out.r = count_reply{status::unknown_consumer, 0};
            return;
        }
        uint64_t n = 0;
        for (message_ref r : refs) {
            auto& out = it->second.out;
            auto pos = std::find_if(out.begin(), out.end(),
                                    [&](const msg& x) { return x.ref == r.value; });
            if (pos == out.end())
                continue;
            msg x = *pos;
            out.erase(pos);
            n++;
            f(x);
        }
        cleanup(id.value);
        _out.r = count_reply{status::ok, n};
    }
    void on(const settle& c) {
        settle_each(c.consumer, c.refs, [](const msg&) {});
    }
    void on(const return_messages& c) {
        settle_each(c.consumer, c.refs, [this](const msg& x) { requeue(x); });
    }
    void on(const discard& c) {
        settle_each(c.consumer, c.refs,
                    [this](const msg& x) { dead_letter_msg(x, dead_letter_reason::rejected); });
    }

    void on(const credit& c) {
        auto it = _consumers.find(c.consumer.value);
        if (it == _consumers.end() || it->second.kind != consumer_kind::consume) {
            _out.r = status_reply{status::unknown_consumer};
            return;
        }
        it->second.prefetch = c.prefetch;
        _out.r = status_reply{status::ok};
    }

    void on(const dequeue& c) {
        auto it = _consumers.find(c.consumer.value);
        if (it != _consumers.end() && it->second.kind != consumer_kind::get) {
            _out.r = dequeue_reply{status::consumer_exists};
            return;
        }
        _last_used = _now;
        int i = next_index();
        if (i < 0) {
            _out.r = dequeue_reply{status::empty};
            return;
        }
        msg x = take(i);
        expire_heads();
        if (!c.no_ack) {
            if (it == _consumers.end()) {
                uint64_t seq = _seq++;
                it = _consumers
                         .emplace(c.consumer.value, cons{c.owner.value,
                                                         0,
                                                         0,
                                                         false,
                                                         consumer_kind::get,
                                                         consumer_status::up,
                                                         seq,
                                                         seq,
                                                         {}})
                         .first;
            }
            it->second.out.push_back(x);
        }
        _out.r = dequeue_reply{status::ok, message_ref(x.ref), x.dc, x.dc > 0, _ready.size()};
    }

    std::vector<msg> ready_in_order() const {
        std::vector<msg> v = _ready;
        std::sort(v.begin(), v.end(), [](const msg& a, const msg& b) {
            return a.prio != b.prio ? a.prio > b.prio : a.ref < b.ref;
        });
        return v;
    }

    void on(const purge&) {
        uint64_t n = _ready.size();
        for (const auto& x : ready_in_order())
            drop(drop_reason::purged, x.ref);
        _ready.clear();
        _out.r = counts_reply{status::ok, n, consumer_count()};
    }

    void on(const tick&) { _out.r = status_reply{status::ok}; }

    void on(const down& c) {
        uint64_t n = 0;
        std::vector<uint64_t> gone;
        for (auto& [id, rec] : _consumers) {
            if (rec.owner != c.owner.value)
                continue;
            sort_out(rec.out);
            n += rec.out.size();
            for (const auto& x : rec.out)
                requeue(x);
            rec.out.clear();
            bool counted =
                rec.kind == consumer_kind::consume && rec.status != consumer_status::cancelled;
            if (c.kind == down_kind::closed || !counted) {
                gone.push_back(id);
            } else {
                rec.status = consumer_status::unreachable;
            }
        }
        for (uint64_t id : gone) {
            bool counted = _consumers.at(id).kind == consumer_kind::consume &&
                           _consumers.at(id).status != consumer_status::cancelled;
            _consumers.erase(id);
            if (counted)
                left();
        }
        if (c.kind == down_kind::closed)
            _pub.erase(c.owner.value);
        _out.r = count_reply{status::ok, n};
    }

    void on(const up& c) {
        for (auto& [id, rec] : _consumers) {
            if (rec.owner == c.owner.value && rec.status == consumer_status::unreachable) {
                rec.status = consumer_status::up;
            }
        }
        _out.r = status_reply{status::ok};
    }

    void delete_all(bool expired) {
        for (const auto& [id, c] : _consumers) {
            if (c.kind == consumer_kind::consume && c.status != consumer_status::cancelled) {
                emit(consumer_cancelled{consumer_id(id)});
            }
        }
        for (const auto& x : ready_in_order())
            drop(drop_reason::queue_deleted, x.ref);
        for (auto& [id, c] : _consumers) {
            sort_out(c.out);
            for (const auto& x : c.out)
                drop(drop_reason::queue_deleted, x.ref);
        }
        std::vector<uint64_t> dl;
        for (const auto& d : _dlx)
            dl.push_back(d.m.ref);
        std::sort(dl.begin(), dl.end());
        for (uint64_t r : dl)
            drop(drop_reason::queue_deleted, r);
        _ready.clear();
        _consumers.clear();
        _dlx.clear();
        _pub.clear();
        _dedup.clear();
        _active.reset();
        _deleted = true;
        if (expired)
            emit(queue_expired{});
        if (_timer != time_never_ms) {
            _timer = time_never_ms;
            emit(timer{time_never_ms});
        }
    }

    void on(const delete_queue& c) {
        if ((c.if_unused && consumer_count() > 0) || (c.if_empty && !_ready.empty())) {
            _out.r = counts_reply{status::precondition_failed, _ready.size(), consumer_count()};
            return;
        }
        uint64_t n = _ready.size();
        delete_all(false);
        _out.r = counts_reply{status::ok, n, 0};
    }

    void on(const touch&) {
        _last_used = _now;
        _out.r = counts_reply{status::ok, _ready.size(), consumer_count()};
    }

    void on(const dlx_settle& c) {
        uint64_t n = 0;
        for (message_ref r : c.refs) {
            n += std::erase_if(_dlx, [&](const dlx& e) { return e.m.ref == r.value; });
        }
        // Announce waiting ones, lowest ref first, while there is room.
        for (;;) {
            dlx* next = nullptr;
            for (auto& d : _dlx) {
                if (!d.announced && (!next || d.m.ref < next->m.ref))
                    next = &d;
            }
            if (!next || !dlx_room())
                break;
            next->announced = true;
            emit(dead_letter{message_ref(next->m.ref), next->why, next->m.dc});
        }
        _out.r = count_reply{status::ok, n};
    }

    queue_config _cfg;
    uint64_t _now;
    uint64_t _last_used;
    uint64_t _index = 0;
    uint64_t _applied = 0;
    uint64_t _timer = time_never_ms;
    uint64_t _seq = 1;
    bool _deleted = false;
    bool _drop_head = false;
    std::vector<msg> _ready;
    std::map<uint64_t, cons> _consumers;
    std::optional<uint64_t> _active;
    struct dlx {
        msg m;
        dead_letter_reason why;
        bool announced;
    };
    std::vector<dlx> _dlx;
    std::map<uint64_t, uint64_t> _pub;
    std::vector<std::pair<uint64_t, uint64_t>> _dedup;
    apply_result _out;
};

}  // namespace qmq::queue::testing
