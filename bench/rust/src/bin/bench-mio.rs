//! bench-mio: the workloads over mio 0.8 (Debian's librust-mio-dev), the way a
//! mio user writes them: Poll + Events::with_capacity, SourceFd registered
//! READABLE (mio: EPOLLIN | EPOLLRDHUP | EPOLLET), mio::Waker.
//! Timeouts go through Poll::poll(Some(Duration)), which mio 0.8 truncates
//! to whole milliseconds: that is what the timeouts workload shows.
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use std::io;
use std::os::unix::io::RawFd;
use std::sync::Arc;
use std::time::Duration;
use swiftpoll_bench_peers::{cost_ops, main_with_cost, Backend, Waker};

struct MioBackend {
    poll: Poll,
    events: Events,
    toks: Vec<u64>,
    waker: Option<Arc<MioWaker>>,
}

struct MioWaker(mio::Waker);

impl Waker for MioWaker {
    fn wake(&self) -> io::Result<()> {
        self.0.wake()
    }
}

impl Backend for MioBackend {
    const NAME: &'static str = "mio";
    type W = MioWaker;

    fn open(cap: usize) -> io::Result<Self> {
        Ok(MioBackend { poll: Poll::new()?, events: Events::with_capacity(cap), toks: Vec::with_capacity(cap), waker: None })
    }

    fn add(&mut self, fd: RawFd, token: u64) -> io::Result<()> {
        self.poll.registry().register(&mut SourceFd(&fd), Token(token as usize), Interest::READABLE)
    }

    fn del(&mut self, fd: RawFd) -> io::Result<()> {
        self.poll.registry().deregister(&mut SourceFd(&fd))
    }

    fn wait(&mut self, timeout_ns: i64) -> io::Result<usize> {
        let t = if timeout_ns < 0 { None } else { Some(Duration::from_nanos(timeout_ns as u64)) };
        self.poll.poll(&mut self.events, t)?;
        self.toks.clear();
        for ev in self.events.iter() {
            self.toks.push(ev.token().0 as u64);
        }
        Ok(self.toks.len())
    }

    fn tok(&self, i: usize) -> u64 {
        self.toks[i]
    }

    fn waker_new(&mut self, token: u64) -> io::Result<Arc<MioWaker>> {
        let w = Arc::new(MioWaker(mio::Waker::new(self.poll.registry(), Token(token as usize))?));
        self.waker = Some(w.clone());
        Ok(w)
    }
}

cost_ops!(MioBackend);

fn main() {
    main_with_cost(cost_ops())
}
