#include "amqp/field_table.h"

#include <bit>
#include <cstring>

#include "amqp/wire.h"

namespace qmq::amqp {

field_table::field_table(std::initializer_list<field_entry> entries) : _entries(entries) {}

const field_value* field_table::find(std::string_view key) const {
    for (const auto& e : _entries) {
        if (e.key == key) {
            return &e.value;
        }
    }
    return nullptr;
}

field_value* field_table::find(std::string_view key) {
    for (auto& e : _entries) {
        if (e.key == key) {
            return &e.value;
        }
    }
    return nullptr;
}

void field_table::set(std::string key, field_value value) {
    if (auto* v = find(key)) {
        *v = std::move(value);
        return;
    }
    _entries.push_back(field_entry{std::move(key), std::move(value)});
}

bool field_table::erase(std::string_view key) {
    for (auto it = _entries.begin(); it != _entries.end(); ++it) {
        if (it->key == key) {
            _entries.erase(it);
            return true;
        }
    }
    return false;
}

std::optional<int64_t> field_table::get_int(std::string_view key) const {
    const auto* v = find(key);
    return v ? v->as_int() : std::nullopt;
}

std::optional<bool> field_table::get_bool(std::string_view key) const {
    const auto* v = find(key);
    if (v == nullptr || !v->is<bool>()) {
        return std::nullopt;
    }
    return *v->get_if<bool>();
}

const std::string* field_table::get_string(std::string_view key) const {
    const auto* v = find(key);
    return v ? v->as_string() : nullptr;
}

const field_table* field_table::get_table(std::string_view key) const {
    const auto* v = find(key);
    return v ? v->get_if<field_table>() : nullptr;
}

const field_array* field_table::get_array(std::string_view key) const {
    const auto* v = find(key);
    return v ? v->get_if<field_array>() : nullptr;
}

bool field_table::operator==(const field_table& other) const {
    return _entries == other._entries;
}

bool field_table::equivalent(const field_table& other) const {
    if (_entries.size() != other._entries.size()) {
        return false;
    }
    for (const auto& e : _entries) {
        const auto* v = other.find(e.key);
        if (v == nullptr || !e.value.equivalent(*v)) {
            return false;
        }
    }
    return true;
}

char field_value::type_tag() const {
    static constexpr char tags[] = {'V', 't', 'b', 'B', 's', 'u', 'I', 'i', 'l',
                                    'f', 'd', 'D', 'S', 'A', 'T', 'F', 'x'};
    static_assert(sizeof(tags) == std::variant_size_v<variant>);
    return tags[v.index()];
}

std::optional<int64_t> field_value::as_int() const {
    return std::visit(
        [](const auto& x) -> std::optional<int64_t> {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
                return static_cast<int64_t>(x);
            } else {
                return std::nullopt;
            }
        },
        v);
}

const std::string* field_value::as_string() const {
    if (const auto* s = std::get_if<std::string>(&v)) {
        return s;
    }
    if (const auto* b = std::get_if<byte_array>(&v)) {
        return &b->data;
    }
    return nullptr;
}

bool field_value::operator==(const field_value& other) const {
    return v == other.v;
}

bool field_value::equivalent(const field_value& other) const {
    if (v.index() != other.v.index()) {
        return false;
    }
    if (const auto* t = get_if<field_table>()) {
        return t->equivalent(*other.get_if<field_table>());
    }
    if (const auto* a = get_if<field_array>()) {
        const auto& b = *other.get_if<field_array>();
        if (a->size() != b.size()) {
            return false;
        }
        for (std::size_t i = 0; i < a->size(); ++i) {
            if (!(*a)[i].equivalent(b[i])) {
                return false;
            }
        }
        return true;
    }
    return *this == other;
}

// --- encoding ---

