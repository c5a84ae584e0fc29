#include "supervisor/shell_words.hpp"

namespace brood::supervisor {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n'; }
bool is_operator(char c) { return std::string_view("|&;<>()").find(c) != std::string_view::npos; }
bool is_expansion(char c) { return c == '$' || c == '`'; }

shell_words failure(std::string message) { return {{}, std::move(message)}; }

// A character a shell would act on: passing it on literally would silently differ from sh.
shell_words needs_a_shell(char c, std::string_view what_sh_does) {
    return failure(std::string("'") + c + "' " + std::string(what_sh_does) +
                   ", but no shell runs this command: quote or escape it, or set shell = true");
}

}  // namespace

shell_words split_shell_words(std::string_view text) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;  // true once a word has begun, even if it is still empty ('')
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (is_blank(c)) {
            if (in_word) words.push_back(std::move(word));
            word.clear();
            in_word = false;
        } else if (c == '\\') {
            if (i + 1 == text.size()) return failure("a backslash at the end escapes nothing");
            ++i;
            if (text[i] == '\n') continue;  // line continuation: joins, adds nothing
            word += text[i];
            in_word = true;
        } else if (c == '\'') {
            const std::size_t close = text.find('\'', i + 1);
            if (close == std::string_view::npos) return failure("unterminated single quote");
            word.append(text.substr(i + 1, close - i - 1));
            i = close;
            in_word = true;
        } else if (c == '"') {
            for (++i;; ++i) {
                if (i == text.size()) return failure("unterminated double quote");
                const char q = text[i];
                if (q == '"') break;
                if (is_expansion(q)) return needs_a_shell(q, "expands in a shell, even in double quotes");
                if (q == '\\' && i + 1 < text.size()) {
                    const char next = text[i + 1];
                    if (next == '\n') {
                        ++i;
                        continue;
                    }
                    // Inside double quotes a backslash escapes only these; before anything else it stays.
                    if (next == '"' || next == '\\' || next == '$' || next == '`') {
                        word += next;
                        ++i;
                        continue;
                    }
                }
                word += q;
            }
            in_word = true;
        } else if (is_operator(c)) {
            return needs_a_shell(c, "is a shell operator");
        } else if (is_expansion(c)) {
            return needs_a_shell(c, "expands in a shell");
        } else if (c == '#' && !in_word) {
            return needs_a_shell(c, "starts a comment in a shell");
        } else {
            word += c;
            in_word = true;
        }
    }
    if (in_word) words.push_back(std::move(word));
    return {std::move(words), std::nullopt};
}

}  // namespace brood::supervisor
