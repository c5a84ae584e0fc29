#include "top/top_view.hpp"

#include <algorithm>
#include <system_error>
#include <vector>

#include <fmt/core.h>
#include <fmt/format.h>

#include "common/human_units.hpp"

namespace brood::cli {
namespace {

// Lines of a log kept for its view: more than any terminal is high.
constexpr std::size_t log_lines_kept = 1000;

constexpr const char* key_hints = "q quit  ? help  / filter  s start  S stop  r restart  p pause  c resume  l log";

const char* const help_lines[] = {
    "brood top: keys",
    "",
    "  Up k, Down j   select an instance (Home g, End G)",
    "  s              start it",
    "  S              stop it",
    "  r              restart it",
    "  p              pause it (SIGSTOP to its group)",
    "  c              continue it: resume (SIGCONT)",
    "  l              its log, following it (q, Esc or l: back)",
    "  /              show only rows whose name or state has a text",
    "                 (Enter keeps it, Esc clears it)",
    "  ?              this help",
    "  q              quit (^C too)",
    "",
    "any key closes this help",
};

terminal_colour colour_of(const std::string& state) {
    if (state == "running" || state == "ready") return terminal_colour::good;
    if (state == "starting" || state == "stopping") return terminal_colour::changing;
    if (state == "paused") return terminal_colour::held;
    if (state == "backoff" || state == "exited") return terminal_colour::failing;
    if (state == "fatal") return terminal_colour::failed;
    return terminal_colour::none;  // stopped, completed: nothing to look at
}

terminal_colour colour_of_health(const std::string& health) {
    if (health == "healthy") return terminal_colour::good;
    if (health == "starting") return terminal_colour::changing;
    if (health == "unhealthy") return terminal_colour::failing;
    return terminal_colour::none;
}

// The cells after NAME and STATE, each padded to its column: PID UPTIME RESTARTS CPU% RSS LAST-EXIT.
std::string numbers_of(const instance_row& r, std::chrono::steady_clock::time_point now) {
    const std::string pid = r.pid != 0 ? std::to_string(r.pid) : "-";
    const std::string uptime =
        r.pid != 0 && r.spawned ? human_duration(std::chrono::duration_cast<std::chrono::milliseconds>(now - *r.spawned)) : "-";
    const std::string cpu = r.cpu_percent ? fmt::format("{:.1f}", *r.cpu_percent) : "-";
    const std::string rss = r.rss_bytes ? human_bytes(*r.rss_bytes) : "-";
    return fmt::format("{:>7}  {:>7}  {:>8}  {:>6}  {:>7}  {}", pid, uptime, r.restarts, cpu, rss,
                       r.last_exit.empty() ? "-" : r.last_exit);
}

}  // namespace

top_view::top_view(control::client& supervisor, instance_rows& rows, terminal& screen, std::string title)
    : supervisor_(supervisor), rows_(rows), screen_(screen), title_(std::move(title)) {}

void top_view::draw() {
    screen_.clear();
    if (mode_ == mode::log) {
        draw_log();
    } else {
        draw_table();
        if (mode_ == mode::help) draw_help();
    }
    draw_bottom_line();
    screen_.show();
}

void top_view::draw_table() {
    const std::vector<const instance_row*> shown = rows_.matching(filter_);
    std::string title = fmt::format("{}  {} instances", title_, rows_.all().size());
    if (!filter_.empty()) title += fmt::format("  filter: {} ({} shown)", filter_, shown.size());
    screen_.put(0, 0, title, {.bold = true});

    std::size_t name_width = 4;
    for (const instance_row* r : shown) name_width = std::max(name_width, r->name.size());
    name_width = std::min(name_width, static_cast<std::size_t>(std::max(4, screen_.columns() / 3)));
    constexpr std::size_t state_width = 9;  // "completed"
    // HEALTH only when some instance has a health check, as brood status does.
    const bool any_health = std::any_of(rows_.all().begin(), rows_.all().end(), [](const instance_row& r) { return !r.health.empty(); });
    constexpr std::size_t health_width = 9;  // "unhealthy"
    const std::size_t before_numbers = state_width + (any_health ? health_width + 2 : 0);
    const std::string header_state =
        any_health ? fmt::format("{:<{}}  {:<{}}", "STATE", state_width, "HEALTH", health_width) : std::string("STATE");
    screen_.put(1, 0,
                fmt::format("{:<{}}  {:<{}}  {:>7}  {:>7}  {:>8}  {:>6}  {:>7}  {}", "NAME", name_width, header_state,
                            before_numbers, "PID", "UPTIME", "RESTARTS", "CPU%", "RSS", "LAST-EXIT"),
                {.bold = true, .underline = true});

    const int first_line = 2;
    const int height = std::max(0, screen_.lines() - first_line - 1);  // the bottom line is the keys'
    if (shown.empty()) {
        screen_.put(first_line, 0, filter_.empty() ? "no instance" : "no instance matches \"" + filter_ + "\"");
        return;
    }
    const instance_row* chosen = selected();
    const auto at = std::find(shown.begin(), shown.end(), chosen) - shown.begin();
    const long top = std::max<long>(0, at - height + 1);  // scrolled just enough to show the selection
    const auto now = std::chrono::steady_clock::now();
    for (long i = top; i < static_cast<long>(shown.size()) && i - top < height; ++i) {
        const instance_row& r = *shown[static_cast<std::size_t>(i)];
        const int y = first_line + static_cast<int>(i - top);
        const bool highlight = &r == chosen;
        if (highlight) screen_.put(y, 0, std::string(static_cast<std::size_t>(screen_.columns()), ' '), {.reverse = true});
        const int state_x = static_cast<int>(name_width) + 2;
        screen_.put(y, 0, r.name.substr(0, name_width), {.reverse = highlight});
        screen_.put(y, state_x, r.state, {.hue = colour_of(r.state), .bold = true, .reverse = highlight});
        if (any_health)
            screen_.put(y, state_x + static_cast<int>(state_width) + 2, r.health.empty() ? "-" : r.health,
                        {.hue = colour_of_health(r.health), .reverse = highlight});
        screen_.put(y, state_x + static_cast<int>(before_numbers) + 2, numbers_of(r, now), {.reverse = highlight});
    }
}

void top_view::draw_help() {
    int width = 0;
    for (const char* line : help_lines) width = std::max(width, static_cast<int>(std::string_view(line).size()));
    const int height = static_cast<int>(std::size(help_lines));
    const int y = std::max(0, (screen_.lines() - height - 2) / 2);
    const int x = std::max(0, (screen_.columns() - width - 4) / 2);
    const std::string border = "+" + std::string(static_cast<std::size_t>(width + 2), '-') + "+";
    screen_.put(y, x, border);
    for (int i = 0; i < height; ++i) screen_.put(y + 1 + i, x, fmt::format("| {:<{}} |", help_lines[i], width));
    screen_.put(y + height + 1, x, border);
}

void top_view::draw_log() {
    screen_.put(0, 0, fmt::format("log of {}: following (q, Esc or l: back)", log_->name()), {.bold = true});
    const int height = std::max(0, screen_.lines() - 2);
    const auto& lines = log_->lines();
    const std::size_t first = lines.size() > static_cast<std::size_t>(height) ? lines.size() - static_cast<std::size_t>(height) : 0;
    for (std::size_t i = first; i < lines.size(); ++i) screen_.put(1 + static_cast<int>(i - first), 0, lines[i]);
    if (lines.empty()) screen_.put(1, 0, "(nothing logged yet)");
}

void top_view::draw_bottom_line() {
    const int y = screen_.lines() - 1;
    if (mode_ == mode::filter) {
        screen_.put(y, 0, "/" + filter_ + "_");
    } else if (!message_.empty()) {
        screen_.put(y, 0, message_,
                    {.hue = message_is_error_ ? terminal_colour::failed : terminal_colour::none, .bold = true});
    } else {
        screen_.put(y, 0, key_hints);
    }
}

bool top_view::key(int ch) {
    if (ch == terminal::resized) return true;  // curses has the new size already: the next draw uses it
    switch (mode_) {
        case mode::help:
            mode_ = mode::table;
            return true;
        case mode::filter:
            if (ch == terminal::enter) {
                mode_ = mode::table;
            } else if (ch == terminal::escape) {
                filter_.clear();
                mode_ = mode::table;
            } else if (ch == terminal::backspace) {
                if (!filter_.empty()) filter_.pop_back();
            } else if (ch >= 32 && ch < 127) {
                filter_ += static_cast<char>(ch);
            }
            return true;
        case mode::log:
            if (ch == 'q' || ch == terminal::escape || ch == 'l') {
                log_.reset();  // closes its file
                mode_ = mode::table;
            }
            return true;
        case mode::table:
            break;
    }
    message_.clear();
    switch (ch) {
        case 'q': return false;
        case '?': mode_ = mode::help; break;
        case '/': mode_ = mode::filter; break;
        case terminal::escape: filter_.clear(); break;
        case 'j': case terminal::down: move_selection(1); break;
        case 'k': case terminal::up: move_selection(-1); break;
        case 'g': case terminal::home: move_selection(-static_cast<long>(rows_.all().size())); break;
        case 'G': case terminal::end: move_selection(static_cast<long>(rows_.all().size())); break;
        case 's': act("start"); break;
        case 'S': act("stop"); break;
        case 'r': act("restart"); break;
        case 'p': act("pause"); break;
        case 'c': act("resume"); break;
        case 'l': open_log(); break;
        default: break;
    }
    return true;
}

const instance_row* top_view::selected() const {
    const std::vector<const instance_row*> shown = rows_.matching(filter_);
    for (const instance_row* r : shown)
        if (r->name == selected_name_) return r;
    return shown.empty() ? nullptr : shown.front();
}

void top_view::move_selection(long by) {
    const std::vector<const instance_row*> shown = rows_.matching(filter_);
    if (shown.empty()) return;
    const long at = std::find(shown.begin(), shown.end(), selected()) - shown.begin();
    const long to = std::clamp<long>(at + by, 0, static_cast<long>(shown.size()) - 1);
    selected_name_ = shown[static_cast<std::size_t>(to)]->name;
}

// The request's reply says which instances it acted on; their rows change as the events come.
void top_view::act(const char* verb) {
    const instance_row* r = selected();
    if (r == nullptr) return;
    const std::string name = r->name;
    try {
        const nlohmann::json result =
            supervisor_.call(verb, {name}, 0, [this](const nlohmann::json& event) { rows_.apply(event); });
        const nlohmann::json instances = result.value("instances", nlohmann::json::array());
        message_ = fmt::format("{}: {}", verb,
                               instances.empty() ? "no instance" : fmt::format("{}", fmt::join(instances.get<std::vector<std::string>>(), " ")));
        message_is_error_ = false;
    } catch (const control::request_error& e) {  // refused: the connection goes on
        message_ = fmt::format("{} {}: {}", verb, name, e.what());
        message_is_error_ = true;
    }
}

void top_view::open_log() {
    const instance_row* r = selected();
    if (r == nullptr) return;
    const std::string name = r->name;
    try {
        const nlohmann::json files = supervisor_.call("logs", {name}, 0, [this](const nlohmann::json& event) {
            rows_.apply(event);
        }).value("files", nlohmann::json::array());
        if (files.empty()) return;
        if (files[0].value("to", "file") == "stdout") {
            message_ = name + " logs to brood's standard output (log.to = \"stdout\"): no file to read";
            message_is_error_ = true;
            return;
        }
        log_ = std::make_unique<log_view>(name, files[0].value("log", ""), log_lines_kept);
        mode_ = mode::log;
    } catch (const control::request_error& e) {
        message_ = fmt::format("log of {}: {}", name, e.what());
        message_is_error_ = true;
    } catch (const std::system_error& e) {  // the file could not be read
        message_ = fmt::format("log of {}: {}", name, e.what());
        message_is_error_ = true;
    }
}

void top_view::follow_log() {
    if (!log_) return;
    try {
        log_->follow();
    } catch (const std::system_error& e) {
        message_ = fmt::format("log of {}: {}", log_->name(), e.what());
        message_is_error_ = true;
        log_.reset();
        mode_ = mode::table;
    }
}

}  // namespace brood::cli
