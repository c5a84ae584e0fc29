#include <brood/signal.hpp>

#include <array>
#include <cctype>
#include <charconv>
#include <stdexcept>
#include <tuple>
#include <utility>

#include <signal.h>

namespace brood {
namespace {

// The standard signals Linux defines, by number. Aliases (SIGIOT, SIGPOLL, SIGCLD) parse but are
// never printed.
constexpr std::array<std::pair<int, std::string_view>, 31> names{{
    {SIGHUP, "HUP"},   {SIGINT, "INT"},       {SIGQUIT, "QUIT"}, {SIGILL, "ILL"},       {SIGTRAP, "TRAP"},
    {SIGABRT, "ABRT"}, {SIGBUS, "BUS"},       {SIGFPE, "FPE"},   {SIGKILL, "KILL"},     {SIGUSR1, "USR1"},
    {SIGSEGV, "SEGV"}, {SIGUSR2, "USR2"},     {SIGPIPE, "PIPE"}, {SIGALRM, "ALRM"},     {SIGTERM, "TERM"},
    {SIGSTKFLT, "STKFLT"}, {SIGCHLD, "CHLD"}, {SIGCONT, "CONT"}, {SIGSTOP, "STOP"},     {SIGTSTP, "TSTP"},
    {SIGTTIN, "TTIN"}, {SIGTTOU, "TTOU"},     {SIGURG, "URG"},   {SIGXCPU, "XCPU"},     {SIGXFSZ, "XFSZ"},
    {SIGVTALRM, "VTALRM"}, {SIGPROF, "PROF"}, {SIGWINCH, "WINCH"}, {SIGIO, "IO"},       {SIGPWR, "PWR"},
    {SIGSYS, "SYS"},
}};
constexpr std::array<std::pair<int, std::string_view>, 3> aliases{{{SIGIOT, "IOT"}, {SIGPOLL, "POLL"}, {SIGCLD, "CLD"}}};

bool equal_ignoring_case(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

std::optional<int> parse_number(std::string_view text) noexcept {
    int value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

bool valid(int signal) noexcept { return signal >= 1 && signal <= SIGRTMAX; }

}  // namespace

std::string signal_name(int signal) {
    for (const auto& [number, name] : names)
        if (number == signal) return "SIG" + std::string(name);
    if (signal >= SIGRTMIN && signal <= SIGRTMAX) {
        if (signal == SIGRTMIN) return "SIGRTMIN";
        if (signal == SIGRTMAX) return "SIGRTMAX";
        return "SIGRTMIN+" + std::to_string(signal - SIGRTMIN);
    }
    return "signal " + std::to_string(signal);
}

std::optional<int> parse_signal(std::string_view text) noexcept {
    if (auto number = parse_number(text)) {
        if (valid(*number)) return number;
        return std::nullopt;
    }
    if (text.size() > 3 && equal_ignoring_case(text.substr(0, 3), "SIG")) text.remove_prefix(3);
    for (const auto& [number, name] : names)
        if (equal_ignoring_case(text, name)) return number;
    for (const auto& [number, name] : aliases)
        if (equal_ignoring_case(text, name)) return number;
    // RTMIN, RTMIN+n, RTMAX, RTMAX-n
    for (auto [base, sign, name] : {std::tuple{SIGRTMIN, 1, std::string_view("RTMIN")},
                                    std::tuple{SIGRTMAX, -1, std::string_view("RTMAX")}}) {
        if (text.size() < name.size() || !equal_ignoring_case(text.substr(0, name.size()), name)) continue;
        std::string_view rest = text.substr(name.size());
        if (rest.empty()) return base;
        if (rest[0] != (sign > 0 ? '+' : '-')) return std::nullopt;
        auto offset = parse_number(rest.substr(1));
        if (!offset || *offset < 0) return std::nullopt;
        const int signal = base + sign * *offset;
        if (signal >= SIGRTMIN && signal <= SIGRTMAX) return signal;
        return std::nullopt;
    }
    return std::nullopt;
}

int signal_number(std::string_view text) {
    if (auto signal = parse_signal(text)) return *signal;
    throw std::invalid_argument("unknown signal: \"" + std::string(text) + "\"");
}

}  // namespace brood
