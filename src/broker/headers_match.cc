#include "broker/headers_match.h"

#include <variant>

namespace qmq::broker {
namespace {

constexpr int precondition_failed = 406;

std::optional<double> as_number(const amqp::field_value& v) {
    if (auto i = v.as_int()) {
        return static_cast<double>(*i);
    }
    if (auto f = v.get_if<float>()) {
        return static_cast<double>(*f);
    }
    if (auto d = v.get_if<double>()) {
        return *d;
    }
    return std::nullopt;
}

// Erlang's == as RabbitMQ applies it: 1 == 1.0, longstr == bytes.
bool values_equal(const amqp::field_value& want, const amqp::field_value& have) {
    if (want == have) {
        return true;
    }
    auto a = as_number(want);
    auto b = as_number(have);
    if (a && b) {
        return *a == *b;
    }
    const std::string* sa = want.as_string();
    const std::string* sb = have.as_string();
    return sa != nullptr && sb != nullptr && *sa == *sb;
}

}  // namespace

result<x_match> parse_x_match(const amqp::field_table& args) {
    const amqp::field_value* v = args.find("x-match");
    if (v == nullptr) {
        return x_match::all;
    }
    const std::string* s = v->get_if<std::string>();
    if (s == nullptr) {
        return error{precondition_failed, std::string("Invalid x-match field type '") +
                                              v->type_tag() + "'; expected longstr"};
    }
    if (*s == "all")
        return x_match::all;
    if (*s == "any")
        return x_match::any;
    if (*s == "all-with-x")
        return x_match::all_with_x;
    if (*s == "any-with-x")
        return x_match::any_with_x;
    return error{precondition_failed, "Invalid x-match field value '" + *s +
                                          "'; expected all, any, all-with-x, or any-with-x"};
}

bool headers_match(x_match mode, const amqp::field_table& binding_args,
                   const amqp::field_table* message_headers) {
    const bool with_x = mode == x_match::all_with_x || mode == x_match::any_with_x;
    const bool want_all = mode == x_match::all || mode == x_match::all_with_x;
    for (const auto& e : binding_args.entries()) {
        if (e.key == "x-match") {
            continue;
        }
        if (!with_x && e.key.starts_with("x-")) {
            continue;
        }
        const amqp::field_value* have =
            message_headers != nullptr ? message_headers->find(e.key) : nullptr;
        const bool ok =
            have != nullptr && (e.value.is<amqp::void_value>() || values_equal(e.value, *have));
        if (want_all && !ok) {
            return false;
        }
        if (!want_all && ok) {
            return true;
        }
    }
    return want_all;
}

}  // namespace qmq::broker
