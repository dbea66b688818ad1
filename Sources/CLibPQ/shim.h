// ImageGate: libpq (PostgreSQL's C client, Debian libpq-dev) as Swift sees it.
#ifndef IMAGEGATE_CLIBPQ_SHIM_H
#define IMAGEGATE_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
