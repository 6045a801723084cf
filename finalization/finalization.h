// gclab: finalization, the umbrella header. See README.md in this folder.
//
//   registry.h   FinalizationRegistry<H>: register(target, held, token), unregister
//   queue.h      FinalizationQueue: the heap's deliveries, turns, statistics, errors
//   scheduler.h  when callbacks run: after each collection, host jobs, randomized, never
#ifndef GCLAB_FINALIZATION_FINALIZATION_H_
#define GCLAB_FINALIZATION_FINALIZATION_H_

#include "finalization/queue.h"      // IWYU pragma: export
#include "finalization/registry.h"   // IWYU pragma: export
#include "finalization/scheduler.h"  // IWYU pragma: export

#endif  // GCLAB_FINALIZATION_FINALIZATION_H_
