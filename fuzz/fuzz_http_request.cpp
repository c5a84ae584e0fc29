// libFuzzer target: brood's HTTP request path on arbitrary bytes, as a client may send them: the
// request parser (http_parser underneath, brood's callbacks, its size limit), the router and the
// bearer token check. It must never crash, hang or throw, and the request must read the same
// whether its bytes arrive at once or in two pieces, split where the first byte says.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/bearer_token.hpp"
#include "http/limits.hpp"
#include "http/request_parser.hpp"
#include "http/response.hpp"
#include "http/route.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace brood::http;
    if (size == 0) return 0;
    const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
    const std::size_t split = bytes.empty() ? 0 : data[0] % (bytes.size() + 1);

    request_parser whole(max_request);
    const request_parser::result once = whole.feed(bytes);
    request_parser pieces(max_request);
    request_parser::result twice = pieces.feed(bytes.substr(0, split));
    if (twice == request_parser::result::incomplete) twice = pieces.feed(bytes.substr(split));
    if (once != twice) std::abort();

    switch (once) {
        case request_parser::result::complete: {
            const request& a = whole.value();
            const request& b = pieces.value();
            if (a.method != b.method || a.path != b.path || a.authorization != b.authorization) std::abort();
            const route found = route_of(a.method, a.path);
            if (found.what == route::kind::act && (found.target.empty() || found.verb.empty())) std::abort();
            (void)token_matches(a.authorization, "0123456789abcdef");
            break;
        }
        case request_parser::result::bad:
            if (whole.error().empty()) std::abort();
            (void)error_response(400, "bad request: " + whole.error());
            break;
        case request_parser::result::incomplete:
        case request_parser::result::too_large: break;
    }
    return 0;
}
