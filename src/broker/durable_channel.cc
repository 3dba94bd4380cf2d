// The durable half of channel_state (channel.h): publisher confirms and
// tx.commit-ok that wait for the write-ahead log.

#include "amqp/constants.h"
#include "amqp/methods.h"
#include "broker/broker.h"
#include "broker/channel.h"
#include "broker/durable_confirms.h"
#include "broker/session.h"
#include "broker/vhost.h"
#include "common/assert.h"

namespace qmq::broker {

void channel_state::defer_confirm(uint64_t seq, const std::vector<durable_wait>& waits) {
    durable_engine* engine = vh().owner().durable();
    QMQ_ASSERT(engine != nullptr);
    if (!_durable_confirms) {
        // Lives and dies with this channel; the engine's callbacks hold weak
        // pointers to it, so `this` is alive whenever they reach it.
        _durable_confirms = std::make_shared<durable_confirms>(
            [this](uint64_t s, bool ok) { _confirms.decide(s, ok); }, [this] { flush_confirms(); });
    }
    _durable_confirms->wait(*engine, seq, waits);
}

void channel_state::defer_commit(const std::vector<durable_wait>& waits, bool failed) {
    _commits.push_back(pending_commit{++_commit_seq, waits.empty(), !failed});
    if (waits.empty()) {
        return;
    }
    durable_engine* engine = vh().owner().durable();
    QMQ_ASSERT(engine != nullptr);
    if (!_durable_commits) {
        _durable_commits = std::make_shared<durable_confirms>(
            [this](uint64_t s, bool ok) {
                for (auto& c : _commits) {
                    if (c.seq == s) {
                        c.decided = true;
                        c.ok = c.ok && ok;
                    }
                }
                // Inside on_tx_commit (already durable) it completes them.
                if (!_committing) {
                    complete_commits(false);
                }
            },
            [] {});
    }
    _durable_commits->wait(*engine, _commit_seq, waits);
}

void channel_state::complete_commits(bool inside_method) {
    while (!_commits.empty() && _commits.front().decided) {
        const bool ok = _commits.front().ok;
        _commits.pop_front();
        if (ok) {
            send(amqp::tx_commit_ok{});
            continue;
        }
        // RabbitMQ (rabbit_channel complete_tx): a transaction of which a
        // publish was nacked (a write failed, reject-publish) is a channel
        // error on tx.commit.
        const uint16_t code = amqp::reply::precondition_failed;
        std::string text = "PRECONDITION_FAILED - partial tx completion";
        if (inside_method) {
            throw channel_error{code, std::move(text), amqp::class_id::tx, 20};
        }
        // From the engine's drain: close like session::on_method would.
        // This destroys *this: nothing may follow.
        session& s = _session;
        const uint16_t number = _number;
        s.drop_channel(number);
        s.sink().close_channel(number, code, std::move(text), amqp::class_id::tx, 20);
        return;
    }
}

}  // namespace qmq::broker
