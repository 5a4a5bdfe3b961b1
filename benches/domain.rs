//! Criterion micro-benchmarks of qc's domain functions, per value (`cargo bench --bench domain`).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qc::checks::{address, id_number, region};

fn ids() -> Vec<String> {
    // 1,024 valid 18-character numbers with varied bodies.
    (0..1024u64)
        .map(|i| {
            let body = format!(
                "3101{:02}19{:02}0{}1{}{:03}",
                i % 20,
                50 + i % 50,
                1 + i % 9,
                i % 9,
                i % 1000
            );
            let check = id_number::check_char(body.as_bytes()).unwrap();
            format!("{body}{}", char::from(check))
        })
        .collect()
}

fn bench_ids(c: &mut Criterion) {
    let ids = ids();
    let mut g = c.benchmark_group("id_number");
    g.throughput(Throughput::Elements(ids.len() as u64));
    g.bench_function("is_valid_citizen", |b| {
        b.iter(|| {
            ids.iter()
                .filter(|s| id_number::is_valid_citizen(black_box(s)))
                .count()
        });
    });
    g.bench_function("check_char", |b| {
        b.iter(|| {
            ids.iter()
                .filter_map(|s| id_number::check_char(black_box(&s.as_bytes()[..17])))
                .count()
        });
    });
    g.bench_function("sex_and_birth_date", |b| {
        b.iter(|| {
            ids.iter()
                .filter(|s| {
                    id_number::sex(black_box(s)).is_some() && id_number::birth_date(s).is_some()
                })
                .count()
        });
    });
    g.finish();
}

fn bench_region(c: &mut Criterion) {
    // A 32×32 grid over Shanghai's extent, tested against 黄浦区 and 浦东新区.
    let points: Vec<(f64, f64)> = (0..32)
        .flat_map(|i| {
            (0..32).map(move |j| {
                (
                    120.86 + 1.15 * f64::from(i) / 32.0,
                    30.68 + 1.18 * f64::from(j) / 32.0,
                )
            })
        })
        .collect();
    let mut g = c.benchmark_group("region");
    g.throughput(Throughput::Elements(points.len() as u64 * 2));
    g.bench_function("in_district", |b| {
        b.iter(|| {
            points
                .iter()
                .filter(|(x, y)| {
                    region::in_district(*x, *y, "310101") == Some(true)
                        || region::in_district(*x, *y, "310115") == Some(true)
                })
                .count()
        });
    });
    g.finish();
}

fn bench_address(c: &mut Criterion) {
    let addresses = [
        "上海市黄浦区南京东路街道四川中路100弄5号601室",
        "上海市浦东新区中国（上海）自由贸易试验区（保税片区）四川北路147弄756号",
        "上海市闵行区七宝镇羽山路12-1号",
        "曹杨二村68号101室",
    ];
    let mut g = c.benchmark_group("address");
    g.throughput(Throughput::Elements(addresses.len() as u64));
    g.bench_function("part_number", |b| {
        b.iter(|| {
            addresses
                .iter()
                .filter(|a| address::part(black_box(a), address::Part::Number).is_some())
                .count()
        });
    });
    g.finish();
}

criterion_group!(benches, bench_ids, bench_region, bench_address);
criterion_main!(benches);
