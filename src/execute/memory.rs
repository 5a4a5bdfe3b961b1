//! The engine's memory pool: DataFusion's fair spill pool, with two changes that make set-based
//! rules safe to run on every core under `--memory-limit`.
//!
//! - **Repartitioning never spills.** Under memory pressure DataFusion 55's `RepartitionExec`
//!   writes batches to a spill pool whose reader can wait on one file while the batch it needs
//!   sits in another, with every thread parked (apache/datafusion#24883; seen here in the
//!   50M-row soak). Its reservations are granted here without a limit check, so that path is
//!   never taken. They still count: the aggregates, sorts and joins that can spill see less
//!   room and spill sooner. What a repartition holds is bounded by its channels' gates (a
//!   batch per channel and input before producers wait), not by the data's size.
//! - **A heartbeat.** Every reservation change is counted, so a watchdog can tell a working
//!   plan (aggregates and sorts grow and shrink their reservations as they go) from a stalled
//!   one ([`Heartbeat`]).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::error::Result;
use datafusion::execution::memory_pool::{
    FairSpillPool, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};

/// Reservations made by DataFusion's repartitioning (`RepartitionExec[…]`).
fn is_repartition(consumer: &MemoryConsumer) -> bool {
    consumer.name().starts_with("RepartitionExec")
}

/// Counts every change of the pool's reservations.
#[derive(Debug, Default)]
pub struct Heartbeat(AtomicU64);

impl Heartbeat {
    pub fn beat(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The pool every qc session uses (see the module documentation).
#[derive(Debug)]
pub struct QcPool {
    inner: FairSpillPool,
    limit: usize,
    heartbeat: Arc<Heartbeat>,
}

impl QcPool {
    pub fn new(limit: usize) -> QcPool {
        QcPool {
            inner: FairSpillPool::new(limit),
            limit,
            heartbeat: Arc::default(),
        }
    }

    pub fn heartbeat(&self) -> Arc<Heartbeat> {
        Arc::clone(&self.heartbeat)
    }
}

impl fmt::Display for QcPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "qc pool ({} of {} bytes reserved)",
            self.reserved(),
            self.limit
        )
    }
}

impl MemoryPool for QcPool {
    fn name(&self) -> &'static str {
        "qc"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        // A repartition is not one of the spillers that share the pool fairly.
        if !is_repartition(consumer) {
            self.inner.register(consumer);
        }
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        if !is_repartition(consumer) {
            self.inner.unregister(consumer);
        }
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.heartbeat.beat();
        self.inner.grow(reservation, additional);
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.heartbeat.beat();
        self.inner.shrink(reservation, shrink);
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        self.heartbeat.beat();
        if is_repartition(reservation.consumer()) {
            self.inner.grow(reservation, additional);
            return Ok(());
        }
        self.inner.try_grow(reservation, additional)
    }

    fn reserved(&self) -> usize {
        self.inner.reserved()
    }

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.limit)
    }
}
