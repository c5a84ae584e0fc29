#include "supervisor/toml_unsafe_text.hpp"

#include <algorithm>

namespace brood::supervisor {
namespace {

using namespace std::string_view_literals;

bool is_ascii(char c) { return static_cast<unsigned char>(c) < 0x80; }
bool starts_code_point(char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }
bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Just enough of TOML's lexical rules to know, byte by byte, whether we are in a string or comment.
class scanner {
public:
    scanner(std::string_view text, const std::string& file_name) : text_(text), file_(file_name) {
        if (text_.starts_with("\xEF\xBB\xBF"sv)) at_ = line_start_ = 3;  // a UTF-8 byte order mark, which toml++ skips
    }

    std::optional<problem> scan() {
        while (at_ < text_.size()) {
            const char c = text_[at_];
            if (c == '\n' && (in_ == context::comment || in_ == context::basic || in_ == context::literal)) {
                in_ = context::plain;  // an unterminated one-line string is toml++'s to report
                advance();
                continue;
            }
            switch (in_) {
                case context::plain:
                    if (!is_ascii(c)) return problem_here("non-ASCII character outside a string or comment");
                    if (c == '#') in_ = context::comment;
                    else if (c == '"') in_ = open("\"\"\""sv) ? context::multi_line_basic : context::basic;
                    else if (c == '\'') in_ = open("'''"sv) ? context::multi_line_literal : context::literal;
                    if (in_ == context::multi_line_basic || in_ == context::multi_line_literal) continue;
                    break;
                case context::comment: break;
                case context::basic:
                    if (c == '"') in_ = context::plain;
                    else if (c == '\\' && at_ + 1 < text_.size() && text_[at_ + 1] != '\n') advance();  // the escaped byte
                    break;
                case context::literal:
                    if (c == '\'') in_ = context::plain;
                    break;
                case context::multi_line_basic:
                    if (c == '\\') {
                        if (auto found = after_backslash()) return found;
                        continue;
                    }
                    if (close('"')) continue;
                    break;
                case context::multi_line_literal:
                    if (close('\'')) continue;
                    break;
            }
            advance();
        }
        // Where a multi-line string never ends, toml++ may read its text otherwise than as a string.
        if (in_ == context::multi_line_basic || in_ == context::multi_line_literal)
            return problem_here("multi-line string not closed before the end of the file");
        return std::nullopt;
    }

private:
    enum class context { plain, comment, basic, literal, multi_line_basic, multi_line_literal };

    void advance() {
        if (text_[at_] == '\n') line_start_ = at_ + 1, ++line_;
        ++at_;
    }

    // Consumes delimiter if the text goes on with it.
    bool open(std::string_view delimiter) {
        if (!text_.substr(at_).starts_with(delimiter)) return false;
        at_ += delimiter.size();
        return true;
    }

    // Ends a multi-line string at three or more quotes: TOML lets up to two of them be content.
    bool close(char quote) {
        const std::size_t end = std::min(text_.find_first_not_of(quote, at_), text_.size());
        if (end - at_ < 3) return false;
        at_ = end;
        in_ = context::plain;
        return true;
    }

    // toml++ asks whether what follows a backslash in a multi-line basic string is whitespace, up to
    // the first character that is not (a line-ending backslash skips blanks and line breaks).
    std::optional<problem> after_backslash() {
        advance();
        const std::size_t escaped = at_;
        while (at_ < text_.size() && is_blank(text_[at_])) advance();
        if (at_ == text_.size()) return std::nullopt;
        if (!is_ascii(text_[at_])) return problem_here("non-ASCII character after a backslash in a multi-line string");
        if (at_ == escaped) advance();  // an escape such as \n or \\: its letter is not content
        return std::nullopt;
    }

    problem problem_here(std::string message) const {
        const std::string_view line = text_.substr(line_start_, at_ - line_start_);
        const auto column = 1 + std::count_if(line.begin(), line.end(), starts_code_point);
        return {{file_, line_, static_cast<unsigned>(column)}, std::move(message)};
    }

    std::string_view text_;
    const std::string& file_;
    context in_ = context::plain;
    std::size_t at_ = 0;
    std::size_t line_start_ = 0;
    unsigned line_ = 1;
};

}  // namespace

std::optional<problem> find_unsafe_toml_text(std::string_view text, const std::string& file_name) {
    return scanner(text, file_name).scan();
}

}  // namespace brood::supervisor
