#pragma once

// Internal to src/queue/ (not part of the module's API): the steps every
// command is built from -- effects, the ready levels, consumers, single
// active consumer, and the work done after each command. machine.cc adds one
// handler per command on top.

#include <algorithm>
#include <optional>
#include <utility>

#include "common/assert.h"
#include "queue/machine.h"

namespace qmq::queue {

inline uint64_t sat_add(uint64_t a, uint64_t b) {
    return b > time_never_ms - a ? time_never_ms : a + b;
}

inline drop_reason to_drop(dead_letter_reason r) {
    switch (r) {
        case dead_letter_reason::rejected:
            return drop_reason::rejected;
        case dead_letter_reason::expired:
            return drop_reason::expired;
        case dead_letter_reason::maxlen:
            return drop_reason::maxlen;
        case dead_letter_reason::delivery_limit:
            return drop_reason::delivery_limit;
    }
    QMQ_UNREACHABLE();
}

// One command's worth of work on a state; apply() builds one per command.
struct machine_steps {
    queue_state& s;
    apply_result& out;
    const meta& m;
    bool enforce_drop_head = false;  // set by an accepted enqueue

    // ---- effects ----------------------------------------------------------

    void emit(effect e) { out.effects.push_back(std::move(e)); }

    void emit_dropped(drop_reason reason, message_ref ref) {
        if (!out.effects.empty()) {
            if (auto* d = std::get_if<dropped>(&out.effects.back()); d && d->reason == reason) {
                d->refs.push_back(ref);
                return;
            }
        }
        out.effects.push_back(dropped{reason, {ref}});
    }

    void dead_letter_msg(const message_record& msg, dead_letter_reason reason) {
        switch (s._cfg.dead_letter) {
            case dead_letter_strategy::none:
                emit_dropped(to_drop(reason), msg.ref);
                return;
            case dead_letter_strategy::at_most_once:
                emit(dead_letter{msg.ref, reason, msg.delivery_count});
                return;
            case dead_letter_strategy::at_least_once: {
                bool room = dlx_room();
                auto [it, inserted] = s._dlx_pending.emplace(msg.ref, dlx_entry{msg, reason, room});
                QMQ_ASSERT(inserted);
                if (room) {
                    s._dlx_announced++;
                    emit(dead_letter{msg.ref, reason, msg.delivery_count});
                } else {
                    s._dlx_waiting.insert(msg.ref);
                }
                return;
            }
        }
        QMQ_UNREACHABLE();
    }

    bool dlx_room() const {
        return s._cfg.dlx_in_flight_max == 0 || s._dlx_announced < s._cfg.dlx_in_flight_max;
    }

    // Announces waiting dead letters, oldest ref first, while there is room.
    void announce_waiting_dlx() {
        while (!s._dlx_waiting.empty() && dlx_room()) {
            message_ref ref = *s._dlx_waiting.begin();
            s._dlx_waiting.erase(s._dlx_waiting.begin());
            dlx_entry& e = s._dlx_pending.at(ref);
            QMQ_ASSERT(!e.announced);
            e.announced = true;
            s._dlx_announced++;
            emit(dead_letter{ref, e.reason, e.msg.delivery_count});
        }
    }

    // ---- ready messages -----------------------------------------------------

    bool expired(const message_record& msg) const { return s._now_ms > msg.expires_at_ms; }

    // Keeps each level sorted by ref: a returned message lands at its
    // original place, ahead of every never-delivered message of its level.
    void push_ready(const message_record& msg) {
        auto& level = s._levels[msg.priority];
        if (level.empty() || level.back().ref < msg.ref) {
            level.push_back(msg);
        } else {
            auto it =
                std::lower_bound(level.begin(), level.end(), msg.ref,
                                 [](const message_record& a, message_ref r) { return a.ref < r; });
            QMQ_ASSERT(it == level.end() || it->ref != msg.ref);
            level.insert(it, msg);
        }
        s._ready_count++;
        s._ready_bytes += msg.size;
    }

