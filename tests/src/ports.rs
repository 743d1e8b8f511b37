//! Loopback ports of the servers the tests start. The harness's own servers (the local
//! API, the sandbox, webhook receivers) bind port 0 and serve the listener they bound, and
//! moto binds port 0 itself and reports its port. Two cases need more:
//!
//! - moto stopped and started again (a table outage and its end) must come back on its
//!   port, which the functions are configured with: a [`Reservation`] keeps the port bound
//!   (SO_REUSEPORT, never listening, so connections are refused while moto is down) and
//!   moto binds it with SO_REUSEPORT too; no other program can bind it meanwhile.
//! - `cargo lambda watch` takes `-P <port>` only (`-P 0` means its default, 9000) and
//!   exits with status 0 and no message when the port is taken. The functions must know
//!   its URL before it starts, so the port is chosen first ([`unused_port`]) and the bind
//!   race cannot be excluded, only detected: [`listener_in_group`] tells whether the
//!   listener on the port belongs to the process group the harness started, and the
//!   harness starts again on another port when it does not (`watch.rs`).

use std::collections::HashSet;
use std::net::SocketAddr;

/// A loopback port held for a server that stops and starts again on it.
pub struct Reservation {
    socket: tokio::net::TcpSocket,
}

impl Reservation {
    pub fn new() -> Reservation {
        let socket = tokio::net::TcpSocket::new_v4().expect("a TCP socket");
        socket.set_reuseport(true).expect("SO_REUSEPORT");
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind a loopback port");
        Reservation { socket }
    }

    pub fn port(&self) -> u16 {
        self.socket.local_addr().expect("a bound socket has an address").port()
    }
}

impl Default for Reservation {
    fn default() -> Self {
        Self::new()
    }
}

/// A port no socket was bound to a moment ago, for a program that cannot bind port 0 and
/// report it. Another program may bind it before that one does: check with
/// [`listener_in_group`].
pub fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("bind a loopback port")
}

/// Whether a process of group `pgid` holds a TCP socket listening on `port` (Linux: the
/// socket inodes of /proc/net/tcp{,6} against the descriptors of the group's processes).
pub fn listener_in_group(port: u16, pgid: i32) -> bool {
    let sockets = listening_sockets(port);
    !sockets.is_empty() && processes_in_group(pgid).any(|pid| holds_any(&pid, &sockets))
}

/// The inodes of the sockets listening on `port`, on any address.
fn listening_sockets(port: u16) -> HashSet<String> {
    const LISTEN: &str = "0A";
    let port = format!("{port:04X}");
    let mut inodes = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
        for fields in text
            .lines()
            .skip(1)
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
        {
            let local_port = fields.get(1).and_then(|address| address.rsplit(':').next());
            if local_port == Some(port.as_str())
                && fields.get(3) == Some(&LISTEN)
                && let Some(inode) = fields.get(9)
            {
                inodes.insert((*inode).to_owned());
            }
        }
    }
    inodes
}

fn processes_in_group(pgid: i32) -> impl Iterator<Item = String> {
    let entries = std::fs::read_dir("/proc").into_iter().flatten().flatten();
    entries
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.bytes().all(|b| b.is_ascii_digit()))
        .filter(move |pid| group_of(pid) == Some(pgid))
}

/// The process group in /proc/<pid>/stat: the third field after the command's ')'.
fn group_of(pid: &str) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_command = &stat[stat.rfind(')')? + 1..];
    after_command.split_whitespace().nth(2)?.parse().ok()
}

fn holds_any(pid: &str, inodes: &HashSet<String>) -> bool {
    let Ok(descriptors) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    descriptors.flatten().any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|target| {
            let target = target.to_string_lossy();
            target
                .strip_prefix("socket:[")
                .and_then(|rest| rest.strip_suffix(']'))
                .is_some_and(|inode| inodes.contains(inode))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_is_found_in_its_own_group_only() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // SAFETY: getpgrp(2) has no preconditions.
        let own_group = unsafe { libc::getpgrp() };
        assert!(listener_in_group(port, own_group));
        assert!(!listener_in_group(port, own_group + 1_000_000));
        drop(listener);
        assert!(!listener_in_group(port, own_group), "no listener once closed");
    }

    #[test]
    fn a_reserved_port_refuses_connections_and_other_binds() {
        let reservation = Reservation::new();
        let port = reservation.port();
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
        assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_err());
    }
}
