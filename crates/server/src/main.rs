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

/// The commands that are not the server, parsed without the server's settings.
#[derive(Debug, Parser)]
#[command(name = "convene", version)]
struct Tool {
    #[command(subcommand)]
    command: Command,
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
    // `migrate` and `openapi` read only what they use: a server setting that is wrong
    // in the environment (or `.env`) does not stop them.
    let tool = matches!(
        std::env::args().nth(1).as_deref(),
        Some("migrate" | "openapi")
    );
    let parsed = if tool {
        Tool::try_parse().map(|t| t.command)
    } else {
        Cli::try_parse().map(|cli| cli.command.unwrap_or(Command::Serve(cli.serve)))
    };
    let command = match parsed {
        Ok(command) => command,
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
            // The allowed values (clap's second line), when there is such a list.
            let allowed = rendered
                .lines()
                .map(str::trim)
                .find(|l| l.starts_with("[possible values:"))
                .map(|l| format!(" {l}"))
                .unwrap_or_default();
            eprintln!(
                "convene: invalid configuration: {}{allowed}",
                line.trim_start_matches("error: ")
            );
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Openapi => print_openapi(),
        Command::Migrate(db) => convene_server::migrate(&db)
            .map(|n| eprintln!("convene: {n} migration(s) applied"))
            .map_err(|e| e.to_string()),
        Command::Serve(settings) => serve(&settings),
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
    // `RUST_LOG=` (set but empty) means the default, not silence.
    let directives = match settings.rust_log.trim() {
        "" => "info",
        given => given,
    };
    let filter = EnvFilter::try_new(directives)
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
