#include "control/request.hpp"

#include <algorithm>
#include <array>
#include <csignal>
#include <optional>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

namespace brood::control {
namespace {

constexpr std::array<std::string_view, 15> verbs = {"status", "start",  "stop",   "restart", "pause",   "resume",
                                                     "signal", "logs",   "events", "reload",  "shutdown", "scale",
                                                     "environment", "attach", "resize"};
constexpr std::array<std::string_view, 11> targeted_verbs = {"start",  "stop",   "restart", "pause",      "resume",
                                                             "signal", "logs",   "scale",   "environment", "attach",
                                                             "resize"};
// A valid request nests two deep (object, targets array); anything deeper is refused while it is
// parsed, before a hostile line can build a deep tree.
constexpr int max_depth = 2;
constexpr std::size_t max_targets = 1024;
constexpr std::size_t max_target_length = 256;

struct too_deep {};

// Names from the line are echoed in errors, cut short: an error reply stays small whatever was sent.
std::string cut_short(std::string_view text) {
    constexpr std::size_t shown = 64;
    return "'" + std::string(text.substr(0, shown)) + (text.size() > shown ? "...'" : "'");
}

std::string verb_list() {
    std::string text;
    for (std::string_view verb : verbs) text += (text.empty() ? "" : ", ") + std::string(verb);
    return text;
}

// The error for a request that is not well formed; "" when it is.
std::string check_fields(const nlohmann::json& object, request& out) {
    if (auto id = object.find("id"); id != object.end()) {
        if (!id->is_number_unsigned()) return "\"id\" must be an unsigned integer";
        out.id = id->get<std::uint64_t>();
    }
    for (const auto& [key, value] : object.items())
        if (key != "id" && key != "verb" && key != "targets" && key != "signal" && key != "rows" && key != "cols")
            return "unknown field " + cut_short(key);
    auto verb = object.find("verb");
    if (verb == object.end() || !verb->is_string()) return "\"verb\" must be a string";
    out.verb = verb->get<std::string>();
    if (!known_verb(out.verb)) return "unknown verb " + cut_short(out.verb) + " (expected one of " + verb_list() + ")";
    if (auto targets = object.find("targets"); targets != object.end()) {
        if (!targets->is_array()) return "\"targets\" must be an array of names";
        if (targets->size() > max_targets) return "too many targets (at most " + std::to_string(max_targets) + ")";
        for (const auto& target : *targets) {
            if (!target.is_string() || target.get_ref<const std::string&>().empty())
                return "\"targets\" must be an array of names";
            const auto& name = target.get_ref<const std::string&>();
            if (name.size() > max_target_length)
                return "target name longer than " + std::to_string(max_target_length) + " bytes";
            out.targets.push_back(name);
        }
    }
    if (verb_takes_targets(out.verb) && out.targets.empty())
        return "verb '" + out.verb + "' needs targets (program names, NAME.N or \"all\")";
    if (auto signal = object.find("signal"); signal != object.end()) {
        if (out.verb != "signal") return "\"signal\" is only for verb 'signal'";
        if (!signal->is_number_integer() || signal->get<std::int64_t>() < 1 || signal->get<std::int64_t>() > SIGRTMAX)
            return "\"signal\" must be a signal number from 1 to " + std::to_string(SIGRTMAX);
        out.signal = static_cast<int>(signal->get<std::int64_t>());
    } else if (out.verb == "signal") {
        return "verb 'signal' needs \"signal\" (a signal number)";
    }
    for (const auto& [key, into] : {std::pair{"rows", &out.rows}, std::pair{"cols", &out.cols}}) {
        const auto size = object.find(key);
        if (size == object.end()) {
            if (out.verb == "resize") return "verb 'resize' needs \"rows\" and \"cols\"";
            continue;
        }
        if (out.verb != "resize") return "\"" + std::string(key) + "\" is only for verb 'resize'";
        if (!size->is_number_integer() || size->get<std::int64_t>() < 1 || size->get<std::int64_t>() > 65535)
            return "\"" + std::string(key) + "\" must be an integer from 1 to 65535";
        *into = static_cast<std::uint16_t>(size->get<std::int64_t>());
    }
    return {};
}

}  // namespace

bool known_verb(std::string_view verb) { return std::ranges::find(verbs, verb) != verbs.end(); }

bool verb_takes_targets(std::string_view verb) {
    return std::ranges::find(targeted_verbs, verb) != targeted_verbs.end();
}

parsed_request parse_request(std::string_view line) {
    parsed_request parsed;
    nlohmann::json object;
    // nlohmann keeps the last of a key given twice; a request that says two things is refused
    // instead. The first key seen twice is noted, and refused once the id could be read.
    std::vector<std::set<std::string>> keys_of_open_objects;
    std::optional<std::string> duplicate;
    const auto check = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& value) {
        using event_t = nlohmann::json::parse_event_t;
        if (depth > max_depth) throw too_deep{};
        if (event == event_t::object_start) keys_of_open_objects.emplace_back();
        if (event == event_t::object_end) keys_of_open_objects.pop_back();
        if (event == event_t::key && !duplicate && !keys_of_open_objects.back().insert(value.get<std::string>()).second)
            duplicate = value.get<std::string>();
        return true;
    };
    try {
        object = nlohmann::json::parse(line, check);
    } catch (const too_deep&) {
        parsed.error = "malformed request: nested deeper than a request can be";
        return parsed;
    } catch (const nlohmann::json::exception& e) {
        // nlohmann's message quotes the last token read, which may be most of the line.
        constexpr std::size_t longest = 200;
        const std::string_view what = e.what();
        parsed.error = "malformed request: " + std::string(what.substr(0, longest)) + (what.size() > longest ? "..." : "");
        return parsed;
    }
    if (!object.is_object()) {
        parsed.error = "malformed request: not a JSON object";
        return parsed;
    }
    if (duplicate) {
        if (auto id = object.find("id"); *duplicate != "id" && id != object.end() && id->is_number_unsigned())
            parsed.value.id = id->get<std::uint64_t>();
        parsed.error = "duplicate field " + cut_short(*duplicate);
        return parsed;
    }
    parsed.error = check_fields(object, parsed.value);
    return parsed;
}

std::string request_line(const request& r) {
    nlohmann::json object = {{"id", r.id}, {"verb", r.verb}};
    if (!r.targets.empty()) object["targets"] = r.targets;
    if (r.verb == "signal") object["signal"] = r.signal;
    if (r.verb == "resize") {
        object["rows"] = r.rows;
        object["cols"] = r.cols;
    }
    return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + '\n';
}

}  // namespace brood::control
