//! Crafted layers: nothing an image holds reaches outside its rootfs, or keeps a setuid bit.
use std::os::unix::fs::PermissionsExt;

use super::*;

/// A plain tar of `(path, Some(contents))` files and `(path, None)` directories.
fn layer(entries: &[(&str, Option<&str>)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, contents) in entries {
        let mut header = tar::Header::new_ustar();
        match contents {
            Some(text) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(0o644);
                header.set_size(text.len() as u64);
                tar.append_data(&mut header, path, text.as_bytes()).unwrap();
            }
            None => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                tar.append_data(&mut header, path, std::io::empty())
                    .unwrap();
            }
        }
    }
    tar.into_inner().unwrap()
}

fn tree(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.strip_prefix(root).unwrap().display().to_string();
            if path.is_dir() {
                stack.push(path);
                found.push(format!("{name}/"));
            } else {
                found.push(format!(
                    "{name}={}",
                    std::fs::read_to_string(&path).unwrap()
                ));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn layers_apply_in_order_with_whiteouts_and_opaque_directories() {
    let lower = layer(&[
        ("etc/", None),
        ("etc/app.conf", Some("old")),
        ("etc/gone.conf", Some("x")),
        ("var/", None),
        ("var/cache/", None),
        ("var/cache/a", Some("a")),
        ("bootstrap", Some("v1")),
    ]);
    let upper = layer(&[
        ("etc/.wh.gone.conf", Some("")),
        ("etc/app.conf", Some("new")),
        ("var/cache/b", Some("b")),
        ("var/cache/.wh..wh..opq", Some("")),
        ("bootstrap", Some("v2")),
    ]);
    let dir = std::env::temp_dir().join(format!("bgd-unpack-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    unpack(&[lower, upper], &dir).unwrap();
    assert_eq!(
        tree(&dir),
        [
            "bootstrap=v2",
            "dev/",
            "etc/",
            "etc/app.conf=new",
            "proc/",
            "tmp/",
            "var/",
            "var/cache/",
            // The opaque marker hides the lower layer's `a`, not its own layer's `b`.
            "var/cache/b=b",
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_entry_that_climbs_out_of_the_rootfs_is_refused() {
    let dir = std::env::temp_dir().join(format!("bgd-climb-{}", std::process::id()));
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(1);
    header.set_mode(0o644);
    // `append_data` refuses `..`; a hostile layer writes the name itself.
    header.as_gnu_mut().unwrap().name[..9].copy_from_slice(b"../escape");
    header.set_cksum();
    tar.append(&header, &b"x"[..]).unwrap();
    let error = unpack(&[tar.into_inner().unwrap()], &dir).unwrap_err();
    assert!(
        format!("{error:#}").contains("leaves the root filesystem"),
        "{error:#}"
    );
    assert!(!dir.parent().unwrap().join("escape").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A layer of one entry: `kind` at `path`, a symlink to `link` or a file of `mode`.
fn one(path: &str, kind: tar::EntryType, link: Option<&Path>, mode: u32) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(0);
    match link {
        Some(target) => tar.append_link(&mut header, path, target).unwrap(),
        None => tar
            .append_data(&mut header, path, std::io::empty())
            .unwrap(),
    }
    tar.into_inner().unwrap()
}

/// A directory outside any rootfs, with a directory and a file a crafted image goes after.
fn victim(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bgd-victim-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("important-dir")).unwrap();
    std::fs::write(dir.join("important-dir/data"), "keep").unwrap();
    std::fs::write(dir.join("other-file"), "keep").unwrap();
    dir
}

fn rootfs(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bgd-rootfs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// security-audit-3 N2, its proof of concept: a lower layer plants `evil → /outside`, the
/// upper one whites out `evil/important-dir` and makes `evil` opaque. Before, both removals
/// went through the symlink and deleted the victim's files; now `evil` resolves inside the
/// rootfs, where there is nothing to remove.
#[test]
fn whiteouts_through_a_planted_symlink_remove_nothing_outside_the_rootfs() {
    let outside = victim("whiteout");
    let (absolute, relative) = (rootfs("whiteout-abs"), rootfs("whiteout-rel"));
    let climb = Path::new("../../../../../../../../..").join(outside.strip_prefix("/").unwrap());
    for (root, target) in [(&absolute, outside.as_path()), (&relative, climb.as_path())] {
        let planted = one("evil", tar::EntryType::Symlink, Some(target), 0o777);
        let upper = layer(&[
            ("evil/.wh.important-dir", Some("")),
            ("evil/.wh..wh..opq", Some("")),
        ]);
        unpack(&[planted, upper], root).unwrap();
        assert_eq!(
            std::fs::read_to_string(outside.join("important-dir/data")).unwrap(),
            "keep"
        );
        assert_eq!(
            std::fs::read_to_string(outside.join("other-file")).unwrap(),
            "keep"
        );
        std::fs::remove_dir_all(root).unwrap();
    }
    std::fs::remove_dir_all(&outside).unwrap();
}

/// A file written through a planted symlink is refused (tar's own check), and the type
/// replacement before it removes nothing outside: before, `other-file` seen through `evil`
/// was removed as "a directory replaced by a file".
#[test]
fn an_entry_written_through_a_planted_symlink_is_refused_and_touches_nothing_outside() {
    let outside = victim("write");
    let root = rootfs("write");
    let planted = one("evil", tar::EntryType::Symlink, Some(&outside), 0o777);
    let upper = one("evil/important-dir", tar::EntryType::Regular, None, 0o644);
    assert!(unpack(&[planted, upper], &root).is_err());
    assert_eq!(
        std::fs::read_to_string(outside.join("important-dir/data")).unwrap(),
        "keep"
    );
    std::fs::remove_dir_all(&outside).unwrap();
    let _ = std::fs::remove_dir_all(&root);
}

/// Lambda runs an image as an unprivileged user; a setuid binary in it, unpacked by the
/// sandbox's root, stayed setuid root under the state dir (N2). Devices and pipes are not
/// unpacked at all.
#[test]
fn setuid_setgid_and_sticky_bits_are_dropped_and_devices_are_not_unpacked() {
    let root = rootfs("modes");
    let layers = [
        one("sh", tar::EntryType::Regular, None, 0o4755),
        one("grp", tar::EntryType::Regular, None, 0o2711),
        one("tmpdir", tar::EntryType::Directory, None, 0o1777),
        one("null", tar::EntryType::Char, None, 0o666),
        one("fifo", tar::EntryType::Fifo, None, 0o666),
    ];
    unpack(&layers, &root).unwrap();
    let mode = |name: &str| {
        std::fs::metadata(root.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(mode("sh"), 0o755);
    assert_eq!(mode("grp"), 0o711);
    assert_eq!(mode("tmpdir"), 0o777);
    assert!(!root.join("null").exists() && !root.join("fifo").exists());
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn symlinks_resolve_inside_the_rootfs_as_if_it_were_root() {
    let root = rootfs("resolve");
    std::fs::create_dir_all(root.join("usr/lib")).unwrap();
    std::os::unix::fs::symlink("/usr/lib", root.join("lib")).unwrap();
    std::os::unix::fs::symlink("../../../../..", root.join("usr/up")).unwrap();
    std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
    assert_eq!(
        resolve(&root, Path::new("lib/x")).unwrap(),
        root.join("usr/lib/x")
    );
    assert_eq!(
        resolve(&root, Path::new("usr/up/etc")).unwrap(),
        root.join("etc")
    );
    assert_eq!(in_root(&root, Path::new("lib")).unwrap(), root.join("lib"));
    assert!(
        resolve(&root, Path::new("loop/x")).is_err(),
        "a symlink loop ends"
    );
    std::fs::remove_dir_all(&root).unwrap();
}
