// ImageGate: Linux calls and constants that Glibc's Swift overlay does not export (epoll, eventfd, accept4).
// Each wrapper only forwards; errno is left for the Swift caller to read right after the call.
#ifndef IMAGEGATE_CLINUXSHIMS_H
#define IMAGEGATE_CLINUXSHIMS_H
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>

int CLinuxShims_epoll_create(void);
int CLinuxShims_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
/// Waits for events; fills parallel arrays so Swift never sees the packed epoll_event layout.
int CLinuxShims_epoll_wait(int epfd, uint32_t *events, uint64_t *datas, int max, int timeout_ms);
int CLinuxShims_eventfd(void);
int CLinuxShims_accept4(int fd, struct sockaddr *addr, socklen_t *len);
ssize_t CLinuxShims_sendfile(int out_fd, int in_fd, int64_t *offset, size_t count);
/// Names the calling thread (truncated to 15 bytes), so `top -H` and core dumps show which loop is which.
void CLinuxShims_set_thread_name(const char *name);
/// stdout line-buffered even into a pipe, so start-up lines reach a supervisor at once.
void CLinuxShims_stdout_line_buffered(void);
void CLinuxShims_stdout_flush(void);

extern const uint32_t CLinuxShims_EPOLLIN;
extern const uint32_t CLinuxShims_EPOLLOUT;
extern const uint32_t CLinuxShims_EPOLLERR;
extern const uint32_t CLinuxShims_EPOLLHUP;
extern const uint32_t CLinuxShims_EPOLLRDHUP;
extern const uint32_t CLinuxShims_EPOLLET;
extern const uint32_t CLinuxShims_EPOLLEXCLUSIVE;
extern const int CLinuxShims_EPOLL_CTL_ADD;
extern const int CLinuxShims_EPOLL_CTL_MOD;
extern const int CLinuxShims_EPOLL_CTL_DEL;
extern const int CLinuxShims_MSG_MORE;
extern const int CLinuxShims_MSG_NOSIGNAL;
#endif
