#include "loadgen/client.h"

#include <amqp_tcp_socket.h>

#include <vector>

namespace qmq::bench {

namespace {

constexpr int frame_max_bytes = 131072;  // RabbitMQ's default frame_max
constexpr int channel_max = 0;           // no limit asked
constexpr int heartbeat_s = 0;           // runs are short; no heartbeat traffic
constexpr timeval rpc_timeout{30, 0};    // a broker that stops answering fails the run

std::string from_amqp(amqp_bytes_t b) {
    return std::string(static_cast<const char*>(b.bytes), b.len);
}

}  // namespace

std::string describe(const amqp_rpc_reply_t& reply) {
    switch (reply.reply_type) {
        case AMQP_RESPONSE_NORMAL:
            return "ok";
        case AMQP_RESPONSE_NONE:
            return "no reply (missing RPC reply type)";
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            return amqp_error_string2(reply.library_error);
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
                const auto* m = static_cast<amqp_connection_close_t*>(reply.reply.decoded);
                return "connection closed by broker: " + std::to_string(m->reply_code) + " " +
                       from_amqp(m->reply_text);
            }
            if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
                const auto* m = static_cast<amqp_channel_close_t*>(reply.reply.decoded);
                return "channel closed by broker: " + std::to_string(m->reply_code) + " " +
                       from_amqp(m->reply_text);
            }
            return "unexpected server method " + std::to_string(reply.reply.id);
    }
    return "unknown reply type";
}

client::~client() {
    close();
}

result<void> client::check(const std::string& what) {
    const amqp_rpc_reply_t reply = amqp_get_rpc_reply(_conn);
    if (reply.reply_type == AMQP_RESPONSE_NORMAL) {
        return ok_result();
    }
    return error{3, what + ": " + describe(reply)};
}

result<void> client::connect(const std::string& uri, const std::string& name) {
    QMQ_ASSERT(_conn == nullptr);
    std::vector<char> buf(uri.begin(), uri.end());
    buf.push_back('\0');
    amqp_connection_info info{};
    amqp_default_connection_info(&info);
    if (amqp_parse_url(buf.data(), &info) != AMQP_STATUS_OK) {
        return error{2, "bad URI '" + uri + "'"};
    }
    if (info.ssl) {
        return error{2, "amqps URIs are not supported by quorummq-bench"};
    }
    _conn = amqp_new_connection();
    timeval tv = rpc_timeout;
    amqp_set_rpc_timeout(_conn, &tv);
    amqp_set_handshake_timeout(_conn, &tv);
    amqp_socket_t* socket = amqp_tcp_socket_new(_conn);
    if (socket == nullptr) {
        return error{3, "cannot create a socket"};
    }
    const std::string where = std::string(info.host) + ":" + std::to_string(info.port);
    if (int rc = amqp_socket_open(socket, info.host, info.port); rc != AMQP_STATUS_OK) {
        return error{3, "cannot connect to " + where + ": " + amqp_error_string2(rc)};
    }
    amqp_table_entry_t props[1];
    props[0].key = amqp_cstring_bytes("connection_name");
    props[0].value.kind = AMQP_FIELD_KIND_UTF8;
    props[0].value.value.bytes = to_amqp(name);
    amqp_table_t client_props{1, props};
    const amqp_rpc_reply_t login =
        amqp_login_with_properties(_conn, info.vhost, channel_max, frame_max_bytes, heartbeat_s,
                                   &client_props, AMQP_SASL_METHOD_PLAIN, info.user, info.password);
    if (login.reply_type != AMQP_RESPONSE_NORMAL) {
        return error{3, "login to " + where + " failed: " + describe(login)};
    }
    amqp_channel_open(_conn, bench_channel);
    if (auto r = check("channel.open on " + where); !r) {
        return r;
    }
    _open = true;
    return ok_result();
}

void client::close() {
    if (_conn == nullptr) {
        return;
    }
    if (_open) {
        amqp_channel_close(_conn, bench_channel, AMQP_REPLY_SUCCESS);
        amqp_connection_close(_conn, AMQP_REPLY_SUCCESS);
        _open = false;
    }
    amqp_destroy_connection(_conn);
    _conn = nullptr;
}

}  // namespace qmq::bench
