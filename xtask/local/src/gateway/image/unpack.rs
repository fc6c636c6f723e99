//! A layer stack applied to a root filesystem as a container runtime applies it: layers lowest
//! first, whiteouts and opaque whiteouts per the OCI spec
//! (<https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts>), and nothing
//! written or removed outside the rootfs. A crafted image once deleted files outside it through
//! a symlink a lower layer planted, and kept setuid bits (security-audit-3 N2): every path is
//! now resolved inside the rootfs, symlinks included, and modes lose setuid, setgid and sticky.
use std::{
    collections::VecDeque,
    ffi::OsString,
    io::Read,
    path::{Component, Path, PathBuf},
};

use anyhow::{Context, Result, bail};

/// The OCI whiteout prefix: `dir/.wh.NAME` deletes `dir/NAME` of the layers below.
const WHITEOUT: &str = ".wh.";
/// `dir/.wh..wh..opq` hides everything the layers below put in `dir`.
const OPAQUE: &str = ".wh..wh..opq";
/// Mount points the sandbox needs, which images built `FROM scratch` lack.
const MOUNT_POINTS: [&str; 3] = ["tmp", "proc", "dev"];
/// Symlinks followed while resolving one path, as Linux's own limit (`ELOOP`).
const MAX_LINKS: usize = 40;

/// Applies `layers` (gzip or plain tars), lowest first, to an empty `rootfs`.
pub(super) fn unpack(layers: &[Vec<u8>], rootfs: &Path) -> Result<()> {
    std::fs::create_dir_all(rootfs).with_context(|| format!("creating {}", rootfs.display()))?;
    for (index, layer) in layers.iter().enumerate() {
        apply(layer, rootfs).with_context(|| format!("applying layer {index}"))?;
    }
    for dir in MOUNT_POINTS {
        let path = rootfs.join(dir);
        if std::fs::symlink_metadata(&path).is_err() {
            std::fs::create_dir(&path)?;
        }
    }
    Ok(())
}

fn entries(layer: &[u8]) -> tar::Archive<Box<dyn Read + '_>> {
    // Layers are gzip tars (Lambda rejects others); an uncompressed tar is read as is.
    let reader: Box<dyn Read> = if layer.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(layer))
    } else {
        Box::new(layer)
    };
    tar::Archive::new(reader)
}

/// One layer: its whiteouts first (they hide only what the layers below put there), then its
/// entries.
fn apply(layer: &[u8], rootfs: &Path) -> Result<()> {
    let mut whited_out = Vec::new();
    for entry in entries(layer).entries().context("reading a layer")? {
        let entry = entry.context("reading a layer entry")?;
        let path = relative(&entry.path()?)?;
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let parent = resolve(rootfs, path.parent().unwrap_or(Path::new("")))?;
        if name == OPAQUE {
            if let Ok(children) = std::fs::read_dir(&parent) {
                for child in children {
                    whited_out.push(child?.path());
                }
            }
        } else if let Some(hidden) = name.strip_prefix(WHITEOUT) {
            whited_out.push(parent.join(hidden));
        }
    }
    for path in whited_out {
        remove(&path)?;
    }
    let mut archive = entries(layer);
    // Without it tar keeps the permission bits only: no setuid, setgid or sticky bit.
    archive.set_preserve_permissions(false);
    archive.set_unpack_xattrs(false);
    for entry in archive.entries().context("reading a layer")? {
        let mut entry = entry.context("reading a layer entry")?;
        let path = relative(&entry.path()?)?;
        let whiteout = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(WHITEOUT));
        let kind = entry.header().entry_type();
        // Lambda runs no device or pipe of an image; tar would write one as an empty file.
        let special = kind.is_character_special() || kind.is_block_special() || kind.is_fifo();
        if whiteout || special || path.as_os_str().is_empty() {
            continue;
        }
        // A file may replace a directory of a lower layer, and the other way round; the
        // entry's own name is not followed, its parents are resolved inside the rootfs. tar's
        // `unpack_in` then refuses to write through a parent that leaves the rootfs, and a hard
        // link to a source outside it.
        let target = in_root(rootfs, &path)?;
        let is_dir = entry.header().entry_type().is_dir();
        if let Ok(existing) = std::fs::symlink_metadata(&target)
            && (existing.is_dir() != is_dir || existing.is_symlink())
        {
            remove(&target)?;
        }
        entry
            .unpack_in(rootfs)
            .with_context(|| format!("unpacking {}", path.display()))?;
    }
    Ok(())
}

/// A layer path relative to the rootfs; `..` is refused (it would write outside it).
fn relative(path: &Path) -> Result<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::Normal(name) => out.push(name),
            Component::CurDir | Component::RootDir => {}
            _ => bail!(
                "the layer entry {} leaves the root filesystem",
                path.display()
            ),
        }
    }
    Ok(out)
}

fn remove(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(_) => return Ok(()),
    }
    .with_context(|| format!("removing {}", path.display()))
}

/// `path` (a layer path) as it lies inside `rootfs`: its parents resolved by [`resolve`], its
/// own last component not followed (a whiteout or a replacement acts on the link itself).
fn in_root(rootfs: &Path, path: &Path) -> Result<PathBuf> {
    let parent = resolve(rootfs, path.parent().unwrap_or(Path::new("")))?;
    Ok(match path.file_name() {
        Some(name) => parent.join(name),
        None => parent,
    })
}

/// `path` resolved inside `rootfs` the way a container runtime resolves it (runc's
/// `securejoin`, openat2's `RESOLVE_IN_ROOT`): every symlink on the way is followed as if
/// the rootfs were `/` (an absolute target starts again at the rootfs, `..` never climbs above
/// it), so the result is always inside the rootfs, whatever a layer planted.
fn resolve(rootfs: &Path, path: &Path) -> Result<PathBuf> {
    let mut pending: VecDeque<OsString> = parts(path);
    let mut resolved = PathBuf::new();
    let mut links = 0;
    while let Some(part) = pending.pop_front() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let next = resolved.join(&part);
        let on_disk = rootfs.join(&next);
        let is_link = std::fs::symlink_metadata(&on_disk).is_ok_and(|m| m.is_symlink());
        if !is_link {
            resolved = next;
            continue;
        }
        links += 1;
        if links > MAX_LINKS {
            bail!(
                "resolving {} inside the image followed more than {MAX_LINKS} symlinks",
                path.display()
            );
        }
        let target = std::fs::read_link(&on_disk)
            .with_context(|| format!("reading the symlink {}", next.display()))?;
        if target.has_root() {
            resolved = PathBuf::new();
        }
        let mut rest = parts(&target);
        rest.extend(pending);
        pending = rest;
    }
    Ok(rootfs.join(resolved))
}

/// A path's parts, `..` kept as such (resolved against the symlinks met so far), `.` and `/`
/// dropped.
fn parts(path: &Path) -> VecDeque<OsString> {
    path.components()
        .filter_map(|part| match part {
            Component::Normal(name) => Some(name.to_owned()),
            Component::ParentDir => Some("..".into()),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests;
