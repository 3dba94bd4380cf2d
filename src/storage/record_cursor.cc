#include "storage/record_cursor.h"

#include <algorithm>

namespace qmq::storage {

record_cursor::record_cursor(const file& f, uint64_t begin, uint64_t end)
    : _file(f), _pos(begin), _end(end) {}

result<bool> record_cursor::fill(std::size_t n) {
    if (_pos + n > _end) {
        return false;
    }
    if (_pos >= _buf_start && _pos + n <= _buf_start + _buf_len) {
        return true;
    }
    const std::size_t want = std::max<std::size_t>(n, buffer_bytes);
    const std::size_t len = static_cast<std::size_t>(std::min<uint64_t>(want, _end - _pos));
    if (_buf.size() < len) {
        _buf.resize(len);
    }
    auto got = _file.read_at(std::span<std::byte>(_buf.data(), len), _pos);
    if (!got) {
        return got.err();
    }
    _buf_start = _pos;
    _buf_len = *got;
    return _buf_len >= n;
}

result<record_cursor::status> record_cursor::next() {
    _record_offset = _pos;
    if (_pos >= _end) {
        return status::end;
    }
    auto have = fill(format::record_header_size);
    if (!have) {
        return have.err();
    }
    if (!*have) {
        return status::truncated;
    }
    auto at = [&](std::size_t len) { return bytes_view(_buf.data() + (_pos - _buf_start), len); };
    auto h = format::decode_record_header(at(format::record_header_size));
    if (!h) {
        return status::bad_header;
    }
    const std::size_t size = format::record_size(*h);
    have = fill(size);
    if (!have) {
        return have.err();
    }
    if (!*have) {
        return status::truncated;
    }
    _header = *h;
    _payload = at(size).subspan(format::record_header_size);
    _pos += size;
    if (!format::payload_matches(*h, _payload)) {
        return status::bad_payload;
    }
    return status::ok;
}

}  // namespace qmq::storage
