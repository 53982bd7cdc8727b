//! `convene`: the Convene server.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use convene_server::{Application, DatabaseSettings, Settings};
use tracing_subscriber::EnvFilter;

/// Convene: collaborative events with versions, sharing and live notifications.
///
/// Configuration comes from the environment (or a `.env` file in the working
/// directory); every key can also be given as a flag.
#[derive(Debug, Parser)]
#[command(name = "convene", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: Settings,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (the default when no command is given).
    Serve(Settings),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseSettings),
    /// Print the OpenAPI document (JSON) and exit.
    Openapi,
}

fn main() -> ExitCode {
    if let Err(e) = dotenvy::dotenv() {
        if !e.not_found() {
            eprintln!("convene: invalid .env file: {e}");
            return ExitCode::from(2);
        }
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            let rendered = e.render().to_string();
            let line = rendered.lines().next().unwrap_or("invalid arguments");
            eprintln!(
                "convene: invalid configuration: {}",
                line.trim_start_matches("error: ")
            );
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Some(Command::Openapi) => print_openapi(),
        Some(Command::Migrate(db)) => convene_server::migrate(&db)
            .map(|n| eprintln!("convene: {n} migration(s) applied"))
            .map_err(|e| e.to_string()),
        Some(Command::Serve(settings)) => serve(&settings),
        None => serve(&cli.serve),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // One line, even when a driver's message spans several.
            let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
            eprintln!("convene: {line}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the OpenAPI document. A reader that stops early (`convene openapi | head`)
/// is not an error: the rest is not wanted, so the command ends quietly.
fn print_openapi() -> Result<(), String> {
    use std::io::Write;
    let json = convene_http::openapi_json().map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    match out.write_all(json.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.to_string()),
        _ => Ok(()),
    }
}

fn serve(settings: &Settings) -> Result<(), String> {
    let filter = EnvFilter::try_new(&settings.rust_log)
        .map_err(|e| format!("invalid configuration: RUST_LOG: {e}"))?;
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    tracing::subscriber::set_global_default(convene_server::log_subscriber(
        filter,
        std::io::stdout,
        settings.log_format,
        ansi,
    ))
    .map_err(|e| format!("cannot install the logger: {e}"))?;
    let app = Application::build(settings).map_err(|e| e.to_string())?;
    tracing::info!(
        database = %settings.database.database_url.describe(),
        migrations_applied = app.migrations_applied(),
        bind = %settings.bind,
        port = app.port(),
        "convene listening"
    );
    actix_web::rt::System::new()
        .block_on(app.run_until_stopped())
        .map_err(|e| format!("server error: {e}"))
}
