#pragma once

// result<T>: a value or an error with a human-readable message. Used at module
// boundaries where failure is an expected outcome (bad input, full disk) and
// not a broken invariant (those are QMQ_ASSERT).

#include <string>
#include <utility>
#include <variant>

#include "common/assert.h"

namespace qmq {

struct error {
    int code = 0;         // module-specific code (errno, AMQP reply code, ...)
    std::string message;  // says what failed and where, for logs and replies
};

template <typename T>
class [[nodiscard]] result {
  public:
    result(T value) : _v(std::move(value)) {}  // NOLINT(google-explicit-constructor)
    result(error err) : _v(std::move(err)) {}  // NOLINT(google-explicit-constructor)

    bool ok() const { return _v.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & {
        QMQ_ASSERT(ok());
        return std::get<0>(_v);
    }
    const T& value() const& {
        QMQ_ASSERT(ok());
        return std::get<0>(_v);
    }
    T&& value() && {
        QMQ_ASSERT(ok());
        return std::get<0>(std::move(_v));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const error& err() const {
        QMQ_ASSERT(!ok());
        return std::get<1>(_v);
    }

  private:
    std::variant<T, error> _v;
};

// result<void>: success, or an error.
template <>
class [[nodiscard]] result<void> {
  public:
    result() = default;
    result(error err) : _err(std::move(err)), _failed(true) {}  // NOLINT

    bool ok() const { return !_failed; }
    explicit operator bool() const { return ok(); }
    const error& err() const {
        QMQ_ASSERT(_failed);
        return _err;
    }

  private:
    error _err;
    bool _failed = false;
};

inline result<void> ok_result() {
    return {};
}

}  // namespace qmq