    message_record pop_front(size_t p) {
        auto& level = s._levels[p];
        QMQ_ASSERT(!level.empty());
        message_record msg = level.front();
        level.pop_front();
        s._ready_count--;
        s._ready_bytes -= msg.size;
        return msg;
    }

    // The level the next delivery comes from, or -1.
    int best_level() const {
        if (s._ready_count == 0) {
            return -1;
        }
        for (size_t p = s._levels.size(); p-- > 0;) {
            if (!s._levels[p].empty()) {
                return static_cast<int>(p);
            }
        }
        QMQ_UNREACHABLE();
    }

    // TTL is checked at the head only (as RabbitMQ does): a message behind a
    // live head waits until it reaches the head.
    void expire_head(size_t p) {
        while (!s._levels[p].empty() && expired(s._levels[p].front())) {
            dead_letter_msg(pop_front(p), dead_letter_reason::expired);
        }
    }

    void expire_heads() {
        for (size_t p = s._levels.size(); p-- > 0;) {
            expire_head(p);
        }
    }

    // Takes the next message to deliver. The caller passes it on, then calls
    // expose_next(level) so the new head is expired if due: no level ever
    // shows an expired head between steps.
    std::optional<std::pair<message_record, size_t>> take_next() {
        int p = best_level();
        if (p < 0) {
            return std::nullopt;
        }
        return std::pair{pop_front(static_cast<size_t>(p)), static_cast<size_t>(p)};
    }
    void expose_next(size_t p) { expire_head(p); }

    // A message comes back from a consumer: delivery count + 1; past
    // x-delivery-limit it is a poison message and is dead-lettered.
    void requeue(message_record msg) {
        if (msg.delivery_count < delivery_count_max) {
            msg.delivery_count = msg.delivery_count + 1;
        }
        if (s._cfg.delivery_limit && msg.delivery_count > *s._cfg.delivery_limit) {
            dead_letter_msg(msg, dead_letter_reason::delivery_limit);
            return;
        }
        push_ready(msg);
    }

    // ---- consumers ----------------------------------------------------------

    static queue_state::service_key key_of(consumer_id id, const consumer_record& c) {
        return {-static_cast<int64_t>(c.priority), c.service_seq, id};
    }

    static bool has_capacity(const consumer_record& c) {
        return c.prefetch == 0 || c.checked_out.size() < c.prefetch;
    }

    // Only non-SAC queues use the service set; SAC delivers to the active one.
    bool eligible(const consumer_record& c) const {
        return !s._cfg.single_active_consumer && c.kind == consumer_kind::consume &&
               c.status == consumer_status::up && has_capacity(c);
    }

    void refresh(consumer_id id, const consumer_record& c) {
        if (eligible(c)) {
            s._service.insert(key_of(id, c));
        } else {
            s._service.erase(key_of(id, c));
        }
    }

    // A consumer that can receive nothing more and holds nothing disappears.
    void cleanup(std::map<consumer_id, consumer_record>::iterator it) {
        const consumer_record& c = it->second;
        bool gone = c.checked_out.empty() &&
                    (c.status == consumer_status::cancelled || c.kind == consumer_kind::get);
        if (gone) {
            s._service.erase(key_of(it->first, c));
            s._consumers.erase(it);
        }
    }

    std::optional<message_record> take_checked_out(consumer_record& c, message_ref ref) {
        auto it = c.checked_out.find(ref);
        if (it == c.checked_out.end()) {
            return std::nullopt;
        }
        message_record msg = it->second;
        c.checked_out.erase(it);
        s._unacked_count--;
        return msg;
    }

    void give(consumer_id id, consumer_record& c, const message_record& msg) {
        auto [it, inserted] = c.checked_out.emplace(msg.ref, msg);
        QMQ_ASSERT(inserted);
        s._unacked_count++;
        emit(deliver{id, msg.ref, msg.delivery_count, msg.delivery_count > 0});
    }

