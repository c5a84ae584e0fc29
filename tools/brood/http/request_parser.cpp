#include "http/request_parser.hpp"

#include <cctype>

namespace brood::http {
namespace {

request_parser& owner(http_parser* p) { return *static_cast<request_parser*>(p->data); }

}  // namespace

request_parser::request_parser(std::size_t limit) : limit_(limit) {
    http_parser_init(&parser_, HTTP_REQUEST);
    parser_.data = this;
}

request_parser::result request_parser::feed(std::string_view bytes) {
    // http_parser takes no bytes for the end of the stream; the end is the caller's to handle.
    if (state_ != result::incomplete || bytes.empty()) return state_;
    static const http_parser_settings settings = [] {
        http_parser_settings s{};
        s.on_url = on_url;
        s.on_header_field = on_header_field;
        s.on_header_value = on_header_value;
        s.on_headers_complete = on_headers_complete;
        s.on_message_complete = on_message_complete;
        return s;
    }();
    // Counted before parsing, so that no callback ever holds more than limit bytes.
    if (bytes.size() > limit_ - received_) {
        state_ = result::too_large;
        return state_;
    }
    received_ += bytes.size();
    http_parser_execute(&parser_, &settings, bytes.data(), bytes.size());
    const auto error = HTTP_PARSER_ERRNO(&parser_);
    if (state_ == result::incomplete && error != HPE_OK) {
        state_ = result::bad;
        if (error_.empty()) error_ = http_errno_description(error);
    } else if (state_ == result::incomplete && parser_.upgrade) {
        state_ = result::bad;
        error_ = "brood does not upgrade connections";
    }
    return state_;
}

int request_parser::on_url(http_parser* p, const char* at, std::size_t length) {
    owner(p).url_.append(at, length);
    return 0;
}

int request_parser::on_header_field(http_parser* p, const char* at, std::size_t length) {
    request_parser& self = owner(p);
    if (self.field_done_) {
        self.field_.clear();
        self.field_done_ = false;
    }
    for (std::size_t i = 0; i < length; ++i)
        self.field_ += static_cast<char>(std::tolower(static_cast<unsigned char>(at[i])));
    return 0;
}

int request_parser::on_header_value(http_parser* p, const char* at, std::size_t length) {
    request_parser& self = owner(p);
    if (!self.field_done_) {
        self.field_done_ = true;
        if (self.field_ == "authorization") {
            // Two would leave which one counts to chance.
            if (self.authorization_seen_) {
                self.error_ = "more than one Authorization header";
                return 1;
            }
            self.authorization_seen_ = true;
        }
    }
    if (self.field_ == "authorization") self.request_.authorization.append(at, length);
    return 0;
}

int request_parser::on_headers_complete(http_parser* p) {
    request_parser& self = owner(p);
    http_parser_url parts;
    http_parser_url_init(&parts);
    if (http_parser_parse_url(self.url_.data(), self.url_.size(), 0, &parts) != 0 || !(parts.field_set & (1 << UF_PATH))) {
        self.error_ = "the request's target is not a URL path";
        return 1;  // stops the parser: HPE_CB_headers_complete
    }
    self.request_.path = self.url_.substr(parts.field_data[UF_PATH].off, parts.field_data[UF_PATH].len);
    self.request_.method = http_method_str(static_cast<http_method>(p->method));
    return 0;
}

int request_parser::on_message_complete(http_parser* p) {
    request_parser& self = owner(p);
    self.state_ = result::complete;
    http_parser_pause(p, 1);  // what follows is another request, which brood does not read
    return 0;
}

}  // namespace brood::http
