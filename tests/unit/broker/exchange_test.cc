#include "broker/exchange.h"

#include <gtest/gtest.h>

#include <set>

#include "broker/headers_match.h"

namespace qmq::broker {
namespace {

std::set<std::string> route(const exchange& x, std::string_view key,
                            const amqp::field_table* headers = nullptr) {
    std::vector<const destination*> out;
    x.route(key, headers, out);
    std::set<std::string> names;
    for (auto* d : out)
        names.insert(d->name);
    return names;
}

exchange make(exchange_type t) {
    exchange_settings s;
    s.type = t;
    return exchange("x", s);
}

TEST(Exchange, DirectRoutesByExactKey) {
    auto x = make(exchange_type::direct);
    EXPECT_TRUE(x.bind(destination::queue("a"), "k1", {}));
    EXPECT_FALSE(x.bind(destination::queue("a"), "k1", {}));
    EXPECT_TRUE(x.bind(destination::queue("b"), "k1", {}));
    EXPECT_TRUE(x.bind(destination::queue("c"), "k2", {}));
    EXPECT_EQ(route(x, "k1"), (std::set<std::string>{"a", "b"}));
    EXPECT_EQ(route(x, "k2"), (std::set<std::string>{"c"}));
    EXPECT_TRUE(route(x, "k3").empty());
    EXPECT_TRUE(x.unbind(destination::queue("a"), "k1", {}));
    EXPECT_FALSE(x.unbind(destination::queue("a"), "k1", {}));
    EXPECT_EQ(route(x, "k1"), (std::set<std::string>{"b"}));
}

TEST(Exchange, SameKeyWithDifferentArgsIsAnotherBinding) {
    auto x = make(exchange_type::direct);
    EXPECT_TRUE(x.bind(destination::queue("a"), "k", {}));
    EXPECT_TRUE(x.bind(destination::queue("a"), "k", {{"foo", "bar"}}));
    EXPECT_EQ(x.binding_count(), 2u);
    std::vector<const destination*> out;
    x.route("k", nullptr, out);
    EXPECT_EQ(out.size(), 1u);  // indexed once per (destination, key)
    EXPECT_TRUE(x.unbind(destination::queue("a"), "k", {}));
    EXPECT_EQ(route(x, "k"), (std::set<std::string>{"a"}));
    EXPECT_TRUE(x.unbind(destination::queue("a"), "k", {{"foo", "bar"}}));
    EXPECT_TRUE(route(x, "k").empty());
}

TEST(Exchange, ArgumentOrderDoesNotMakeANewBinding) {
    auto x = make(exchange_type::headers);
    EXPECT_TRUE(x.bind(destination::queue("a"), "", {{"a", 1}, {"b", 2}}));
    EXPECT_FALSE(x.bind(destination::queue("a"), "", {{"b", 2}, {"a", 1}}));
}

TEST(Exchange, FanoutIgnoresKeys) {
    auto x = make(exchange_type::fanout);
    x.bind(destination::queue("a"), "k1", {});
    x.bind(destination::queue("a"), "k2", {});
    x.bind(destination::queue("b"), "", {});
    EXPECT_EQ(route(x, "anything"), (std::set<std::string>{"a", "b"}));
    x.unbind(destination::queue("a"), "k1", {});
    EXPECT_EQ(route(x, ""), (std::set<std::string>{"a", "b"}));  // still bound via k2
    x.unbind(destination::queue("a"), "k2", {});
    EXPECT_EQ(route(x, ""), (std::set<std::string>{"b"}));
}

TEST(Exchange, TopicUsesTheTrie) {
    auto x = make(exchange_type::topic);
    x.bind(destination::queue("logs"), "log.#", {});
    x.bind(destination::queue("errors"), "*.error", {});
    EXPECT_EQ(route(x, "log.error"), (std::set<std::string>{"logs", "errors"}));
    EXPECT_EQ(route(x, "app.error"), (std::set<std::string>{"errors"}));
    EXPECT_EQ(route(x, "log"), (std::set<std::string>{"logs"}));
}

TEST(Exchange, UnbindAllDropsEveryBindingToADestination) {
    auto x = make(exchange_type::topic);
    x.bind(destination::queue("a"), "x.*", {});
    x.bind(destination::queue("a"), "y.#", {});
    x.bind(destination::queue("b"), "x.*", {});
    EXPECT_EQ(x.unbind_all(destination::queue("a")), 2u);
    EXPECT_EQ(route(x, "x.1"), (std::set<std::string>{"b"}));
    EXPECT_TRUE(route(x, "y.1").empty());
}

TEST(HeadersMatch, AllAndAny) {
    amqp::field_table headers{{"format", "pdf"}, {"type", "report"}};
    amqp::field_table all{{"x-match", "all"}, {"format", "pdf"}, {"type", "report"}};
    amqp::field_table all_miss{{"format", "pdf"}, {"type", "log"}};
    amqp::field_table any{{"x-match", "any"}, {"format", "zip"}, {"type", "report"}};
    amqp::field_table any_miss{{"x-match", "any"}, {"format", "zip"}};
    EXPECT_TRUE(headers_match(*parse_x_match(all), all, &headers));
    EXPECT_FALSE(headers_match(*parse_x_match(all_miss), all_miss, &headers));
    EXPECT_TRUE(headers_match(*parse_x_match(any), any, &headers));
    EXPECT_FALSE(headers_match(*parse_x_match(any_miss), any_miss, &headers));
    EXPECT_FALSE(headers_match(x_match::all, all, nullptr));
}

TEST(HeadersMatch, XKeysOnlyCountWithTheWithXVariants) {
    amqp::field_table headers{{"x-tenant", "t1"}};
    amqp::field_table b{{"x-tenant", "t1"}};
    // Plain all: the only key is x-*, ignored, so nothing to compare -> match.
    EXPECT_TRUE(headers_match(x_match::all, b, &headers));
    EXPECT_FALSE(headers_match(x_match::any, b, &headers));
    EXPECT_TRUE(headers_match(x_match::all_with_x, b, &headers));
    EXPECT_TRUE(headers_match(x_match::any_with_x, b, &headers));
    amqp::field_table other{{"x-tenant", "t2"}};
    EXPECT_FALSE(headers_match(x_match::all_with_x, b, &other));
}

TEST(HeadersMatch, VoidMeansPresenceAndNumbersCompareByValue) {
    amqp::field_table b{{"k", amqp::void_value{}}};
    amqp::field_table h1{{"k", 42}};
    amqp::field_table h2{{"j", 42}};
    EXPECT_TRUE(headers_match(x_match::all, b, &h1));
    EXPECT_FALSE(headers_match(x_match::all, b, &h2));
    amqp::field_table num{{"n", int8_t{5}}};
    amqp::field_table h3{{"n", int64_t{5}}};
    EXPECT_TRUE(headers_match(x_match::all, num, &h3));
}

TEST(HeadersMatch, BadXMatchIsRefused) {
    EXPECT_FALSE(parse_x_match({{"x-match", "some"}}).ok());
    EXPECT_FALSE(parse_x_match({{"x-match", 1}}).ok());
    EXPECT_EQ(*parse_x_match({{"x-match", "any-with-x"}}), x_match::any_with_x);
    EXPECT_EQ(*parse_x_match({}), x_match::all);
}

}  // namespace
}  // namespace qmq::broker
