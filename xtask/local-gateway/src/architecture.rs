//! Lambda's two instruction set architectures and how this host runs a function of each: natively
//! when it is the host's, otherwise under qemu-user (Debian's `qemu-user-static`), so an arm64
//! function (Graviton on AWS) runs on an x86_64 machine. The emulator must be static: it runs
//! inside the image's root filesystem, which has no libc.
use std::path::Path;

/// Debian's package of the static emulators.
pub const EMULATOR_PACKAGE: &str = "qemu-user-static";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Architecture {
    X86_64,
    Arm64,
}

impl Architecture {
    /// Lambda's name, as in a function configuration's `Architectures`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "x86_64" => Some(Self::X86_64),
            "arm64" => Some(Self::Arm64),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Arm64 => "arm64",
        }
    }

    /// The machine this process runs on (`None`: neither of Lambda's).
    pub fn host() -> Option<Self> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Self::X86_64),
            "aarch64" => Some(Self::Arm64),
            _ => None,
        }
    }

    /// `e_machine` of an ELF program for this architecture.
    pub(crate) fn elf_machine(self) -> u16 {
        match self {
            Self::X86_64 => 62,
            Self::Arm64 => 183,
        }
    }

    /// The static emulator that runs this architecture's programs on another machine.
    pub fn emulator(self) -> &'static Path {
        Path::new(match self {
            Self::X86_64 => "/usr/bin/qemu-x86_64-static",
            Self::Arm64 => "/usr/bin/qemu-aarch64-static",
        })
    }

    /// The emulator a function of this architecture needs here; `None` when it runs natively.
    pub fn emulated_by(self) -> Option<&'static Path> {
        (Self::host() != Some(self)).then(|| self.emulator())
    }
}

/// The `e_machine` of a little-endian ELF program, from its first bytes.
pub(crate) fn elf_machine(head: &[u8]) -> Option<u16> {
    if head.get(..4)? != b"\x7fELF" {
        return None;
    }
    Some(u16::from_le_bytes(head.get(0x12..0x14)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_other_architecture_is_emulated() {
        let host = Architecture::host().expect("tests run on x86_64 or aarch64");
        let other = match host {
            Architecture::X86_64 => Architecture::Arm64,
            Architecture::Arm64 => Architecture::X86_64,
        };
        assert_eq!(host.emulated_by(), None);
        assert_eq!(other.emulated_by(), Some(other.emulator()));
        assert_eq!(Architecture::parse("arm64"), Some(Architecture::Arm64));
        assert_eq!(Architecture::parse("aarch64"), None, "Lambda's names only");
    }

    #[test]
    fn the_machine_is_read_from_the_elf_header() {
        let this = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(
            elf_machine(&this[..64]),
            Some(Architecture::host().unwrap().elf_machine())
        );
        assert_eq!(elf_machine(b"#!/bin/sh\n"), None);
    }
}
