#pragma once

// Reads records one after another from a file range through a buffer, so a
// scan costs one pread per buffer rather than two per record.

#include <cstdint>

#include "common/bytes.h"
#include "common/result.h"
#include "storage/file.h"
#include "storage/format.h"

namespace qmq::storage {

class record_cursor {
  public:
    static constexpr std::size_t buffer_bytes = 256 * 1024;

    enum class status {
        ok,           // header and payload valid
        end,          // no more bytes in the range
        truncated,    // a record starts but the range ends inside it
        bad_header,   // header checksum or fields invalid: its group is unknown
        bad_payload,  // header valid (group known), payload checksum wrong
    };

    record_cursor(const file& f, uint64_t begin, uint64_t end);

    // Reads the record at position(). On ok the header and payload are valid
    // until the next call, and position() moves past the record; on
    // bad_payload it moves past as well (the header gave the length); on the
    // other statuses it stays at the record's start.
    result<status> next();

    const format::record_header& header() const { return _header; }
    bytes_view payload() const { return _payload; }
    uint64_t record_offset() const { return _record_offset; }
    uint64_t position() const { return _pos; }

  private:
    // Makes [_pos, _pos + n) available in the buffer; false if past _end.
    result<bool> fill(std::size_t n);

    const file& _file;
    uint64_t _pos;
    uint64_t _end;
    bytes _buf;
    uint64_t _buf_start = 0;  // file offset of _buf[0]
    std::size_t _buf_len = 0;
    format::record_header _header;
    bytes_view _payload;
    uint64_t _record_offset = 0;
};

}  // namespace qmq::storage