namespace {

// A type tag for a reply text: the character itself, or \xNN.
std::string printable(char c) {
    if (c >= 0x20 && c < 0x7F) {
        return std::string(1, c);
    }
    static constexpr char hex[] = "0123456789abcdef";
    auto u = static_cast<unsigned char>(c);
    return std::string("\\x") + hex[u >> 4] + hex[u & 15];
}

void encode_payload(byte_writer& w, const field_value& value);

void encode_table_at(byte_writer& w, const field_table& table) {
    std::size_t at = w.size();
    w.u32(0);
    for (const auto& e : table.entries()) {
        write_shortstr(w, e.key);
        encode_value(w, e.value);
    }
    w.patch_u32(at, static_cast<uint32_t>(w.size() - at - 4));
}

void encode_array_at(byte_writer& w, const field_array& array) {
    std::size_t at = w.size();
    w.u32(0);
    for (const auto& v : array) {
        encode_value(w, v);
    }
    w.patch_u32(at, static_cast<uint32_t>(w.size() - at - 4));
}

void encode_payload(byte_writer& w, const field_value& value) {
    std::visit(
        [&w](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, void_value>) {
            } else if constexpr (std::is_same_v<T, bool>) {
                w.u8(x ? 1 : 0);
            } else if constexpr (std::is_same_v<T, int8_t> || std::is_same_v<T, uint8_t>) {
                w.u8(static_cast<uint8_t>(x));
            } else if constexpr (std::is_same_v<T, int16_t> || std::is_same_v<T, uint16_t>) {
                w.u16(static_cast<uint16_t>(x));
            } else if constexpr (std::is_same_v<T, int32_t> || std::is_same_v<T, uint32_t>) {
                w.u32(static_cast<uint32_t>(x));
            } else if constexpr (std::is_same_v<T, int64_t>) {
                w.u64(static_cast<uint64_t>(x));
            } else if constexpr (std::is_same_v<T, float>) {
                w.u32(std::bit_cast<uint32_t>(x));
            } else if constexpr (std::is_same_v<T, double>) {
                w.u64(std::bit_cast<uint64_t>(x));
            } else if constexpr (std::is_same_v<T, decimal_value>) {
                w.u8(x.scale);
                w.u32(x.value);
            } else if constexpr (std::is_same_v<T, std::string>) {
                write_longstr(w, x);
            } else if constexpr (std::is_same_v<T, field_array>) {
                encode_array_at(w, x);
            } else if constexpr (std::is_same_v<T, timestamp_value>) {
                w.u64(x.seconds);
            } else if constexpr (std::is_same_v<T, field_table>) {
                encode_table_at(w, x);
            } else if constexpr (std::is_same_v<T, byte_array>) {
                write_longstr(w, x.data);
            } else {
                static_assert(sizeof(T) == 0, "unhandled field type");
            }
        },
        value.v);
}

std::size_t payload_size(const field_value& value);

std::size_t table_size(const field_table& table) {
    std::size_t n = 4;
    for (const auto& e : table.entries()) {
        n += 1 + std::min(e.key.size(), shortstr_size_max) + 1 + payload_size(e.value);
    }
    return n;
}

std::size_t payload_size(const field_value& value) {
    return std::visit(
        [](const auto& x) -> std::size_t {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, void_value>) {
                return 0;
            } else if constexpr (std::is_same_v<T, decimal_value>) {
                return 5;
            } else if constexpr (std::is_same_v<T, timestamp_value>) {
                return 8;
            } else if constexpr (std::is_same_v<T, std::string>) {
                return 4 + x.size();
            } else if constexpr (std::is_same_v<T, byte_array>) {
                return 4 + x.data.size();
            } else if constexpr (std::is_same_v<T, field_table>) {
                return table_size(x);
            } else if constexpr (std::is_same_v<T, field_array>) {
                std::size_t n = 4;
                for (const auto& v : x) {
                    n += 1 + payload_size(v);
                }
                return n;
            } else {
                return sizeof(T);
            }
        },
        value.v);
}

// --- decoding ---

result<field_value> decode_payload(byte_reader& r, char tag, int depth);

result<field_table> decode_entries(byte_reader& r, int depth) {
    field_table t;
    while (!r.at_end()) {
        std::string key = read_shortstr(r);
        char tag = static_cast<char>(r.u8());
        if (!r.ok()) {
            return error{501, "field table truncated in a key"};
        }
        auto v = decode_payload(r, tag, depth);
        if (!v.ok()) {
            return error{v.err().code, "field '" + key + "': " + v.err().message};
        }
        // Appended without a duplicate check, as on the wire; find() sees
        // the first, as RabbitMQ's table lookup does.
        t.entries().push_back(field_entry{std::move(key), std::move(v).value()});
    }
    return t;
}

