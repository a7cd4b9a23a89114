//! The workloads of bench/src/workloads.c, in Rust, over a small backend
//! trait implemented by bench-mio and bench-polling.  Same counts, same
//! checks (exact counts, the expected token on every event, every byte read
//! exactly once and in order), same timed sections, and the same one output
//! line, so that bench/run.py treats these programs like the C ones:
//!
//!   BENCH impl=NAME backend=epoll workload=NAME ops=N ns=N ns_per_op=F allocs=N cpu_ns_per_op=F [k=v ...]
//!
//! The one difference a backend may ask for is `rearm`: smol-rs/polling 2.x
//! registers every interest oneshot, so a program re-arms an fd after it has
//! consumed the event (what async-io does); for mio it is a no-op.

use std::io;
use std::os::unix::io::RawFd;
use std::process::exit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

pub const TOK_BASE: u64 = 0x5a00000000000000;
pub const TOK_IDLE: u64 = 0x1d00000000000000;
pub const TOK_WAKEA: u64 = 0xa11ce;
pub const TOK_WAKEB: u64 = 0xb0b;

pub trait Waker: Send + Sync + 'static {
    fn wake(&self) -> io::Result<()>;
}

pub trait Backend: Sized + Send + 'static {
    const NAME: &'static str;
    type W: Waker;
    fn open(cap: usize) -> io::Result<Self>;
    fn add(&mut self, fd: RawFd, token: u64) -> io::Result<()>;
    fn del(&mut self, fd: RawFd) -> io::Result<()>;
    /// <0 blocks, 0 polls, >0 waits that many nanoseconds; the number of events
    fn wait(&mut self, timeout_ns: i64) -> io::Result<usize>;
    fn tok(&self, i: usize) -> u64;
    /// after the event of `fd` has been consumed (oneshot backends re-arm)
    fn rearm(&mut self, _fd: RawFd, _token: u64) -> io::Result<()> {
        Ok(())
    }
    fn waker_new(&mut self, token: u64) -> io::Result<Arc<Self::W>>;
}

struct Cfg {
    workload: String,
    scale: f64,
    count: i64,
    idle: i64,
    strict: bool,
    name: &'static str,
}

static mut CFG: Option<Cfg> = None;

fn cfg() -> &'static Cfg {
    unsafe { CFG.as_ref().unwrap() }
}

pub fn fail(msg: String) -> ! {
    let c = cfg();
    eprintln!("bench-{} {}: FAIL: {}", c.name, c.workload, msg);
    exit(1)
}

macro_rules! check {
    ($e:expr) => {
        if !($e) {
            fail(format!("{} (line {}, errno {})", stringify!($e), line!(), io::Error::last_os_error()))
        }
    };
}

fn ok<T>(r: io::Result<T>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => fail(format!("{}: {}", what, e)),
    }
}

fn count_or(dflt: i64, minimum: i64) -> i64 {
    let c = cfg();
    if c.count > 0 {
        return c.count;
    }
    let n = (dflt as f64 * c.scale + 0.5) as i64;
    if n < minimum {
        minimum
    } else {
        n
    }
}

fn clock(id: libc::clockid_t) -> i64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    unsafe { libc::clock_gettime(id, &mut ts) };
    ts.tv_sec as i64 * 1_000_000_000 + ts.tv_nsec as i64
}

pub fn now_ns() -> i64 {
    clock(libc::CLOCK_MONOTONIC)
}

