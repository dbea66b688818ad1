// ImageGate: libxlsxwriter (Debian's libxlsxwriter-dev) as Swift sees it.
#ifndef IMAGEGATE_CXLSXWRITER_SHIM_H
#define IMAGEGATE_CXLSXWRITER_SHIM_H
#include <xlsxwriter.h>
#endif
