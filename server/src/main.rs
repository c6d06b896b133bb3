//! `gocua`: the Gõ Cửa server.

use clap::{Parser, Subcommand};
use gocua_server::db::accounts::{self, NewUser};
use gocua_server::{AppState, Settings};
use std::path::PathBuf;
use sync_core::model::Role;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Gõ Cửa — offline-first door-to-door campaign server (VNeID level 2).
///
/// Settings come from defaults, then the file given with --config (TOML,
/// same keys as the flags: db, bind, log_json, access_ttl_secs, ...), then
/// GOCUA_* environment variables (GOCUA_DB, GOCUA_BIND, ...), then flags.
#[derive(Parser, Debug)]
#[command(name = "gocua", version, about, long_about)]
struct Cli {
    /// TOML settings file.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Database: sqlite://PATH (created if missing) or postgres://USER@HOST/DB.
    #[arg(long, global = true)]
    db: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server until Ctrl-C or SIGTERM (requests in flight finish).
    Serve {
        /// Address to listen on, e.g. 0.0.0.0:8080.
        #[arg(long)]
        bind: Option<String>,
        /// Log JSON lines instead of text.
        #[arg(long)]
        log_json: bool,
    },
    /// Start a demo: a real server on SQLite with a demo commune (Phường Ba
    /// Đình, 00004), an account for each role and a simulated morning of
    /// visits. Prints where to look and how to log in.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: String,
        /// Folder for the demo database and phone files (recreated each run).
        #[arg(long, default_value = "gocua-demo")]
        data_dir: PathBuf,
        /// Number of households in the demo commune.
        #[arg(long, default_value_t = 800)]
        households: usize,
    },
    /// Define a hamlet (thôn, tổ dân phố) of a commune.
    AddHamlet {
        /// Official 5-digit commune code.
        #[arg(long)]
        commune: String,
        /// Hamlet id (unique; e.g. 00004-tdp01).
        #[arg(long)]
        id: String,
        /// Name with diacritics, e.g. "Tổ dân phố 1".
        #[arg(long)]
        name: String,
    },
    /// Create a user. The password is read from the environment variable
    /// GOCUA_NEW_PASSWORD (never from a flag, which would stay in shell history).
    AddUser {
        /// Login name.
        #[arg(long)]
        username: String,
        /// Name shown to people.
        #[arg(long)]
        name: String,
        /// officer, volunteer, leader or provincial_admin.
        #[arg(long)]
        role: String,
        /// Commune code (officers, volunteers, leaders).
        #[arg(long)]
        commune: Option<String>,
        /// Province code (provincial_admin).
        #[arg(long)]
        province: Option<String>,
        /// Hamlet id; repeat for several (officers, volunteers).
        #[arg(long = "hamlet")]
        hamlets: Vec<String>,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let mut settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Lỗi cấu hình / settings error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if let Some(db) = &cli.db {
        settings.db = db.clone();
    }
    if let Command::Serve { bind, log_json } = &cli.command {
        if let Some(b) = bind {
            settings.bind = b.clone();
        }
        settings.log_json |= *log_json;
    }
    init_tracing(settings.log_json);
    match run(cli.command, settings).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gocua: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run(command: Command, settings: Settings) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        Command::Serve { .. } => {
            tracing::info!(?settings, "starting");
            let bind = settings.bind.clone();
            let state = AppState::new(settings).await?;
            let listener = tokio::net::TcpListener::bind(&bind).await?;
            tracing::info!(addr = %listener.local_addr()?, "listening");
            gocua_server::serve(listener, state, shutdown_signal()).await?;
            tracing::info!("stopped");
        }
        Command::Demo {
            bind,
            data_dir,
            households,
        } => {
            let opts = gocua_server::demo::DemoOptions {
                data_dir,
                bind: bind.clone(),
                households,
            };
            println!(
                "Gõ Cửa — đang chuẩn bị dữ liệu mẫu trong {} …",
                opts.data_dir.display()
            );
            let state = gocua_server::demo::prepare(&opts, &|line| println!("{line}")).await?;
            let listener = tokio::net::TcpListener::bind(&bind).await?;
            let addr = listener.local_addr()?;
            print_demo_help(&addr.to_string(), households);
            gocua_server::serve(listener, state, shutdown_signal()).await?;
        }
        Command::AddHamlet { commune, id, name } => {
            sync_core::ids::CommuneCode::parse(&commune)?;
            let state = AppState::new(settings).await?;
            accounts::create_hamlet(&state.db, &commune, &id, &name).await?;
            println!("Đã thêm {name} ({id}) vào xã {commune}");
        }
        Command::AddUser {
            username,
            name,
            role,
            commune,
            province,
            hamlets,
        } => {
            let role = Role::from_code(&role)
                .ok_or("role must be officer, volunteer, leader or provincial_admin")?;
            let password = std::env::var("GOCUA_NEW_PASSWORD")
                .map_err(|_| "set GOCUA_NEW_PASSWORD to the new user's password")?;
            if password.chars().count() < 8 {
                return Err("password must have at least 8 characters".into());
            }
            let state = AppState::new(settings).await?;
            let id = accounts::create_user(
                &state.db,
                &NewUser {
                    username: &username,
                    display_name: &name,
                    password: &password,
                    role,
                    province: province.as_deref(),
                    commune: commune.as_deref(),
                    hamlets: &hamlets,
                    team_officer: None,
                },
            )
            .await?;
            println!("Đã tạo tài khoản {username} ({id})");
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

fn print_demo_help(addr: &str, households: usize) {
    let base = format!("http://{addr}");
    println!();
    println!("Gõ Cửa đang chạy: {base}   (Ctrl-C để dừng)");
    println!("Phường Ba Đình (00004), Hà Nội — 4 tổ dân phố, {households} hộ gia đình");
    println!();
    println!(
        "Tài khoản mẫu (mật khẩu: {}):",
        gocua_server::demo::DEMO_PASSWORD
    );
    for (user, name, role, _) in gocua_server::demo::demo_accounts() {
        println!("  {user:<8} {:<17} {name}", role.code());
    }
    println!();
    println!("Thử / try:");
    println!("  curl {base}/healthz");
    println!(
        "  TOKEN=$(curl -s {base}/api/v1/auth/login -H 'content-type: application/json' \\\n       -d '{{\"username\":\"lanhdao\",\"password\":\"{}\",\"device_id\":\"may-tinh-lanhdao\"}}' | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')",
        gocua_server::demo::DEMO_PASSWORD
    );
    println!(
        "  curl -H \"Authorization: Bearer $TOKEN\" {base}/api/v1/lists/activated     # danh sách đã kích hoạt"
    );
    println!(
        "  curl -H \"Authorization: Bearer $TOKEN\" {base}/api/v1/lists/conflict      # cần lãnh đạo xử lý"
    );
    println!("  curl {base}/metrics");
}
