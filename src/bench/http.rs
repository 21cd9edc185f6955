//! relais over HTTP: the real server (`relais serve`, a child process on the
//! benchmark's database and index) under `oha`, the load tool, on
//! `/api/v1/offres/search` with a search key.
//!
//! Closed loop (each connection sends its next request when the last one is
//! answered) at 1, 8 and 64 connections: the last is the saturation
//! throughput. Then open loop at half of it (`-q`, with `--latency-correction`
//! so a slow answer does not hide the requests that queued behind it).
//! The child's memory is read from /proc once the load is over.
//!
//! The peers go through the same passes on the common-keyword workload,
//! each behind a handler like relais's, served from this process.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use chrono::Utc;
use serde_json::Value;

use super::BenchError;
use super::peers::PeerPool;
use crate::api;
use crate::search::params::Context;

/// Closed-loop passes; the widest also carries the open-loop pass.
const CONNECTIONS: [usize; 3] = [1, 8, 64];
const READY_WITHIN: Duration = Duration::from_secs(300);

/// One run of the load tool.
pub struct LoadRun {
    pub system: &'static str,
    pub workload: &'static str,
    pub connections: usize,
    /// Open loop at this many requests a second; closed loop when `None`.
    pub rate: Option<f64>,
    pub requests_per_second: f64,
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
    /// Answers other than 200, 206 and 204, and connection errors.
    pub failures: u64,
}

pub struct HttpFigures {
    pub runs: Vec<LoadRun>,
    /// Peak resident memory of the server (VmHWM) and its anonymous part at
    /// the end (RssAnon: what is not the index's page cache), in bytes.
    pub peak_rss: u64,
    pub anonymous_rss: u64,
}

impl HttpFigures {
    /// For each peer, on its workload: relais's saturation throughput over
    /// the peer's, and the peer's p50 with one connection over relais's.
    pub fn speedups(&self) -> Vec<(&'static str, Option<f64>, Option<f64>)> {
        let closed = |system: &str, workload: &str| -> Vec<&LoadRun> {
            self.runs
                .iter()
                .filter(|run| run.system == system && run.workload == workload)
                .filter(|run| run.rate.is_none())
                .collect()
        };
        let saturation = |system: &str, workload: &str| {
            closed(system, workload)
                .iter()
                .map(|run| run.requests_per_second)
                .reduce(f64::max)
        };
        let single = |system: &str, workload: &str| {
            closed(system, workload)
                .iter()
                .find(|run| run.connections == 1)
                .map(|run| run.p50.as_secs_f64())
        };
        let mut peers: Vec<(&'static str, &'static str)> = self
            .runs
            .iter()
            .filter(|run| run.system != "relais")
            .map(|run| (run.system, run.workload))
            .collect();
        peers.dedup();
        peers
            .into_iter()
            .map(|(peer, workload)| {
                let ratio = |a: Option<f64>, b: Option<f64>| {
                    a.zip(b).filter(|(_, b)| *b > 0.0).map(|(a, b)| a / b)
                };
                (
                    peer,
                    ratio(saturation("relais", workload), saturation(peer, workload)),
                    ratio(single(peer, workload), single("relais", workload)),
                )
            })
            .collect()
    }
}

/// A set of URLs the load tool picks from.
pub struct Workload {
    pub name: &'static str,
    /// Paths with their query strings.
    pub targets: Vec<String>,
}

pub struct Server<'a> {
    pub database_url: &'a str,
    pub index: &'a Path,
    pub work_dir: &'a Path,
    pub api_key: &'a str,
}

