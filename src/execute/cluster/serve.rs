//! The processes of a cluster: a Ballista scheduler and executors built from Ballista's
//! library crates with qc's functions registered. Plans name functions; a stock Ballista
//! binary does not know qc's and rejects the plan.

use std::net::SocketAddr;
use std::sync::Arc;

use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::utils::{default_config_producer, default_session_builder};
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::execution::SessionState;
use datafusion::execution::registry::FunctionRegistry;
use datafusion::prelude::SessionConfig;

use crate::error::{Error, Result};

/// Ballista's session for `config` with qc's functions added.
fn session_with_functions(config: SessionConfig) -> datafusion::common::Result<SessionState> {
    let mut state = default_session_builder(config)?;
    for f in crate::plan::functions() {
        state.register_udf(Arc::new(f))?;
    }
    Ok(state)
}

fn cluster_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Cluster(format!("{what}: {e}"))
}

/// Run a scheduler listening on `host:port` until the process is stopped. `external_host` is
/// the name executors and clients reach it by.
pub async fn scheduler(host: &str, port: u16, external_host: &str) -> Result<()> {
    let address: SocketAddr = format!("{host}:{port}")
        .parse()
        .map_err(|e| Error::Usage(format!("scheduler address {host}:{port}: {e}")))?;
    let config = SchedulerConfig::default()
        .with_hostname(external_host)
        .with_port(port)
        .with_override_session_builder(Arc::new(session_with_functions));
    let config = SchedulerConfig {
        bind_host: host.to_string(),
        ..config
    };
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| cluster_err("starting the scheduler", e))?;
    start_server(cluster, address, Arc::new(config))
        .await
        .map_err(|e| cluster_err(&format!("scheduler on {address}"), e))
}

/// How an executor joins a cluster.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler's host and port.
    pub scheduler_host: String,
    pub scheduler_port: u16,
    /// Where this executor listens: `host`, Arrow Flight on `port` (shuffle data and results),
    /// gRPC on `grpc_port` (tasks from the scheduler).
    pub host: String,
    pub external_host: Option<String>,
    pub port: u16,
    pub grpc_port: u16,
    /// Shuffle files of running jobs.
    pub work_dir: Option<String>,
    /// Tasks run at once.
    pub cores: usize,
    /// The memory pool of this executor's operators, in bytes.
    pub memory_limit: Option<u64>,
}

/// Run an executor registered with the scheduler until the process is stopped.
pub async fn executor(options: ExecutorOptions) -> Result<()> {
    let state = session_with_functions(default_config_producer())
        .map_err(|e| cluster_err("preparing the executor's functions", e))?;
    let config = ExecutorProcessConfig {
        scheduler_host: options.scheduler_host,
        scheduler_port: options.scheduler_port,
        bind_host: options.host,
        external_host: options.external_host,
        port: options.port,
        grpc_port: options.grpc_port,
        work_dir: options.work_dir,
        vcores: options.cores.max(1),
        memory_pool_size: options.memory_limit,
        // Registering waits for the scheduler this long (it may start after the executor).
        scheduler_connect_timeout_seconds: 30,
        override_function_registry: Some(Arc::new(BallistaFunctionRegistry::from(&state))),
        ..ExecutorProcessConfig::default()
    };
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| cluster_err("executor", e))
}