fn cpu_ns() -> i64 {
    clock(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// bench_alloc_count() of build/bench/alloccount.so when it is preloaded.
fn allocs_now() -> i64 {
    static mut F: Option<Option<extern "C" fn() -> libc::c_ulong>> = None;
    unsafe {
        if F.is_none() {
            let p = libc::dlsym(libc::RTLD_DEFAULT, b"bench_alloc_count\0".as_ptr() as *const libc::c_char);
            F = Some(if p.is_null() { None } else { Some(std::mem::transmute(p)) });
        }
        match F.unwrap() {
            Some(f) => f() as i64,
            None => -1,
        }
    }
}

static mut CPU0: i64 = 0;

fn cpu_mark() {
    unsafe { CPU0 = cpu_ns() }
}

fn report(ops: i64, ns: i64, allocs: i64, extra: String) {
    let cpu1 = cpu_ns();
    let c = cfg();
    if c.strict && allocs < 0 {
        fail("--strict-allocs needs the allocation counter: LD_PRELOAD=build/bench/alloccount.so".into());
    }
    if c.strict && allocs != 0 {
        fail(format!("{} heap allocations in the timed section ({} ops); expected 0", allocs, ops));
    }
    let per = |x: i64| if ops > 0 { x as f64 / ops as f64 } else { 0.0 };
    let mut line = format!(
        "BENCH impl={} backend=epoll workload={} ops={} ns={} ns_per_op={:.2} allocs={} cpu_ns_per_op={:.2}",
        c.name, c.workload, ops, ns, per(ns), allocs, per(cpu1 - unsafe { CPU0 })
    );
    if !extra.is_empty() {
        line.push(' ');
        line.push_str(&extra);
    }
    println!("{}", line);
}

fn raise_nofile(want: u64) -> u64 {
    let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) != 0 {
            return 1024;
        }
        if rl.rlim_cur >= want {
            return rl.rlim_cur;
        }
        let mut nr = rl;
        nr.rlim_cur = want;
        if nr.rlim_max < nr.rlim_cur {
            nr.rlim_max = nr.rlim_cur;
        }
        if libc::setrlimit(libc::RLIMIT_NOFILE, &nr) != 0 {
            nr = rl;
            nr.rlim_cur = rl.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &nr);
        }
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl);
        rl.rlim_cur
    }
}

fn make_pipe() -> (RawFd, RawFd) {
    let mut p = [0 as RawFd; 2];
    check!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } == 0);
    (p[0], p[1])
}

fn rd(fd: RawFd, buf: &mut [u8]) -> isize {
    unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) }
}

