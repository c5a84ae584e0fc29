#include "http/route.hpp"

#include <array>
#include <algorithm>

namespace brood::http {
namespace {

using namespace std::string_view_literals;

constexpr std::array verbs{"start"sv, "stop"sv, "restart"sv, "pause"sv, "resume"sv};
constexpr std::string_view programs_prefix = "/api/v1/programs/";

route resource(std::string_view path) {
    if (path == "/") return {route::kind::page, {}, {}, "GET"};
    if (path == "/metrics") return {route::kind::metrics, {}, {}, "GET"};
    if (path == "/api/v1/status") return {route::kind::status, {}, {}, "GET"};
    if (path == "/api/v1/events") return {route::kind::events, {}, {}, "GET"};
    if (path.substr(0, programs_prefix.size()) != programs_prefix) return {};
    const std::string_view rest = path.substr(programs_prefix.size());
    const std::size_t slash = rest.find('/');
    if (slash == 0 || slash == std::string_view::npos) return {};
    const std::string_view verb = rest.substr(slash + 1);
    if (std::find(verbs.begin(), verbs.end(), verb) == verbs.end()) return {};
    return {route::kind::act, std::string(rest.substr(0, slash)), std::string(verb), "POST"};
}

}  // namespace

route route_of(std::string_view method, std::string_view path) {
    route found = resource(path);
    if (found.what == route::kind::not_found || method == found.allow) return found;
    // HEAD is what GET is without its body; brood's answers are small, so it is not offered.
    return {route::kind::wrong_method, {}, {}, found.allow};
}

}  // namespace brood::http
