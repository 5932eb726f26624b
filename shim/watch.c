/* watch: the descriptors the event loop waits on (the epoll set) and
 * what each is for; below the loop and the control server, which both
 * add theirs. */
#include "daemon.h"

#include <stdbool.h>
#include <sys/epoll.h>

int watch_add(struct shim *s, int fd, void (*fn)(struct shim *s, int arg), int arg)
{
    struct epoll_event ev = {.events = EPOLLIN};
    int i;
    for (i = 0; i < s->n_srcs && s->srcs[i].fd >= 0; i++)
        ;
    if (i == (int)(sizeof(s->srcs) / sizeof(s->srcs[0])))
        return -1;
    ev.data.u32 = (uint32_t)i;
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -1;
    s->srcs[i].fd = fd;
    s->srcs[i].fn = fn;
    s->srcs[i].arg = arg;
    if (i == s->n_srcs)
        s->n_srcs++;
    return 0;
}

/* Watch fd for room to write as well (out), or for input only. */
int watch_out(struct shim *s, int fd, bool out)
{
    for (int i = 0; i < s->n_srcs; i++)
        if (s->srcs[i].fd == fd) {
            struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0u)};
            ev.data.u32 = (uint32_t)i;
            return epoll_ctl(s->epfd, EPOLL_CTL_MOD, fd, &ev);
        }
    return -1;
}

void watch_del(struct shim *s, int fd)
{
    epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
    for (int i = 0; i < s->n_srcs; i++)
        if (s->srcs[i].fd == fd)
            s->srcs[i].fd = -1;
}
