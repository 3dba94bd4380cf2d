#include "amqp/constants.h"

namespace qmq::amqp {

const char* reply_name(uint16_t code) {
    switch (code) {
        case reply::success:
            return "OK";
        case reply::content_too_large:
            return "CONTENT_TOO_LARGE";
        case reply::no_route:
            return "NO_ROUTE";
        case reply::no_consumers:
            return "NO_CONSUMERS";
        case reply::connection_forced:
            return "CONNECTION_FORCED";
        case reply::invalid_path:
            return "INVALID_PATH";
        case reply::access_refused:
            return "ACCESS_REFUSED";
        case reply::not_found:
            return "NOT_FOUND";
        case reply::resource_locked:
            return "RESOURCE_LOCKED";
        case reply::precondition_failed:
            return "PRECONDITION_FAILED";
        case reply::frame_error:
            return "FRAME_ERROR";
        case reply::syntax_error:
            return "SYNTAX_ERROR";
        case reply::command_invalid:
            return "COMMAND_INVALID";
        case reply::channel_error:
            return "CHANNEL_ERROR";
        case reply::unexpected_frame:
            return "UNEXPECTED_FRAME";
        case reply::resource_error:
            return "RESOURCE_ERROR";
        case reply::not_allowed:
            return "NOT_ALLOWED";
        case reply::not_implemented:
            return "NOT_IMPLEMENTED";
        case reply::internal_error:
            return "INTERNAL_ERROR";
        default:
            return "";
    }
}

}  // namespace qmq::amqp
