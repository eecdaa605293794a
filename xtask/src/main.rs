//! `cargo xtask`: the project's checks in one command.
//!
//! `cargo xtask test` runs everything the project checks, on a fresh machine too: formatting,
//! lints, the unit tests, and the integration suite once against SQLite and once against
//! PostgreSQL. When no PostgreSQL answers on 127.0.0.1:5432 it starts the local cluster, or
//! installs Debian's `postgresql` first (when running as root). It ends with one line
//! `N passed, N failed`.
//!
//! `cargo xtask demo` installs what the build needs (see `setup.rs`), then builds and serves
//! the platform with a seeded demo workspace on http://127.0.0.1:8080.
//!
//! `cargo xtask bench` measures the figures in BENCHMARKS.md (see `bench.rs`).

mod bench;
mod bench_search;
mod setup;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};

type Result<T> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("demo") => demo(&args[1..]),
        Some("bench") => bench::bench(&args[1..]),
        Some("install-list") => install_list(),
        _ => {
            eprintln!(
                "usage: cargo xtask demo [serve options] | cargo xtask test | cargo xtask bench [--quick | aead | cipher [--quick]] | cargo xtask install-list"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The install-list check of `cargo xtask test` on its own: does the list of Debian packages
/// the README's commands install provide every file the build needs?
fn install_list() -> Result<()> {
    match setup::guard_install_list() {
        (_, 0) => Ok(()),
        (_, failed) => Err(format!("{failed} install-list check(s) failed (see above)")),
    }
}

pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

pub(crate) fn step(title: &str) {
    println!("\n==> {title}");
}

/// Runs a command in the project root, streaming its output; an error names the command.
pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Installs Debian packages when running as root; otherwise says what is missing.
pub(crate) fn apt_install(packages: &[&str]) -> Result<()> {
    if !is_root() {
        return Err(format!(
            "missing {packages:?}: install them (apt-get install {}) or run as root",
            packages.join(" ")
        ));
    }
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

fn pg_answers(url: &str) -> bool {
    have("psql")
        && Command::new("psql")
            .args([url, "-Atqc", "SELECT 1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// Finds or provides a PostgreSQL server and returns an admin URL for it.
pub(crate) fn ensure_postgres() -> Result<String> {
    if let Ok(url) = std::env::var("IW_TEST_PG_URL") {
        return if pg_answers(&url) {
            Ok(url)
        } else {
            Err(format!("IW_TEST_PG_URL={url} does not answer"))
        };
    }
    let trust = "postgres://postgres@127.0.0.1:5432/postgres".to_owned();
    let password = "postgres://postgres:ideaweave-test@127.0.0.1:5432/postgres".to_owned();
    for url in [&trust, &password] {
        if pg_answers(url) {
            return Ok(url.clone());
        }
    }
    if !have("pg_ctlcluster") {
        println!("PostgreSQL is not installed: installing Debian's postgresql");
        apt_install(&["postgresql", "postgresql-client"])?;
    }
    let versions = std::fs::read_dir("/etc/postgresql")
        .map_err(|e| format!("no PostgreSQL cluster in /etc/postgresql: {e}"))?;
    let version = versions
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .max()
        .ok_or("no PostgreSQL cluster in /etc/postgresql")?;
    println!("starting PostgreSQL {version}");
    let _ = run(Command::new("pg_ctlcluster").args([
        "--skip-systemctl-redirect",
        &version,
        "main",
        "start",
    ]));
    for _ in 0..30 {
        if pg_answers(&trust) {
            return Ok(trust);
        }
        if pg_answers(&password) {
            return Ok(password);
        }
        if is_root() {
            // A fresh Debian cluster wants a password on TCP: give the postgres role one.
            let _ = Command::new("su")
                .args([
                    "postgres",
                    "-c",
                    "psql -qc \"ALTER USER postgres PASSWORD 'ideaweave-test'\"",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    Err("PostgreSQL did not start on 127.0.0.1:5432".into())
}

#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
}

/// Runs `cargo test …`, streaming its output and counting its results.
fn cargo_test(args: &[&str], envs: &[(&str, &str)], tally: &mut Tally) -> Result<()> {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.arg("test")
        .args(args)
        .current_dir(root())
        .stdout(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run cargo test: {e}"))?;
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(|l| l.ok()) {
            println!("{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                let num = |word: &str| -> u64 {
                    rest.split(';')
                        .find(|p| p.trim().ends_with(word))
                        .and_then(|p| p.split_whitespace().rev().nth(1))
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0)
                };
                tally.passed += num("passed");
                tally.failed += num("failed");
            }
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo test {args:?} failed"))
    }
}

/// Debian's Chromium, and playwright-core with axe-core installed into `tests/browser`.
fn ensure_browser() -> Result<()> {
    if !std::path::Path::new("/usr/bin/chromium").exists() {
        apt_install(&["chromium", "fonts-dejavu-core"])?;
    }
    if !have("node") || !have("npm") {
        apt_install(&["nodejs", "npm"])?;
    }
    let dir = root().join("tests").join("browser");
    if !dir.join("node_modules").join("playwright-core").is_dir()
        || !dir.join("node_modules").join("axe-core").is_dir()
    {
        println!("installing playwright-core and axe-core from npm into tests/browser");
        npm_ci(&dir)?;
    }
    Ok(())
}

/// Installs the exact packages of `dir`'s lock file. `run` works from the repository root;
/// `--prefix` points npm at `dir`.
fn npm_ci(dir: &std::path::Path) -> Result<()> {
    run(Command::new("npm")
        .args([
            "ci",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--prefix",
        ])
        .arg(dir))
}

/// node-oidc-provider (an OpenID Certified provider) installed into `tests/sso`, for the
/// single-sign-on tests (IDN-03). Needs Node.js, which [`ensure_browser`] installs.
fn ensure_sso_peers() -> Result<()> {
    let dir = root().join("tests").join("sso");
    if !dir.join("node_modules").join("oidc-provider").is_dir() {
        println!("installing oidc-provider from npm into tests/sso");
        npm_ci(&dir)?;
    }
    Ok(())
}

/// Starts the debug build's `serve --demo` on a free port, walks the UI in Chromium, and
/// stops the server; each check counts as a test.
/// A port that was free a moment ago on loopback.
fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// Kills a child process when dropped, so no peer outlives the run.
struct Peer(std::process::Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn browser_tests(tally: &mut Tally, pydeps: &str) -> Result<()> {
    let data = root().join("target").join("browser-data");
    let _ = std::fs::remove_dir_all(&data);
    let maildir = root().join("target").join("browser-mail");
    let _ = std::fs::remove_dir_all(&maildir);
    // A real SMTP server on loopback: the walk reads the invitation from its mailbox.
    let smtp_port = free_port()?;
    let _smtp = Peer(
        Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{smtp_port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .env("PYTHONPATH", pydeps)
            .spawn()
            .map_err(|e| format!("cannot start aiosmtpd: {e}"))?,
    );
    let port = free_port()?;
    // `localhost`, not an address: browsers accept passkeys only on a domain name (WebAuthn's
    // relying party id), and treat localhost over plain HTTP as a secure context.
    let base = format!("http://localhost:{port}");
    // A real OpenID provider for the walk's single sign-on into the demo workspace.
    let idp_port = free_port()?;
    let mut idp = Command::new("node")
        .arg("oidc-idp.mjs")
        .arg(idp_port.to_string())
        .args(["ideaweave-walk", "the walk's client secret"])
        .arg(format!("{base}/sso/demo/oidc/callback"))
        .arg(format!("{base}/sign-in"))
        .current_dir(root().join("tests").join("sso"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start oidc-provider: {e}"))?;
    let idp_out = idp.stdout.take().ok_or("no provider output")?;
    let _idp = Peer(idp);
    let mut idp_lines = BufReader::new(idp_out).lines();
    let issuer = match idp_lines.next() {
        Some(Ok(line)) if line.starts_with("listening ") => line["listening ".len()..].to_owned(),
        other => return Err(format!("oidc-provider did not start: {other:?}")),
    };
    std::thread::spawn(move || for _ in idp_lines {});
    // A real SAML identity provider (pysaml2) for the walk's SAML sign-in and single logout.
    let saml_port = free_port()?;
    let mut saml = Command::new("python3")
        .arg(root().join("tests").join("sso").join("saml_idp.py"))
        .arg(saml_port.to_string())
        .env("PYTHONPATH", pydeps)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the SAML IdP: {e}"))?;
    let saml_out = saml.stdout.take().ok_or("no SAML IdP output")?;
    let _saml = Peer(saml);
    let mut saml_lines = BufReader::new(saml_out).lines();
    let saml_idp = match saml_lines.next() {
        Some(Ok(line)) if line.starts_with("listening ") => line["listening ".len()..].to_owned(),
        other => return Err(format!("the SAML IdP did not start: {other:?}")),
    };
    std::thread::spawn(move || for _ in saml_lines {});
    let bin = root().join("target").join("debug").join("ideaweave");
    let mut server = Command::new(&bin)
        .args(["serve", "--demo", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(&data)
        .env_remove("RUST_LOG")
        .env("IDEAWEAVE_LOG__FILTER", "warn")
        .env("IDEAWEAVE_PUBLIC_URL", &base)
        .env("IDEAWEAVE_MAIL__SMTP_HOST", "127.0.0.1")
        .env("IDEAWEAVE_MAIL__SMTP_PORT", smtp_port.to_string())
        .env("IDEAWEAVE_MAIL__SMTP_TLS", "none")
        .env("IDEAWEAVE_SSO__ALLOW_HTTP_ISSUERS", "true")
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let out = server.stdout.take().ok_or("no server output")?;
    let mut lines = BufReader::new(out).lines();
    loop {
        let Some(Ok(line)) = lines.next() else {
            let _ = server.kill();
            return Err("the server stopped before listening".into());
        };
        if line.starts_with("Ideaweave is listening on ") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let shots = root().join("target").join("screenshots");
    let walk = Command::new("node")
        .arg("walk.mjs")
        .arg(&base)
        .arg(&shots)
        .arg(maildir.join("new"))
        .env("IW_OIDC_ISSUER", &issuer)
        .env("IW_SAML_IDP", &saml_idp)
        .current_dir(root().join("tests").join("browser"))
        .stdout(Stdio::piped())
        .spawn();
    let result = match walk {
        Ok(mut child) => {
            if let Some(out) = child.stdout.take() {
                for line in BufReader::new(out).lines().map_while(|l| l.ok()) {
                    println!("{line}");
                    if line.starts_with("ok ") {
                        tally.passed += 1;
                    } else if line.starts_with("FAILED ") {
                        tally.failed += 1;
                    }
                }
            }
            match child.wait() {
                Ok(s) if s.success() => Ok(()),
                _ => Err("the browser tests failed".to_owned()),
            }
        }
        Err(e) => Err(format!("cannot run node: {e}")),
    };
    let _ = server.kill();
    let _ = server.wait();
    println!("screenshots in {}", shots.display());
    result
}

fn drop_leftover_test_databases(url: &str) {
    let list = Command::new("psql")
        .args([
            url,
            "-Atqc",
            "SELECT datname FROM pg_database WHERE datname LIKE 'iwt\\_%'",
        ])
        .output();
    if let Ok(out) = list {
        for name in String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty())
        {
            let _ = Command::new("psql")
                .args([
                    url,
                    "-qc",
                    &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                ])
                .status();
        }
    }
}

/// The Python peers the tests start, installed into `target/pydeps` (not the system's Python):
/// aiosmtpd (the SMTP server of the mail tests), moto's S3 server (the off-site backup
/// target), pysaml2 (the SAML identity provider, which signs with Debian's `xmlsec1`) and
/// mmdb-writer (a small GeoIP database for the session-location test),
/// openapi-spec-validator (which checks that the API's document is valid OpenAPI 3.1) and
/// python-docx, openpyxl, odfpy and fpdf2 (real office documents and PDFs for search's tests
/// of the text inside files).
/// Returns that directory for `PYTHONPATH`.
fn ensure_python_peers() -> Result<String> {
    let deps = root().join("target").join("pydeps");
    // `-S`: only target/pydeps (and the standard library) count, not whatever this machine's
    // Python happens to have, so a clean clone installs what it needs.
    let imports = |p: &std::path::Path, module: &str| {
        Command::new("python3")
            .args(["-S", "-c", &format!("import {module}")])
            .env("PYTHONPATH", p)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    for (module, package) in [
        ("aiosmtpd", "aiosmtpd==1.4.6"),
        ("moto.server", "moto[server]==5.1.18"),
        ("saml2.server", "pysaml2==7.5.5"),
        ("mmdb_writer", "mmdb-writer==0.2.7"),
        ("openapi_spec_validator", "openapi-spec-validator==0.9.0"),
        ("docx", "python-docx==1.2.0"),
        ("openpyxl", "openpyxl==3.1.5"),
        ("odf.opendocument", "odfpy==1.4.1"),
        ("fpdf", "fpdf2==2.8.3"),
    ] {
        if imports(&deps, module) {
            continue;
        }
        if !have("python3") || !pip_works() {
            apt_install(&["python3", "python3-pip"])?;
        }
        println!("installing {package} from PyPI into target/pydeps");
        run(Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
            ])
            .arg(&deps)
            .arg(package)
            .env("PIP_ROOT_USER_ACTION", "ignore"))?;
        if !imports(&deps, module) {
            return Err(format!(
                "{package} was installed but {module} does not import"
            ));
        }
    }
    Ok(deps.display().to_string())
}

fn pip_works() -> bool {
    Command::new("python3")
        .args(["-m", "pip", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The README's first command: what the build needs, then the platform with its demo
/// workspace (`serve --demo`, on http://127.0.0.1:8080; further options pass through).
fn demo(extra: &[String]) -> Result<()> {
    step("the C libraries the build links (OpenSSL; xmlsec, libxml2 and libclang for SAML)");
    setup::ensure_build_packages()?;
    step("building and serving the demo (cargo run --release -- serve --demo)");
    run(Command::new(env!("CARGO"))
        .args([
            "run",
            "--release",
            "-p",
            "ideaweave-server",
            "--",
            "serve",
            "--demo",
        ])
        .args(extra))
}

fn test() -> Result<()> {
    let cargo = env!("CARGO");
    step("the C libraries the build links (OpenSSL; xmlsec, libxml2 and libclang for SAML)");
    setup::ensure_build_packages()?;
    step("formatting (cargo fmt --check)");
    run(Command::new(cargo).args(["fmt", "--all", "--", "--check"]))?;
    step("lints (cargo clippy -D warnings)");
    run(Command::new(cargo).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--quiet",
        "--",
        "-D",
        "warnings",
    ]))?;
    step("the SMTP, S3 and SAML servers the tests start (aiosmtpd, moto, pysaml2 + xmlsec1)");
    let pydeps = ensure_python_peers()?;
    if !have("xmlsec1") {
        apt_install(&["xmlsec1"])?;
    }
    step("the age tool that proves backups open with a standard tool");
    if !have("age") {
        apt_install(&["age"])?;
    }
    step("Chromium, playwright-core and axe-core for the browser tests");
    ensure_browser()?;
    step("identity-provider software for the single-sign-on tests (oidc-provider)");
    ensure_sso_peers()?;
    let mut tally = Tally::default();
    step("the install list of the README's commands provides everything the build needs");
    let (passed, failed) = setup::guard_install_list();
    tally.passed += passed;
    tally.failed += failed;
    let install_list = if failed == 0 {
        Ok(())
    } else {
        Err("the install list does not match what the build needs (see above)".to_owned())
    };
    step("the SAML identity provider's own check (each hostile response is what it claims)");
    let idp_check = Command::new("python3")
        .arg(
            root()
                .join("tests")
                .join("sso")
                .join("saml_idp_selftest.py"),
        )
        .env("PYTHONPATH", &pydeps)
        .stderr(Stdio::null())
        .status();
    let idp_check = match idp_check {
        Ok(s) if s.success() => {
            tally.passed += 1;
            Ok(())
        }
        other => {
            tally.failed += 1;
            Err(format!("the SAML IdP self-test failed: {other:?}"))
        }
    };
    step("PostgreSQL for the second run");
    let pg = ensure_postgres()?;
    println!("using {}", pg.replace(":ideaweave-test@", ":***@"));
    step("unit tests and the integration suite on SQLite");
    let sqlite = cargo_test(
        &["--workspace"],
        &[("IW_TEST_DB", "sqlite"), ("IW_TEST_PYTHONPATH", &pydeps)],
        &mut tally,
    );
    step("the integration suite on PostgreSQL");
    let postgres = cargo_test(
        &["-p", "ideaweave-server", "--test", "it"],
        &[
            ("IW_TEST_DB", "postgres"),
            ("IW_TEST_PG_URL", &pg),
            ("IW_TEST_PYTHONPATH", &pydeps),
        ],
        &mut tally,
    );
    drop_leftover_test_databases(&pg);
    step("the web UI in Chromium (playwright-core, axe-core)");
    let browser = browser_tests(&mut tally, &pydeps);
    println!("\nxtask: {} passed, {} failed", tally.passed, tally.failed);
    println!("{} passed, {} failed", tally.passed, tally.failed);
    install_list
        .and(idp_check)
        .and(sqlite)
        .and(postgres)
        .and(browser)
}
