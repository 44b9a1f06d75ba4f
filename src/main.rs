//! The `wirewatch` command: a thin CLI over the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use wirewatch::config::Config;
use wirewatch::logging::{self, LogFormat};
use wirewatch::pipeline::{self, Pipeline};

/// Watches news feeds for new coverage of one story.
#[derive(Parser, Debug)]
#[command(name = "wirewatch", version, about)]
struct Cli {
    /// Config file [default: $WIREWATCH_CONFIG, else config/wirewatch.toml]
    #[arg(short, long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the daemon: poll every feed on its interval until SIGTERM or SIGINT.
    Run,
    /// Poll every feed once, process new entries, deliver what is pending, print a summary.
    Once {
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Validate the config and print what was understood.
    Check,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_filter = match cli.command {
        Command::Run => "info",
        _ => "warn",
    };
    logging::init(cli.log_format, default_filter);
    let path = pipeline::config_path(cli.config.as_deref());
    let config = match Config::load(&path) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Command::Check = cli.command {
        println!("config {} is valid\n{}", path.display(), config.describe());
        return ExitCode::SUCCESS;
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::Run => wirewatch::daemon::run(path, config).await,
            Command::Once { json } => once(config, json).await,
            Command::Check => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn once(config: Arc<Config>, json: bool) -> anyhow::Result<()> {
    let store = pipeline::open_store(&config)?;
    let pipeline = Pipeline::new(config, store)?;
    pipeline.load_seeds()?;
    let report = pipeline.poll_once().await?;
    pipeline.store().flush().await?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", report.summary());
    }
    Ok(())
}
