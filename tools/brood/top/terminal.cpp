#include "top/terminal.hpp"

#include <algorithm>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <curses.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace brood::cli {

terminal::terminal(bool colours) {
    if (!::isatty(STDIN_FILENO) || !::isatty(STDOUT_FILENO))
        throw terminal_error("top needs a terminal: stdin and stdout must both be one");
    // The terminal's character set (UTF-8 most often) for the text of logs, as the user's locale says.
    std::setlocale(LC_CTYPE, "");
    // newterm, unlike initscr, returns an error instead of exiting the program.
    const char* term = std::getenv("TERM");
    screen_ = newterm(nullptr, stdout, stdin);
    if (screen_ == nullptr)
        throw terminal_error(std::string("no terminfo entry for TERM=") + (term != nullptr ? term : "(unset)") +
                             " in $TERMINFO, ~/.terminfo, /etc/terminfo, /lib/terminfo or /usr/share/terminfo "
                             "(Debian's ncurses-base and ncurses-term install them)");
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);  // keys are read after poll() says some came: never wait for one
    set_escdelay(25);       // Esc alone, not the start of an arrow key's sequence, after 25 ms
    curs_set(0);
    if (colours && has_colors()) {
        start_color();
        use_default_colors();
        init_pair(static_cast<short>(terminal_colour::good), COLOR_GREEN, -1);
        init_pair(static_cast<short>(terminal_colour::changing), COLOR_YELLOW, -1);
        init_pair(static_cast<short>(terminal_colour::held), COLOR_CYAN, -1);
        init_pair(static_cast<short>(terminal_colour::failing), COLOR_MAGENTA, -1);
        init_pair(static_cast<short>(terminal_colour::failed), COLOR_RED, -1);
        colours_ = true;
    }
}

terminal::~terminal() {
    endwin();
    delscreen(static_cast<SCREEN*>(screen_));
}

void terminal::resize() {
    winsize size{};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_row > 0 && size.ws_col > 0)
        resizeterm(size.ws_row, size.ws_col);
}

int terminal::lines() const { return LINES; }
int terminal::columns() const { return COLS; }
void terminal::clear() { erase(); }
void terminal::show() { refresh(); }

void terminal::put(int y, int x, std::string_view text, text_style s) {
    if (y < 0 || y >= LINES || x < 0 || x >= COLS) return;
    attr_t attributes = A_NORMAL;
    if (s.bold) attributes |= A_BOLD;
    if (s.underline) attributes |= A_UNDERLINE;
    if (s.reverse) attributes |= A_REVERSE;
    if (colours_ && s.hue != terminal_colour::none) attributes |= COLOR_PAIR(static_cast<short>(s.hue));
    attron(attributes);
    mvaddnstr(y, x, text.data(), static_cast<int>(std::min<std::size_t>(text.size(), static_cast<std::size_t>(COLS - x))));
    attroff(attributes);
}

std::optional<int> terminal::next_key() {
    const int ch = getch();
    switch (ch) {
        case ERR: return std::nullopt;
        case KEY_UP: return up;
        case KEY_DOWN: return down;
        case KEY_HOME: return home;
        case KEY_END: return end;
        case KEY_ENTER: case '\n': case '\r': return enter;
        case KEY_BACKSPACE: case 127: case 8: return backspace;
        case 27: return escape;
        case KEY_RESIZE: return resized;
        default: return ch;
    }
}

}  // namespace brood::cli
