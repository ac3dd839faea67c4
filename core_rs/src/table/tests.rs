use super::expr::{parse, MAX_EXPR_CHARS};
use super::*;
use crate::storage::tokens::{TokenBatch, TokenUpdate};

/// 500 tokens: weights with ties, every 7th without a label, a few entity types, cognitive
/// placed for even ids only.
fn store() -> RuntimeStorage {
    let n = 500usize;
    let mut coords = vec![f32::NAN; n * 24];
    for i in 0..n {
        if i % 2 == 0 {
            let at = (i * 8 + 4) * 3;
            coords[at] = (i as f32 * 0.37).sin() * 0.9;
            coords[at + 1] = 0.1;
            coords[at + 2] = -0.1;
        }
    }
    let weights: Vec<f32> = (0..n).map(|i| (i % 13) as f32 / 13.0).collect();
    let entities: Vec<u8> = (0..n).map(|i| (i % 4) as u8).collect();
    let labels: Vec<Option<String>> = (0..n)
        .map(|i| {
            (i % 7 != 0).then(|| {
                format!(
                    "{}{}",
                    ["apple", "apricot", "berry", "Cherry"][i % 4],
                    i % 50
                )
            })
        })
        .collect();
    let rt = RuntimeStorage::new();
    rt.create_tokens(&TokenBatch {
        coords: &coords,
        weights: Some(&weights),
        entities: Some(&entities),
        labels: Some(labels),
        undefined_nan: true,
        default_weight: 1.0,
        ..Default::default()
    })
    .unwrap();
    rt
}

fn query(filter: Option<&str>, sort: &str, desc: bool, limit: usize) -> TableQuery {
    TableQuery {
        filter: filter.map(|f| parse_filter(f).unwrap()),
        sort: Column::parse(sort).unwrap(),
        desc,
        limit,
        cursor: None,
        ids: None,
    }
}

/// Every page of a query, concatenated.
fn walk(rt: &RuntimeStorage, mut q: TableQuery) -> Vec<TokenView> {
    let mut out = Vec::new();
    loop {
        let p = rt.token_table(&q).unwrap();
        assert!(p.rows.len() <= q.limit);
        out.extend(p.rows);
        match p.next {
            Some(c) => q.cursor = Some(c),
            None => return out,
        }
    }
}

/// The same answer the slow way: every token, kept by the filter, sorted by a comparator.
fn brute(rt: &RuntimeStorage, filter: Option<&str>, sort: Column, desc: bool) -> Vec<u32> {
    let p = filter.map(|f| parse_filter(f).unwrap());
    let all: Vec<TokenView> = rt.token_rows(0, usize::MAX);
    let mut kept: Vec<&TokenView> = all
        .iter()
        .filter(|v| {
            let r = Row {
                t: &v.token,
                defined: v.defined,
                label: v.label.as_deref(),
            };
            p.as_ref().is_none_or(|p| p.keeps(&r))
        })
        .collect();
    kept.sort_by(|a, b| {
        let ra = Row {
            t: &a.token,
            defined: a.defined,
            label: a.label.as_deref(),
        };
        let rb = Row {
            t: &b.token,
            defined: b.defined,
            label: b.label.as_deref(),
        };
        let (ia, ib) = (a.token.local_id(), b.token.local_id());
        let o = match sort.kind() {
            Kind::Label => match (ra.label, rb.label) {
                (None, None) => Ordering::Equal,
                (None, _) => return Ordering::Greater,
                (_, None) => return Ordering::Less,
                (Some(x), Some(y)) => x.cmp(y),
            },
            Kind::Float => {
                let (x, y) = (ra.float(sort), rb.float(sort));
                match (x.is_nan(), y.is_nan()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => return Ordering::Greater,
                    (false, true) => return Ordering::Less,
                    _ => x.partial_cmp(&y).unwrap(),
                }
            }
            _ => ra.int(sort).cmp(&rb.int(sort)),
        };
        let o = o.then(ia.cmp(&ib));
        if desc {
            o.reverse()
        } else {
            o
        }
    });
    kept.iter().map(|v| v.token.local_id()).collect()
}

fn ids(v: &[TokenView]) -> Vec<u32> {
    v.iter().map(|v| v.token.local_id()).collect()
}

#[test]
fn every_sort_and_filter_walks_like_the_slow_way() {
    let rt = store();
    let filters = [
        None,
        Some("weight > 0.5"),
        Some("label.str.startswith('ap') and not entity == 'object'"),
        Some("cognitive_x < 0 or label == 'berry2'"),
        Some("label != 'apple1'"),
        Some("id in [3, 5, 99, 1000] | weight <= 0.1"),
        Some("cognitive_x.isna()"),
    ];
    for f in filters {
        for sort in [
            "id",
            "weight",
            "label",
            "entity",
            "cognitive_x",
            "timestamp",
        ] {
            for desc in [false, true] {
                for limit in [1, 7, 100, 1000] {
                    let got = ids(&walk(&rt, query(f, sort, desc, limit)));
                    let want = brute(&rt, f, Column::parse(sort).unwrap(), desc);
                    assert_eq!(got, want, "{f:?} {sort} {desc} {limit}");
                    let count = rt.token_table(&query(f, sort, desc, limit)).unwrap().count;
                    assert_eq!(count, want.len());
                }
            }
        }
    }
}

