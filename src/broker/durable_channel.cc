// The durable half of channel_state (channel.h): publisher confirms that
// wait for the write-ahead log.

#include "amqp/methods.h"
#include "broker/broker.h"
#include "broker/channel.h"
#include "broker/durable_confirms.h"
#include "broker/vhost.h"
#include "common/assert.h"

namespace qmq::broker {

void channel_state::defer_confirm(const std::vector<durable_wait>& waits) {
    durable_engine* engine = vh().owner().durable();
    QMQ_ASSERT(engine != nullptr);
    if (!_durable_confirms) {
        // The confirms object lives and dies with this channel.
        _durable_confirms = std::make_shared<durable_confirms>([this](uint64_t seq, bool ok) {
            if (ok) {
                send(amqp::basic_ack{seq, false});
            } else {
                send(amqp::basic_nack{seq, false, false});
            }
        });
    }
    _durable_confirms->wait(*engine, _publish_seq, waits);
}

}  // namespace qmq::broker
