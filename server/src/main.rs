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
    /// Import the commune police's resident list (CSV or XLSX) into a
    /// commune: new households are created, known residents get the
    /// registry's latest account status. Valid rows are imported even when
    /// others are rejected; each rejected row is printed with its number
    /// and reason. Shows a progress bar.
    Import {
        /// Official 5-digit commune code.
        #[arg(long)]
        commune: String,
        /// Hamlet for rows without a hamlet column (a per-hamlet export).
        #[arg(long)]
        hamlet: Option<String>,
        /// The file (.csv or .xlsx; the format is read from the bytes).
        file: PathBuf,
    },
    /// Create a campaign (đợt cao điểm) of a commune.
    AddCampaign {
        /// Official 5-digit commune code.
        #[arg(long)]
        commune: String,
        /// Name, e.g. "Cao điểm 50 ngày, đêm".
        #[arg(long)]
        name: String,
        /// First day, 2026-09-10 or 10/09/2026.
        #[arg(long)]
        start: String,
        /// Last day, inclusive.
        #[arg(long)]
        end: String,
        /// Minimum age on the first day (14 in 2023–2025, 6 from 2026).
        #[arg(long, default_value_t = 14)]
        min_age: u32,
        /// Most residents a day on one officer's list (0: no cap).
        #[arg(long, default_value_t = 40)]
        daily_cap: u32,
        /// Share of eligible residents to activate, in percent.
        #[arg(long, default_value_t = 100)]
        target_percent: u32,
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
        Command::Import {
            commune,
            hamlet,
            file,
        } => {
            sync_core::ids::CommuneCode::parse(&commune)?;
            let bytes = std::fs::read(&file)?;
            let state = AppState::new(settings).await?;
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{msg:24} [{bar:40}] {pos}/{len} ({eta})")?
                    .progress_chars("=> "),
            );
            let progress_bar = bar.clone();
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let summary = gocua_server::campaign::import::run(
                &state.db,
                &commune,
                "cli",
                &name,
                bytes,
                hamlet,
                Box::new(move |stage, done, total| {
                    progress_bar.set_message(stage.label_vi());
                    progress_bar.set_length(total as u64);
                    progress_bar.set_position(done as u64);
                }),
            )
            .await?;
            bar.finish_and_clear();
            println!(
                "Đã đọc {} dòng: nhận {}, từ chối {}. Tạo {} hộ, {} nhân khẩu; cập nhật trạng thái {} người ({} đã kích hoạt theo dữ liệu dân cư).",
                summary.rows_total,
                summary.accepted,
                summary.rejected.len(),
                summary.households_created,
                summary.residents_created,
                summary.residents_updated,
                summary.targets_closed,
            );
            if !summary.ignored_columns.is_empty() {
                println!("Cột không dùng: {}", summary.ignored_columns.join(", "));
            }
            for r in &summary.rejected {
                println!(
                    "  Dòng {}{}: {} [{}]",
                    r.row,
                    r.column
                        .as_ref()
                        .map(|c| format!(" (cột {c})"))
                        .unwrap_or_default(),
                    r.message_vi,
                    r.code
                );
            }
        }
        Command::AddCampaign {
            commune,
            name,
            start,
            end,
            min_age,
            daily_cap,
            target_percent,
        } => {
            sync_core::ids::CommuneCode::parse(&commune)?;
            let state = AppState::new(settings).await?;
            let mut new = gocua_server::campaign::campaigns::NewCampaign::new(&name, &start, &end);
            new.min_age = min_age;
            new.daily_cap = daily_cap;
            new.target_percent = target_percent;
            let c =
                gocua_server::campaign::campaigns::create(&state.db, &commune, "cli", &new).await?;
            println!(
                "Đã tạo đợt {} ({} – {}), mã {}",
                c.name, c.start, c.end, c.id
            );
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
    println!("Mở trình duyệt / open in a browser:  {base}/");
    println!("  lanhdao: tiến độ, danh sách, hàng chờ xử lý, phân công; tinh01: xếp hạng các xã");
    println!();
    println!("API (điện thoại, chương trình) / try the API:");
    println!("  curl {base}/healthz");
    println!(
        "  TOKEN=$(curl -s {base}/api/v1/auth/login -H 'content-type: application/json' \\\n       -d '{{\"username\":\"lanhdao\",\"password\":\"{}\",\"device_id\":\"may-tinh-lanhdao\"}}' | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')",
        gocua_server::demo::DEMO_PASSWORD
    );
    println!(
        "  curl -H \"Authorization: Bearer $TOKEN\" {base}/api/v1/lists/activated     # danh sách đã kích hoạt"
    );
    println!(
        "  curl -H \"Authorization: Bearer $TOKEN\" {base}/api/v1/review              # hàng chờ xử lý (mâu thuẫn, chờ xác nhận)"
    );
    println!(
        "  curl -H \"Authorization: Bearer $TOKEN\" {base}/api/v1/reports/daily       # báo cáo trong ngày"
    );
    println!(
        "  curl -OJ -H \"Authorization: Bearer $TOKEN\" '{base}/api/v1/exports/activated?format=xlsx'   # tải danh sách Excel"
    );
    println!(
        "  curl -OJ -H \"Authorization: Bearer $TOKEN\" '{base}/api/v1/reports/daily?format=xlsx'"
    );
    println!(
        "  (canbo1 thay cho lanhdao:) curl -H \"Authorization: Bearer $TOKEN\" {base}/api/v1/targets   # danh sách cần đến hôm nay"
    );
    println!("  curl {base}/metrics");
}