fn wr(fd: RawFd, buf: &[u8]) -> isize {
    unsafe { libc::write(fd, buf.as_ptr() as *const libc::c_void, buf.len()) }
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn close(fd: RawFd) {
    unsafe { libc::close(fd) };
}

// ---------------------------------------------------------------- ring
struct Ring {
    rd: Vec<RawFd>,
    wr: Vec<RawFd>,
}

fn ring_make<B: Backend>(p: usize, b: &mut B) -> Ring {
    let mut r = Ring { rd: Vec::new(), wr: Vec::new() };
    for i in 0..p {
        let (a, w) = make_pipe();
        r.rd.push(a);
        r.wr.push(w);
        ok(b.add(a, TOK_BASE + i as u64), "register");
    }
    r
}

fn ring_free(r: &Ring) {
    for i in 0..r.rd.len() {
        close(r.rd[i]);
        close(r.wr[i]);
    }
}

fn ring_run<B: Backend>(r: &Ring, b: &mut B, hops: i64, allocs: &mut i64) -> i64 {
    let p = r.rd.len();
    let mut cur = 0usize;
    let mut c: u8 = 1;
    let mut got = 0i64;
    check!(wr(r.wr[0], &[c]) == 1);
    let a0 = allocs_now();
    cpu_mark();
    let t0 = now_ns();
    let mut buf = [0u8; 64];
    for h in 0..hops {
        let n = match b.wait(-1) {
            Ok(n) => n,
            Err(e) => fail(format!("hop {}: wait: {}", h, e)),
        };
        if n != 1 {
            fail(format!("hop {}: wait returned {}, expected 1 event", h, n));
        }
        let tok = b.tok(0);
        if tok != TOK_BASE + cur as u64 {
            fail(format!("hop {}: token {:#x}, expected {:#x}", h, tok, TOK_BASE + cur as u64));
        }
        let k = rd(r.rd[cur], &mut buf);
        if k != 1 || buf[0] != c {
            fail(format!("hop {}: read {} bytes (first {}), expected 1 byte {}", h, k, buf[0], c));
        }
        if let Err(e) = b.rearm(r.rd[cur], tok) {
            fail(format!("hop {}: rearm: {}", h, e));
        }
        got += k as i64;
        cur = if cur + 1 == p { 0 } else { cur + 1 };
        c = if c == 255 { 1 } else { c + 1 };
        if wr(r.wr[cur], &[c]) != 1 {
            fail(format!("hop {}: write failed (errno {})", h, errno()));
        }
    }
    let t1 = now_ns();
    let a1 = allocs_now();
    *allocs = if a0 < 0 { -1 } else { a1 - a0 };
    let n = ok(b.wait(0), "wait");
    check!(n == 1 && b.tok(0) == TOK_BASE + cur as u64);
    check!(rd(r.rd[cur], &mut buf) == 1 && buf[0] == c);
    ok(b.rearm(r.rd[cur], TOK_BASE + cur as u64), "rearm");
    for i in 0..p {
        check!(rd(r.rd[i], &mut buf) == -1 && errno() == libc::EAGAIN);
    }
    if got != hops {
        fail(format!("read {} bytes, expected {}", got, hops));
    }
    check!(ok(b.wait(0), "wait") == 0);
    t1 - t0
}

fn wl_ring<B: Backend>() {
    let hops = count_or(500000, 1000);
    let mut b = ok(B::open(64), "open");
    let r = ring_make(64, &mut b);
    let mut allocs = 0;
    let ns = ring_run(&r, &mut b, hops, &mut allocs);
    report(hops, ns, allocs, "pipes=64".into());
    ring_free(&r);
}

// ---------------------------------------------------------------- burst
fn wl_burst<B: Backend>() {
    const P: usize = 4096;
    const CAP: usize = 1024;
    let rounds = count_or(200, 2);
    raise_nofile(2 * P as u64 + 256);
    let mut rdv = Vec::new();
    let mut wrv = Vec::new();
    let mut seen = vec![0i64; P];
    let mut b = ok(B::open(CAP), "open");
    for i in 0..P {
        let (a, w) = make_pipe();
        rdv.push(a);
        wrv.push(w);
        ok(b.add(a, TOK_BASE + i as u64), "register");
    }
    let mut waits = 0i64;
    let mut events = 0i64;
    let mut buf = [0u8; 64];
    let a0 = allocs_now();
    cpu_mark();
    let t0 = now_ns();
    for round in 1..=rounds {
        let c = round as u8;
        for i in 0..P {
            if wr(wrv[i], &[c]) != 1 {
                fail(format!("round {}: write to pipe {} failed (errno {})", round, i, errno()));
            }
        }
        let mut left = P as i64;
        while left > 0 {
            let n = match b.wait(-1) {
                Ok(n) => n,
                Err(e) => fail(format!("round {}: wait: {}", round, e)),
            };
            waits += 1;
            if n == 0 || n > P {
                fail(format!("round {}: wait returned {}", round, n));
            }
            if waits > rounds * (P as i64 / 8 + 8) {
                fail(format!("round {}: too many waits ({})", round, waits));
            }
            for j in 0..n {
                let tok = b.tok(j);
                let t = tok.wrapping_sub(TOK_BASE) as usize;
                if t >= P {
                    fail(format!("round {}: unexpected token {:#x}", round, tok));
                }
                if seen[t] == round {
                    fail(format!("round {}: pipe {} reported twice", round, t));
                }
                seen[t] = round;
                let k = rd(rdv[t], &mut buf);
                if k != 1 || buf[0] != c {
                    fail(format!("round {}: pipe {} read {}", round, t, k));
                }
                if let Err(e) = b.rearm(rdv[t], tok) {
                    fail(format!("round {}: rearm: {}", round, e));
                }
                left -= 1;
                events += 1;
            }
        }
        if left != 0 {
            fail(format!("round {}: {} events too many", round, -left));
        }
    }
    let t1 = now_ns();
    let a1 = allocs_now();
    for i in 0..P {
        check!(seen[i] == rounds);
        check!(rd(rdv[i], &mut buf) == -1 && errno() == libc::EAGAIN);
    }
    check!(ok(b.wait(0), "wait") == 0);
    check!(events == rounds * P as i64);
    report(
        events,
        t1 - t0,
        if a0 < 0 { -1 } else { a1 - a0 },
        format!("pipes={} rounds={} waits={} capacity={}", P, rounds, waits, CAP),
    );
    for i in 0..P {
        close(rdv[i]);
        close(wrv[i]);
    }
}

// ---------------------------------------------------------------- idle
fn wl_idle<B: Backend>() {
    let hops = count_or(200000, 1000);
    let want = if cfg().idle >= 0 { cfg().idle } else { 100000 };
    let lim = raise_nofile(want as u64 + 256) as i64;
    let mut n = want;
    if n > lim - 128 {
        n = lim - 128;
    }
    if n < 0 {
        n = 0;
    }
    let mut efd = Vec::new();
    for i in 0..n {
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            fail(format!("eventfd {} of {}: errno {}", i, n, errno()));
        }
        efd.push(fd);
    }
    let mut b = ok(B::open(64), "open");
    let r0 = now_ns();
    for (i, &fd) in efd.iter().enumerate() {
        if let Err(e) = b.add(fd, TOK_IDLE + i as u64) {
            fail(format!("register idle fd {}: {}", i, e));
        }
    }
    let z = ok(b.wait(0), "wait");
    let r1 = now_ns();
    if z != 0 {
        fail(format!("idle eventfds reported {} events", z));
    }
    let r = ring_make(2, &mut b);
    let mut allocs = 0;
    let ns = ring_run(&r, &mut b, hops, &mut allocs);
    report(
        hops,
        ns,
        allocs,
        format!(
            "idle={} reg_ns={} reg_ns_per_fd={:.1}",
            n,
            r1 - r0,
            if n > 0 { (r1 - r0) as f64 / n as f64 } else { 0.0 }
        ),
    );
    ring_free(&r);
    drop(b);
    for fd in efd {
        close(fd);
    }
}

