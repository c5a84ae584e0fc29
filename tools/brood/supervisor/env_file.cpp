#include "supervisor/env_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <brood/error.hpp>
#include <brood/unique_fd.hpp>

namespace brood::supervisor {
namespace {

constexpr std::string_view blanks = " \t";

bool valid_key(std::string_view key) {
    if (key.empty() || (key.front() >= '0' && key.front() <= '9')) return false;
    for (char c : key)
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

std::string_view trim_left(std::string_view text) {
    const std::size_t begin = text.find_first_not_of(blanks);
    return begin == std::string_view::npos ? std::string_view{} : text.substr(begin);
}

std::string_view trim_right(std::string_view text) {
    const std::size_t end = text.find_last_not_of(blanks);
    return end == std::string_view::npos ? std::string_view{} : text.substr(0, end + 1);
}

// Reads lines, and the lines a quoted value spans, keeping count of them.
class env_parser {
public:
    env_parser(std::string_view text, const std::string& shown_name) : text_(text), name_(shown_name) {
        if (text_.starts_with("\xEF\xBB\xBF")) text_.remove_prefix(3);  // a UTF-8 byte order mark
    }

    env_file_content parse() {
        while (!text_.empty()) {
            const unsigned first_line = next_line_number_;
            const std::string_view line = take_line();
            parse_assignment(line, first_line);
        }
        return std::move(result_);
    }

private:
    // The next line without its "\n" or "\r\n".
    std::string_view take_line() {
        const std::size_t end = text_.find('\n');
        std::string_view line = text_.substr(0, end);
        text_.remove_prefix(end == std::string_view::npos ? text_.size() : end + 1);
        ++next_line_number_;
        if (line.ends_with('\r')) line.remove_suffix(1);
        return line;
    }

    void report(unsigned line, std::string message) { result_.problems.push_back({{name_, line, 0}, std::move(message)}); }

    void parse_assignment(std::string_view line, unsigned line_number) {
        line = trim_left(line);
        if (line.empty() || line.front() == '#') return;
        if (line.starts_with("export") && line.size() > 6 && (line[6] == ' ' || line[6] == '\t'))
            line = trim_left(line.substr(6));
        const std::size_t equals = line.find('=');
        if (equals == std::string_view::npos) {
            report(line_number, "expected KEY=value");
            return;
        }
        const std::string key(trim_right(line.substr(0, equals)));
        if (!valid_key(key)) {
            report(line_number, "\"" + key + "\" is not a variable name (letters, digits and _, not starting with a digit)");
            return;
        }
        std::string_view rest = trim_left(line.substr(equals + 1));
        std::optional<std::string> value;
        if (!rest.empty() && (rest.front() == '\'' || rest.front() == '"')) value = quoted(rest, line_number);
        else value = unquoted(rest);
        if (value) result_.variables[key] = std::move(*value);
    }

    // Up to the end of the line or a '#' after a blank, without the blanks at its end.
    static std::string unquoted(std::string_view rest) {
        for (std::size_t i = 0; i < rest.size(); ++i)
            if (rest[i] == '#' && (i == 0 || rest[i - 1] == ' ' || rest[i - 1] == '\t')) {
                rest = rest.substr(0, i);
                break;
            }
        return std::string(trim_right(rest));
    }

    // A quoted value, which may go on over further lines (joined with "\n") until its closing quote;
    // after it, only blanks and a comment.
    std::optional<std::string> quoted(std::string_view rest, unsigned line_number) {
        const char quote = rest.front();
        rest.remove_prefix(1);
        std::string value;
        for (;;) {
            for (std::size_t i = 0; i < rest.size(); ++i) {
                const char c = rest[i];
                if (c == quote) {
                    const std::string_view after = trim_left(rest.substr(i + 1));
                    if (!after.empty() && after.front() != '#') {
                        report(line_number, std::string("unexpected text after the closing quote: \"") + std::string(after) + "\"");
                        return std::nullopt;
                    }
                    return value;
                }
                if (quote == '"' && c == '\\' && i + 1 < rest.size()) {
                    const char next = rest[++i];
                    switch (next) {
                        case 'n': value += '\n'; break;
                        case 'r': value += '\r'; break;
                        case 't': value += '\t'; break;
                        case '"':
                        case '\\': value += next; break;
                        default: value += '\\', value += next;
                    }
                    continue;
                }
                value += c;
            }
            if (text_.empty()) {
                report(line_number, std::string(quote == '"' ? "unterminated double quote" : "unterminated single quote"));
                return std::nullopt;
            }
            value += '\n';
            rest = take_line();
        }
    }

    std::string_view text_;
    const std::string& name_;
    unsigned next_line_number_ = 1;
    env_file_content result_;
};

}  // namespace

env_file_content parse_env_file(std::string_view text, const std::string& shown_name) {
    if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
        const auto line = static_cast<unsigned>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(nul), '\n') + 1);
        // Built a member at a time, as about_file() is: GCC 12 takes a braced temporary problem's
        // strings for uninitialized.
        env_file_content binary;
        problem& found = binary.problems.emplace_back();
        found.where = {shown_name, line, 0};
        found.message = "a NUL byte: this is a binary file, not KEY=value lines";
        return binary;
    }
    return env_parser(text, shown_name).parse();
}

env_file_content read_env_file(const std::filesystem::path& file, const std::string& shown_name) {
    auto only = [](problem found) {
        env_file_content content;
        content.problems.push_back(std::move(found));
        return content;
    };
    auto failed = [&](int error) { return only(about_file(shown_name, "cannot read: " + errno_name(error) + ": " + std::strerror(error))); };
    const unique_fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd) return failed(errno);
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) return failed(errno);
    if (S_ISDIR(info.st_mode)) return failed(EISDIR);
    std::string text;
    char buffer[8192];
    for (;;) {
        const ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return failed(errno);
        if (got == 0) break;
        text.append(buffer, static_cast<std::size_t>(got));
        if (text.size() > max_env_file_size)
            return only(about_file(shown_name, "larger than " + std::to_string(max_env_file_size / 1024 / 1024) +
                                                   " MiB: an environment file is a few KEY=value lines"));
    }
    return parse_env_file(text, shown_name);
}

}  // namespace brood::supervisor
