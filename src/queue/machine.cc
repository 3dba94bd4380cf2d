#include "queue/machine.h"

#include <utility>

#include "common/assert.h"
#include "queue/machine_steps.h"

namespace qmq::queue {

// The command handlers: each on() is one clause of apply.
struct machine : machine_steps {
    // ---- commands -------------------------------------------------------------

    void confirm_publish(const enqueue& e, enqueue_outcome outcome) {
        out.r = enqueue_reply{outcome};
        if (e.publisher_seq > 0) {
            emit(confirm{e.publisher, e.publisher_seq, outcome});
        }
    }

    void on(const enqueue& e) {
        bool by_key = s._cfg.dedup_window_ms > 0 && e.dedup_key != 0;
        if (e.publisher_seq > 0) {
            auto it = s._publisher_seq.find(e.publisher);
            if (it != s._publisher_seq.end() && e.publisher_seq <= it->second) {
                confirm_publish(e, enqueue_outcome::duplicate);
                return;
            }
            s._publisher_seq[e.publisher] = e.publisher_seq;
        }
        if (by_key) {
            evict_dedup();
            if (s._dedup_seen_ms.contains(e.dedup_key)) {
                confirm_publish(e, enqueue_outcome::duplicate);
                return;
            }
        }
        message_record msg;
        msg.ref = message_ref(m.index.value);
        msg.size = e.size;
        msg.priority = std::min(e.priority, s._cfg.max_priority);
        std::optional<uint64_t> ttl = s._cfg.message_ttl_ms;
        if (e.expiration_ms) {
            ttl = ttl ? std::min(*ttl, *e.expiration_ms) : *e.expiration_ms;
        }
        if (ttl) {
            msg.expires_at_ms = sat_add(s._now_ms, *ttl);
            if (msg.expires_at_ms == time_never_ms) {
                msg.expires_at_ms = time_never_ms - 1;  // never the "no expiry" value
            }
        }
        if (s._cfg.overflow != overflow_policy::drop_head && at_limit_for_publish()) {
            confirm_publish(e, enqueue_outcome::rejected);
            if (s._cfg.overflow == overflow_policy::reject_publish_dlx) {
                dead_letter_msg(msg, dead_letter_reason::maxlen);
            }
            return;
        }
        if (by_key) {
            s._dedup_order.push_back({e.dedup_key, s._now_ms});
            s._dedup_seen_ms[e.dedup_key] = s._now_ms;
            evict_dedup();
        }
        push_ready(msg);
        confirm_publish(e, enqueue_outcome::accepted);
        enforce_drop_head = true;
    }

    void on(const checkout& c) {
        if (s._consumers.contains(c.consumer)) {
            out.r = status_reply{status::consumer_exists};
            return;
        }
        for (const auto& [id, other] : s._consumers) {
            bool counts =
                other.kind == consumer_kind::consume && other.status != consumer_status::cancelled;
            if (counts && (c.exclusive || other.exclusive)) {
                out.r = status_reply{status::exclusive_conflict};
                return;
            }
        }
        consumer_record rec;
        rec.owner = c.owner;
        rec.prefetch = c.prefetch;
        rec.priority = c.priority;
        rec.exclusive = c.exclusive;
        rec.attach_seq = rec.service_seq = s._next_seq++;
        auto [it, inserted] = s._consumers.emplace(c.consumer, std::move(rec));
        QMQ_ASSERT(inserted);
        s._consume_count++;
        s._last_used_ms = s._now_ms;
        refresh(it->first, it->second);
        out.r = status_reply{status::ok};
    }

    void on(const cancel& c) {
        auto it = s._consumers.find(c.consumer);
        if (it == s._consumers.end() || it->second.kind != consumer_kind::consume ||
            it->second.status == consumer_status::cancelled) {
            out.r = status_reply{status::unknown_consumer};
            return;
        }
        it->second.status = consumer_status::cancelled;
        consumer_left();
        refresh(it->first, it->second);
        cleanup(it);
        out.r = status_reply{status::ok};
    }

