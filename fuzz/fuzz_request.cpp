// libFuzzer target: the control socket's request parser on arbitrary lines. It must never crash,
// hang or throw; what it accepts must survive a round trip through request_line unchanged; and
// every error it names must be sendable as a reply line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "control/reply.hpp"
#include "control/request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace brood::control;
    const std::string_view line(reinterpret_cast<const char*>(data), size);
    const parsed_request parsed = parse_request(line);
    if (!parsed.error.empty()) {
        (void)error_line(parsed.value.id, parsed.error);
        return 0;
    }
    std::string again = request_line(parsed.value);
    again.pop_back();  // its '\n'
    const parsed_request reparsed = parse_request(again);
    const request& a = parsed.value;
    const request& b = reparsed.value;
    if (!reparsed.error.empty() || a.id != b.id || a.verb != b.verb || a.targets != b.targets || a.signal != b.signal)
        std::abort();
    return 0;
}
