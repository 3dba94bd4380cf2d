// Fuzzes the connection machine. The input's first byte chooses the start:
//  - 'H': a fresh machine that has only seen the protocol header, so the
//    input itself drives start-ok/secure-ok/tune-ok/open (the handshake is
//    fuzzed too, not just replayed);
//  - anything else: a copy of a machine snapshotted once after a valid
//    handshake and channel 1 open, where most of the state lives. Copying it
//    instead of replaying the handshake per input makes runs several times
//    cheaper.
// The rest is arbitrary bytes cut into feeds at points the input chooses,
// with ticks and owner calls in between. The machine must never crash, must
// report connection_closed at most once, and must produce output that parses
// as well-formed frames.

#include <cstddef>
#include <cstdint>
#include <optional>

#include "amqp/connection.h"
#include "common/assert.h"

using namespace qmq;
using namespace qmq::amqp;

namespace {

struct allow_all : authenticator {
    auth_decision login(std::string_view, std::string_view user, std::string_view, bool) override {
        return user == "guest" ? auth_decision::allow()
                               : auth_decision::refuse(reply::access_refused, "");
    }
    auth_decision open_vhost(std::string_view, std::string_view vhost) override {
        return vhost == "/" ? auth_decision::allow()
                            : auth_decision::refuse(reply::not_allowed, "no vhost");
    }
};

constexpr uint8_t mode_handshake = 'H';

connection_limits fuzz_limits() {
    connection_limits limits;
    limits.frame_max = 4096;
    limits.channel_max = 16;
    limits.message_size_max = 64 * 1024;
    return limits;
}

bytes handshake() {
    bytes b;
    byte_writer w(b);
    w.raw(protocol_header, sizeof(protocol_header));
    connection_start_ok so;
    so.client_properties.set("capabilities", field_table{{"connection.blocked", true},
                                                         {"authentication_failure_close", true}});
    so.mechanism = "PLAIN";
    so.response = std::string("\0guest\0guest", 12);
    write_method_frame(w, 0, so);
    write_method_frame(w, 0, connection_tune_ok{16, 4096, 5});
    write_method_frame(w, 0, connection_open{"/", "", false});
    write_method_frame(w, 1, channel_open{});
    return b;
}

void check_output(bytes_view out) {
    // Output is a sequence of whole frames (or the bare protocol header).
    if (out.size() == sizeof(protocol_header) && out[0] == std::byte{'A'}) {
        return;
    }
    while (!out.empty()) {
        auto p = parse_frame(out, 0);
        QMQ_ASSERT(p.status == parse_status::ok);
        if (p.frame.type == frame_method) {
            QMQ_ASSERT(decode_method(p.frame.payload).ok());
        }
        out = out.subspan(p.consumed);
    }
}

allow_all auth;

// Built once: the opened machine every other input starts from.
const connection& opened_snapshot() {
    static const connection snapshot = [] {
        connection c(auth, fuzz_limits(), true);
        auto events = c.feed(handshake(), 0);
        QMQ_ASSERT(c.opened());
        QMQ_ASSERT(c.is_channel_open(1));
        check_output(c.take_output());
        return c;
    }();
    return snapshot;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    bytes_view input(reinterpret_cast<const std::byte*>(data), size);
    std::optional<connection> machine;
    uint64_t now = 0;
    int closed = 0;
    auto count = [&](const std::vector<connection_event>& events) {
        for (const auto& e : events) {
            QMQ_ASSERT(closed == 0);  // nothing after connection_closed
            if (std::holds_alternative<connection_closed>(e)) {
                ++closed;
            }
        }
    };
    if (!input.empty() && std::to_integer<uint8_t>(input[0]) == mode_handshake) {
        input = input.subspan(1);
        machine.emplace(auth, fuzz_limits(), true);
        count(machine->feed(bytes_view(reinterpret_cast<const std::byte*>(protocol_header),
                                       sizeof(protocol_header)),
                            now));
        check_output(machine->take_output());
    } else {
        machine.emplace(opened_snapshot());
    }
    connection& c = *machine;

    while (!input.empty()) {
        // One control byte: low 6 bits + 1 = chunk length, top bits = tick.
        auto ctl = std::to_integer<uint8_t>(input[0]);
        input = input.subspan(1);
        std::size_t n = std::min<std::size_t>((ctl & 0x3F) + 1, input.size());
        count(c.feed(input.first(n), now));
        input = input.subspan(n);
        if ((ctl & 0xC0) == 0xC0) {
            now += 3000;
            count(c.tick(now));
        }
        if ((ctl & 0xC0) == 0x80 && c.opened()) {
            // The owner acts too: a delivery, a channel close, blocking.
            content body;
            body.body.assign(5000, std::byte{'x'});
            c.send(1, basic_deliver{"t", 1, false, "", "q"}, &body);
            c.close_channel(2, 406, "x");
            c.set_blocked((ctl & 1) != 0, "mem");
        }
        check_output(c.take_output());
    }
    QMQ_ASSERT(closed <= 1);
    return 0;
}
