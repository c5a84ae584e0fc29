// brood top's hold on the terminal: curses over stdin and stdout from construction to destruction,
// which returns the terminal to its normal state (endwin) however top ends: a key, a signal read
// from a signalfd, the supervisor going away, or an exception unwinding.
//
// <curses.h> stays in terminal.cpp: its macros (move, erase, clear, timeout...) would rewrite the
// code of any file that includes it, and of the files a unity build puts beside it.
#pragma once

#include <optional>
#include <stdexcept>
#include <string_view>

namespace brood::cli {

// Curses cannot start: stdin or stdout is not a terminal, or TERM has no terminfo entry.
struct terminal_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Colours, one per family of states (and errors); none: the terminal's own.
enum class terminal_colour : short { none = 0, good, changing, held, failing, failed };

struct text_style {
    terminal_colour hue = terminal_colour::none;
    bool bold = false;
    bool underline = false;
    bool reverse = false;
};

class terminal {
public:
    // Keys beyond characters, as next_key returns them.
    enum key : int { up = 0x10000, down, home, end, enter, backspace, escape, resized };

    // colours: false (NO_COLOR) draws without any, as does a terminal that has none.
    explicit terminal(bool colours);
    ~terminal();
    terminal(const terminal&) = delete;
    terminal& operator=(const terminal&) = delete;

    // After SIGWINCH: curses learns the terminal's new size (it cannot itself: the signal is
    // blocked, read from a signalfd, so that its handler never runs).
    void resize();

    int lines() const;
    int columns() const;
    void clear();
    // Text at (y, x), cut at the right edge (curses would wrap it onto the next line).
    void put(int y, int x, std::string_view text, text_style s = {});
    // What was put since clear() goes to the terminal.
    void show();
    // The next key typed, or nullopt when none is waiting: it never waits.
    std::optional<int> next_key();

private:
    void* screen_;  // SCREEN*
    bool colours_ = false;
};

}  // namespace brood::cli
