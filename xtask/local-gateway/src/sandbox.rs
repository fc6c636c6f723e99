//! Lambda's execution environment around one instance, built with bubblewrap (`bwrap`): the
//! image's root filesystem read-only as `/`, a `/tmp` sized by the ephemeral storage, Lambda's
//! non-root user, namespaces of its own (the network one holds only loopback, where the Runtime
//! API listens on 127.0.0.1:9001 as on Lambda), and the function's memory enforced by a memory cgroup (the kernel's OOM killer
//! ends an instance over it, as Lambda's does), or by an address-space limit where no cgroup is
//! writable.
use std::{
    fs::File,
    io::Write,
    net::TcpListener,
    os::{
        fd::{AsRawFd, OwnedFd},
        unix::process::CommandExt,
    },
    path::{Path, PathBuf},
    process::Stdio,
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

use anyhow::{Context, Result, bail};
use tokio::process::Command;

use crate::control::Unpacked;

/// Lambda's user and group in its execution environment (`sbx_user1051`), not root.
pub const LAMBDA_UID: u32 = 993;
pub const LAMBDA_GID: u32 = 990;
/// Lambda's default ephemeral storage (`/tmp`); the local control plane does not set another.
pub const EPHEMERAL_STORAGE_MB: u64 = 512;
const BWRAP: &str = "/usr/bin/bwrap";
/// Where Lambda's Runtime API answers inside the execution environment.
pub const RUNTIME_API: &str = "127.0.0.1:9001";
const MIB: u64 = 1024 * 1024;
/// Where an instance of another architecture finds its emulator.
const EMULATOR_IN_SANDBOX: &str = "/dev/qemu-user";

/// How the memory limit is enforced.
#[derive(Debug)]
enum Memory {
    /// A child cgroup per instance under this one (v1 `memory.limit_in_bytes`, v2 `memory.max`).
    Cgroup { parent: PathBuf, v2: bool },
    /// `RLIMIT_AS`: allocations past the limit fail (the process aborts rather than being
    /// killed), for machines without a writable memory cgroup.
    AddressSpace,
}

/// The sandbox, checked once when the gateway starts.
#[derive(Debug)]
pub struct Sandbox {
    memory: Memory,
    /// Each instance gets a network namespace with only loopback (needs CAP_SYS_ADMIN, which
    /// the gateway has as root); otherwise instances share the host's.
    own_network: bool,
}

/// A network namespace with only loopback up, and the Runtime API's listener made in it (a
/// socket stays in the namespace it was made in, whoever accepts on it).
pub(crate) struct Network {
    pub listener: TcpListener,
    namespace: OwnedFd,
}

/// An instance's memory cgroup, removed once its processes are gone.
pub(crate) struct Cgroup(PathBuf);

impl Drop for Cgroup {
    fn drop(&mut self) {
        let dir = std::mem::take(&mut self.0);
        // The killed processes leave the cgroup a moment after the kill.
        std::thread::spawn(move || {
            for _ in 0..50 {
                if std::fs::remove_dir(&dir).is_ok() || !dir.exists() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
    }
}

impl Sandbox {
    /// Checks that bwrap can run a program as Lambda's user in namespaces of its own here, and
    /// how memory will be limited; the error says why the sandbox cannot run.
    pub fn detect() -> Result<Self> {
        if !Path::new(BWRAP).exists() {
            bail!("{BWRAP} is missing: install the Debian package bubblewrap");
        }
        let output = std::process::Command::new(BWRAP)
            .args(["--unshare-all", "--share-net", "--die-with-parent"])
            .args(["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev"])
            .args(["--tmpfs", "/tmp", "--", "/bin/true"])
            .uid(LAMBDA_UID)
            .gid(LAMBDA_GID)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {BWRAP}"))?;
        if !output.status.success() {
            bail!(
                "bwrap cannot build a sandbox here as uid {LAMBDA_UID} ({}): {}; unprivileged user namespaces are needed (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0)",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let memory = memory_cgroup().unwrap_or(Memory::AddressSpace);
        let own_network = new_network().is_ok();
        Ok(Self {
            memory,
            own_network,
        })
    }

    /// A network namespace for one instance, or `None` when instances share the host's.
    pub(crate) fn network(&self) -> Result<Option<Network>> {
        self.own_network.then(new_network).transpose()
    }

    /// How memory is limited, for the gateway's start-up line.
    pub fn describe(&self) -> String {
        let memory = match &self.memory {
            Memory::Cgroup { parent, v2 } => format!(
                "memory by cgroup {} under {}",
                if *v2 { "v2" } else { "v1" },
                parent.display()
            ),
            Memory::AddressSpace => "memory by RLIMIT_AS (no writable memory cgroup)".into(),
        };
        let network = if self.own_network {
            "a network namespace with only loopback each"
        } else {
            "the host's network namespace (no CAP_SYS_ADMIN to make one each)"
        };
        format!("bwrap as uid {LAMBDA_UID}, {memory}, {network}")
    }

    /// The bwrap command that runs `image` as one instance (in `network`, if any), under
    /// `emulator` when the function's architecture is not the host's, and its cgroup.
    /// `network` must live until the command is spawned.
    pub(crate) fn command(
        &self,
        image: &Unpacked,
        memory_mb: u32,
        network: Option<&Network>,
        emulator: Option<&Path>,
    ) -> Result<(Command, Option<Cgroup>)> {
        let mut command = Command::new(BWRAP);
        command
            .args(["--unshare-all", "--share-net", "--die-with-parent"])
            .args(["--new-session", "--cap-drop", "ALL"])
            .arg("--ro-bind")
            .arg(&image.rootfs)
            .arg("/")
            .args(["--proc", "/proc", "--dev", "/dev"]);
        if let Some(emulator) = emulator {
            // The root is the image's, read-only, so the emulator's mount point goes on the
            // /dev that bwrap itself made (not in the function's /tmp, which it may fill).
            command
                .arg("--ro-bind")
                .arg(emulator)
                .arg(EMULATOR_IN_SANDBOX);
        }
        command
            .args(["--size", &(EPHEMERAL_STORAGE_MB * MIB).to_string()])
            .args(["--tmpfs", "/tmp"])
            .args(["--uid", &LAMBDA_UID.to_string()])
            .args(["--gid", &LAMBDA_GID.to_string()])
            .args(["--chdir", &image.workdir, "--"]);
        if emulator.is_some() {
            command.arg(EMULATOR_IN_SANDBOX);
        }
        command.args(&image.command);
        let limit = u64::from(memory_mb) * MIB;
        let (cgroup, procs) = match &self.memory {
            Memory::Cgroup { parent, v2 } => {
                let cgroup = new_cgroup(parent, *v2, limit)?;
                let procs = File::options()
                    .write(true)
                    .open(cgroup.0.join("cgroup.procs"))
                    .context("opening the instance's cgroup.procs")?;
                (Some(cgroup), Some(procs))
            }
            Memory::AddressSpace => (None, None),
        };
        let namespace = network.map(|n| n.namespace.as_raw_fd());
        // SAFETY: only system calls run between fork and exec, in this order because each
        // needs what the next gives up: join the cgroup ("0" moves the caller, so bwrap and
        // the function start inside it) and the network namespace as root, then become
        // Lambda's user.
        unsafe {
            command.pre_exec(move || {
                let check = |result: libc::c_int| {
                    if result == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                };
                match &procs {
                    Some(procs) => (&*procs).write_all(b"0")?,
                    None => check(libc::setrlimit(
                        libc::RLIMIT_AS,
                        &libc::rlimit {
                            rlim_cur: limit,
                            rlim_max: limit,
                        },
                    ))?,
                }
                if let Some(fd) = namespace {
                    check(libc::setns(fd, libc::CLONE_NEWNET))?;
                }
                check(libc::setgroups(0, std::ptr::null()))?;
                check(libc::setgid(LAMBDA_GID))?;
                check(libc::setuid(LAMBDA_UID))
            });
        }
        Ok((command, cgroup))
    }
}

/// A new network namespace with loopback up and a listener on [`RUNTIME_API`] in it, made on a
/// thread of its own (a network namespace is per thread) that ends right after.
fn new_network() -> Result<Network> {
    std::thread::spawn(|| {
        // SAFETY: unshare(2) and ioctl(2) on this short-lived thread only.
        unsafe {
            if libc::unshare(libc::CLONE_NEWNET) != 0 {
                bail!("unshare(CLONE_NEWNET): {}", std::io::Error::last_os_error());
            }
            let socket = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
            let mut request: libc::ifreq = std::mem::zeroed();
            for (to, from) in request.ifr_name.iter_mut().zip(b"lo") {
                *to = *from as libc::c_char;
            }
            request.ifr_ifru.ifru_flags = (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            let up = libc::ioctl(socket, libc::SIOCSIFFLAGS, &request);
            libc::close(socket);
            if up != 0 {
                bail!("bringing up loopback: {}", std::io::Error::last_os_error());
            }
        }
        let listener = TcpListener::bind(RUNTIME_API).context("binding the runtime API")?;
        let namespace = File::open("/proc/thread-self/ns/net")?.into();
        Ok(Network {
            listener,
            namespace,
        })
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the network namespace thread panicked"))?
}

/// The memory cgroup this process is in, if a child with a memory limit can be made under it.
fn memory_cgroup() -> Option<Memory> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let candidates = own.lines().filter_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let path = path.trim_start_matches('/');
        if controllers.split(',').any(|c| c == "memory") {
            Some((Path::new("/sys/fs/cgroup/memory").join(path), false))
        } else if controllers.is_empty() {
            Some((Path::new("/sys/fs/cgroup").join(path), true))
        } else {
            None
        }
    });
    for (parent, v2) in candidates {
        if let Ok(probe) = new_cgroup(&parent, v2, 64 * MIB) {
            drop(probe);
            sweep(&parent);
            return Some(Memory::Cgroup { parent, v2 });
        }
    }
    None
}

/// Removes the (empty) cgroups of instances whose gateway has gone: a stopped gateway's
/// instances die with it (`--die-with-parent`), but it cannot remove their cgroups.
fn sweep(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let owner = name
            .to_str()
            .and_then(|n| n.strip_prefix("bgd-lambda-"))
            .and_then(|rest| rest.split('-').next());
        if owner.is_some_and(|pid| !Path::new("/proc").join(pid).exists()) {
            let _ = std::fs::remove_dir(entry.path());
        }
    }
}

fn new_cgroup(parent: &Path, v2: bool, limit: u64) -> Result<Cgroup> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "bgd-lambda-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let dir = parent.join(name);
    std::fs::create_dir(&dir).with_context(|| format!("creating the cgroup {}", dir.display()))?;
    let cgroup = Cgroup(dir);
    let write = |file: &str, value: &str| {
        std::fs::write(cgroup.0.join(file), value)
            .with_context(|| format!("writing {file} of {}", cgroup.0.display()))
    };
    if v2 {
        write("memory.max", &limit.to_string())?;
        // Lambda has no swap; where swap accounting is off the file is absent.
        let _ = write("memory.swap.max", "0");
    } else {
        write("memory.limit_in_bytes", &limit.to_string())?;
        let _ = write("memory.memsw.limit_in_bytes", &limit.to_string());
    }
    Ok(cgroup)
}