// ---------------------------------------------------------------- churn
fn wl_churn<B: Backend>() {
    let iters = count_or(1000000, 2048);
    let mut sv = [0 as RawFd; 2];
    check!(
        unsafe {
            libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0, sv.as_mut_ptr())
        } == 0
    );
    let mut b = ok(B::open(8), "open");
    let mut verified = 0i64;
    let mut buf = [0u8; 8];
    let a0 = allocs_now();
    cpu_mark();
    let t0 = now_ns();
    for i in 0..iters {
        let tok = TOK_BASE + i as u64;
        let verify = (i & 1023) == 0;
        if verify {
            check!(wr(sv[1], b"v") == 1);
        }
        if let Err(e) = b.add(sv[0], tok) {
            fail(format!("iteration {}: register = {}", i, e));
        }
        if verify {
            let n = ok(b.wait(0), "wait");
            if n != 1 || b.tok(0) != tok {
                fail(format!("iteration {}: registration not live (n={})", i, n));
            }
            check!(rd(sv[0], &mut buf) == 1);
        }
        if let Err(e) = b.del(sv[0]) {
            fail(format!("iteration {}: deregister = {}", i, e));
        }
        if verify {
            check!(wr(sv[1], b"v") == 1);
            let n = ok(b.wait(0), "wait");
            if n != 0 {
                fail(format!("iteration {}: {} events after deregister", i, n));
            }
            check!(rd(sv[0], &mut buf) == 1);
            verified += 1;
        }
    }
    let t1 = now_ns();
    let a1 = allocs_now();
    check!(verified == (iters + 1023) / 1024);
    report(iters, t1 - t0, if a0 < 0 { -1 } else { a1 - a0 }, format!("verified={}", verified));
    close(sv[0]);
    close(sv[1]);
}

// ---------------------------------------------------------------- waker
fn wl_waker<B: Backend>() {
    let rounds = count_or(200000, 1000);
    let mut a = ok(B::open(8), "open");
    let mut b = ok(B::open(8), "open");
    let wa = ok(a.waker_new(TOK_WAKEA), "waker");
    let wb = ok(b.waker_new(TOK_WAKEB), "waker");
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let started = Arc::new(AtomicBool::new(false));
    let started2 = started.clone();
    let wa2 = wa.clone();
    let th = thread::spawn(move || {
        let (mut count, mut waits) = (0i64, 0i64);
        // Rust's thread start-up allocates (thread info, TLS): let it finish
        // before the timed section, so that the count is the poller's.
        started2.store(true, Ordering::Release);
        loop {
            let n = match b.wait(-1) {
                Ok(n) => n,
                Err(e) => fail(format!("B: wait = {}", e)),
            };
            waits += 1;
            if waits > 4 * rounds + 16 {
                fail("B: too many waits".into());
            }
            for j in 0..n {
                if b.tok(j) != TOK_WAKEB {
                    fail(format!("B: token {:#x}", b.tok(j)));
                }
            }
            if n == 0 {
                continue;
            }
            if stop2.load(Ordering::Acquire) {
                break;
            }
            count += 1;
            if let Err(e) = wa2.wake() {
                fail(format!("B: wake = {}", e));
            }
        }
        (count, waits)
    });
    let (mut count_a, mut waits_a) = (0i64, 0i64);
    while !started.load(Ordering::Acquire) {
        thread::yield_now();
    }
    let a0 = allocs_now();
    cpu_mark();
    let t0 = now_ns();
    for i in 0..rounds {
        if let Err(e) = wb.wake() {
            fail(format!("A: wake = {}", e));
        }
        loop {
            let n = match a.wait(-1) {
                Ok(n) => n,
                Err(e) => fail(format!("A: wait = {}", e)),
            };
            waits_a += 1;
            if waits_a > 4 * rounds + 16 {
                fail("A: too many waits".into());
            }
            if n == 0 {
                continue;
            }
            if n != 1 || a.tok(0) != TOK_WAKEA {
                fail(format!("A: round {}: {} events, token {:#x}", i, n, a.tok(0)));
            }
            break;
        }
        count_a += 1;
    }
    let t1 = now_ns();
    let a1 = allocs_now();
    stop.store(true, Ordering::Release);
    ok(wb.wake(), "wake");
    let (count_b, waits_b) = th.join().unwrap_or_else(|_| fail("B panicked".into()));
    if count_a != rounds || count_b != rounds {
        fail(format!("round trips: A {}, B {}, expected {}", count_a, count_b, rounds));
    }
    report(
        rounds,
        t1 - t0,
        if a0 < 0 { -1 } else { a1 - a0 },
        format!("waits_a={} waits_b={}", waits_a, waits_b),
    );
}

