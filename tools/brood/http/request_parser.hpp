// One HTTP/1.1 request read from a connection, fed as its bytes arrive (Node.js's http_parser,
// Debian's libhttp-parser-dev, does the parsing; it does no I/O of its own):
//
//   brood::http::request_parser parser;
//   switch (parser.feed(bytes)) {
//       case request_parser::result::complete: route(parser.value()); break;
//       case request_parser::result::incomplete: break;   // wait for more
//       case request_parser::result::bad: ... 400 with parser.error()
//       case request_parser::result::too_large: ... 413
//   }
//
// Only what brood serves is kept: the method, the URL's path and the Authorization header. The
// body is read and dropped. Bytes after the end of the request (pipelining) are ignored: brood
// answers one request per connection.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <http_parser.h>

namespace brood::http {

struct request {
    std::string method;         // "GET", "POST", ...
    std::string path;           // the URL's path, without its query
    std::string authorization;  // the Authorization header's value, empty without one
};

class request_parser {
public:
    enum class result { incomplete, complete, bad, too_large };

    explicit request_parser(std::size_t limit);
    request_parser(const request_parser&) = delete;
    request_parser& operator=(const request_parser&) = delete;

    // After complete, bad or too_large, further bytes change nothing and give the same result. No
    // bytes change nothing either: a connection's end is for the caller to handle.
    result feed(std::string_view bytes);
    const request& value() const { return request_; }
    // Why the request is bad.
    const std::string& error() const { return error_; }

private:
    static int on_url(http_parser* p, const char* at, std::size_t length);
    static int on_header_field(http_parser* p, const char* at, std::size_t length);
    static int on_header_value(http_parser* p, const char* at, std::size_t length);
    static int on_headers_complete(http_parser* p);
    static int on_message_complete(http_parser* p);

    http_parser parser_{};
    std::size_t limit_;
    std::size_t received_ = 0;
    result state_ = result::incomplete;
    request request_;
    std::string url_;
    std::string field_;          // the header field being read, lower-cased
    bool field_done_ = false;    // its value has begun: the next field bytes start a new one
    bool authorization_seen_ = false;
    std::string error_;
};

}  // namespace brood::http
