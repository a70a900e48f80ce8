//! The build tool of voice-chat: what `kit build` does, from crates.io tools only,
//! plus the project's two entry points (`run` and `test`).
mod component;
mod layout;
#[cfg(test)]
mod module_graph;
mod package_zip;
#[cfg(test)]
mod peer_request_bodies;
mod run;
mod step;
mod test_all;
mod ui_build;
mod wit_dir;
mod wit_gen;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "xtask", about = "Build, run and test the voice-chat package without kit")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the package as `kit build` does: UI, target/wit, the process component, the zips.
    Build {
        /// Skip the UI (npm) step; pkg/ui must already exist.
        #[arg(long)]
        skip_ui: bool,
    },
    /// Build one crate of the workspace for wasm32-wasip1 and turn it into a process component.
    Component {
        #[arg(long)]
        package: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Check (default) or rewrite api/ from the #[hyperapp] handlers, as `kit build --hyperapp` would.
    Wit {
        #[arg(long)]
        write: bool,
    },
    /// Build, then boot local devnode nodes with the app installed and print their URLs.
    Run {
        /// Node names to boot.
        #[arg(long = "node", default_values_t = ["alice.os".to_string(), "bob.os".to_string()])]
        nodes: Vec<String>,
    },
    /// Build, then run every test of the project.
    Test {
        /// Skip the browser end-to-end tests.
        #[arg(long)]
        no_browser: bool,
    },
}

fn main() {
    let cli = Cli::parse();
    let result: Result<()> = match cli.command {
        Command::Build { skip_ui } => component::build_package(skip_ui).map(|_| ()),
        Command::Component { package, out } => component::build_component(&package, &out),
        Command::Wit { write } => wit_dir::check_or_write_api(write),
        Command::Run { nodes } => run::run(&nodes),
        Command::Test { no_browser } => test_all::test_all(no_browser),
    };
    if let Err(err) = result {
        eprintln!("xtask: error: {err:#}");
        std::process::exit(1);
    }
}