// ---------------------------------------------------------------- timeouts
fn wl_timeouts<B: Backend>() {
    let req: [i64; 3] = [50000, 1000000, 1500000];
    let name = ["t50us", "t1ms", "t1500us"];
    let k = count_or(200, 3) as usize;
    let mut wall = vec![0i64; k];
    let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    check!(efd >= 0);
    let mut b = ok(B::open(8), "open");
    ok(b.add(efd, TOK_IDLE), "register");
    check!(ok(b.wait(0), "wait") == 0);
    let mut extra = Vec::new();
    let mut total = 0i64;
    let mut allocs = 0i64;
    cpu_mark();
    for r in 0..3 {
        let mut early = 0;
        let a0 = allocs_now();
        let c0 = cpu_ns();
        for i in 0..k {
            let t0 = now_ns();
            let n = ok(b.wait(req[r]), "wait");
            let t1 = now_ns();
            if n != 0 {
                fail(format!("{} wait {} returned {}", name[r], i, n));
            }
            wall[i] = t1 - t0;
            if wall[i] < req[r] {
                early += 1;
            }
        }
        let c1 = cpu_ns();
        let a1 = allocs_now();
        allocs = if a0 < 0 { -1 } else { allocs + (a1 - a0) };
        let sum: i64 = wall.iter().sum();
        total += sum;
        wall.sort();
        let nm = name[r];
        extra.push(format!(
            "{nm}_req={} {nm}_med={} {nm}_min={} {nm}_max={} {nm}_early={} {nm}_cpu_ns={} {nm}_cpu_pct={:.1}",
            req[r],
            wall[k / 2],
            wall[0],
            wall[k - 1],
            early,
            (c1 - c0) / k as i64,
            if sum > 0 { 100.0 * (c1 - c0) as f64 / sum as f64 } else { 0.0 },
            nm = nm
        ));
    }
    report(3 * k as i64, total, allocs, extra.join(" "));
    drop(b);
    close(efd);
}

pub fn main<B: Backend>() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 2 {
        eprintln!(
            "usage: {} ring|burst|idle|churn|waker|timeouts [--scale F] [--count N] [--idle N] [--strict-allocs]",
            args[0]
        );
        exit(2);
    }
    let mut c = Cfg { workload: args[1].clone(), scale: 1.0, count: -1, idle: -1, strict: false, name: B::NAME };
    let mut i = 2;
    while i < args.len() {
        let next = |i: usize| args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--scale" => {
                c.scale = next(i).parse().unwrap_or(1.0);
                i += 1
            }
            "--count" => {
                c.count = next(i).parse().unwrap_or(-1);
                i += 1
            }
            "--idle" => {
                c.idle = next(i).parse().unwrap_or(-1);
                i += 1
            }
            "--strict-allocs" => c.strict = true,
            a => {
                eprintln!("unknown argument {}", a);
                exit(2)
            }
        }
        i += 1;
    }
    let w = c.workload.clone();
    unsafe {
        CFG = Some(c);
        libc::alarm(600); // no run may hang
    }
    match w.as_str() {
        "ring" => wl_ring::<B>(),
        "burst" => wl_burst::<B>(),
        "idle" => wl_idle::<B>(),
        "churn" => wl_churn::<B>(),
        "waker" => wl_waker::<B>(),
        "timeouts" => wl_timeouts::<B>(),
        _ => {
            eprintln!("unknown workload {}", w);
            exit(2)
        }
    }
}

