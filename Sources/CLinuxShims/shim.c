// ImageGate: see include/CLinuxShims.h.
#include "CLinuxShims.h"
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <pthread.h>
#include <string.h>
#include <stdio.h>

int CLinuxShims_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int CLinuxShims_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}

int CLinuxShims_epoll_wait(int epfd, uint32_t *events, uint64_t *datas, int max, int timeout_ms) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        events[i] = evs[i].events;
        datas[i] = evs[i].data.u64;
    }
    return n;
}

int CLinuxShims_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int CLinuxShims_accept4(int fd, struct sockaddr *addr, socklen_t *len) {
    return accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

ssize_t CLinuxShims_sendfile(int out_fd, int in_fd, int64_t *offset, size_t count) {
    off_t off = (off_t)*offset;
    ssize_t n = sendfile(out_fd, in_fd, &off, count);
    *offset = (int64_t)off;
    return n;
}

void CLinuxShims_set_thread_name(const char *name) {
    char buf[16];
    strncpy(buf, name, 15);
    buf[15] = 0;
    pthread_setname_np(pthread_self(), buf);
}

void CLinuxShims_stdout_line_buffered(void) { setvbuf(stdout, NULL, _IOLBF, 0); }
void CLinuxShims_stdout_flush(void) { fflush(stdout); }

const uint32_t CLinuxShims_EPOLLIN = EPOLLIN;
const uint32_t CLinuxShims_EPOLLOUT = EPOLLOUT;
const uint32_t CLinuxShims_EPOLLERR = EPOLLERR;
const uint32_t CLinuxShims_EPOLLHUP = EPOLLHUP;
const uint32_t CLinuxShims_EPOLLRDHUP = EPOLLRDHUP;
const uint32_t CLinuxShims_EPOLLET = EPOLLET;
const uint32_t CLinuxShims_EPOLLEXCLUSIVE = EPOLLEXCLUSIVE;
const int CLinuxShims_EPOLL_CTL_ADD = EPOLL_CTL_ADD;
const int CLinuxShims_EPOLL_CTL_MOD = EPOLL_CTL_MOD;
const int CLinuxShims_EPOLL_CTL_DEL = EPOLL_CTL_DEL;
const int CLinuxShims_MSG_MORE = MSG_MORE;
const int CLinuxShims_MSG_NOSIGNAL = MSG_NOSIGNAL;
