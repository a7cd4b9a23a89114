//! bench-polling: the workloads over smol-rs/polling 2.x (Debian's
//! librust-polling-dev), the way its users (async-io) drive it: every
//! interest is oneshot, so an fd is re-armed with `modify` after its event
//! has been consumed.  polling has one notifier per Poller (`notify`), whose
//! wake-up is not an event: the waker token is reported when a wait returns
//! after a `notify`, tracked with a flag set before notifying.
//! Timeouts: polling 2.x sets a timerfd on each wait (nanoseconds).
//! Capacity: polling's epoll buffer is fixed (1,000 events per wait).
use polling::{Event, Poller};
use std::io;
use std::os::unix::io::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use swiftpoll_bench_peers::{cost_ops, main_with_cost, Backend, Waker};

struct PollingBackend {
    poller: Arc<Poller>,
    events: Vec<Event>,
    toks: Vec<u64>,
    waker: Option<Arc<PollingWaker>>,
}

struct PollingWaker {
    poller: Arc<Poller>,
    pending: AtomicBool,
    token: u64,
}

impl Waker for PollingWaker {
    fn wake(&self) -> io::Result<()> {
        self.pending.store(true, Ordering::Release);
        self.poller.notify()
    }
}

impl Backend for PollingBackend {
    const NAME: &'static str = "polling";
    type W = PollingWaker;

    fn open(cap: usize) -> io::Result<Self> {
        Ok(PollingBackend {
            poller: Arc::new(Poller::new()?),
            events: Vec::with_capacity(cap.max(1024)),
            toks: Vec::with_capacity(cap.max(1024) + 1),
            waker: None,
        })
    }

    fn add(&mut self, fd: RawFd, token: u64) -> io::Result<()> {
        self.poller.add(fd, Event::readable(token as usize))
    }

    fn del(&mut self, fd: RawFd) -> io::Result<()> {
        self.poller.delete(fd)
    }

    fn rearm(&mut self, fd: RawFd, token: u64) -> io::Result<()> {
        self.poller.modify(fd, Event::readable(token as usize))
    }

    fn wait(&mut self, timeout_ns: i64) -> io::Result<usize> {
        let t = if timeout_ns < 0 { None } else { Some(Duration::from_nanos(timeout_ns as u64)) };
        self.events.clear();
        self.poller.wait(&mut self.events, t)?;
        self.toks.clear();
        for ev in &self.events {
            self.toks.push(ev.key as u64);
        }
        if let Some(w) = &self.waker {
            if w.pending.swap(false, Ordering::Acquire) {
                self.toks.push(w.token);
            }
        }
        Ok(self.toks.len())
    }

    fn tok(&self, i: usize) -> u64 {
        self.toks[i]
    }

    fn waker_new(&mut self, token: u64) -> io::Result<Arc<PollingWaker>> {
        let w = Arc::new(PollingWaker { poller: self.poller.clone(), pending: AtomicBool::new(false), token });
        self.waker = Some(w.clone());
        Ok(w)
    }
}

cost_ops!(PollingBackend);

fn main() {
    main_with_cost(cost_ops())
}
