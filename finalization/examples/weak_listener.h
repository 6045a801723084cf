// gclab example: weak listeners, with a WeakRef and a FinalizationRegistry.
//
// A component subscribes a listener to a long-lived event source. If the source held
// the listener strongly, the listener (and everything it references) would live as
// long as the source, whether or not the component still wants it: a leak. The fix,
// from the JavaScript article on WeakRef (v8.dev/features/weak-references), subscribes
// a small wrapper instead, which reaches the listener through a WeakRef, and registers
// the listener with a FinalizationRegistry whose callback removes the wrapper from the
// source once the listener has been collected:
//
//   const gListenersRegistry = new FinalizationRegistry(({ socket, wrapper }) => {
//     socket.removeEventListener('message', wrapper);
//   });
//   function addWeakListener(socket, listener) {
//     const weakRef = new WeakRef(listener);
//     const wrapper = (ev) => { weakRef.deref()?.(ev); };
//     gListenersRegistry.register(listener, { socket, wrapper });
//     socket.addEventListener('message', wrapper);
//   }
//
// Here the socket is an EventSource, the listener a MovingAvg (it records the events'
// latencies), the wrapper a ListenerWrapper, `{ socket, wrapper }` a Registration, and
// gListenersRegistry a ListenerRegistry. MovingAvgComponent starts and stops a
// MovingAvg as the article's component does. ListenerMode::kLeaky subscribes the
// MovingAvg strongly instead, which is the article's bug, kept for comparison.
//
//   gclab::HandleScope scope(heap);
//   Local<EventSource> source = heap.New<EventSource>();
//   Local<ListenerRegistry> registry = CreateListenerRegistry(heap);
//   Local<MovingAvgComponent> component =
//       heap.New<MovingAvgComponent>(heap, source, registry);
//   component->Start().value();
//   source->Dispatch(12.5);     // reaches the MovingAvg
//   component->Stop();          // nothing holds the MovingAvg strongly any more
//   heap.ClearKeptObjects();    // the job ends (WeakRef::Deref kept the MovingAvg)
//   heap.CollectGarbage();      // the MovingAvg is collected; the wrapper forwards nothing
//   FinalizationQueue::For(heap).PumpHostJobs();  // the callback unsubscribes the wrapper
//
// Nothing depends on when the callback runs: until it does, the wrapper stays on the
// source and drops the events it receives.
#ifndef GCLAB_FINALIZATION_EXAMPLES_WEAK_LISTENER_H_
#define GCLAB_FINALIZATION_EXAMPLES_WEAK_LISTENER_H_

#include <algorithm>
#include <cstddef>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "finalization/finalization.h"
#include "gc/gc.h"
#include "weak/weak_ref.h"

namespace gclab::examples {

// The listener: records the latency of every event it receives. (The article's
// MovingAvg records events through a closure, `this.listener`; here the object itself
// is the listener.)
class MovingAvg final : public GarbageCollected<MovingAvg> {
 public:
  void Record(double latency) { latencies_.push_back(latency); }

  // The mean of the last `n` latencies recorded (of all of them if fewer); 0 if none.
  double Compute(size_t n) const {
    size_t count = std::min(n, latencies_.size());
    if (count == 0) return 0.0;
    double sum = 0.0;
    for (size_t i = latencies_.size() - count; i < latencies_.size(); ++i) {
      sum += latencies_[i];
    }
    return sum / static_cast<double>(count);
  }

  size_t event_count() const { return latencies_.size(); }
  const std::vector<double>& latencies() const { return latencies_; }

  void Trace(Visitor&) const {}  // no references to other heap objects

 private:
  std::vector<double> latencies_;
};

// What the source calls: forwards each event to a MovingAvg, if it is still alive.
// The weak wrapper (the fix) holds a WeakRef to it; the leaky one holds it strongly.
class ListenerWrapper final : public GarbageCollected<ListenerWrapper> {
 public:
  // `(ev) => { weakRef.deref()?.(ev); }`
  explicit ListenerWrapper(const Local<WeakRef<MovingAvg>>& weak) : weak_(weak) {}
  // The leaky version: the source keeps the listener alive through this wrapper.
  explicit ListenerWrapper(const Local<MovingAvg>& strong) : strong_(strong) {}

