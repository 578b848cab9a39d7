#ifndef SPOOL_CSQLITE_SHIM_H
#define SPOOL_CSQLITE_SHIM_H

#include <sqlite3.h>

/* SQLITE_TRANSIENT is a cast macro Swift cannot import. */
static inline sqlite3_destructor_type spool_sqlite_transient(void) { return SQLITE_TRANSIENT; }
static inline sqlite3_destructor_type spool_sqlite_static(void) { return SQLITE_STATIC; }
/* A valid pointer for empty text. */
static inline const char *spool_sqlite_empty_text(void) { return ""; }

/* sqlite3_db_config is variadic. */
static inline int spool_sqlite_db_config_int(sqlite3 *db, int op, int value) {
    return sqlite3_db_config(db, op, value, (int *)0);
}

/* sqlite3_config is variadic. Turns off SQLite's allocation statistics (Spool never reads them),
   so each allocation no longer takes a process-wide mutex. Must run before the first
   connection opens; returns SQLITE_MISUSE afterwards, which is harmless. */
static inline int spool_sqlite_disable_memstatus(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

#endif
