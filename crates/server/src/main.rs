//! `ideaweave`: the Ideaweave server and its operator commands.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the system allocator: request handling allocates many small, short-lived
/// values (rows, strings, JSON), and under load glibc's malloc took about an eighth of the CPU.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = ideaweave_server::cli::Cli::parse();
    if let Some(code) = cli.run_before_runtime() {
        return code;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(ideaweave_server::cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