    enum class settlement { ack, requeue, reject };

    void settle_refs(consumer_id id, const std::vector<message_ref>& refs, settlement how) {
        auto it = s._consumers.find(id);
        if (it == s._consumers.end()) {
            out.r = count_reply{status::unknown_consumer, 0};
            return;
        }
        uint64_t n = 0;
        for (message_ref ref : refs) {
            auto msg = take_checked_out(it->second, ref);
            if (!msg) {
                continue;
            }
            n++;
            if (how == settlement::requeue) {
                requeue(*msg);
            } else if (how == settlement::reject) {
                dead_letter_msg(*msg, dead_letter_reason::rejected);
            }
        }
        refresh(it->first, it->second);
        cleanup(it);
        out.r = count_reply{status::ok, n};
    }

    void on(const settle& c) { settle_refs(c.consumer, c.refs, settlement::ack); }
    void on(const return_messages& c) { settle_refs(c.consumer, c.refs, settlement::requeue); }
    void on(const discard& c) { settle_refs(c.consumer, c.refs, settlement::reject); }

    void on(const credit& c) {
        auto it = s._consumers.find(c.consumer);
        if (it == s._consumers.end() || it->second.kind != consumer_kind::consume) {
            out.r = status_reply{status::unknown_consumer};
            return;
        }
        s._service.erase(key_of(it->first, it->second));
        it->second.prefetch = c.prefetch;
        refresh(it->first, it->second);
        out.r = status_reply{status::ok};
    }

    void on(const dequeue& c) {
        auto it = s._consumers.find(c.consumer);
        if (it != s._consumers.end() && it->second.kind != consumer_kind::get) {
            out.r = dequeue_reply{status::consumer_exists};
            return;
        }
        s._last_used_ms = s._now_ms;
        auto next = take_next();
        if (!next) {
            out.r = dequeue_reply{status::empty};
            return;
        }
        expose_next(next->second);
        const message_record* msg = &next->first;
        if (!c.no_ack) {
            if (it == s._consumers.end()) {
                consumer_record rec;
                rec.owner = c.owner;
                rec.kind = consumer_kind::get;
                rec.attach_seq = rec.service_seq = s._next_seq++;
                it = s._consumers.emplace(c.consumer, std::move(rec)).first;
            }
            auto [pos, inserted] = it->second.checked_out.emplace(msg->ref, *msg);
            QMQ_ASSERT(inserted);
            s._unacked_count++;
        }
        out.r = dequeue_reply{status::ok, msg->ref, msg->delivery_count, msg->delivery_count > 0,
                              s._ready_count};
    }

    void on(const purge&) {
        uint64_t n = s._ready_count;
        for (size_t p = s._levels.size(); p-- > 0;) {
            for (const auto& msg : s._levels[p]) {
                emit_dropped(drop_reason::purged, msg.ref);
            }
            s._levels[p].clear();
        }
        s._ready_count = 0;
        s._ready_bytes = 0;
        out.r = counts_reply{status::ok, n, s._consume_count};
    }

    void on(const tick&) { out.r = status_reply{status::ok}; }

    void on(const down& c) {
        uint64_t n = 0;
        for (auto it = s._consumers.begin(); it != s._consumers.end();) {
            consumer_record& rec = it->second;
            if (rec.owner != c.owner) {
                ++it;
                continue;
            }
            n += rec.checked_out.size();
            for (const auto& [ref, msg] : rec.checked_out) {
                requeue(msg);
            }
            s._unacked_count -= rec.checked_out.size();
            rec.checked_out.clear();
            s._service.erase(key_of(it->first, rec));
            bool counted =
                rec.kind == consumer_kind::consume && rec.status != consumer_status::cancelled;
            if (c.kind == down_kind::closed || !counted) {
                if (counted) {
                    consumer_left();
                }
                it = s._consumers.erase(it);
            } else {
                rec.status = consumer_status::unreachable;
                ++it;
            }
        }
        if (c.kind == down_kind::closed) {
            s._publisher_seq.erase(c.owner);
        }
        out.r = count_reply{status::ok, n};
    }

