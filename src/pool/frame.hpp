// frame: the messages of a pool channel. Every message is a 16-byte header and a payload.
//
//   parent -> worker   run    payload: u32 count, then `count` encoded tasks
//                      stop   no payload: the worker exits with code 0
//   worker -> parent   done   payload: the `count` encoded results of the run message `seq`
//                      threw  payload: u32 position in the message, then the exception's what()
//
// A worker answers its run messages in the order it got them; seq lets the parent check that.
#pragma once

#include <cstdint>

namespace brood::detail {

enum class frame_kind : std::uint16_t { run = 1, stop = 2, done = 3, threw = 4 };

struct frame_header {
    std::uint64_t seq;
    std::uint32_t size;  // payload bytes after the header
    frame_kind kind;
    std::uint16_t unused = 0;
};
static_assert(sizeof(frame_header) == 16);

}  // namespace brood::detail
