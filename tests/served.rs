//! The release's binary serving a test's database on a loopback port, for what only a real
//! process and socket show: timeouts on the wire, signals, a kill.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{TestApp, SECRET};

pub struct Served {
    child: Child,
    pub addr: String,
}

impl Served {
    /// Starts `serve` on `app`'s database with `env` on top of the defaults, and waits until
    /// it is ready.
    pub fn start(app: &TestApp, env: &[(&str, &str)]) -> Served {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let addr = format!("127.0.0.1:{port}");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_primary-care-api"));
        cmd.args(["serve", "--no-demo"])
            .env("DATABASE_URL", &app.url)
            .env("BIND_ADDR", &addr)
            .env("JWT_HS256_SECRET", SECRET)
            .env("RATE_LIMIT_PER_IP", "0")
            .env("RATE_LIMIT_PER_SUBJECT", "0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start the binary");
        let served = Served { child, addr };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if served
                .try_raw(b"GET /readyz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                .starts_with("HTTP/1.1 200")
            {
                return served;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the server did not become ready");
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s
    }

    fn try_raw(&self, request: &[u8]) -> String {
        let Ok(mut s) = TcpStream::connect(&self.addr) else { return String::new() };
        let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
        let _ = s.write_all(request);
        read_all(&mut s)
    }

    /// Sends a whole request (which should say `Connection: close`) and reads the answer.
    pub fn raw(&self, request: &[u8]) -> String {
        self.try_raw(request)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill").args([&format!("-{name}"), &self.pid().to_string()]).status().unwrap();
        assert!(ok.success(), "kill -{name}");
    }

    /// Waits up to `within` for the process to end.
    pub fn exited(&mut self, within: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < within {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Everything the peer sends until it closes (or stops sending for the read timeout).
pub fn read_all(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).to_string()
}

/// A request's head, with `Connection: close`.
pub fn head(method: &str, path: &str, token: &str, content_type: &str, length: usize) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    )
}

/// One HTTP/1.1 exchange over a fresh connection: the status, the headers (names in lower
/// case) and the body.
pub struct Exchange {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Exchange {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

impl Served {
    /// Sends `method path` with these headers and JSON body (if any), and reads the answer.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> Exchange {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut request =
            format!("{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
        if !body.is_empty() {
            request.push_str("Content-Type: application/json\r\n");
        }
        for (n, v) in headers {
            request.push_str(&format!("{n}: {v}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(&body);
        let answer = self.raw(request.as_bytes());
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        let mut lines = head.split("\r\n");
        let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Exchange { status, headers, body: body.to_string() }
    }
}
