// Tells ThreadSanitizer about CAF 0.17.6's message hand-offs (scripts/tsan.sh preloads it into the TSan tests).
//
// Debian's libcaf_core.so.0.17.6 is not built with -fsanitize=thread, so the atomics through which CAF hands a message
// or an actor from one thread to another (the mailbox push and pop, the scheduler's job queues) are invisible to TSan.
// Without them every actor that runs on two scheduler workers, and every message payload built on one thread and read
// in a handler on another, is reported as a data race. Suppressing those reports would take frames that every
// handler has (caf::detail::behavior_impl::invoke), which would hide real races between a handler and the I/O thread
// too. Instead this library interposes the exported entry points of the hand-off and adds the edges CAF guarantees:
//   scheduled_actor::enqueue, blocking_actor::enqueue        release(message): the sender's writes so far ...
//   {scheduled,blocking}_actor::mailbox_visitor(message)      acquire(message): ... are seen by the handler that
//                                                             takes the message, also one already running
//   memory_managed::request_deletion(message)                 acquire(message): one dropped unread (its receiver
//                                                             ended) is freed after the sender's writes too
//   scheduled_actor::mailbox_visitor, around the handler       acquire(actor) before, release(actor) after: one
//                                                             handler of an actor is seen by its next, on any
//                                                             worker (a run that is returning can overlap the
//                                                             next run on another worker, so the ends of resume
//                                                             alone come too late)
//   scheduled_actor::launch                                   release(actor): the spawner's writes (the actor's
//                                                             construction) are seen by its first run
//   scheduled_actor::resume (and its resumable thunk)         acquire(actor) on entry, release(actor) on exit: one
//                                                             run of an actor is seen by its next, on any worker
//   blocking_actor::dequeue                                   acquire(message)
// The edges are per message, not per mailbox: a run of an actor that started before a message arrived does not
// see that message's sender's writes until it takes the message (tests/tsan_probe.cpp checks that such a race is
// still reported).
// A message's address is reused after it is freed, so a later message at the same address also carries the earlier
// sender's clock: that can only hide a race, never invent one. This is the actor model's guarantee (a message send happens before its processing; one actor's runs are ordered),
// not more: two actors, or an actor and a thread that shares memory with it without a message, are still checked.
// Every wrapped symbol is looked up when the library loads; a libcaf_core without them (another CAF version) stops
// the process with a message instead of running unchecked.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

// Weak: a preloaded process without TSan (nats-server) loads this library and never calls these.
void __tsan_acquire(void* addr) __attribute__((weak));
void __tsan_release(void* addr) __attribute__((weak));

#define SA_ENQUEUE "_ZN3caf15scheduled_actor7enqueueESt10unique_ptrINS_15mailbox_elementENS_6detail8disposerEEPNS_14execution_unitE"
#define SA_LAUNCH "_ZN3caf15scheduled_actor6launchEPNS_14execution_unitEbb"
#define SA_RESUME "_ZN3caf15scheduled_actor6resumeEPNS_14execution_unitEm"
// The resumable base sits 160 bytes into a scheduled_actor (the thunk's name says so).
#define SA_RESUME_THUNK "_ZThn160_N3caf15scheduled_actor6resumeEPNS_14execution_unitEm"
#define SA_RESUMABLE_OFFSET 160
#define SA_VISIT "_ZN3caf15scheduled_actor15mailbox_visitorclERNS_15mailbox_elementE"
#define BA_VISIT "_ZN3caf14blocking_actor15mailbox_visitorclERNS_15mailbox_elementE"
// caf::detail::disposer frees a mailbox element through this virtual (mailbox_element does not override it).
#define MM_DELETE "_ZNK3caf14memory_managed16request_deletionEb"
#define BA_ENQUEUE "_ZN3caf14blocking_actor7enqueueESt10unique_ptrINS_15mailbox_elementENS_6detail8disposerEEPNS_14execution_unitE"
#define BA_DEQUEUE "_ZN3caf14blocking_actor7dequeueEv"

// The real functions. A unique_ptr argument is passed as a pointer to the caller's temporary (Itanium C++ ABI: not
// trivially copyable), a system_clock::time_point as its int64 count.
static void (*real_sa_enqueue)(void*, void*, void*);
static void (*real_sa_launch)(void*, void*, bool, bool);
static int (*real_sa_resume)(void*, void*, size_t);
static int (*real_sa_resume_thunk)(void*, void*, size_t);
static int (*real_sa_visit)(void*, void*);
static int (*real_ba_visit)(void*, void*);
static void (*real_mm_delete)(const void*, bool);
static void (*real_ba_enqueue)(void*, void*, void*);
static void* (*real_ba_dequeue)(void*);

