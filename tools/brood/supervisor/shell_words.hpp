// Splitting a command string into argv the way /bin/sh would, without running a shell.
//
// Quoting follows POSIX sh: 'single quotes' keep everything literally; "double quotes" keep
// everything except \" \\ \$ \` and backslash-newline; outside quotes a backslash makes the next
// character literal and backslash-newline joins lines. Quotes can make an empty word ('').
//
// No expansion happens, so characters that would make a shell do something other than pass a word
// on are refused rather than silently passed literally: | & ; < > ( ) unquoted, $ and ` unquoted or
// in double quotes, and # at the start of a word. Quote them, or use a shell (shell = true).
// Globs (* ? [) and ~ are not expanded and are passed as written.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace brood::supervisor {

struct shell_words {
    std::vector<std::string> words;
    std::optional<std::string> error;  // why the text cannot be split; then words is empty
};

shell_words split_shell_words(std::string_view text);

}  // namespace brood::supervisor
