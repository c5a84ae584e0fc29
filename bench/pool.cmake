# brood pool benchmarks, included by bench/CMakeLists.txt. Results: docs/benchmarks.md.
#   pool_compare       tiny tasks: brood::pool (submit round trip, map batched and one task per
#                      message) against Python's multiprocessing.Pool and a raw pipe ping-pong
#   pool_parallel_map  parallel_map over 1 GiB against a single-threaded loop; PSS of the workers
#   pool_fork_cost     starting N workers from a parent holding 0, 1 and 4 GiB
foreach(driver pool_compare pool_parallel_map pool_fork_cost)
  add_executable(${driver} ${CMAKE_CURRENT_LIST_DIR}/${driver}.cpp)
  target_link_libraries(${driver} PRIVATE brood::brood)
  target_compile_options(${driver} PRIVATE -Wall -Wextra -Werror)
endforeach()
target_compile_definitions(pool_compare PRIVATE BENCH_POOL_PYTHON_SCRIPT="${CMAKE_CURRENT_LIST_DIR}/pool_python.py")
