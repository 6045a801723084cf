// gclab: the heap, in one include. See heap.h for the essay and an example.
#ifndef GCLAB_GC_GC_H_
#define GCLAB_GC_GC_H_

#include "gc/collection_hook.h"
#include "gc/garbage_collected.h"
#include "gc/handles.h"
#include "gc/heap.h"
#include "gc/heap_vector.h"
#include "gc/member.h"
#include "gc/mutator_utilization.h"
#include "gc/policy.h"
#include "gc/stats.h"
#include "gc/visitor.h"

#endif  // GCLAB_GC_GC_H_