/// The server child, stopped however the measurement ends.
struct Running {
    child: Child,
    port: u16,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// relais: every workload through the real server, then its memory.
pub fn measure(
    server: &Server<'_>,
    workloads: &[Workload],
    seconds: u64,
) -> Result<HttpFigures, BenchError> {
    let oha = oha()?;
    let running = start(server)?;
    let target = Target {
        system: "relais",
        port: running.port,
        api_key: Some(server.api_key),
    };
    let mut runs = Vec::new();
    for workload in workloads {
        runs.extend(passes(&oha, &target, workload, seconds, server.work_dir)?);
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", running.child.id()))?;
    Ok(HttpFigures {
        runs,
        peak_rss: status_kb(&status, "VmHWM:") * 1024,
        anonymous_rss: status_kb(&status, "RssAnon:") * 1024,
    })
}

/// A peer behind a handler like relais's own, under the same passes.
pub fn measure_peer(
    system: &'static str,
    pool: PeerPool,
    agencies: HashSet<String>,
    workload: &Workload,
    seconds: u64,
    work_dir: &Path,
) -> Result<Vec<LoadRun>, BenchError> {
    let oha = oha()?;
    let server = serve_peer(pool, agencies)?;
    let target = Target {
        system,
        port: server.port,
        api_key: None,
    };
    passes(&oha, &target, workload, seconds, work_dir)
}

fn oha() -> Result<PathBuf, BenchError> {
    which("oha").ok_or_else(|| {
        BenchError::Invalid(
            "l'outil de charge oha est introuvable : cargo install oha --locked".into(),
        )
    })
}

/// A server under load: its port, and the key its search asks for.
struct Target<'a> {
    system: &'static str,
    port: u16,
    api_key: Option<&'a str>,
}

/// Closed loop at each connection count, then open loop at half the
/// saturation rate with the widest.
fn passes(
    oha: &Path,
    target: &Target<'_>,
    workload: &Workload,
    seconds: u64,
    work_dir: &Path,
) -> Result<Vec<LoadRun>, BenchError> {
    let urls = work_dir.join(format!("urls-{}-{}.txt", target.port, workload.name));
    let lines: Vec<String> = workload
        .targets
        .iter()
        .map(|path| format!("http://127.0.0.1:{}{path}", target.port))
        .collect();
    std::fs::write(&urls, lines.join("\n") + "\n")?;
    let mut runs = Vec::new();
    let mut saturation = 0.0_f64;
    for connections in CONNECTIONS {
        let run = load(oha, &urls, target.api_key, seconds, connections, None)?;
        saturation = saturation.max(run.requests_per_second);
        runs.push(run);
    }
    let half = (saturation / 2.0).max(1.0);
    let widest = CONNECTIONS[CONNECTIONS.len() - 1];
    runs.push(load(
        oha,
        &urls,
        target.api_key,
        seconds,
        widest,
        Some(half),
    )?);
    for run in &mut runs {
        run.system = target.system;
        run.workload = workload.name;
    }
    Ok(runs)
}

/// A peer served on a free port of this process: relais's parsing and
/// answer (`api::search_request`, `api::search_response`), the peer's
/// statement on a pooled connection off the async workers, as relais's
/// handler runs its search. Stopped when dropped.
struct PeerServer {
    port: u16,
    handle: ServerHandle,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Drop for PeerServer {
    fn drop(&mut self) {
        // The stop command is sent at once; the thread ends with the server.
        drop(self.handle.stop(true));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve_peer(pool: PeerPool, agencies: HashSet<String>) -> Result<PeerServer, BenchError> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    let port = listener.local_addr()?.port();
    let (handles, handle) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let pool = web::Data::new(pool);
            let agencies = web::Data::new(agencies);
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(pool.clone())
                    .app_data(agencies.clone())
                    .route("/api/v1/offres/search", web::get().to(peer_search))
            })
            .listen(listener)?
            .run();
            let _ = handles.send(server.handle());
            server.await
        })
    });
    let handle = handle
        .recv()
        .map_err(|_| BenchError::Invalid("le serveur du pair n'a pas démarré".into()))?;
    Ok(PeerServer {
        port,
        handle,
        thread: Some(thread),
    })
}