    void consumer_left() {
        QMQ_ASSERT(s._consume_count > 0);
        s._consume_count--;
        if (s._consume_count == 0) {
            s._last_used_ms = s._now_ms;
        }
    }

    // Single active consumer: the best candidate is the highest x-priority
    // consumer that is up, earliest attached among equals. The active one
    // keeps receiving until a better one exists, is cancelled or goes down;
    // then it receives nothing more, and the hand-over happens once it holds
    // no unsettled message (a clean hand-over: the next consumer starts after
    // the last message of the previous one is settled or back in the queue).
    std::optional<consumer_id> sac_best() const {
        std::optional<consumer_id> best;
        const consumer_record* best_c = nullptr;
        for (const auto& [id, c] : s._consumers) {
            if (c.kind != consumer_kind::consume || c.status != consumer_status::up) {
                continue;
            }
            if (!best_c || c.priority > best_c->priority ||
                (c.priority == best_c->priority && c.attach_seq < best_c->attach_seq)) {
                best = id;
                best_c = &c;
            }
        }
        return best;
    }

    // Returns the consumer that may receive now, if any.
    consumer_record* sac_update() {
        std::optional<consumer_id> best = sac_best();
        if (s._active) {
            auto it = s._consumers.find(*s._active);
            if (it == s._consumers.end()) {
                s._active.reset();
            } else if (best == s._active) {
                return &it->second;
            } else if (it->second.checked_out.empty()) {
                s._active.reset();
            } else {
                return nullptr;  // draining before the hand-over
            }
        }
        if (best) {
            s._active = best;
            emit(consumer_activated{*best});
            return &s._consumers.at(*best);
        }
        return nullptr;
    }

    // ---- the steps around every command ---------------------------------------

    void deliver_ready(consumer_record* sac_receiver) {
        if (s._cfg.single_active_consumer) {
            if (!sac_receiver) {
                return;
            }
            while (s._ready_count > 0 && has_capacity(*sac_receiver)) {
                auto [msg, p] = *take_next();
                give(*s._active, *sac_receiver, msg);
                expose_next(p);
            }
            return;
        }
        while (s._ready_count > 0 && !s._service.empty()) {
            // The set node is reused for the consumer's next place (no allocation).
            auto node = s._service.extract(s._service.begin());
            consumer_id id = std::get<2>(node.value());
            consumer_record& c = s._consumers.at(id);
            auto [msg, p] = *take_next();
            give(id, c, msg);
            expose_next(p);
            // Round-robin: to the back of its priority band.
            c.service_seq = s._next_seq++;
            if (eligible(c)) {
                node.value() = key_of(id, c);
                s._service.insert(std::move(node));
            }
        }
    }

    bool over_max_length() const {
        return (s._cfg.max_length && s._ready_count > *s._cfg.max_length) ||
               (s._cfg.max_length_bytes && s._ready_bytes > *s._cfg.max_length_bytes);
    }

    bool at_limit_for_publish() const {
        return (s._cfg.max_length && s._ready_count >= *s._cfg.max_length) ||
               (s._cfg.max_length_bytes && s._ready_bytes >= *s._cfg.max_length_bytes);
    }

    uint64_t next_deadline_ms() const {
        uint64_t next = time_never_ms;
        for (const auto& level : s._levels) {
            if (!level.empty() && level.front().expires_at_ms != time_never_ms) {
                next = std::min(next, sat_add(level.front().expires_at_ms, 1));
            }
        }
        if (s._cfg.expires_ms && s._consume_count == 0) {
            next = std::min(next, sat_add(sat_add(s._last_used_ms, *s._cfg.expires_ms), 1));
        }
        return next;
    }