static void* next_symbol(const char* name) {
  void* p = dlsym(RTLD_NEXT, name);
  if (p == NULL) {
    fprintf(stderr, "tsan_caf_shim: %s not found (is libcaf_core 0.17.6 linked?)\n", name);
    abort();
  }
  return p;
}

static void release(void* a) {
  if (__tsan_release)
    __tsan_release(a);
}

static void acquire(void* a) {
  if (__tsan_acquire)
    __tsan_acquire(a);
}

__attribute__((constructor)) static void resolve(void) {
  // Processes that do not link CAF (nats-server, a shell) keep running untouched.
  if (dlsym(RTLD_NEXT, SA_RESUME) == NULL)
    return;
  *(void**)&real_sa_enqueue = next_symbol(SA_ENQUEUE);
  *(void**)&real_sa_launch = next_symbol(SA_LAUNCH);
  *(void**)&real_sa_resume = next_symbol(SA_RESUME);
  *(void**)&real_sa_resume_thunk = next_symbol(SA_RESUME_THUNK);
  *(void**)&real_sa_visit = next_symbol(SA_VISIT);
  *(void**)&real_ba_visit = next_symbol(BA_VISIT);
  *(void**)&real_mm_delete = next_symbol(MM_DELETE);
  *(void**)&real_ba_enqueue = next_symbol(BA_ENQUEUE);
  *(void**)&real_ba_dequeue = next_symbol(BA_DEQUEUE);
}

void sa_enqueue(void* self, void* ptr, void* eu) __asm__(SA_ENQUEUE);
// `ptr` points to the std::unique_ptr<mailbox_element, detail::disposer>: the element's pointer (an empty deleter).
static void* element(void* ptr) {
  return *(void**)ptr;
}

void sa_enqueue(void* self, void* ptr, void* eu) {
  release(element(ptr));
  real_sa_enqueue(self, ptr, eu);
}

void sa_launch(void* self, void* eu, bool lazy, bool hide) __asm__(SA_LAUNCH);
void sa_launch(void* self, void* eu, bool lazy, bool hide) {
  release(self);
  real_sa_launch(self, eu, lazy, hide);
}

int sa_resume(void* self, void* eu, size_t max_throughput) __asm__(SA_RESUME);
int sa_resume(void* self, void* eu, size_t max_throughput) {
  acquire(self);
  int r = real_sa_resume(self, eu, max_throughput);
  release(self);
  return r;
}

int sa_resume_thunk(void* resumable, void* eu, size_t max_throughput) __asm__(SA_RESUME_THUNK);
int sa_resume_thunk(void* resumable, void* eu, size_t max_throughput) {
  void* self = (char*)resumable - SA_RESUMABLE_OFFSET;
  acquire(self);
  int r = real_sa_resume_thunk(resumable, eu, max_throughput);
  release(self);
  return r;
}

// Both visitors return caf::intrusive::task_result (an int-sized enum).
int sa_visit(void* visitor, void* x) __asm__(SA_VISIT);
int sa_visit(void* visitor, void* x) {
  // scheduled_actor::mailbox_visitor starts with `scheduled_actor* self`.
  void* self = *(void**)visitor;
  acquire(x);
  acquire(self);
  int r = real_sa_visit(visitor, x);
  release(self);
  return r;
}

int ba_visit(void* visitor, void* x) __asm__(BA_VISIT);
int ba_visit(void* visitor, void* x) {
  acquire(x);
  return real_ba_visit(visitor, x);
}

// memory_managed is mailbox_element's primary base (its first polymorphic one), so `self` is the element's address.
void mm_delete(const void* self, bool decremented_rc) __asm__(MM_DELETE);
void mm_delete(const void* self, bool decremented_rc) {
  acquire((void*)self);
  real_mm_delete(self, decremented_rc);
}

void ba_enqueue(void* self, void* ptr, void* eu) __asm__(BA_ENQUEUE);
void ba_enqueue(void* self, void* ptr, void* eu) {
  release(element(ptr));
  real_ba_enqueue(self, ptr, eu);
}

void* ba_dequeue(void* self) __asm__(BA_DEQUEUE);
void* ba_dequeue(void* self) {
  void* r = real_ba_dequeue(self);
  if (r != NULL)
    acquire(r);
  return r;
}