// ---------------------------------------------------------------- cost
/// `bench-IMPL cost [N]`: the sequence of bench/src/cost.c for callgrind.  The
/// calls go through `op_*` functions that each binary defines with
/// `cost_ops!` (#[no_mangle], #[inline(never)]), so callgrind's inclusive count
/// of op_wait / op_register / op_deregister / op_wake divided by N is the cost
/// of one call, as for the C programs.  A oneshot backend (polling) re-arms the
/// eventfd after each wait outside op_wait: that re-arm is not counted.
pub struct CostOps<B: Backend> {
    pub wait: fn(&mut B) -> usize,
    pub register: fn(&mut B, RawFd, u64),
    pub deregister: fn(&mut B, RawFd),
    pub wake: fn(&B::W),
}

#[macro_export]
macro_rules! cost_ops {
    ($b:ty) => {
        #[no_mangle]
        #[inline(never)]
        fn op_wait(b: &mut $b) -> usize {
            <$b as $crate::Backend>::wait(b, -1).unwrap_or(usize::MAX)
        }
        #[no_mangle]
        #[inline(never)]
        fn op_register(b: &mut $b, fd: std::os::unix::io::RawFd, t: u64) {
            <$b as $crate::Backend>::add(b, fd, t).expect("register")
        }
        #[no_mangle]
        #[inline(never)]
        fn op_deregister(b: &mut $b, fd: std::os::unix::io::RawFd) {
            <$b as $crate::Backend>::del(b, fd).expect("deregister")
        }
        #[no_mangle]
        #[inline(never)]
        fn op_wake(w: &<$b as $crate::Backend>::W) {
            $crate::Waker::wake(w).expect("wake")
        }
        fn cost_ops() -> $crate::CostOps<$b> {
            $crate::CostOps { wait: op_wait, register: op_register, deregister: op_deregister, wake: op_wake }
        }
    };
}

pub fn cost_main<B: Backend>(n: i64, ops: CostOps<B>) {
    let mut b = ok(B::open(8), "open");
    let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    check!(efd >= 0);
    ok(b.add(efd, 1), "register eventfd");
    let one = 1u64.to_ne_bytes();
    let mut v = [0u8; 8];
    for i in 0..n {
        check!(wr(efd, &one) == 8);
        let k = (ops.wait)(&mut b);
        if k != 1 || b.tok(0) != 1 {
            fail(format!("wait {}: {} events", i, k));
        }
        check!(rd(efd, &mut v) == 8);
        ok(b.rearm(efd, 1), "rearm");
    }
    ok(b.del(efd), "del");
    let mut sv = [0 as RawFd; 2];
    check!(
        unsafe {
            libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0, sv.as_mut_ptr())
        } == 0
    );
    for i in 0..n {
        (ops.register)(&mut b, sv[0], 100 + i as u64);
        (ops.deregister)(&mut b, sv[0]);
    }
    drop(b);
    let mut w = ok(B::open(8), "open");
    let wk = ok(w.waker_new(7), "waker");
    for i in 0..n {
        (ops.wake)(&wk);
        let k = ok(w.wait(-1), "wait");
        if k != 1 || w.tok(0) != 7 {
            fail(format!("after wake {}: {} events", i, k));
        }
    }
    close(efd);
    close(sv[0]);
    close(sv[1]);
    println!("COST ok n={}", n);
}

/// main() of a peer program: `bench-IMPL WORKLOAD ...` or `bench-IMPL cost [N]`.
pub fn main_with_cost<B: Backend>(ops: CostOps<B>) {
    let args: Vec<String> = std::env::args().collect();
    if args.len() >= 2 && args[1] == "cost" {
        unsafe {
            CFG = Some(Cfg { workload: "cost".into(), scale: 1.0, count: -1, idle: -1, strict: false, name: B::NAME });
            libc::alarm(600);
        }
        let n = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10000);
        cost_main::<B>(n, ops);
        return;
    }
    main::<B>()
}