    void release_cursor_effect() {
        // Each source is sorted by ref; take the first release_live_max of each
        // and merge.
        std::vector<message_ref> live;
        auto take = [&live](auto begin, auto end, auto ref_of) {
            uint32_t n = 0;
            for (auto it = begin; it != end && n < release_live_max; ++it, ++n) {
                live.push_back(ref_of(*it));
            }
        };
        for (const auto& level : s._levels) {
            take(level.begin(), level.end(), [](const message_record& r) { return r.ref; });
        }
        for (const auto& [id, c] : s._consumers) {
            take(c.checked_out.begin(), c.checked_out.end(),
                 [](const auto& kv) { return kv.first; });
        }
        take(s._dlx_pending.begin(), s._dlx_pending.end(), [](const auto& kv) { return kv.first; });
        std::sort(live.begin(), live.end());
        if (live.size() > release_live_max) {
            live.resize(release_live_max);
        }
        bool truncated = live.size() < s.live_count();
        emit(release_cursor{m.index, std::move(live), truncated});
    }

    void after_command() {
        consumer_record* sac_receiver = nullptr;
        if (s._cfg.single_active_consumer) {
            sac_receiver = sac_update();
        }
        expire_heads();
        deliver_ready(sac_receiver);
        if (enforce_drop_head && s._cfg.overflow == overflow_policy::drop_head) {
            while (over_max_length()) {
                auto [msg, p] = *take_next();
                dead_letter_msg(msg, dead_letter_reason::maxlen);
                expose_next(p);
            }
        }
        uint64_t next = next_deadline_ms();
        if (next != s._timer_ms) {
            s._timer_ms = next;
            emit(timer{next});
        }
        if (s._applied % s._cfg.release_cursor_interval == 0) {
            release_cursor_effect();
        }
    }

    // Deletes everything; consumers are told with basic.cancel.
    void delete_all(bool expired_itself) {
        for (const auto& [id, c] : s._consumers) {
            if (c.kind == consumer_kind::consume && c.status != consumer_status::cancelled) {
                emit(consumer_cancelled{id});
            }
        }
        for (size_t p = s._levels.size(); p-- > 0;) {
            for (const auto& msg : s._levels[p]) {
                emit_dropped(drop_reason::queue_deleted, msg.ref);
            }
            s._levels[p].clear();
        }
        for (const auto& [id, c] : s._consumers) {
            for (const auto& [ref, msg] : c.checked_out) {
                emit_dropped(drop_reason::queue_deleted, ref);
            }
        }
        for (const auto& [ref, e] : s._dlx_pending) {
            emit_dropped(drop_reason::queue_deleted, ref);
        }
        s._consumers.clear();
        s._service.clear();
        s._dlx_pending.clear();
        s._dlx_waiting.clear();
        s._dlx_announced = 0;
        s._publisher_seq.clear();
        s._dedup_order.clear();
        s._dedup_seen_ms.clear();
        s._active.reset();
        s._ready_count = s._ready_bytes = s._unacked_count = s._consume_count = 0;
        s._deleted = true;
        if (expired_itself) {
            emit(queue_expired{});
        }
        if (s._timer_ms != time_never_ms) {
            s._timer_ms = time_never_ms;
            emit(timer{time_never_ms});
        }
    }

    // ---- deduplication --------------------------------------------------------

    void evict_dedup() {
        while (!s._dedup_order.empty()) {
            const auto& e = s._dedup_order.front();
            bool old = s._now_ms > sat_add(e.at_ms, s._cfg.dedup_window_ms);
            if (!old && s._dedup_order.size() <= s._cfg.dedup_entries_max) {
                break;
            }
            auto it = s._dedup_seen_ms.find(e.key);
            if (it != s._dedup_seen_ms.end() && it->second == e.at_ms) {
                s._dedup_seen_ms.erase(it);
            }
            s._dedup_order.pop_front();
        }
    }
};

}  // namespace qmq::queue
