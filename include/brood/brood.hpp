// libbrood: child processes done right. One include for everything.
#pragma once

#include <brood/cgroup.hpp>
#include <brood/child.hpp>
#include <brood/command.hpp>
#include <brood/error.hpp>
#include <brood/fork.hpp>
#include <brood/proc.hpp>
#include <brood/reaper.hpp>
#include <brood/signal.hpp>
#include <brood/spawner.hpp>
#include <brood/status.hpp>
#include <brood/unique_fd.hpp>
#include <brood/wait.hpp>
