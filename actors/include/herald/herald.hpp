#pragma once

// Everything a herald user needs: actors, refs, asks, coroutine handlers, the system.
#include "herald/actors/actor.hpp"
#include "herald/actors/actor_ref.hpp"
#include "herald/actors/actor_system.hpp"
#include "herald/actors/ask_future.hpp"
#include "herald/actors/config.hpp"
#include "herald/actors/messages.hpp"
#include "herald/actors/metrics.hpp"
#include "herald/actors/quorum.hpp"
#include "herald/actors/router.hpp"
#include "herald/actors/task.hpp"
#include "herald/wire/bytes.hpp"
#include "herald/error.hpp"
#include "herald/result.hpp"
