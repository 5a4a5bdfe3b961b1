//! `qc scheduler` and `qc executor`: the processes of a Ballista cluster that knows qc's
//! functions (`qc run --cluster df://HOST:PORT` submits audits to it).

use clap::Args;

use crate::error::{Error, ExitStatus, Result};
use crate::execute::cluster::serve::{self, ExecutorOptions};

#[derive(Debug, Args)]
pub struct SchedulerArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (clients use `df://HOST:PORT`).
    #[arg(long, default_value_t = 50050)]
    pub port: u16,
    /// The name executors and clients reach this scheduler by [default: --host].
    #[arg(long, value_name = "HOST")]
    pub external_host: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExecutorArgs {
    /// The scheduler, `HOST:PORT`.
    #[arg(long, value_name = "HOST:PORT")]
    pub scheduler: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// The name the scheduler and other executors reach this executor by [default: --host].
    #[arg(long, value_name = "HOST")]
    pub external_host: Option<String>,
    /// Arrow Flight port (results and shuffle data).
    #[arg(long, default_value_t = 50051)]
    pub port: u16,
    /// gRPC port (tasks from the scheduler).
    #[arg(long, default_value_t = 50052)]
    pub grpc_port: u16,
    /// Folder for shuffle files [default: a new temporary folder].
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<String>,
    /// Tasks run at once [default: all cores].
    #[arg(long, value_name = "N")]
    pub cores: Option<usize>,
    /// Memory for this executor's sorts, aggregates and joins, e.g. `4GiB` [default:
    /// Ballista's share of physical memory].
    #[arg(long, value_name = "SIZE", value_parser = super::run::parse_size)]
    pub memory_limit: Option<u64>,
}

fn serve(what: &str, f: impl std::future::Future<Output = Result<()>>) -> Result<ExitStatus> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name(format!("qc-{what}"))
        // Ballista's plans are deep; its own binaries use large stacks too.
        .thread_stack_size(32 << 20)
        .build()
        .map_err(|e| Error::Internal(format!("starting the runtime: {e}")))?;
    rt.block_on(async {
        tokio::select! {
            r = f => r,
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    })?;
    Ok(ExitStatus::Passed)
}

pub fn scheduler(args: &SchedulerArgs) -> Result<ExitStatus> {
    let external = args.external_host.clone().unwrap_or(args.host.clone());
    super::output::stderr(&format!(
        "qc scheduler listening on {}:{} (clients: qc run --cluster df://{external}:{})\n",
        args.host, args.port, args.port
    ));
    serve(
        "scheduler",
        serve::scheduler(&args.host, args.port, &external),
    )
}

pub fn executor(args: &ExecutorArgs) -> Result<ExitStatus> {
    let (host, port) = args
        .scheduler
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
        .ok_or_else(|| {
            Error::Usage(format!(
                "--scheduler {}: expected HOST:PORT",
                args.scheduler
            ))
        })?;
    let options = ExecutorOptions {
        scheduler_host: host,
        scheduler_port: port,
        host: args.host.clone(),
        external_host: args.external_host.clone(),
        port: args.port,
        grpc_port: args.grpc_port,
        work_dir: args.work_dir.clone(),
        cores: super::threads(args.cores),
        memory_limit: args.memory_limit,
    };
    super::output::stderr(&format!(
        "qc executor on {}:{} (gRPC {}), cores: {}, scheduler {}\n",
        args.host, args.port, args.grpc_port, options.cores, args.scheduler
    ));
    serve("executor", serve::executor(options))
}
