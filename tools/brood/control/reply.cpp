#include "control/reply.hpp"

#include <stdexcept>

namespace brood::control {
namespace {

std::string line_of(const nlohmann::json& object) {
    return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + '\n';
}

}  // namespace

std::string reply_line(std::uint64_t id, const nlohmann::json& result) {
    return line_of({{"id", id}, {"ok", true}, {"result", result}});
}

std::string error_line(std::uint64_t id, std::string_view error) {
    return line_of({{"id", id}, {"ok", false}, {"error", error}});
}

std::string event_line(const nlohmann::json& event) { return line_of({{"event", event}}); }

reply parse_reply(std::string_view line) {
    const auto object = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!object.is_object()) throw std::runtime_error("the supervisor sent a line that is not a JSON object");
    reply r;
    if (auto event = object.find("event"); event != object.end()) {
        r.event = *event;
        return r;
    }
    const auto id = object.find("id");
    const auto ok = object.find("ok");
    if (id == object.end() || !id->is_number_unsigned() || ok == object.end() || !ok->is_boolean())
        throw std::runtime_error("the supervisor sent a reply without \"id\" and \"ok\"");
    r.id = id->get<std::uint64_t>();
    r.ok = ok->get<bool>();
    if (r.ok) {
        r.result = object.value("result", nlohmann::json::object());
    } else {
        const auto error = object.find("error");
        r.error = error != object.end() && error->is_string() ? error->get<std::string>() : "request refused";
    }
    return r;
}

}  // namespace brood::control
