#include "amqp/content.h"

#include "amqp/wire.h"

namespace qmq::amqp {

uint16_t basic_properties::flags() const {
    namespace f = property_flag;
    uint16_t v = 0;
    v |= content_type ? f::content_type : 0;
    v |= content_encoding ? f::content_encoding : 0;
    v |= headers ? f::headers : 0;
    v |= delivery_mode ? f::delivery_mode : 0;
    v |= priority ? f::priority : 0;
    v |= correlation_id ? f::correlation_id : 0;
    v |= reply_to ? f::reply_to : 0;
    v |= expiration ? f::expiration : 0;
    v |= message_id ? f::message_id : 0;
    v |= timestamp ? f::timestamp : 0;
    v |= type ? f::type : 0;
    v |= user_id ? f::user_id : 0;
    v |= app_id ? f::app_id : 0;
    v |= cluster_id ? f::cluster_id : 0;
    return v;
}

void encode_properties(byte_writer& w, const basic_properties& p) {
    w.u16(p.flags());
    auto str = [&w](const std::optional<std::string>& s) {
        if (s) {
            write_shortstr(w, *s);
        }
    };
    str(p.content_type);
    str(p.content_encoding);
    if (p.headers) {
        encode_table(w, *p.headers);
    }
    if (p.delivery_mode) {
        w.u8(*p.delivery_mode);
    }
    if (p.priority) {
        w.u8(*p.priority);
    }
    str(p.correlation_id);
    str(p.reply_to);
    str(p.expiration);
    str(p.message_id);
    if (p.timestamp) {
        w.u64(*p.timestamp);
    }
    str(p.type);
    str(p.user_id);
    str(p.app_id);
    str(p.cluster_id);
}

std::size_t encoded_size(const basic_properties& p) {
    std::size_t n = 2;
    auto str = [&n](const std::optional<std::string>& s) {
        if (s) {
            n += 1 + std::min(s->size(), shortstr_size_max);
        }
    };
    str(p.content_type);
    str(p.content_encoding);
    if (p.headers) {
        n += encoded_size(*p.headers);
    }
    n += p.delivery_mode ? 1 : 0;
    n += p.priority ? 1 : 0;
    str(p.correlation_id);
    str(p.reply_to);
    str(p.expiration);
    str(p.message_id);
    n += p.timestamp ? 8 : 0;
    str(p.type);
    str(p.user_id);
    str(p.app_id);
    str(p.cluster_id);
    return n;
}

result<basic_properties> decode_properties(byte_reader& r) {
    basic_properties p;
    auto done = decode_properties_into(r, p);
    if (!done.ok()) {
        return done.err();
    }
    return p;
}

result<void> decode_properties_into(byte_reader& r, basic_properties& p) {
    namespace f = property_flag;
    uint16_t flags = r.u16();
    if (!r.ok()) {
        return error{501, "content header truncated in its property flags"};
    }
    if ((flags & f::continuation) != 0 || (flags & 0x2) != 0) {
        // Basic has 14 properties: no second flag word and no bit 1.
        return error{502, "content header property flags set bits basic does not have"};
    }
    auto str = [&r, flags](uint16_t bit, std::optional<std::string>& out) {
        if ((flags & bit) != 0) {
            out = read_shortstr(r);
        }
    };
    str(f::content_type, p.content_type);
    str(f::content_encoding, p.content_encoding);
    if ((flags & f::headers) != 0) {
        auto t = decode_table(r);
        if (!t.ok()) {
            return error{t.err().code, "content header headers: " + t.err().message};
        }
        p.headers = std::move(t).value();
    }
    if ((flags & f::delivery_mode) != 0) {
        p.delivery_mode = r.u8();
    }
    if ((flags & f::priority) != 0) {
        p.priority = r.u8();
    }
    str(f::correlation_id, p.correlation_id);
    str(f::reply_to, p.reply_to);
    str(f::expiration, p.expiration);
    str(f::message_id, p.message_id);
    if ((flags & f::timestamp) != 0) {
        p.timestamp = r.u64();
    }
    str(f::type, p.type);
    str(f::user_id, p.user_id);
    str(f::app_id, p.app_id);
    str(f::cluster_id, p.cluster_id);
    if (!r.ok()) {
        return error{501, "content header truncated in its properties"};
    }
    return ok_result();
}

}  // namespace qmq::amqp
