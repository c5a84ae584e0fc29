#include "init/event_log.hpp"

#include <iterator>
#include <variant>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <brood/signal.hpp>

#include "common/timestamp.hpp"

namespace brood::cli {

namespace {

// Words as a shell would need them: quoted only when they contain something special.
std::string shell_words(const std::vector<std::string>& words) {
    std::string text;
    for (const std::string& word : words) {
        if (!text.empty()) text += ' ';
        if (!word.empty() && word.find_first_of(" \t\n'\"\\$`*?[]{}()<>|&;#~") == std::string::npos) {
            text += word;
            continue;
        }
        text += '\'';
        for (char c : word) text += c == '\'' ? std::string("'\\''") : std::string(1, c);
        text += '\'';
    }
    return text;
}

std::string_view kind_name(lifecycle_event::kind what) {
    switch (what) {
        case lifecycle_event::kind::started: return "started";
        case lifecycle_event::kind::exec: return "exec";
        case lifecycle_event::kind::stopped: return "stopped";
        case lifecycle_event::kind::continued: return "continued";
        case lifecycle_event::kind::exited: return "exited";
        case lifecycle_event::kind::killed: return "killed";
        case lifecycle_event::kind::forwarded: return "forwarded";
        case lifecycle_event::kind::terminating: return "terminating";
        case lifecycle_event::kind::lost: return "lost";
    }
    return "unknown";
}

std::string human_line(const lifecycle_event& e) {
    using k = lifecycle_event::kind;
    std::string what;
    switch (e.what) {
        case k::started: what = fmt::format("started: {}", shell_words(e.command)); break;
        case k::exec: what = fmt::format("exec: {}", shell_words(e.command)); break;
        case k::stopped: what = "stopped by " + signal_name(e.signal); break;
        case k::continued: what = "continued"; break;
        case k::exited: what = fmt::format("exited with code {}", e.code); break;
        case k::killed:
            what = "killed by " + signal_name(e.signal) + (e.core_dumped ? " (core dumped)" : "");
            break;
        case k::forwarded:
            what = fmt::format("{} forwarded{}", signal_name(e.signal), e.group ? " to its process group" : "");
            break;
        case k::terminating:
            what = fmt::format("program ended: {} sent to {} remaining descendant(s)", signal_name(e.signal), e.count);
            break;
        case k::lost: what = "events lost by the kernel: rescanned /proc"; break;
    }
    std::string context;
    if (e.parent != 0) context = fmt::format(" (parent {})", e.parent);
    if (e.adopted) context += " (orphan, reaped by brood)";
    return fmt::format("{} {} {}{}\n", timestamp(e.time), e.pid, what, context);
}

std::string json_line(const lifecycle_event& e) {
    using k = lifecycle_event::kind;
    nlohmann::ordered_json j;
    j["time"] = timestamp(e.time);
    j["pid"] = e.pid;
    j["event"] = kind_name(e.what);
    if (e.parent != 0) j["parent"] = e.parent;
    switch (e.what) {
        case k::started:
        case k::exec: j["command"] = e.command; break;
        case k::stopped:
        case k::forwarded: j["signal"] = signal_name(e.signal); break;
        case k::killed:
            j["signal"] = signal_name(e.signal);
            j["core_dumped"] = e.core_dumped;
            break;
        case k::exited: j["code"] = e.code; break;
        case k::terminating:
            j["signal"] = signal_name(e.signal);
            j["count"] = e.count;
            break;
        case k::continued:
        case k::lost: break;
    }
    if (e.what == k::forwarded) j["group"] = e.group;
    if (e.adopted) j["adopted"] = true;
    return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace

lifecycle_event lifecycle_event::from_status(pid_t pid, const wait_status& status) {
    lifecycle_event e;
    e.pid = pid;
    std::visit(
        [&](const auto& event) {
            using T = std::decay_t<decltype(event)>;
            if constexpr (std::is_same_v<T, brood::exited>) {
                e.what = kind::exited;
                e.code = event.code;
            } else if constexpr (std::is_same_v<T, brood::killed>) {
                e.what = kind::killed;
                e.signal = event.signal;
                e.core_dumped = event.core_dumped;
            } else if constexpr (std::is_same_v<T, brood::stopped>) {
                e.what = kind::stopped;
                e.signal = event.signal;
            } else {
                e.what = kind::continued;
            }
        },
        status.event());
    return e;
}

void event_log::write(const lifecycle_event& event) {
    const std::string line = style_ == format::json ? json_line(event) : human_line(event);
    std::fwrite(line.data(), 1, line.size(), out_);
    std::fflush(out_);
}

}  // namespace brood::cli