result<field_table> decode_table_at(byte_reader& r, int depth) {
    if (depth > field_depth_max) {
        return error{502, "field tables nested deeper than " + std::to_string(field_depth_max)};
    }
    uint32_t n = r.u32();
    if (!r.ok() || n > r.remaining()) {
        return error{501, "field table length runs past the end of its frame"};
    }
    byte_reader inner(r.take(n));
    return decode_entries(inner, depth);
}

result<field_array> decode_array_at(byte_reader& r, int depth) {
    if (depth > field_depth_max) {
        return error{502, "field arrays nested deeper than " + std::to_string(field_depth_max)};
    }
    uint32_t n = r.u32();
    if (!r.ok() || n > r.remaining()) {
        return error{501, "field array length runs past the end of its frame"};
    }
    byte_reader inner(r.take(n));
    field_array a;
    while (!inner.at_end()) {
        char tag = static_cast<char>(inner.u8());
        auto v = decode_payload(inner, tag, depth);
        if (!v.ok()) {
            return error{v.err().code,
                         "array element " + std::to_string(a.size()) + ": " + v.err().message};
        }
        a.push_back(std::move(v).value());
    }
    return a;
}

template <typename T>
result<field_value> checked(byte_reader& r, T value, char tag) {
    if (!r.ok()) {
        return error{501, std::string("value of type '") + tag + "' truncated"};
    }
    return field_value(std::move(value));
}

result<field_value> decode_payload(byte_reader& r, char tag, int depth) {
    switch (tag) {
        case 't':
            return checked(r, r.u8() != 0, tag);
        case 'b':
            return checked(r, static_cast<int8_t>(r.u8()), tag);
        case 'B':
            return checked(r, r.u8(), tag);
        case 's':
            return checked(r, static_cast<int16_t>(r.u16()), tag);
        case 'u':
            return checked(r, r.u16(), tag);
        case 'I':
            return checked(r, static_cast<int32_t>(r.u32()), tag);
        case 'i':
            return checked(r, r.u32(), tag);
        case 'l':
            return checked(r, static_cast<int64_t>(r.u64()), tag);
        case 'f':
            return checked(r, std::bit_cast<float>(r.u32()), tag);
        case 'd':
            return checked(r, std::bit_cast<double>(r.u64()), tag);
        case 'D': {
            decimal_value d;
            d.scale = r.u8();
            d.value = r.u32();
            return checked(r, d, tag);
        }
        case 'S': {
            uint32_t n = r.u32();
            if (!r.ok() || n > r.remaining()) {
                return error{501, "long string length runs past the end of its frame"};
            }
            return field_value(r.take_string(n));
        }
        case 'x': {
            uint32_t n = r.u32();
            if (!r.ok() || n > r.remaining()) {
                return error{501, "byte array length runs past the end of its frame"};
            }
            return field_value(byte_array{r.take_string(n)});
        }
        case 'A': {
            auto a = decode_array_at(r, depth + 1);
            if (!a.ok()) {
                return a.err();
            }
            return field_value(std::move(a).value());
        }
        case 'T':
            return checked(r, timestamp_value{r.u64()}, tag);
        case 'F': {
            auto t = decode_table_at(r, depth + 1);
            if (!t.ok()) {
                return t.err();
            }
            return field_value(std::move(t).value());
        }
        case 'V':
            return field_value(void_value{});
        default:
            return error{502, "unknown field type '" + printable(tag) + "'"};
    }
}

}  // namespace

void encode_table(byte_writer& w, const field_table& table) {
    encode_table_at(w, table);
}
void encode_array(byte_writer& w, const field_array& array) {
    encode_array_at(w, array);
}
void encode_value(byte_writer& w, const field_value& value) {
    w.u8(static_cast<uint8_t>(value.type_tag()));
    encode_payload(w, value);
}
std::size_t encoded_size(const field_table& table) {
    return table_size(table);
}

result<field_table> decode_table(byte_reader& r) {
    return decode_table_at(r, 0);
}
result<field_array> decode_array(byte_reader& r) {
    return decode_array_at(r, 0);
}
result<field_table> decode_table_body(bytes_view body) {
    byte_reader r(body);
    return decode_entries(r, 0);
}

}  // namespace qmq::amqp
