// ImageGate: libssh 0.10 as Swift sees it. WITH_SERVER exposes sftp_server_new/init (sftp.h:853).
#ifndef IMAGEGATE_CLIBSSH_SHIM_H
#define IMAGEGATE_CLIBSSH_SHIM_H
#ifndef WITH_SERVER
#define WITH_SERVER 1
#endif
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <libssh/callbacks.h>
#include <libssh/sftp.h>
#endif