    void on(const up& c) {
        for (auto& [id, rec] : s._consumers) {
            if (rec.owner == c.owner && rec.status == consumer_status::unreachable) {
                rec.status = consumer_status::up;
                refresh(id, rec);
            }
        }
        out.r = status_reply{status::ok};
    }

    void on(const delete_queue& c) {
        if ((c.if_unused && s._consume_count > 0) || (c.if_empty && s._ready_count > 0)) {
            out.r = counts_reply{status::precondition_failed, s._ready_count, s._consume_count};
            return;
        }
        uint64_t n = s._ready_count;
        delete_all(false);
        out.r = counts_reply{status::ok, n, 0};
    }

    void on(const touch&) {
        s._last_used_ms = s._now_ms;
        out.r = counts_reply{status::ok, s._ready_count, s._consume_count};
    }

    void on(const dlx_settle& c) {
        uint64_t n = 0;
        for (message_ref ref : c.refs) {
            auto it = s._dlx_pending.find(ref);
            if (it == s._dlx_pending.end()) {
                continue;
            }
            if (it->second.announced) {
                s._dlx_announced--;
            } else {
                s._dlx_waiting.erase(ref);
            }
            s._dlx_pending.erase(it);
            n++;
        }
        announce_waiting_dlx();
        out.r = count_reply{status::ok, n};
    }

    // ---- apply ----------------------------------------------------------------

    void reply_deleted(const command& cmd) {
        if (const auto* e = std::get_if<enqueue>(&cmd)) {
            confirm_publish(*e, enqueue_outcome::queue_deleted);
            return;
        }
        out.r = status_reply{status::queue_deleted};
    }

    bool queue_expired_now() const {
        return s._cfg.expires_ms && s._consume_count == 0 &&
               s._now_ms > sat_add(s._last_used_ms, *s._cfg.expires_ms);
    }

    void run(const command& cmd) {
        QMQ_ASSERT(m.index > s._last_index);
        s._last_index = m.index;
        s._now_ms = std::max(s._now_ms, m.leader_time_ms);  // leaders' clocks may disagree
        s._applied++;
        if (!s._deleted && queue_expired_now()) {
            delete_all(true);
        }
        if (s._deleted) {
            reply_deleted(cmd);
            return;
        }
        expire_heads();
        std::visit([this](const auto& c) { on(c); }, cmd);
        if (!s._deleted) {
            after_command();
        }
    }
};

void apply(const meta& m, const command& cmd, queue_state& state, apply_result& out) {
    out.r = status_reply{};
    out.effects.clear();
    machine{{state, out, m}}.run(cmd);
}

apply_result apply(const meta& m, const command& cmd, queue_state& state) {
    apply_result out;
    apply(m, cmd, state, out);
    return out;
}

std::vector<effect> leader_effects(const queue_state& s) {
    std::vector<effect> effects;
    if (s.is_deleted()) {
        return effects;
    }
    if (s.active_consumer()) {
        effects.push_back(consumer_activated{*s.active_consumer()});
    }
    for (const auto& [id, c] : s._consumers) {
        if (c.kind != consumer_kind::consume || c.status != consumer_status::up) {
            continue;
        }
        for (const auto& [ref, msg] : c.checked_out) {
            effects.push_back(deliver{id, ref, msg.delivery_count, msg.delivery_count > 0});
        }
    }
    for (const auto& [ref, e] : s._dlx_pending) {
        if (e.announced) {
            effects.push_back(dead_letter{ref, e.reason, e.msg.delivery_count});
        }
    }
    if (s._timer_ms != time_never_ms) {
        effects.push_back(timer{s._timer_ms});
    }
    return effects;
}

}  // namespace qmq::queue
