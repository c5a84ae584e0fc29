# brood::monitor benchmarks, included by bench/CMakeLists.txt. Results: docs/benchmarks.md.
#   monitor_storm    n children killed at once: monitor vs raw waitid(P_ALL) loop (100, 1,000, 10,000)
#   monitor_latency  kill -STOP -> stopped event (median, p99 over 1,000 tries); bytes per watched child
add_library(brood_bench_sleepers OBJECT ${CMAKE_CURRENT_LIST_DIR}/monitor_sleepers.cpp)
target_compile_options(brood_bench_sleepers PRIVATE -Wall -Wextra -Werror)

foreach(driver monitor_storm monitor_latency)
  add_executable(${driver} ${CMAKE_CURRENT_LIST_DIR}/${driver}.cpp $<TARGET_OBJECTS:brood_bench_sleepers>)
  target_link_libraries(${driver} PRIVATE brood::brood)
  target_compile_options(${driver} PRIVATE -Wall -Wextra -Werror)
endforeach()
