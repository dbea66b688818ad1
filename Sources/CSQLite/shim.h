// ImageGate: SQLite as Swift sees it. SQLITE_TRANSIENT is a cast macro Swift cannot import.
#ifndef IMAGEGATE_CSQLITE_SHIM_H
#define IMAGEGATE_CSQLITE_SHIM_H
#include <sqlite3.h>
static inline sqlite3_destructor_type CSQLite_transient(void) { return SQLITE_TRANSIENT; }
#endif
