#pragma once

// A number that must not mix with other numbers: strong_type<uint64_t,
// struct term_tag> and strong_type<uint64_t, struct log_index_tag> do not
// convert into each other. Arithmetic is explicit through .value.

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>

namespace qmq {

template <typename T, typename Tag>
struct strong_type {
    using value_type = T;
    T value{};

    constexpr strong_type() = default;
    constexpr explicit strong_type(T v) : value(v) {}

    constexpr auto operator<=>(const strong_type&) const = default;
    constexpr bool operator==(const strong_type&) const = default;

    constexpr strong_type next() const { return strong_type(value + 1); }
    constexpr strong_type prev() const { return strong_type(value - 1); }

    friend std::ostream& operator<<(std::ostream& os, const strong_type& s) {
        return os << s.value;
    }
};

}  // namespace qmq

template <typename T, typename Tag>
struct std::hash<qmq::strong_type<T, Tag>> {
    std::size_t operator()(const qmq::strong_type<T, Tag>& s) const noexcept {
        return std::hash<T>{}(s.value);
    }
};
