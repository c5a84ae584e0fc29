// What brood top draws and how its keys change it: the table of instances (one selected), the
// help, the filter being typed, and the log of one instance. Acting on an instance (start, stop,
// restart, pause, resume) and finding its log are requests on the connection that follows the
// events; events that arrive meanwhile are applied to the rows.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "control/client.hpp"
#include "top/instance_rows.hpp"
#include "top/log_view.hpp"
#include "top/terminal.hpp"

namespace brood::cli {

class top_view {
public:
    top_view(control::client& supervisor, instance_rows& rows, terminal& screen, std::string title);

    // A key from terminal::next_key. false when it means: quit.
    bool key(int ch);
    // Once a second (more often with a log open): new lines of the log shown.
    void follow_log();
    bool showing_log() const { return log_ != nullptr; }
    // Redraws the whole screen at the terminal's size now.
    void draw();

private:
    enum class mode { table, help, filter, log };

    void draw_table();
    void draw_help();
    void draw_log();
    void draw_bottom_line();
    void act(const char* verb);
    void open_log();
    void move_selection(long by);
    const instance_row* selected() const;

    control::client& supervisor_;
    instance_rows& rows_;
    terminal& screen_;
    std::string title_;
    mode mode_ = mode::table;
    std::string selected_name_;  // the selection follows its instance as rows change
    std::string filter_;
    std::string message_;        // the outcome of the last action, on the bottom line
    bool message_is_error_ = false;
    std::unique_ptr<log_view> log_;
};

}  // namespace brood::cli
