// CLI11, without the std::ios_base::Init that its <iostream> puts in every file including it.
//
// A static executable runs every file's static constructors before main, whatever the command:
// CLI11's <iostream> would set up the eight standard streams and the C++ locale there (44,000
// instructions, a dozen page faults, each time brood run starts a container), though brood run and
// brood watch never use CLI11. So this reads CLI11 with <iostream> standing in for its declarations
// only (libstdc++ names no other way to have them), and main() sets up the streams itself, with a
// std::ios_base::Init, before it builds CLI11's parser: nothing names a stream before that.
#pragma once

#include <istream>
#include <ostream>

#if defined(__GLIBCXX__) && !defined(_GLIBCXX_IOSTREAM)
#define _GLIBCXX_IOSTREAM 1
namespace std {
extern istream cin;
extern ostream cout;
extern ostream cerr;
extern ostream clog;
extern wistream wcin;
extern wostream wcout;
extern wostream wcerr;
extern wostream wclog;
}  // namespace std
#endif

#include <CLI/CLI.hpp>
