//! What Lambda gives a function's process before it runs: its environment, its log stream's
//! name, and a command that can start inside the image (else Lambda's `fork/exec` error).
use std::{
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use super::{Spec, Unpacked};
use crate::architecture::{self, Architecture};

/// The environment Lambda gives a function: its defaults, the image config's `Env`, the
/// function's configured Environment, then the reserved variables, which nothing overrides
/// (<https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime>).
pub(super) fn environment(spec: &Spec, runtime_api: &str) -> Vec<(String, String)> {
    let defaults = [
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin"),
        (
            "LD_LIBRARY_PATH",
            "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
        ),
        ("LANG", "en_US.UTF-8"),
        ("TZ", ":UTC"),
        ("LAMBDA_TASK_ROOT", "/var/task"),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime"),
    ];
    let mut env: Vec<(String, String)> = defaults
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    env.extend(spec.image.env.iter().cloned());
    env.extend(spec.environment.iter().cloned());
    let group = format!("/aws/lambda/{}", spec.function_name);
    let reserved = [
        ("AWS_LAMBDA_FUNCTION_NAME", spec.function_name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", spec.version.clone()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            spec.memory_mb.to_string(),
        ),
        ("AWS_LAMBDA_LOG_GROUP_NAME", group),
        ("AWS_LAMBDA_LOG_STREAM_NAME", log_stream(&spec.version)),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_owned()),
        ("AWS_REGION", spec.region.clone()),
        ("AWS_DEFAULT_REGION", spec.region.clone()),
        // The execution role's credentials; the local cloud accepts any.
        ("AWS_ACCESS_KEY_ID", "local".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "local".to_owned()),
        ("AWS_SESSION_TOKEN", "local".to_owned()),
        // For an image, the handler is its Cmd (none for a `FROM scratch` bootstrap).
        (
            "_HANDLER",
            spec.image.command.get(1).cloned().unwrap_or_default(),
        ),
    ];
    env.extend(reserved.map(|(k, v)| (k.to_owned(), v)));
    // Later settings win, as Lambda's precedence says.
    let mut seen = std::collections::HashSet::new();
    let mut deduped: Vec<_> = env
        .into_iter()
        .rev()
        .filter(|(k, _)| seen.insert(k.clone()))
        .collect();
    deduped.reverse();
    deduped
}

/// A stream name as Lambda makes them: `YYYY/MM/DD/[VERSION]` and an instance id.
pub(super) fn log_stream(version: &str) -> String {
    let date = bgd_rules::clock::rfc3339(epoch_seconds())[..10].replace('-', "/");
    let id = hex::encode(rand::random::<[u8; 16]>());
    format!("{date}/[{version}]{id}")
}

pub(super) fn epoch_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// Why Lambda could not start the image's command (`fork/exec` fails), or `None`: a missing
/// entrypoint, a program for the other architecture (an arm64 bootstrap on an x86_64
/// function), or an ELF or script interpreter the image does not contain (a glibc-linked
/// bootstrap in a `FROM scratch` image).
pub(super) fn invalid_entrypoint(image: &Unpacked, architecture: Architecture) -> Option<String> {
    let program = &image.command[0];
    let fail = |why: &str| Some(format!("fork/exec {program}: {why}"));
    let Some(path) = resolve(&image.rootfs, program) else {
        return fail("no such file or directory");
    };
    let mut head = vec![0; 4096];
    let read = std::fs::File::open(&path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    head.truncate(read);
    if architecture::elf_machine(&head).is_some_and(|m| m != architecture.elf_machine()) {
        return fail("exec format error");
    }
    let interpreter = if let Some(script) = head.strip_prefix(b"#!") {
        let line = script.split(|b| *b == b'\n').next().unwrap_or_default();
        String::from_utf8_lossy(line)
            .split_whitespace()
            .next()
            .map(str::to_owned)
    } else {
        elf_interpreter(&head)
    };
    match interpreter {
        Some(interpreter) if resolve(&image.rootfs, &interpreter).is_none() => {
            fail("no such file or directory")
        }
        _ => None,
    }
}

/// `path` inside `rootfs`, following symlinks as the sandbox would (absolute ones from
/// `rootfs`), if it names a file there.
fn resolve(rootfs: &Path, path: &str) -> Option<PathBuf> {
    let mut current = rootfs.join(path.trim_start_matches('/'));
    for _ in 0..16 {
        let meta = std::fs::symlink_metadata(&current).ok()?;
        if !meta.is_symlink() {
            return meta.is_file().then_some(current);
        }
        let target = std::fs::read_link(&current).ok()?;
        current = if target.is_absolute() {
            rootfs.join(target.strip_prefix("/").ok()?)
        } else {
            current.parent()?.join(target)
        };
    }
    None
}

/// The `PT_INTERP` of a little-endian 64-bit ELF (a dynamically linked program), if any.
fn elf_interpreter(head: &[u8]) -> Option<String> {
    if head.get(..5)? != b"\x7fELF\x02" {
        return None;
    }
    let u16_at = |at: usize| Some(u16::from_le_bytes(head.get(at..at + 2)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(head.get(at..at + 8)?.try_into().ok()?));
    let (phoff, phentsize, phnum) = (u64_at(0x20)? as usize, u16_at(0x36)?, u16_at(0x38)?);
    (0..usize::from(phnum)).find_map(|i| {
        let header = phoff + i * usize::from(phentsize);
        const PT_INTERP: u32 = 3;
        if u32::from_le_bytes(head.get(header..header + 4)?.try_into().ok()?) != PT_INTERP {
            return None;
        }
        let (offset, size) = (u64_at(header + 8)? as usize, u64_at(header + 32)? as usize);
        let name = head.get(offset..offset + size)?;
        Some(
            String::from_utf8_lossy(name)
                .trim_end_matches('\0')
                .to_owned(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dynamically_linked_program_names_its_interpreter_and_a_static_one_none() {
        let host = std::fs::read("/bin/true").unwrap();
        let head = &host[..4096.min(host.len())];
        let interpreter = elf_interpreter(head).expect("/bin/true is dynamically linked");
        assert!(interpreter.starts_with("/lib"), "{interpreter}");
        assert_eq!(elf_interpreter(b"#!/bin/sh\n"), None);
    }
}
