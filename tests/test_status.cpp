// The status model and signal names.
#include <brood/error.hpp>
#include <brood/signal.hpp>
#include <brood/status.hpp>

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cerrno>
#include <stdexcept>

using namespace brood;

TEST(signal_names, names_are_shown_with_sig_prefix) {
    EXPECT_EQ(signal_name(SIGTERM), "SIGTERM");
    EXPECT_EQ(signal_name(SIGSTOP), "SIGSTOP");
    EXPECT_EQ(signal_name(SIGKILL), "SIGKILL");
    EXPECT_EQ(signal_name(SIGRTMIN), "SIGRTMIN");
    EXPECT_EQ(signal_name(SIGRTMIN + 3), "SIGRTMIN+3");
    EXPECT_EQ(signal_name(SIGRTMAX), "SIGRTMAX");
    EXPECT_EQ(signal_name(0), "signal 0");
    EXPECT_EQ(signal_name(99), "signal 99");
}

TEST(signal_names, parse_accepts_every_spelling) {
    for (const char* text : {"SIGTERM", "TERM", "term", "SigTerm", "15"}) EXPECT_EQ(parse_signal(text), SIGTERM) << text;
    EXPECT_EQ(parse_signal("kill"), SIGKILL);
    EXPECT_EQ(parse_signal("SIGSTOP"), SIGSTOP);
    EXPECT_EQ(parse_signal("IOT"), SIGABRT);
    EXPECT_EQ(parse_signal("RTMIN+2"), SIGRTMIN + 2);
    EXPECT_EQ(parse_signal("SIGRTMAX-1"), SIGRTMAX - 1);
}

TEST(signal_names, parse_rejects_what_is_not_a_signal) {
    for (const char* text : {"", "SIG", "NOPE", "SIGNOPE", "0", "-1", "65", "15x", "TERM ", "RTMIN+99", "RTMIN-1"})
        EXPECT_FALSE(parse_signal(text).has_value()) << '"' << text << '"';
}

TEST(signal_names, every_signal_round_trips) {
    for (int signal = 1; signal <= SIGRTMAX; ++signal) {
        if (signal > SIGSYS && signal < SIGRTMIN) continue;  // 32, 33: reserved by glibc
        EXPECT_EQ(parse_signal(signal_name(signal)), signal) << signal_name(signal);
    }
}

TEST(signal_names, signal_number_names_the_bad_text) {
    EXPECT_EQ(signal_number("usr1"), SIGUSR1);
    try {
        signal_number("SIGFOO");
        FAIL() << "no exception";
    } catch (const std::invalid_argument& e) {
        EXPECT_STREQ(e.what(), "unknown signal: \"SIGFOO\"");
    }
}

TEST(wait_status, each_kind_of_event) {
    wait_status e = exited{3};
    EXPECT_EQ(e.code(), 3);
    EXPECT_FALSE(e.signal());
    EXPECT_TRUE(e.terminal());
    EXPECT_FALSE(e.success());
    EXPECT_EQ(e.shell_code(), 3);
    EXPECT_EQ(e.to_string(), "exited with code 3");
    EXPECT_TRUE(wait_status(exited{0}).success());

    wait_status k = killed{SIGKILL, true};
    EXPECT_EQ(k.signal(), SIGKILL);
    EXPECT_TRUE(k.core_dumped());
    EXPECT_FALSE(k.code());
    EXPECT_EQ(k.shell_code(), 137);
    EXPECT_EQ(k.to_string(), "killed by SIGKILL (core dumped)");
    EXPECT_EQ(wait_status(killed{SIGTERM}).to_string(), "killed by SIGTERM");

    wait_status s = stopped{SIGTSTP};
    EXPECT_EQ(s.stopped_signal(), SIGTSTP);
    EXPECT_FALSE(s.terminal());
    EXPECT_EQ(s.to_string(), "stopped by SIGTSTP");

    wait_status c = continued{};
    EXPECT_TRUE(c.continued());
    EXPECT_FALSE(c.terminal());
    EXPECT_EQ(c.to_string(), "continued");
}

TEST(wait_status, decodes_raw_wait_values) {
    EXPECT_EQ(wait_status::from_wait(0x0300), wait_status(exited{3}));
    EXPECT_EQ(wait_status::from_wait(SIGSEGV | 0x80), wait_status(killed{SIGSEGV, true}));
    EXPECT_EQ(wait_status::from_wait(SIGTERM), wait_status(killed{SIGTERM, false}));
    EXPECT_EQ(wait_status::from_wait((SIGSTOP << 8) | 0x7f), wait_status(stopped{SIGSTOP}));
    EXPECT_EQ(wait_status::from_wait(0xffff), wait_status(continued{}));
}

TEST(wait_status, decodes_siginfo) {
    siginfo_t info{};
    info.si_code = CLD_DUMPED;
    info.si_status = SIGABRT;
    EXPECT_EQ(wait_status::from_siginfo(info), wait_status(killed{SIGABRT, true}));
    info.si_code = CLD_CONTINUED;
    info.si_status = SIGCONT;
    EXPECT_TRUE(wait_status::from_siginfo(info).continued());
}

TEST(errors, errno_names) {
    EXPECT_EQ(errno_name(ENOENT), "ENOENT");
    EXPECT_EQ(errno_name(EACCES), "EACCES");
    EXPECT_EQ(errno_name(ENOEXEC), "ENOEXEC");
    EXPECT_EQ(errno_name(4095), "errno 4095");
}

TEST(errors, spawn_error_names_program_stage_and_errno) {
    spawn_error e("/bin/nope", spawn_stage::chdir, ENOENT, "\"/missing\"");
    EXPECT_EQ(e.stage(), spawn_stage::chdir);
    EXPECT_EQ(e.error(), ENOENT);
    EXPECT_EQ(e.program(), "/bin/nope");
    EXPECT_STREQ(e.what(), "spawn \"/bin/nope\": chdir \"/missing\" failed: ENOENT: No such file or directory");
}
