//! What a fresh Debian machine needs before the workspace builds, installed by both of the
//! README's commands (`cargo xtask demo` and `cargo xtask test`), and the check that the list
//! is complete (issue 20: the first command failed on a fresh machine for want of libclang).
//!
//! The build links OpenSSL (`openssl-sys`) and xmlsec with libxml2 (`samael`, for SAML), whose
//! bindings bindgen generates with libclang; pkg-config finds them. [`BUILD_PACKAGES`] lists
//! the Debian packages that provide them. [`check_build_packages`] finds, on this machine,
//! the file behind each of those needs and the package that installed it, and fails unless
//! that package is in the list or pulled in by it: a package dropped from the list, or a new
//! need nobody added, fails CI rather than a newcomer's first command.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use crate::{Result, apt_install};

/// The Debian packages the build needs (headers, pkg-config files and libclang).
pub(crate) const BUILD_PACKAGES: &[&str] = &[
    "libssl-dev",
    "pkg-config",
    "libxmlsec1-dev",
    "libxml2-dev",
    "libclang-dev",
];

/// The pkg-config modules the build scripts ask for.
const PKG_CONFIG_MODULES: &[&str] = &["openssl", "xmlsec1-openssl", "libxml-2.0"];

/// Installs [`BUILD_PACKAGES`] when something the build needs is missing (as root; otherwise
/// stops at once with the `apt-get install` line to run).
pub(crate) fn ensure_build_packages() -> Result<()> {
    if needs().iter().all(|n| n.path.is_some()) {
        return Ok(());
    }
    apt_install(BUILD_PACKAGES)
}

/// One thing the build needs, and the file on this machine that provides it.
struct Need {
    what: String,
    path: Option<String>,
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn needs() -> Vec<Need> {
    let mut needs = vec![Need {
        what: "the pkg-config program".into(),
        path: output(Command::new("sh").args(["-c", "command -v pkg-config"])),
    }];
    for module in PKG_CONFIG_MODULES {
        let dir = output(Command::new("pkg-config").args(["--variable=pcfiledir", module]));
        needs.push(Need {
            what: format!("pkg-config's {module} module"),
            path: dir.map(|d| format!("{d}/{module}.pc")),
        });
    }
    needs.push(Need {
        what: "libclang (bindgen)".into(),
        path: output(Command::new("sh").args([
            "-c",
            "ldconfig -p | grep -o '/[^ ]*libclang[-.0-9]*\\.so[.0-9]*$' | head -n1",
        ]))
        .filter(|p| !p.is_empty()),
    });
    needs
}

/// The package that installed `path` (trying the path as given, resolved, and with and
/// without the merged `/usr` prefix, since dpkg records the path it unpacked).
fn owner_of(path: &str) -> Option<String> {
    let resolved = std::fs::canonicalize(path)
        .ok()
        .map(|p| p.display().to_string());
    let mut candidates = vec![path.to_owned()];
    candidates.extend(resolved);
    for c in candidates.clone() {
        match c.strip_prefix("/usr") {
            Some(rest) => candidates.push(rest.to_owned()),
            None => candidates.push(format!("/usr{c}")),
        }
    }
    candidates.iter().find_map(|c| {
        output(Command::new("dpkg").args(["-S", c])).and_then(|line| {
            line.lines()
                .next()
                .and_then(|l| l.split(':').next())
                .map(|p| p.trim().to_owned())
        })
    })
}

/// `packages` and everything they depend on, as apt resolves it.
fn closure(packages: &[&str]) -> BTreeSet<String> {
    let listed = output(
        Command::new("apt-cache")
            .args([
                "depends",
                "--recurse",
                "--no-recommends",
                "--no-suggests",
                "--no-conflicts",
                "--no-breaks",
                "--no-replaces",
                "--no-enhances",
            ])
            .args(packages),
    )
    .unwrap_or_default();
    listed
        .lines()
        .map(|l| {
            l.trim()
                .trim_start_matches('|')
                .trim_start_matches("PreDepends:")
                .trim_start_matches("Depends:")
                .trim()
                .trim_matches(['<', '>'])
                .to_owned()
        })
        .filter(|l| !l.is_empty())
        .flat_map(|l| {
            // apt writes multi-arch packages as `name:amd64`.
            let base = l.split(':').next().unwrap_or(&l).to_owned();
            [l, base]
        })
        .collect()
}

/// Problems with `packages` as the install list: a need this machine does not meet, or one
/// met by a package that the list does not pull in.
pub(crate) fn check_build_packages(packages: &[&str]) -> Vec<String> {
    let installed = closure(packages);
    let mut problems = Vec::new();
    for need in needs() {
        let Some(path) = need.path else {
            problems.push(format!("{} is not on this machine", need.what));
            continue;
        };
        match owner_of(&path) {
            Some(owner) if installed.contains(&owner) => {}
            Some(owner) => problems.push(format!(
                "{} ({path}) comes from the package {owner}, which the install list does not pull in",
                need.what
            )),
            None => problems.push(format!(
                "{} ({path}) was installed by no Debian package: the list cannot be checked",
                need.what
            )),
        }
    }
    problems
}

/// The check as a CI step: the list is complete, and the check notices a package dropped from
/// it. Dropping each package in turn must either fail the check or leave a list that still
/// pulls the package in (`libssl-dev` comes with `libxmlsec1-dev`, but the build needs it
/// directly, so it stays listed); a package that is neither needed nor pulled in is dead
/// weight in the list and fails the step. Returns (passed, failed) counts.
pub(crate) fn guard_install_list() -> (u64, u64) {
    let (mut passed, mut failed) = (0, 0);
    let problems = check_build_packages(BUILD_PACKAGES);
    if problems.is_empty() {
        println!("ok the install list provides everything the build needs");
        passed += 1;
    } else {
        for p in &problems {
            println!("FAILED {p}");
        }
        failed += 1;
    }
    for dropped in BUILD_PACKAGES {
        let rest: Vec<&str> = BUILD_PACKAGES
            .iter()
            .copied()
            .filter(|p| p != dropped)
            .collect();
        match check_build_packages(&rest).first() {
            Some(why) => {
                println!("ok without {dropped} the check fails: {why}");
                passed += 1;
            }
            None if closure(&rest).contains(*dropped) => {
                println!("ok without {dropped} the others still pull it in");
                passed += 1;
            }
            None => {
                println!(
                    "FAILED without {dropped} the check still passes: the build does not need it, or the check misses a need"
                );
                failed += 1;
            }
        }
    }
    (passed, failed)
}
