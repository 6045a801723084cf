// gclab: weak references and ephemerons, in one include.
//
//   WeakMember<T>, WeakPersistent<T>   weak fields and weak roots (gc/member.h, gc/handles.h)
//   WeakRef<T>                          JavaScript's WeakRef, with kept objects (weak_ref.h)
//   EphemeronPair<K, V>                 a key and a value that lives only while the key does
//   WeakMap<K, V>, WeakSet<K>           ephemeron tables (ephemeron_table.h)
#ifndef GCLAB_WEAK_WEAK_H_
#define GCLAB_WEAK_WEAK_H_

#include "gc/gc.h"
#include "weak/ephemeron.h"
#include "weak/ephemeron_table.h"
#include "weak/weak_ref.h"

#endif  // GCLAB_WEAK_WEAK_H_
