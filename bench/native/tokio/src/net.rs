//! Socket workloads in plain Tokio: tcp_echo and fd_fanout.

use std::io::{ErrorKind, Write};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::runtime::Runtime;
use tokio::sync::Notify;

use crate::sizes::Sizes;
use crate::{check, measure, Sample};

fn io_err(e: std::io::Error) -> String {
    e.to_string()
}

async fn write_all(s: &TcpStream, mut buf: &[u8]) -> Result<(), String> {
    while !buf.is_empty() {
        s.writable().await.map_err(io_err)?;
        match s.try_write(buf) {
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(io_err(e)),
        }
    }
    Ok(())
}

/// Reads into `buf` once data is there: the byte count (0 at EOF).
async fn read_some(s: &TcpStream, buf: &mut [u8]) -> Result<usize, String> {
    loop {
        s.readable().await.map_err(io_err)?;
        match s.try_read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(io_err(e)),
        }
    }
}

async fn echo(s: TcpStream) -> Result<(), String> {
    let mut buf = [0u8; 4096];
    loop {
        let n = read_some(&s, &mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        write_all(&s, &buf[..n]).await?;
    }
}

async fn client(addr: std::net::SocketAddr, requests: u32, bytes: usize) -> Result<Vec<u64>, String> {
    let s = TcpStream::connect(addr).await.map_err(io_err)?;
    s.set_nodelay(true).map_err(io_err)?;
    let request = vec![b'x'; bytes];
    let mut answer = vec![0u8; bytes];
    let mut latency = Vec::with_capacity(requests as usize);
    for _ in 0..requests {
        let start = Instant::now();
        write_all(&s, &request).await?;
        let mut got = 0;
        while got < bytes {
            let n = read_some(&s, &mut answer[got..]).await?;
            if n == 0 {
                return Err("the server closed early".into());
            }
            got += n;
        }
        latency.push(start.elapsed().as_nanos() as u64);
    }
    Ok(latency)
}

fn percentiles(lat: &mut [u64], out: &mut Sample) {
    if lat.is_empty() {
        return;
    }
    lat.sort_unstable();
    let n = lat.len();
    out.p50_ns = lat[(n - 1) / 2];
    out.p99_ns = lat[(n - 1) * 99 / 100];
}

pub fn tcp_echo(rt: &Runtime, s: &Sizes) -> Result<Sample, String> {
    let (conns, requests, bytes) = (s.echo_conns, s.echo_requests, s.echo_bytes as usize);
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).map_err(io_err)?;
    let addr = listener.local_addr().map_err(io_err)?;
    let mut latency = Vec::new();
    let mut sample = measure(|| {
        latency = rt.block_on(async move {
            tokio::spawn(async move {
                let server = tokio::spawn(async move {
                    let mut echoes = Vec::new();
                    for _ in 0..conns {
                        let (c, _) = listener.accept().await.map_err(io_err)?;
                        c.set_nodelay(true).map_err(io_err)?;
                        echoes.push(tokio::spawn(echo(c)));
                    }
                    for e in echoes {
                        e.await.map_err(|e| e.to_string())??;
                    }
                    Ok::<(), String>(())
                });
                let clients: Vec<_> = (0..conns).map(|_| tokio::spawn(client(addr, requests, bytes))).collect();
                let mut all = Vec::new();
                for c in clients {
                    all.extend(c.await.map_err(|e| e.to_string())??);
                }
                server.await.map_err(|e| e.to_string())??;
                Ok::<Vec<u64>, String>(all)
            })
            .await
            .map_err(|e| e.to_string())?
        })?;
        check("requests", latency.len() as u64, conns as u64 * requests as u64)?;
        Ok(latency.len() as u64)
    })?;
    percentiles(&mut latency, &mut sample);
    Ok(sample)
}

/// One round of fd_fanout is over when every waiter has read its byte.
struct Round {
    read: AtomicU32,
    sockets: u32,
    done: Notify,
}

pub fn fd_fanout(rt: &Runtime, s: &Sizes) -> Result<Sample, String> {
    let (sockets, rounds) = (s.fanout_sockets, s.fanout_rounds);
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for _ in 0..sockets {
        let (r, w) = StdUnixStream::pair().map_err(io_err)?;
        r.set_nonblocking(true).map_err(io_err)?;
        w.set_nonblocking(true).map_err(io_err)?;
        readers.push(r);
        writers.push(w);
    }
    measure(move || {
        let round = Arc::new(Round { read: AtomicU32::new(0), sockets, done: Notify::new() });
        rt.block_on(async move {
            tokio::spawn(async move {
                let mut waiters = Vec::new();
                for r in readers {
                    // Registered inside the timed region, as the other
                    // programs start their watchers (handle set-up is timed).
                    let r = UnixStream::from_std(r).map_err(io_err)?;
                    let round = round.clone();
                    waiters.push(tokio::spawn(async move {
                        let mut byte = [0u8; 1];
                        let mut left = rounds;
                        while left > 0 {
                            r.readable().await.map_err(io_err)?;
                            match r.try_read(&mut byte) {
                                Ok(1) => {}
                                Ok(_) => return Err("EOF".to_string()),
                                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                                Err(e) => return Err(io_err(e)),
                            }
                            left -= 1;
                            if round.read.fetch_add(1, Ordering::AcqRel) + 1 == round.sockets {
                                round.read.store(0, Ordering::Release);
                                round.done.notify_one();
                            }
                        }
                        Ok::<(), String>(())
                    }));
                }
                for _ in 0..rounds {
                    for w in writers.iter_mut() {
                        w.write_all(b"x").map_err(io_err)?;
                    }
                    round.done.notified().await;
                }
                for w in waiters {
                    w.await.map_err(|e| e.to_string())??;
                }
                Ok::<(), String>(())
            })
            .await
            .map_err(|e| e.to_string())?
        })?;
        Ok(sockets as u64 * rounds as u64)
    })
}