  // Forwards `latency`; false if the listener has been collected. (Deref keeps the
  // listener alive until the heap's ClearKeptObjects, as in JavaScript.)
  bool Handle(double latency) const {
    MovingAvg* listener = weak_ ? weak_->Deref() : strong_.Get();
    if (listener == nullptr) return false;
    listener->Record(latency);
    return true;
  }

  bool is_weak() const { return static_cast<bool>(weak_); }

  void Trace(Visitor& visitor) const {
    visitor.Trace(weak_);
    visitor.Trace(strong_);
  }

 private:
  Member<WeakRef<MovingAvg>> weak_;  // the WeakRef itself is held strongly
  Member<MovingAvg> strong_;         // null in a weak wrapper
};

// The socket: a list of listeners, each called on every event.
class EventSource final : public GarbageCollected<EventSource> {
 public:
  // `socket.addEventListener('message', wrapper)`
  void AddListener(const Local<ListenerWrapper>& wrapper) { listeners_.push_back(wrapper); }

  // `socket.removeEventListener('message', wrapper)`: false if it was not subscribed.
  bool RemoveListener(const ListenerWrapper* wrapper) {
    auto it = std::find_if(listeners_.begin(), listeners_.end(),
                           [&](const Member<ListenerWrapper>& m) { return m.Get() == wrapper; });
    if (it == listeners_.end()) return false;
    listeners_.erase(it);
    return true;
  }

  // Calls every listener; returns how many reached a live MovingAvg. Listeners must
  // not allocate in the heap: an allocation could move this source during the loop.
  size_t Dispatch(double latency) const {
    size_t reached = 0;
    for (const Member<ListenerWrapper>& wrapper : listeners_) {
      if (wrapper->Handle(latency)) ++reached;
    }
    return reached;
  }

  size_t listener_count() const { return listeners_.size(); }
  ListenerWrapper* listener(size_t i) const { return listeners_[i].Get(); }

  void Trace(Visitor& visitor) const { visitor.Trace(listeners_, "listeners"); }

 private:
  HeapVector<Member<ListenerWrapper>> listeners_;  // in the heap: the write hook sees it
};

// The registry's held value, `{ socket, wrapper }`: what the cleanup callback needs.
// The registry holds it strongly until the callback has run, so a source with weak
// listeners lives at least until each listener has been collected and cleaned up.
class Registration final : public GarbageCollected<Registration> {
 public:
  Registration(const Local<EventSource>& source, const Local<ListenerWrapper>& wrapper)
      : source(source), wrapper(wrapper) {}
  void Trace(Visitor& visitor) const {
    visitor.Trace(source);
    visitor.Trace(wrapper);
  }
  Member<EventSource> source;
  Member<ListenerWrapper> wrapper;
};

// gListenersRegistry: targets are MovingAvgs, held values Registrations.
using ListenerRegistry = FinalizationRegistry<Registration>;

// A registry whose callback unsubscribes the dead listener's wrapper. The callback
// reports NotFound if the wrapper was not on its source (which would be a bug here:
// nothing else removes weak wrappers).
inline Local<ListenerRegistry> CreateListenerRegistry(Heap& heap) {
  return ListenerRegistry::Create(heap, [](Local<Registration> held) -> absl::Status {
    if (held->source->RemoveListener(held->wrapper.Get())) return absl::OkStatus();
    return absl::NotFoundError(
        "gclab weak_listener: a dead listener's wrapper was not on its event source");
  });
}

// What subscribing a listener created, watched weakly: each handle reads null once its
// object has been collected. For callers that want to see the objects go (the example
// program, the tests); holding a Subscription keeps nothing alive.
struct Subscription {
  WeakPersistent<MovingAvg> listener;
  WeakPersistent<ListenerWrapper> wrapper;
  WeakPersistent<Registration> registration;  // empty for a leaky listener
};

// addWeakListener(socket, listener): subscribes a weak wrapper for `listener` to
// `source`, and registers `listener` with `registry` so that the wrapper is removed
// once the listener has been collected. On error nothing is subscribed.
inline absl::StatusOr<Subscription> AddWeakListener(Heap& heap,
                                                    const Local<ListenerRegistry>& registry,
                                                    const Local<EventSource>& source,
                                                    const Local<MovingAvg>& listener) {
  HandleScope scope(heap);
  // const weakRef = new WeakRef(listener);   (keeps `listener` until ClearKeptObjects)
  absl::StatusOr<Local<WeakRef<MovingAvg>>> weak_ref = WeakRef<MovingAvg>::Create(heap, listener);
  if (!weak_ref.ok()) return weak_ref.status();
  // const wrapper = (ev) => { weakRef.deref()?.(ev); };
  Local<ListenerWrapper> wrapper = heap.New<ListenerWrapper>(*weak_ref);
  // gListenersRegistry.register(listener, { socket, wrapper });
  Local<Registration> registration = heap.New<Registration>(source, wrapper);
  if (absl::Status s = registry->Register(listener.Get(), registration.Get()); !s.ok()) return s;
  // socket.addEventListener('message', wrapper);
  source->AddListener(wrapper);
  return Subscription{WeakPersistent<MovingAvg>(heap, listener),
                      WeakPersistent<ListenerWrapper>(heap, wrapper),
                      WeakPersistent<Registration>(heap, registration)};
}

// The article's bug: `socket.addEventListener('message', this.listener)`. The source
// holds the listener strongly (through the wrapper) and never lets it go.
inline Subscription AddLeakyListener(Heap& heap, const Local<EventSource>& source,
                                     const Local<MovingAvg>& listener) {
  HandleScope scope(heap);
  Local<ListenerWrapper> wrapper = heap.New<ListenerWrapper>(listener);
  source->AddListener(wrapper);
  return Subscription{WeakPersistent<MovingAvg>(heap, listener),
                      WeakPersistent<ListenerWrapper>(heap, wrapper), nullptr};
}

enum class ListenerMode {
  kWeak,   // AddWeakListener: the fix
  kLeaky,  // AddLeakyListener: the bug
};

// The article's MovingAvgComponent: Start() creates a MovingAvg subscribed to the
// source; Stop() forgets it, and nothing else should keep it alive.
class MovingAvgComponent final : public GarbageCollected<MovingAvgComponent> {
 public:
  // `registry` may be empty for ListenerMode::kLeaky, which registers nothing.
  MovingAvgComponent(Heap& heap, const Local<EventSource>& source,
                     const Local<ListenerRegistry>& registry,
                     ListenerMode mode = ListenerMode::kWeak)
      : heap_(&heap), source_(source), registry_(registry), mode_(mode) {}

