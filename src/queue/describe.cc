#include "queue/describe.h"

#include <sstream>

namespace qmq::queue {

namespace {

const char* name(dead_letter_reason r) {
    switch (r) {
        case dead_letter_reason::rejected:
            return "rejected";
        case dead_letter_reason::expired:
            return "expired";
        case dead_letter_reason::maxlen:
            return "maxlen";
        case dead_letter_reason::delivery_limit:
            return "delivery_limit";
    }
    return "?";
}

const char* name(drop_reason r) {
    switch (r) {
        case drop_reason::rejected:
            return "rejected";
        case drop_reason::expired:
            return "expired";
        case drop_reason::maxlen:
            return "maxlen";
        case drop_reason::delivery_limit:
            return "delivery_limit";
        case drop_reason::purged:
            return "purged";
        case drop_reason::queue_deleted:
            return "queue_deleted";
    }
    return "?";
}

const char* name(enqueue_outcome o) {
    switch (o) {
        case enqueue_outcome::accepted:
            return "accepted";
        case enqueue_outcome::duplicate:
            return "duplicate";
        case enqueue_outcome::rejected:
            return "rejected";
        case enqueue_outcome::queue_deleted:
            return "queue_deleted";
    }
    return "?";
}

const char* name(status s) {
    switch (s) {
        case status::ok:
            return "ok";
        case status::unknown_consumer:
            return "unknown_consumer";
        case status::consumer_exists:
            return "consumer_exists";
        case status::exclusive_conflict:
            return "exclusive_conflict";
        case status::precondition_failed:
            return "precondition_failed";
        case status::empty:
            return "empty";
        case status::queue_deleted:
            return "queue_deleted";
    }
    return "?";
}

void refs_to(std::ostringstream& os, const std::vector<message_ref>& refs) {
    os << '[';
    for (size_t i = 0; i < refs.size(); ++i) {
        os << (i ? " " : "") << refs[i].value;
    }
    os << ']';
}

template <class... F>
struct overloaded : F... {
    using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace

std::string describe(const command& c) {
    std::ostringstream os;
    std::visit(overloaded{
                   [&](const enqueue& e) {
                       os << "enqueue publisher=" << e.publisher << " seq=" << e.publisher_seq
                          << " key=" << e.dedup_key << " size=" << e.size
                          << " priority=" << unsigned(e.priority);
                       if (e.expiration_ms) {
                           os << " expiration=" << *e.expiration_ms;
                       }
                   },
                   [&](const checkout& e) {
                       os << "checkout consumer=" << e.consumer << " owner=" << e.owner
                          << " prefetch=" << e.prefetch << " priority=" << e.priority
                          << (e.exclusive ? " exclusive" : "");
                   },
                   [&](const cancel& e) { os << "cancel consumer=" << e.consumer; },
                   [&](const settle& e) {
                       os << "settle consumer=" << e.consumer << " refs=";
                       refs_to(os, e.refs);
                   },
                   [&](const return_messages& e) {
                       os << "return consumer=" << e.consumer << " refs=";
                       refs_to(os, e.refs);
                   },
                   [&](const discard& e) {
                       os << "discard consumer=" << e.consumer << " refs=";
                       refs_to(os, e.refs);
                   },
                   [&](const credit& e) {
                       os << "credit consumer=" << e.consumer << " prefetch=" << e.prefetch;
                   },
                   [&](const dequeue& e) {
                       os << "dequeue consumer=" << e.consumer << " owner=" << e.owner
                          << (e.no_ack ? " no_ack" : "");
                   },
                   [&](const purge&) { os << "purge"; },
                   [&](const tick&) { os << "tick"; },
                   [&](const down& e) {
                       os << "down owner=" << e.owner
                          << (e.kind == down_kind::closed ? " closed" : " unreachable");
                   },
                   [&](const up& e) { os << "up owner=" << e.owner; },
                   [&](const delete_queue& e) {
                       os << "delete" << (e.if_unused ? " if_unused" : "")
                          << (e.if_empty ? " if_empty" : "");
                   },
                   [&](const touch&) { os << "touch"; },
                   [&](const dlx_settle& e) {
                       os << "dlx_settle refs=";
                       refs_to(os, e.refs);
                   },
               },
               c);
    return os.str();
}

std::string describe(const effect& e) {
    std::ostringstream os;
    std::visit(overloaded{
                   [&](const deliver& d) {
                       os << "deliver consumer=" << d.consumer << " ref=" << d.ref
                          << " count=" << d.delivery_count << (d.redelivered ? " redelivered" : "");
                   },
                   [&](const confirm& d) {
                       os << "confirm publisher=" << d.publisher << " seq=" << d.seq << ' '
                          << name(d.outcome);
                   },
                   [&](const dead_letter& d) {
                       os << "dead_letter ref=" << d.ref << ' ' << name(d.reason)
                          << " count=" << d.delivery_count;
                   },
                   [&](const dropped& d) {
                       os << "dropped " << name(d.reason) << ' ';
                       refs_to(os, d.refs);
                   },
                   [&](const consumer_cancelled& d) { os << "cancelled consumer=" << d.consumer; },
                   [&](const consumer_activated& d) { os << "activated consumer=" << d.consumer; },
                   [&](const queue_expired&) { os << "queue_expired"; },
                   [&](const release_cursor& d) {
                       os << "release_cursor index=" << d.snapshot_index << " live=";
                       refs_to(os, d.live);
                       os << (d.truncated ? " truncated" : "");
                   },
                   [&](const timer& d) {
                       os << "timer at=";
                       if (d.at_ms == time_never_ms) {
                           os << "never";
                       } else {
                           os << d.at_ms;
                       }
                   },
               },
               e);
    return os.str();
}

std::string describe(const reply& r) {
    std::ostringstream os;
    std::visit(overloaded{
                   [&](const enqueue_reply& d) { os << "enqueue " << name(d.outcome); },
                   [&](const status_reply& d) { os << name(d.code); },
                   [&](const count_reply& d) { os << name(d.code) << " count=" << d.count; },
                   [&](const dequeue_reply& d) {
                       os << "get " << name(d.code);
                       if (d.code == status::ok) {
                           os << " ref=" << d.ref << " count=" << d.delivery_count
                              << " left=" << d.message_count;
                       }
                   },
                   [&](const counts_reply& d) {
                       os << name(d.code) << " messages=" << d.message_count
                          << " consumers=" << d.consumer_count;
                   },
               },
               r);
    return os.str();
}

std::string describe(const std::vector<effect>& effects) {
    std::string out;
    for (const auto& e : effects) {
        out += out.empty() ? "" : "; ";
        out += describe(e);
    }
    return out;
}

}  // namespace qmq::queue
