//! Clients hitting a stage's `/version` through the local gateway while something switches
//! it, each recording every answer (when it was sent, status, version), bounded in time.
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{sync::watch, task::JoinHandle, time::Instant};

/// How long a client keeps asking at most, whatever the test does.
const LIMIT: Duration = Duration::from_secs(600);

/// One answer: status 0 when no HTTP answer came at all.
#[derive(Debug, Clone)]
pub struct Seen {
    pub sent: Instant,
    pub status: u16,
    pub version: Option<String>,
}

pub struct Prober {
    stop: watch::Sender<bool>,
    clients: Vec<JoinHandle<Vec<Seen>>>,
    /// The version each client's latest successful answer reported.
    latest: Arc<Mutex<Vec<Option<String>>>>,
}

impl Prober {
    /// Starts `clients` clients, each with its own connection, pausing `pause` between requests.
    pub fn start(stage_url: &str, clients: usize, pause: Duration) -> Self {
        let (stop, stopped) = watch::channel(false);
        let url = format!("{stage_url}/version");
        let latest = Arc::new(Mutex::new(vec![None; clients]));
        let clients = (0..clients)
            .map(|index| {
                let (url, stopped) = (url.clone(), stopped.clone());
                let latest = Arc::clone(&latest);
                tokio::spawn(async move { client(url, stopped, pause, &latest, index).await })
            })
            .collect();
        Self {
            stop,
            clients,
            latest,
        }
    }

    /// Waits until every client's latest answer was `version` (a 200): each has seen it, so
    /// what follows happens while they are all on it. Panics past `patience`.
    pub async fn until_all_see(&self, version: &str, patience: Duration) {
        let deadline = Instant::now() + patience;
        loop {
            let latest = self.latest.lock().unwrap().clone();
            if latest.iter().all(|v| v.as_deref() == Some(version)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "not every client saw version {version} within {patience:?}: {latest:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the clients; what each saw, in the order it saw it.
    pub async fn stop(self) -> Vec<Vec<Seen>> {
        let _ = self.stop.send(true);
        let mut all = Vec::new();
        for client in self.clients {
            all.push(client.await.unwrap());
        }
        all
    }
}

async fn client(
    url: String,
    stopped: watch::Receiver<bool>,
    pause: Duration,
    latest: &Mutex<Vec<Option<String>>>,
    index: usize,
) -> Vec<Seen> {
    let http = bgd_tls::http()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let started = Instant::now();
    let mut seen = Vec::new();
    while !*stopped.borrow() && started.elapsed() < LIMIT {
        let sent = Instant::now();
        let (status, version) = match http.get(&url).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                (status, body["version"].as_str().map(str::to_owned))
            }
            Err(_) => (0, None),
        };
        if status == 200 && version.is_some() {
            latest.lock().unwrap()[index].clone_from(&version);
        }
        seen.push(Seen {
            sent,
            status,
            version,
        });
        tokio::time::sleep(pause).await;
    }
    seen
}

/// Answers that were not a 200 with a version.
pub fn failures(clients: &[Vec<Seen>]) -> Vec<&Seen> {
    clients
        .iter()
        .flatten()
        .filter(|s| s.status != 200 || s.version.is_none())
        .collect()
}

/// Every version served, once each.
pub fn versions(clients: &[Vec<Seen>]) -> std::collections::BTreeSet<String> {
    clients
        .iter()
        .flatten()
        .filter_map(|s| s.version.clone())
        .collect()
}

/// Answers from `old` sent more than `window` after the same client first saw `new`.
pub fn old_after_new<'a>(
    clients: &'a [Vec<Seen>],
    old: &str,
    new: &str,
    window: Duration,
) -> Vec<&'a Seen> {
    let mut stale = Vec::new();
    for seen in clients {
        let Some(first_new) = seen.iter().find(|s| s.version.as_deref() == Some(new)) else {
            continue;
        };
        stale.extend(
            seen.iter()
                .filter(|s| s.version.as_deref() == Some(old) && s.sent > first_new.sent + window),
        );
    }
    stale
}