  // `this.movingAvg = new MovingAvg(this.socket)`. Starting a running component
  // replaces its MovingAvg, as in JavaScript: the old one goes like a stopped one.
  absl::StatusOr<Subscription> Start() {
    Heap& heap = *heap_;
    HandleScope scope(heap);
    // Under a moving collector the allocations below may move this component: root it
    // now, and after the first allocation reach it only through `self`.
    Local<MovingAvgComponent> self(heap, this);
    Local<EventSource> source(heap, source_.Get());
    Local<ListenerRegistry> registry(heap, registry_.Get());
    ListenerMode mode = mode_;
    Local<MovingAvg> moving_avg = heap.New<MovingAvg>();
    absl::StatusOr<Subscription> subscription;
    if (mode == ListenerMode::kWeak) {
      if (registry.Get() == nullptr) {
        return absl::FailedPreconditionError(
            "gclab weak_listener: a weak MovingAvgComponent needs a ListenerRegistry");
      }
      subscription = AddWeakListener(heap, registry, source, moving_avg);
    } else {
      subscription = AddLeakyListener(heap, source, moving_avg);
    }
    if (!subscription.ok()) return subscription.status();
    self->moving_avg_ = moving_avg;
    return subscription;
  }

  // `this.movingAvg = null`
  void Stop() { moving_avg_ = nullptr; }

  bool running() const { return static_cast<bool>(moving_avg_); }
  // The running MovingAvg, or null; a raw pointer, valid until the next allocation.
  MovingAvg* moving_avg() const { return moving_avg_.Get(); }
  ListenerMode mode() const { return mode_; }

  void Trace(Visitor& visitor) const {
    visitor.Trace(source_);
    visitor.Trace(registry_);
    visitor.Trace(moving_avg_);
  }

 private:
  Heap* heap_;
  Member<EventSource> source_;
  Member<ListenerRegistry> registry_;  // the JavaScript global, shared by components
  Member<MovingAvg> moving_avg_;
  ListenerMode mode_;
};

}  // namespace gclab::examples

#endif  // GCLAB_FINALIZATION_EXAMPLES_WEAK_LISTENER_H_
