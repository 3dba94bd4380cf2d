#pragma once

// One exchange and its bindings (those where it is the source). Routing
// returns destinations (queues and exchanges); following exchange-to-exchange
// bindings and the alternate exchange is the vhost's job (vhost.h).
//
// Indexes by type, so routing does not scan: direct -> hash map by key,
// topic -> trie, fanout -> list, headers -> list (each binding is a rule).
// A binding is identified as RabbitMQ does: (destination, key, arguments).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "amqp/field_table.h"
#include "broker/destination.h"
#include "broker/headers_match.h"
#include "broker/topic_trie.h"

namespace qmq::broker {

enum class exchange_type : uint8_t { direct, fanout, topic, headers };

std::optional<exchange_type> parse_exchange_type(std::string_view name);
std::string_view exchange_type_name(exchange_type t);

struct exchange_settings {
    exchange_type type = exchange_type::direct;
    bool durable = false;
    bool auto_delete = false;
    bool internal = false;
    amqp::field_table arguments;
};

struct binding {
    destination dest;
    std::string routing_key;
    amqp::field_table arguments;
};

class exchange {
  public:
    exchange(std::string name, exchange_settings settings);

    const std::string& name() const { return _name; }
    const exchange_settings& settings() const { return _settings; }
    exchange_type type() const { return _settings.type; }
    // The alternate-exchange argument, when set (a string).
    const std::string* alternate_exchange() const;

    // false when the binding already exists. Headers bindings must have a
    // valid x-match (checked by the caller with parse_x_match).
    bool bind(const destination& dest, std::string_view key, const amqp::field_table& args);
    // false when there was no such binding.
    bool unbind(const destination& dest, std::string_view key, const amqp::field_table& args);
    // Drops every binding to `dest` (a deleted queue or exchange); returns how many.
    std::size_t unbind_all(const destination& dest);

    std::size_t binding_count() const { return _bindings.size(); }
    std::vector<binding> bindings() const;

    // Appends matching destinations (possibly repeated; the caller dedups).
    void route(std::string_view routing_key, const amqp::field_table* headers,
               std::vector<const destination*>& out) const;

  private:
    // (destination, key, canonical encoding of the arguments)
    using binding_id = std::tuple<destination, std::string, std::string>;
    struct headers_rule {
        destination dest;
        amqp::field_table args;
        x_match mode;
        std::string args_key;
    };

    static std::string canonical_args(const amqp::field_table& args);
    // Whether another binding with the same (dest, key) remains (args differ).
    bool has_same_dest_key(const destination& dest, std::string_view key) const;
    void index_add(const destination& dest, std::string_view key, const amqp::field_table& args,
                   const std::string& args_key);
    void index_remove(const destination& dest, std::string_view key, const std::string& args_key);

    std::string _name;
    exchange_settings _settings;
    std::map<binding_id, amqp::field_table> _bindings;

    std::unordered_map<std::string, std::vector<destination>> _direct;
    std::vector<destination> _fanout;
    topic_trie _topic;
    std::vector<headers_rule> _headers;
};

}  // namespace qmq::broker