async fn peer_search(
    req: HttpRequest,
    pool: web::Data<PeerPool>,
    agencies: web::Data<HashSet<String>>,
) -> actix_web::Result<HttpResponse> {
    let context = Context {
        agencies: &agencies,
        now: Utc::now().timestamp(),
        // Demo offers carry only the referentials' values.
        indexed: &|_, _| false,
    };
    let request = api::search_request(req.query_string(), &context)?;
    let (start, end) = (request.start, request.end);
    let pool = pool.into_inner();
    let results = web::block(move || pool.search(&request))
        .await?
        .map_err(actix_web::error::ErrorInternalServerError)?;
    Ok(api::search_response(&results, start, end))
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Starts `relais serve` on a free port and waits until it is ready.
fn start(server: &Server<'_>) -> Result<Running, BenchError> {
    let mut child = Command::new(std::env::current_exe()?)
        .arg("serve")
        .env("RELAIS__SERVER__ADDRESS", "127.0.0.1:0")
        .env("RELAIS__DATABASE__URL", server.database_url)
        .env("RELAIS__INDEX__PATH", server.index)
        .env("RELAIS__MAIL__FILE_DIR", server.work_dir.join("outbox"))
        // One line per request would measure the terminal.
        .env("RELAIS__LOG__LEVEL", "warn")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| BenchError::Invalid("sortie du serveur indisponible".into()))?;
    let mut running = Running { child, port: 0 };
    // "relais écoute sur http://127.0.0.1:PORT/"
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if let Some(port) = line
            .rsplit_once(':')
            .and_then(|(_, rest)| rest.trim_end_matches('/').parse().ok())
            .filter(|_| line.starts_with("relais écoute sur"))
        {
            running.port = port;
            break;
        }
    }
    if running.port == 0 {
        return Err(BenchError::Invalid(
            "le serveur s'est arrêté sans annoncer son adresse".into(),
        ));
    }
    let deadline = Instant::now() + READY_WITHIN;
    while !ready(running.port) {
        if Instant::now() > deadline {
            return Err(BenchError::Invalid(
                "le serveur n'est pas prêt (readyz) après 5 minutes".into(),
            ));
        }
        // Polling readiness, as a load balancer does.
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(running)
}

/// Whether `/readyz` answers 200.
fn ready(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let request =
        format!("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    let mut answer = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 200")
}

fn load(
    oha: &Path,
    urls: &Path,
    key: Option<&str>,
    seconds: u64,
    connections: usize,
    rate: Option<f64>,
) -> Result<LoadRun, BenchError> {
    let mut command = Command::new(oha);
    command
        // -w: requests in flight at the deadline are answered, not counted as errors.
        .args([
            "--no-tui",
            "-w",
            "--output-format",
            "json",
            "--urls-from-file",
        ])
        .args(["-z", &format!("{seconds}s"), "-c", &connections.to_string()]);
    if let Some(key) = key {
        command.args(["-H", &format!("Authorization: Bearer {key}")]);
    }
    if let Some(rate) = rate {
        command.args(["-q", &format!("{rate:.0}"), "--latency-correction"]);
    }
    let output = command.arg(urls).stderr(Stdio::inherit()).output()?;
    if !output.status.success() {
        return Err(BenchError::Invalid(format!(
            "oha a échoué ({})",
            output.status
        )));
    }
    let figures: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| BenchError::Invalid(format!("sortie de oha illisible : {e}")))?;
    let seconds_at = |key: &str| {
        Duration::from_secs_f64(figures["latencyPercentiles"][key].as_f64().unwrap_or(0.0))
    };
    let answered_well: u64 = ["200", "206", "204"]
        .iter()
        .filter_map(|code| figures["statusCodeDistribution"][code].as_u64())
        .sum();
    let answered: u64 = figures["statusCodeDistribution"]
        .as_object()
        .map_or(0, |codes| codes.values().filter_map(Value::as_u64).sum());
    let errors: u64 = figures["errorDistribution"]
        .as_object()
        .map_or(0, |errors| errors.values().filter_map(Value::as_u64).sum());
    Ok(LoadRun {
        system: "",
        workload: "",
        connections,
        rate,
        requests_per_second: figures["summary"]["requestsPerSec"].as_f64().unwrap_or(0.0),
        p50: seconds_at("p50"),
        p95: seconds_at("p95"),
        p99: seconds_at("p99"),
        failures: answered - answered_well + errors,
    })
}

/// A "Key:   123 kB" line of /proc/PID/status, in kB (0 when absent).
fn status_kb(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0)
}
