use super::*;

fn clique(edges: &mut Vec<(u32, u32, f64)>, nodes: std::ops::Range<u32>) {
    for a in nodes.clone() {
        for b in nodes.clone() {
            if a < b {
                edges.push((a, b, 1.0));
            }
        }
    }
}

/// `k` cliques of `s` nodes in a ring, neighbouring cliques joined by one edge.
fn ring_of_cliques(k: u32, s: u32) -> Vec<(u32, u32, f64)> {
    let mut e = Vec::new();
    for c in 0..k {
        clique(&mut e, c * s..(c + 1) * s);
        e.push((c * s, ((c + 1) % k) * s + 1, 1.0));
    }
    e
}

/// Planted partition: `k` groups of `s` nodes, each node with `din` random neighbours
/// inside its group and `dout` outside.
fn planted(k: u32, s: u32, din: u32, dout: u32, seed: u64) -> Vec<(u32, u32, f64)> {
    let mut rng = Rng::new(seed);
    let n = k * s;
    let mut e = Vec::new();
    for v in 0..n {
        let g = v / s;
        for _ in 0..din {
            e.push((v, g * s + rng.below(s as usize) as u32, 1.0));
        }
        for _ in 0..dout {
            e.push((v, rng.below(n as usize) as u32, 1.0));
        }
    }
    e
}

fn both() -> [Method; 2] {
    [Method::Leiden, Method::Louvain]
}

#[test]
fn two_cliques_joined_by_an_edge_are_two_communities() {
    let mut e = Vec::new();
    clique(&mut e, 0..5);
    clique(&mut e, 5..10);
    e.push((4, 5, 1.0));
    for m in both() {
        let p = detect(10, &e, m, 1.0, 0, None).unwrap();
        assert_eq!(p.count, 2, "{m:?}");
        assert_eq!(p.membership, vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 1], "{m:?}");
        // 2 * (10/21 - (21/42)^2) with 21 edges
        let want = 2.0 * (10.0 / 21.0 - 0.25);
        assert!(
            (p.modularity - want).abs() < 1e-12,
            "{m:?} {}",
            p.modularity
        );
    }
}

#[test]
fn ring_of_cliques_splits_by_clique_at_high_resolution_and_merges_at_low() {
    // 30 cliques of 5: the resolution limit makes modularity (gamma 1) prefer pairs of
    // cliques; a larger gamma separates every clique
    let e = ring_of_cliques(30, 5);
    for m in both() {
        let p = detect(150, &e, m, 1.0, 3, None).unwrap();
        assert!(p.count < 30, "{m:?}: {} communities", p.count);
        let p = detect(150, &e, m, 4.0, 3, None).unwrap();
        assert_eq!(p.count, 30, "{m:?}");
        for c in 0..30u32 {
            let first = p.membership[(c * 5) as usize];
            assert!((c * 5..c * 5 + 5).all(|v| p.membership[v as usize] == first));
        }
    }
}

#[test]
fn empty_graph_single_node_and_isolated_nodes() {
    for m in both() {
        let p = detect(0, &[], m, 1.0, 0, None).unwrap();
        assert_eq!((p.count, p.modularity), (0, 0.0));
        assert!(p.membership.is_empty());
        let p = detect(1, &[], m, 1.0, 0, None).unwrap();
        assert_eq!((p.membership.clone(), p.count), (vec![0], 1));
        // an edge 1-2 and isolated 0, 3: the pair is the largest community, then singletons
        let p = detect(4, &[(1, 2, 1.0)], m, 1.0, 0, None).unwrap();
        assert_eq!(p.membership, vec![1, 0, 0, 2]);
        assert_eq!(p.count, 3);
    }
}

#[test]
fn bad_input_is_refused() {
    for r in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let e = detect(2, &[(0, 1, 1.0)], Method::Leiden, r, 0, None).unwrap_err();
        assert!(e.to_string().contains("resolution"), "{e}");
    }
    let e = detect(2, &[(0, 2, 1.0)], Method::Leiden, 1.0, 0, None).unwrap_err();
    assert!(e.to_string().contains("out of range"), "{e}");
    let e = detect(2, &[(0, 1, f64::NAN)], Method::Leiden, 1.0, 0, None).unwrap_err();
    assert!(e.to_string().contains("finite"), "{e}");
    assert!(Method::parse("spectral").is_err());
    assert_eq!(Method::parse(" Leiden").unwrap(), Method::Leiden);
}

