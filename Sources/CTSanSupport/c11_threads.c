// ThreadSanitizer support for librdkafka's C11 threads (compiled only under -sanitize=thread).
//
// Debian's librdkafka is built on glibc's C11 threads (<threads.h>): it starts its threads with
// thrd_create and guards its queues with mtx_lock and cnd_wait. Since glibc 2.34 those functions
// call glibc's pthread implementation internally, not through the dynamic symbol table, so
// ThreadSanitizer's pthread interceptors never see them (and its runtime has no C11 interceptors):
//   - a thread started by thrd_create is unknown to TSan, and crashes (SEGV in TSan's allocator)
//     the first time it calls malloc, which TSan does intercept;
//   - a lock that librdkafka takes is invisible, so data handed from a librdkafka thread to ours
//     through its queues (messages written with memcpy, which TSan intercepts) would be reported
//     as races although the queue's mutex orders them.
// The functions below have glibc's names and do exactly what glibc's do (glibc's mtx_t, cnd_t,
// thrd_t and once_flag are pthread's types under other names), but call the pthread functions
// through TSan's interceptors. The executable exports them because librdkafka refers to them, and
// the dynamic linker binds librdkafka's calls to the executable's definitions before glibc's.
// Nothing here is compiled into an ordinary build.
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <pthread.h>
#include <threads.h>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)

_Static_assert(sizeof(thrd_t) == sizeof(pthread_t), "glibc's thrd_t is a pthread_t");
_Static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t), "glibc's mtx_t is a pthread_mutex_t");
_Static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t), "glibc's cnd_t is a pthread_cond_t");
_Static_assert(sizeof(once_flag) == sizeof(pthread_once_t), "glibc's once_flag is a pthread_once_t");

// glibc's thrd_err_map: a pthread error number as a C11 thread result.
static int c11_result(int error) {
    switch (error) {
    case 0: return thrd_success;
    case ENOMEM: return thrd_nomem;
    case ETIMEDOUT: return thrd_timedout;
    case EBUSY: return thrd_busy;
    default: return thrd_error;
    }
}

struct c11_start {
    thrd_start_t function;
    void *argument;
};

// A C11 thread function returns int; pthread's returns void *, as glibc's own thrd_create does.
static void *c11_trampoline(void *context) {
    struct c11_start start = *(struct c11_start *)context;
    free(context);
    return (void *)(intptr_t)start.function(start.argument);
}

int thrd_create(thrd_t *thread, thrd_start_t function, void *argument) {
    struct c11_start *start = malloc(sizeof *start);
    if (start == NULL) return thrd_nomem;
    start->function = function;
    start->argument = argument;
    int error = pthread_create((pthread_t *)thread, NULL, c11_trampoline, start);
    if (error != 0) free(start);
    return c11_result(error);
}

int thrd_join(thrd_t thread, int *result) {
    void *value = NULL;
    int error = pthread_join((pthread_t)thread, &value);
    if (error == 0 && result != NULL) *result = (int)(intptr_t)value;
    return c11_result(error);
}

int thrd_detach(thrd_t thread) { return c11_result(pthread_detach((pthread_t)thread)); }

int mtx_init(mtx_t *mutex, int type) {
    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    pthread_mutexattr_settype(&attributes, (type & mtx_recursive) ? PTHREAD_MUTEX_RECURSIVE : PTHREAD_MUTEX_DEFAULT);
    int error = pthread_mutex_init((pthread_mutex_t *)mutex, &attributes);
    pthread_mutexattr_destroy(&attributes);
    return c11_result(error);
}

int mtx_lock(mtx_t *mutex) { return c11_result(pthread_mutex_lock((pthread_mutex_t *)mutex)); }

int mtx_trylock(mtx_t *mutex) { return c11_result(pthread_mutex_trylock((pthread_mutex_t *)mutex)); }

int mtx_timedlock(mtx_t *restrict mutex, const struct timespec *restrict deadline) {
    return c11_result(pthread_mutex_timedlock((pthread_mutex_t *)mutex, deadline));
}

int mtx_unlock(mtx_t *mutex) { return c11_result(pthread_mutex_unlock((pthread_mutex_t *)mutex)); }

void mtx_destroy(mtx_t *mutex) { pthread_mutex_destroy((pthread_mutex_t *)mutex); }

int cnd_init(cnd_t *condition) { return c11_result(pthread_cond_init((pthread_cond_t *)condition, NULL)); }

int cnd_signal(cnd_t *condition) { return c11_result(pthread_cond_signal((pthread_cond_t *)condition)); }

int cnd_broadcast(cnd_t *condition) { return c11_result(pthread_cond_broadcast((pthread_cond_t *)condition)); }

int cnd_wait(cnd_t *condition, mtx_t *mutex) {
    return c11_result(pthread_cond_wait((pthread_cond_t *)condition, (pthread_mutex_t *)mutex));
}

int cnd_timedwait(cnd_t *restrict condition, mtx_t *restrict mutex, const struct timespec *restrict deadline) {
    return c11_result(pthread_cond_timedwait((pthread_cond_t *)condition, (pthread_mutex_t *)mutex, deadline));
}

void cnd_destroy(cnd_t *condition) { pthread_cond_destroy((pthread_cond_t *)condition); }

void call_once(once_flag *flag, void (*function)(void)) { pthread_once((pthread_once_t *)flag, function); }

#endif
#endif
