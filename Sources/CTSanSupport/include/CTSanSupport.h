// CTSanSupport: lets ThreadSanitizer see librdkafka's threads, mutexes and condition variables.
// It has no API: in a build with -sanitize=thread, c11_threads.c defines glibc's C11 thread
// functions, and the dynamic linker binds librdkafka's calls to them instead of glibc's. In any
// other build it compiles to nothing. See c11_threads.c for why.
#ifndef SPOOL_CTSANSUPPORT_H
#define SPOOL_CTSANSUPPORT_H
#endif