#[test]
fn parallel_edges_directions_and_self_loops_follow_the_modularity_definition() {
    // a->b twice and b->a: one edge of weight 3; a self-loop on c of weight 2
    let e = [
        (0, 1, 1.0),
        (0, 1, 1.0),
        (1, 0, 1.0),
        (2, 2, 2.0),
        (1, 2, 0.5),
    ];
    let g = WGraph::from_edges(3, &e);
    assert_eq!(g.nbrs, vec![1, 0, 2, 1]);
    assert_eq!(g.wts, vec![3.0, 3.0, 0.5, 0.5]);
    assert_eq!(g.k, vec![3.0, 3.5, 4.5]);
    assert_eq!(g.m2, 11.0);
    // {a, b}, {c}: (6 + 4) / 11 - ((6.5 / 11)^2 + (4.5 / 11)^2)
    let q = g.modularity(&[0, 0, 1], 2, 1.0);
    let want = 10.0 / 11.0 - (6.5f64.powi(2) + 4.5f64.powi(2)) / 121.0;
    assert!((q - want).abs() < 1e-12);
    // aggregation keeps the modularity
    let a = g.aggregate(&[0, 0, 1], 2);
    assert_eq!(a.loops, vec![3.0, 2.0]);
    assert_eq!(a.k, vec![6.5, 4.5]);
    assert!((a.modularity(&[0, 1], 2, 1.0) - q).abs() < 1e-12);
}

#[test]
fn a_seed_gives_one_result_whatever_the_thread_count() {
    let e = planted(20, 50, 6, 2, 9);
    for m in both() {
        let a = detect(1000, &e, m, 1.0, 42, None).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let b = pool.install(|| detect(1000, &e, m, 1.0, 42, None).unwrap());
        assert_eq!(a, b, "{m:?}");
        let c = detect(1000, &e, m, 1.0, 42, None).unwrap();
        assert_eq!(a, c, "{m:?}");
    }
}

#[test]
fn planted_groups_are_recovered() {
    let e = planted(10, 100, 8, 1, 5);
    for m in both() {
        let p = detect(1000, &e, m, 1.0, 1, None).unwrap();
        assert_eq!(p.count, 10, "{m:?}");
        for g in 0..10 {
            let c = p.membership[g * 100];
            assert!(
                (g * 100..g * 100 + 100).all(|v| p.membership[v] == c),
                "{m:?}"
            );
        }
        assert!(p.modularity > 0.7, "{m:?} {}", p.modularity);
    }
}

/// Each community's nodes reach each other inside the community.
fn connected_communities(n: usize, e: &[(u32, u32, f64)], p: &Partition) -> bool {
    let g = WGraph::from_edges(n, e);
    let mut seen = vec![false; n];
    let mut done = vec![false; p.count];
    for s in 0..n {
        let c = p.membership[s];
        if seen[s] {
            continue;
        }
        if done[c as usize] {
            return false; // a second piece of community c
        }
        done[c as usize] = true;
        let mut stack = vec![s as u32];
        seen[s] = true;
        while let Some(v) = stack.pop() {
            for i in g.range(v) {
                let u = g.nbrs[i] as usize;
                if !seen[u] && p.membership[u] == c {
                    seen[u] = true;
                    stack.push(u as u32);
                }
            }
        }
    }
    true
}

#[test]
fn leiden_communities_are_connected() {
    for seed in 0..8 {
        let e = planted(30, 30, 3, 2, seed);
        let p = detect(900, &e, Method::Leiden, 1.0, seed, None).unwrap();
        assert!(connected_communities(900, &e, &p), "seed {seed}");
        let p = detect(900, &e, Method::Leiden, 0.5, seed, None).unwrap();
        assert!(connected_communities(900, &e, &p), "seed {seed}");
    }
}

#[test]
fn modularity_of_the_result_matches_a_recount_and_leiden_is_not_worse_than_singletons() {
    let e = planted(15, 40, 4, 3, 2);
    for m in both() {
        let p = detect(600, &e, m, 1.0, 0, None).unwrap();
        let g = WGraph::from_edges(600, &e);
        let q = g.modularity(&p.membership, p.count, 1.0);
        assert_eq!(q, p.modularity);
        let single: Vec<u32> = (0..600).collect();
        assert!(p.modularity > g.modularity(&single, 600, 1.0) + 0.3);
        // sizes are descending
        let mut size = vec![0; p.count];
        for &c in &p.membership {
            size[c as usize] += 1;
        }
        assert!(size.windows(2).all(|w| w[0] >= w[1]), "{m:?}");
    }
}

#[test]
fn a_cancelled_progress_interrupts() {
    let e = planted(40, 1000, 4, 1, 1);
    let p = Progress::new();
    assert!(p.cancel());
    let r = detect(40_000, &e, Method::Leiden, 1.0, 0, Some(&p));
    assert!(matches!(r, Err(NgError::Interrupted)), "{r:?}");
}
