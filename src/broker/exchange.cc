#include "broker/exchange.h"

#include <algorithm>

#include "common/assert.h"

namespace qmq::broker {

std::optional<exchange_type> parse_exchange_type(std::string_view name) {
    if (name == "direct")
        return exchange_type::direct;
    if (name == "fanout")
        return exchange_type::fanout;
    if (name == "topic")
        return exchange_type::topic;
    if (name == "headers")
        return exchange_type::headers;
    return std::nullopt;
}

std::string_view exchange_type_name(exchange_type t) {
    switch (t) {
        case exchange_type::direct:
            return "direct";
        case exchange_type::fanout:
            return "fanout";
        case exchange_type::topic:
            return "topic";
        case exchange_type::headers:
            return "headers";
    }
    return "?";
}

exchange::exchange(std::string name, exchange_settings settings)
    : _name(std::move(name)), _settings(std::move(settings)) {}

const std::string* exchange::alternate_exchange() const {
    return _settings.arguments.get_string("alternate-exchange");
}

std::string exchange::canonical_args(const amqp::field_table& args) {
    if (args.empty()) {
        return {};
    }
    // RabbitMQ compares binding arguments as sorted tables.
    amqp::field_table sorted = args;
    std::sort(sorted.entries().begin(), sorted.entries().end(),
              [](const amqp::field_entry& a, const amqp::field_entry& b) { return a.key < b.key; });
    bytes out;
    byte_writer w(out);
    amqp::encode_table(w, sorted);
    return std::string(as_string_view(out));
}

bool exchange::has_same_dest_key(const destination& dest, std::string_view key) const {
    auto it = _bindings.lower_bound(binding_id{dest, std::string(key), std::string()});
    return it != _bindings.end() && std::get<0>(it->first) == dest && std::get<1>(it->first) == key;
}

bool exchange::bind(const destination& dest, std::string_view key, const amqp::field_table& args) {
    std::string args_key = canonical_args(args);
    binding_id id{dest, std::string(key), args_key};
    if (_bindings.contains(id)) {
        return false;
    }
    // Non-headers indexes ignore arguments: index (dest, key) once.
    const bool first_for_dest_key =
        _settings.type == exchange_type::headers || !has_same_dest_key(dest, key);
    _bindings.emplace(std::move(id), args);
    if (first_for_dest_key) {
        index_add(dest, key, args, args_key);
    }
    return true;
}

bool exchange::unbind(const destination& dest, std::string_view key,
                      const amqp::field_table& args) {
    const std::string args_key = canonical_args(args);
    auto it = _bindings.find(binding_id{dest, std::string(key), args_key});
    if (it == _bindings.end()) {
        return false;
    }
    _bindings.erase(it);
    if (_settings.type == exchange_type::headers || !has_same_dest_key(dest, key)) {
        index_remove(dest, key, args_key);
    }
    return true;
}

std::size_t exchange::unbind_all(const destination& dest) {
    std::size_t n = 0;
    auto it = _bindings.lower_bound(binding_id{dest, std::string(), std::string()});
    while (it != _bindings.end() && std::get<0>(it->first) == dest) {
        const std::string key = std::get<1>(it->first);
        const std::string args_key = std::get<2>(it->first);
        it = _bindings.erase(it);
        if (_settings.type == exchange_type::headers || !has_same_dest_key(dest, key)) {
            index_remove(dest, key, args_key);
        }
        ++n;
    }
    return n;
}

std::vector<binding> exchange::bindings() const {
    std::vector<binding> out;
    out.reserve(_bindings.size());
    for (const auto& [id, args] : _bindings) {
        out.push_back({std::get<0>(id), std::get<1>(id), args});
    }
    return out;
}

void exchange::index_add(const destination& dest, std::string_view key,
                         const amqp::field_table& args, const std::string& args_key) {
    switch (_settings.type) {
        case exchange_type::direct:
            _direct[std::string(key)].push_back(dest);
            break;
        case exchange_type::fanout:
            if (std::find(_fanout.begin(), _fanout.end(), dest) == _fanout.end()) {
                _fanout.push_back(dest);
            }
            break;
        case exchange_type::topic:
            _topic.add(key, dest);
            break;
        case exchange_type::headers: {
            auto mode = parse_x_match(args);
            _headers.push_back({dest, args, mode.ok() ? *mode : x_match::all, args_key});
            break;
        }
    }
}

void exchange::index_remove(const destination& dest, std::string_view key,
                            const std::string& args_key) {
    switch (_settings.type) {
        case exchange_type::direct: {
            auto it = _direct.find(std::string(key));
            QMQ_ASSERT(it != _direct.end());
            auto& v = it->second;
            v.erase(std::find(v.begin(), v.end(), dest));
            if (v.empty()) {
                _direct.erase(it);
            }
            break;
        }
        case exchange_type::fanout: {
            // Fanout ignores the key: keep the destination while any binding remains.
            auto any = _bindings.lower_bound(binding_id{dest, std::string(), std::string()});
            if (any == _bindings.end() || std::get<0>(any->first) != dest) {
                _fanout.erase(std::find(_fanout.begin(), _fanout.end(), dest));
            }
            break;
        }
        case exchange_type::topic: {
            const bool removed = _topic.remove(key, dest);
            QMQ_ASSERT(removed);
            break;
        }
        case exchange_type::headers: {
            auto it = std::find_if(_headers.begin(), _headers.end(), [&](const headers_rule& r) {
                return r.dest == dest && r.args_key == args_key;
            });
            QMQ_ASSERT(it != _headers.end());
            _headers.erase(it);
            break;
        }
    }
}

void exchange::route(std::string_view routing_key, const amqp::field_table* headers,
                     std::vector<const destination*>& out) const {
    switch (_settings.type) {
        case exchange_type::direct: {
            // Heterogeneous lookup is C++20 for unordered_map only with a
            // transparent hash; keys are short, a string is cheap here.
            auto it = _direct.find(std::string(routing_key));
            if (it != _direct.end()) {
                for (const auto& d : it->second) {
                    out.push_back(&d);
                }
            }
            break;
        }
        case exchange_type::fanout:
            for (const auto& d : _fanout) {
                out.push_back(&d);
            }
            break;
        case exchange_type::topic:
            _topic.match(routing_key, out);
            break;
        case exchange_type::headers:
            for (const auto& r : _headers) {
                if (headers_match(r.mode, r.args, headers)) {
                    out.push_back(&r.dest);
                }
            }
            break;
    }
}

}  // namespace qmq::broker
