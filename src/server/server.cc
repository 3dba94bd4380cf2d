#include "server/server.h"

#include <fmt/format.h>

#include <csignal>

#include "common/log.h"
#include "server/client_connection.h"
#include "server/clock.h"

namespace qmq::server {

namespace {

amqp::connection_limits limits_from(const server_config& c) {
    amqp::connection_limits l;
    l.channel_max = c.channel_max;
    l.frame_max = c.frame_max;
    l.heartbeat_s = c.heartbeat_s;
    l.message_size_max = c.message_size_max;
    return l;
}

}  // namespace

server::server(const server_config& config, broker::config broker_config,
               uint64_t memory_high_watermark_bytes)
    : _config(config),
      _broker(std::make_unique<broker::broker>(std::move(broker_config))),
      _flow(std::make_unique<flow_control>(*_broker,
                                           flow_settings{.ready_high = config.flow_ready_high})),
      _hub{*_broker, limits_from(config), amqp::server_info{}, config.connections_max,
           [this](uint64_t id) { on_connection_done(id); }},
      _acceptor(_io),
      _signals(_io, SIGINT, SIGTERM),
      _tick_timer(_io),
      _alarms(resource_limits{memory_high_watermark_bytes, config.disk_free_limit_bytes}) {
    _hub.info.cluster_name = config.node_id;
    _hub.flow = _flow.get();
}

server::~server() {
    // Sessions refer to the broker: end them all before it goes.
    for (auto& [id, conn] : std::map(_connections)) {
        conn->abort("server destroyed");
    }
    _connections.clear();
}

result<void> server::listen() {
    // Durable notices arrive on the WAL writer thread: drain them on the loop.
    auto durable = broker::durable_engine::open(
        _config.data_dir, [this] { asio::post(_io, [this] { _durable->drain(); }); });
    if (!durable) {
        return error{durable.err().code, fmt::format("cannot open the message store in '{}': {}",
                                                     _config.data_dir, durable.err().message)};
    }
    _durable = std::move(*durable);
    _broker->set_durable(_durable.get());
    if (auto r = _durable->load_metadata(*_broker); !r) {
        return error{r.err().code, fmt::format("cannot restore durable metadata in '{}': {}",
                                               _config.data_dir, r.err().message)};
    }
    std::error_code ec;
    const auto address = asio::ip::make_address(_config.amqp_listen.host, ec);
    if (ec) {
        return error{ec.value(),
                     fmt::format("bad --amqp-listen {}: '{}' is not an IP address",
                                 _config.amqp_listen.to_string(), _config.amqp_listen.host)};
    }
    const asio::ip::tcp::endpoint ep(address, _config.amqp_listen.port);
    _acceptor.open(ep.protocol(), ec);
    if (!ec) {
        _acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    }
    if (!ec) {
        _acceptor.bind(ep, ec);
    }
    if (!ec) {
        _acceptor.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        return error{ec.value(), fmt::format("cannot listen for AMQP on {}: {}",
                                             _config.amqp_listen.to_string(), ec.message())};
    }
    return {};
}

endpoint server::amqp_endpoint() const {
    std::error_code ec;
    const auto ep = _acceptor.local_endpoint(ec);
    return endpoint{ep.address().to_string(), ep.port()};
}

void server::run() {
    QMQ_LOG_INFO("AMQP listener on {}", amqp_endpoint().to_string());
    accept_next();
    _signals.async_wait([this](const std::error_code& ec, int signal) {
        if (!ec) {
            on_signal(signal);
        }
    });
    check_resources();
    _tick_timer.expires_after(std::chrono::milliseconds(tick_interval_ms));
    _tick_timer.async_wait([this](const std::error_code& ec) {
        if (!ec) {
            on_tick();
        }
    });
    _io.run();
}

void server::accept_next() {
    _acceptor.async_accept([this](const std::error_code& ec, asio::ip::tcp::socket socket) {
        if (_shutting_down) {
            return;
        }
        if (ec) {
            // EMFILE and friends: log, and keep accepting; the socket is lost.
            QMQ_LOG_WARN("accept failed: {}", ec.message());
        } else {
            const std::size_t open = _connections.size();
            if (open >= _config.connections_max + connections_over_limit_slack) {
                QMQ_LOG_WARN("connection from {} dropped: {} connections open",
                             socket.remote_endpoint().address().to_string(), open);
                std::error_code ignored;
                socket.close(ignored);
            } else {
                const uint64_t id = _next_connection_id++;
                auto conn = std::make_shared<client_connection>(_hub, std::move(socket), id,
                                                                open >= _config.connections_max);
                _connections.emplace(id, conn);
                conn->start();
                if (_alarms.any()) {
                    conn->on_alarm(true, _alarm_reason);
                }
            }
        }
        accept_next();
    });
}

void server::on_tick() {
    const uint64_t now = monotonic_ms();
    _broker->tick(wall_clock_ms());
    // Auto-delete and x-expires change durable metadata outside any method.
    if (_durable) {
        _durable->save_metadata_if_changed(*_broker);
    }
    // Copy: a tick may finish a connection, which erases it from the map
    // (deferred through post, but keep the loop independent of that).
    std::vector<std::shared_ptr<client_connection>> conns;
    conns.reserve(_connections.size());
    for (auto& [id, conn] : _connections) {
        conns.push_back(conn);
    }
    for (auto& conn : conns) {
        conn->tick(now);
    }
    // Stalled consumers and deleted queues release publishers even when no
    // connection reads anything.
    _flow->poll(now);
    if (now - _last_alarm_check_ms >= alarm_check_interval_ms) {
        check_resources();
    }
    if (_shutting_down) {
        maybe_finish_shutdown();
        if (_io.stopped()) {
            return;
        }
    }
    _tick_timer.expires_after(std::chrono::milliseconds(tick_interval_ms));
    _tick_timer.async_wait([this](const std::error_code& ec) {
        if (!ec) {
            on_tick();
        }
    });
}

void server::check_resources() {
    _last_alarm_check_ms = monotonic_ms();
    const resource_readings readings{read_rss_bytes(), read_disk_free_bytes(_config.data_dir),
                                     _durable ? _durable->writes_refused() : std::nullopt};
    const bool before = _alarms.any();
    for (const auto& change : _alarms.update(readings)) {
        if (change.raised) {
            QMQ_LOG_WARN("{}", change.text);
        } else {
            QMQ_LOG_INFO("{}", change.text);
        }
    }
    if (_alarms.any() == before) {
        return;
    }
    _alarm_reason = _alarms.memory_alarm() && _alarms.disk_alarm() ? "low on memory and disk"
                    : _alarms.memory_alarm()                       ? "low on memory"
                                                                   : "low on disk";
    for (auto& [id, conn] : _connections) {
        conn->on_alarm(_alarms.any(), _alarm_reason);
    }
}

void server::on_signal(int signal) {
    begin_shutdown(signal == SIGTERM ? "SIGTERM" : "SIGINT");
}

void server::begin_shutdown(const std::string& reason) {
    if (_shutting_down) {
        return;
    }
    _shutting_down = true;
    _shutdown_deadline_ms = monotonic_ms() + shutdown_grace_ms;
    QMQ_LOG_INFO("shutting down on {}: closing {} connection(s) with 320 CONNECTION_FORCED", reason,
                 _connections.size());
    std::error_code ec;
    _acceptor.close(ec);
    std::vector<std::shared_ptr<client_connection>> conns;
    for (auto& [id, conn] : _connections) {
        conns.push_back(conn);
    }
    for (auto& conn : conns) {
        conn->force_close("broker forced connection closure with reason 'shutdown'");
    }
    maybe_finish_shutdown();
}

void server::maybe_finish_shutdown() {
    if (!_connections.empty() && monotonic_ms() < _shutdown_deadline_ms) {
        return;
    }
    if (!_connections.empty()) {
        QMQ_LOG_WARN("shutdown: {} connection(s) did not answer close in {} ms; dropping them",
                     _connections.size(), shutdown_grace_ms);
    }
    for (auto& [id, conn] : std::map(_connections)) {
        conn->abort("shutdown deadline passed");
    }
    _connections.clear();
    QMQ_LOG_INFO("shutdown complete");
    _io.stop();
}

void server::on_connection_done(uint64_t id) {
    _connections.erase(id);
    if (_shutting_down) {
        maybe_finish_shutdown();
    }
}

}  // namespace qmq::server
