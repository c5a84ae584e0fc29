// brood pool: prefork workers that share the parent's memory copy-on-write.
//
//   brood::parallel_map(records, fn)     fn over a large in-memory range; the input is read where it
//                                        lies, results come back through shared memory
//   brood::pool<Task, Result>            worker processes fed tasks as data; submit / map / join
//   brood::prefork_server                N workers accepting on one listening socket, restarted
//   brood::codec<T>                      the small serialization the pool's tasks travel in
//
// The users' guide is docs/pool.md.
#pragma once

#include <brood/pool/codec.hpp>
#include <brood/pool/parallel_map.hpp>
#include <brood/pool/pool_options.hpp>
#include <brood/pool/prefork_server.hpp>
#include <brood/pool/task_failed.hpp>
#include <brood/pool/worker_pool.hpp>