#[test]
fn labels_sort_in_text_order_with_unlabelled_last_both_ways() {
    let rt = store();
    for desc in [false, true] {
        let rows = walk(&rt, query(None, "label", desc, 33));
        let labels: Vec<Option<String>> = rows.iter().map(|v| v.label.clone()).collect();
        let first_none = labels.iter().position(Option::is_none).unwrap();
        assert!(labels[first_none..].iter().all(Option::is_none));
        let named: Vec<&String> = labels[..first_none].iter().flatten().collect();
        let mut sorted = named.clone();
        sorted.sort();
        if desc {
            sorted.reverse();
        }
        assert_eq!(named, sorted);
        assert_eq!(rows.len(), 500);
    }
}

#[test]
fn a_page_stays_right_across_writes() {
    let rt = store();
    let q = query(Some("weight >= 0.5"), "weight", true, 20);
    let first = rt.token_table(&q).unwrap();
    // A write between pages: the next page starts after the cursor's row, nothing repeated.
    rt.update_token(
        first.rows[0].token.local_id(),
        TokenUpdate {
            weight: Some(0.01),
            ..Default::default()
        },
    )
    .unwrap();
    let mut q2 = query(Some("weight >= 0.5"), "weight", true, 20);
    q2.cursor = first.next.clone();
    let second = rt.token_table(&q2).unwrap();
    let seen: Vec<u32> = ids(&first.rows);
    assert!(ids(&second.rows).iter().all(|id| !seen.contains(id)));
    assert_eq!(second.count, first.count - 1, "the cache saw the write");
}

#[test]
fn a_selection_pages_over_its_ids_only() {
    let rt = store();
    let mut q = query(Some("weight > 0.2"), "weight", false, 4);
    q.ids = Some(vec![10, 11, 12, 13, 14, 15, 99_999, 10]);
    let got = ids(&walk(
        &rt,
        TableQuery {
            ids: q.ids.clone(),
            ..q
        },
    ));
    let want: Vec<u32> = brute(&rt, Some("weight > 0.2"), Column::Weight, false)
        .into_iter()
        .filter(|id| (10..=15).contains(id))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn cursors_of_another_sort_are_refused() {
    let rt = store();
    let p = rt.token_table(&query(None, "weight", false, 10)).unwrap();
    let mut q = query(None, "label", false, 10);
    q.cursor = p.next.clone();
    assert!(matches!(rt.token_table(&q), Err(TableError::Cursor(_))));
    for junk in [
        "",
        "weight~a~n",
        "weight~a~nzz.1",
        "weight~a~s1.ff",
        "id~a~n5",
    ] {
        let mut q = query(None, "weight", false, 10);
        q.cursor = Some(junk.into());
        assert!(rt.token_table(&q).is_err(), "{junk}");
    }
}

#[test]
fn label_prefix_search_is_ordered_and_counted() {
    let rt = store();
    let (hits, count) = rt.label_prefix("apr", 5);
    assert_eq!(hits.len(), 5);
    assert!(hits
        .windows(2)
        .all(|w| (&w[0].1, w[0].0) < (&w[1].1, w[1].0)));
    assert!(hits.iter().all(|(_, l)| l.starts_with("apr")));
    let all = rt.token_rows(0, 1000);
    let want = all
        .iter()
        .filter(|v| v.label.as_deref().is_some_and(|l| l.starts_with("apr")))
        .count();
    assert_eq!(count, want);
    assert_eq!(rt.label_prefix("zzz", 5), (vec![], 0));
}

// ---- the expression reader (expr.rs) ----
fn pos(text: &str) -> usize {
    parse(text).unwrap_err().position
}

#[test]
fn parses_the_pandas_subset() {
    for ok in [
        "weight > 0.5",
        "weight > 0.5 and label == 'a'",
        "(weight > .5) | ~(entity in ['concept', \"object\"])",
        "0.1 < weight <= 0.9",
        "label.str.startswith('ab') or label.str.contains('x', case=False, regex=False)",
        "id not in [1, 2, 3] & `cognitive_x` >= -1e-3",
        "label.isna() or not label.notna()",
        "id == [1,2]",
    ] {
        parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
}

#[test]
fn errors_name_the_position() {
    assert_eq!(pos("weight > "), 9);
    assert_eq!(pos("weight >> 1"), 8);
    assert_eq!(pos("(weight > 1"), 11);
    assert_eq!(pos("weight > 1)"), 10);
    assert_eq!(pos("label == 'abc"), 9);
    assert_eq!(pos("weight * 2 > 1"), 7);
    assert_eq!(pos("weight = 1"), 7);
    assert_eq!(pos(""), 0);
    assert_eq!(pos("label.str.upper()"), 10);
    assert_eq!(pos("é > 1 and"), 9);
    assert!(parse(&"(".repeat(100)).is_err());
    assert!(parse(&"x".repeat(MAX_EXPR_CHARS + 1)).is_err());
}
