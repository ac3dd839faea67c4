//! The tokens table as the dashboard reads it: keyset pages of tokens in any column's order,
//! filtered by the pandas-`query` subset of `%ng_tokens --where` (see `expr.rs`, `pred.rs`),
//! over the whole store or over a selection of ids; and label prefix search.
//!
//! A page is found from a cursor (the sort key and id of the previous page's last row), so it
//! stays right while tokens are created and deleted between requests. The sorted, filtered
//! id list behind a query is cached per store version (`cache.rs`): the next page of a query
//! already seen is a binary search, whatever the store's size; the first page after a write
//! scans and sorts once.

mod cache;
pub mod expr;
pub mod pred;

use crate::space::{decode, AXIS_NAMES, NUM_AXES, SPACE_NAMES};
use crate::storage::tokens::TokenStore;
use crate::storage::{RuntimeStorage, TokenView};
use crate::token::Token;
pub use expr::ExprError;
pub use pred::Pred;
use rayon::prelude::*;
use std::cmp::Ordering;

/// A column of `rt.tokens.to_pandas()` (plus its index, `id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    Id,
    Label,
    Entity,
    Weight,
    FieldRadius,
    FieldStrength,
    Timestamp,
    /// `<space>_<axis>`.
    Coord(u8, u8),
}

/// How a column compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Float,
    Int,
    Time,
    Entity,
    Label,
}

impl Column {
    /// The column of a name (`id` or `index`, `label`, `weight`, `cognitive_x`, ...).
    pub fn parse(name: &str) -> Option<Column> {
        Some(match name {
            "id" | "index" => Column::Id,
            "label" => Column::Label,
            "entity" => Column::Entity,
            "weight" => Column::Weight,
            "field_radius" => Column::FieldRadius,
            "field_strength" => Column::FieldStrength,
            "timestamp" => Column::Timestamp,
            _ => {
                let (space, axis) = name.rsplit_once('_')?;
                let s = SPACE_NAMES.iter().position(|n| *n == space)?;
                let a = AXIS_NAMES.iter().position(|n| *n == axis)?;
                Column::Coord(s as u8, a as u8)
            }
        })
    }

    /// The column's name as `to_pandas` spells it.
    pub fn name(&self) -> String {
        match self {
            Column::Id => "id".into(),
            Column::Label => "label".into(),
            Column::Entity => "entity".into(),
            Column::Weight => "weight".into(),
            Column::FieldRadius => "field_radius".into(),
            Column::FieldStrength => "field_strength".into(),
            Column::Timestamp => "timestamp".into(),
            Column::Coord(s, a) => {
                format!("{}_{}", SPACE_NAMES[*s as usize], AXIS_NAMES[*a as usize])
            }
        }
    }

    /// Every column name, for help texts.
    pub fn help() -> String {
        "columns are id, label, entity, weight, field_radius, field_strength, timestamp and <space>_x/_y/_z (e.g. cognitive_x)".into()
    }

    pub fn kind(&self) -> Kind {
        match self {
            Column::Id => Kind::Int,
            Column::Timestamp => Kind::Time,
            Column::Entity => Kind::Entity,
            Column::Label => Kind::Label,
            _ => Kind::Float,
        }
    }
}

/// One token as a filter or a sort reads it.
pub struct Row<'a> {
    pub t: &'a Token,
    pub defined: u8,
    pub label: Option<&'a str>,
}

impl Row<'_> {
    /// A float column's value (NaN for a space the token is not placed in).
    #[inline]
    pub fn float(&self, c: Column) -> f32 {
        match c {
            Column::Weight => self.t.weight,
            Column::FieldRadius => self.t.field_radius_f(),
            Column::FieldStrength => self.t.field_strength_f(),
            Column::Coord(s, a) => {
                let s = s as usize;
                if self.defined & (1 << s) != 0 {
                    decode(s, self.t.coords[s][a as usize % NUM_AXES])
                } else {
                    f32::NAN
                }
            }
            _ => f32::NAN,
        }
    }

    /// id, timestamp or entity code.
    #[inline]
    pub fn int(&self, c: Column) -> u64 {
        match c {
            Column::Id => self.t.local_id() as u64,
            Column::Timestamp => self.t.timestamp as u64,
            Column::Entity => self.t.entity() as u64,
            _ => 0,
        }
    }
}

/// A filter from its text; the error names the character position.
pub fn parse_filter(text: &str) -> Result<Pred, ExprError> {
    pred::compile(&expr::parse(text)?)
}

/// What a page asks for.
pub struct TableQuery {
    pub filter: Option<Pred>,
    pub sort: Column,
    pub desc: bool,
    /// Rows per page (at least 1).
    pub limit: usize,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    /// Only these tokens (ids that do not exist are skipped).
    pub ids: Option<Vec<u32>>,
}

/// One page: the rows, the cursor of the next page (none on the last) and how many tokens
/// match in all.
pub struct TablePage {
    pub rows: Vec<TokenView>,
    pub next: Option<String>,
    pub count: usize,
}

/// Why a page could not be made.
#[derive(Debug, Clone, PartialEq)]
pub enum TableError {
    /// The cursor is not one this sort makes.
    Cursor(String),
}

/// A position in a sorted list: the sort key and the tie-break (the id, reversed when
/// descending). Rows sort by (key, tie) ascending; the key already holds the direction.
#[derive(Clone, Debug, PartialEq)]
enum Key<'a> {
    /// Numeric columns as an order-preserving integer; u64::MAX is NaN (last both ways).
    Num(u64, u32),
    /// Labels; None (no label) is last both ways.
    Text(Option<&'a str>, u32),
}

fn float_rank(v: f32) -> u64 {
    if v.is_nan() {
        return u64::MAX;
    }
    let v = if v == 0.0 { 0.0f32 } else { v };
    let b = v.to_bits();
    (if b & 0x8000_0000 != 0 {
        !b
    } else {
        b | 0x8000_0000
    }) as u64
}

fn tie(id: u32, desc: bool) -> u32 {
    if desc {
        u32::MAX - id
    } else {
        id
    }
}

fn numeric_key(r: &Row<'_>, col: Column, desc: bool) -> (u64, u32) {
    let rank = match col.kind() {
        Kind::Float => float_rank(r.float(col)),
        _ => r.int(col),
    };
    let major = if rank == u64::MAX || !desc {
        rank
    } else {
        u32::MAX as u64 - rank
    };
    (major, tie(r.t.local_id(), desc))
}

fn text_cmp(a: (Option<&str>, u32), b: (Option<&str>, u32), desc: bool) -> Ordering {
    let major = match (a.0, b.0) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) if desc => y.cmp(x),
        (Some(x), Some(y)) => x.cmp(y),
    };
    major.then(a.1.cmp(&b.1))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn sort_tag(col: Column, desc: bool) -> String {
    format!("{}~{}", col.name(), if desc { 'd' } else { 'a' })
}

fn encode_cursor(col: Column, desc: bool, key: &Key<'_>) -> String {
    let tag = sort_tag(col, desc);
    match key {
        Key::Num(k, t) => format!("{tag}~n{k:x}.{t:x}"),
        Key::Text(Some(l), t) => format!("{tag}~s{t:x}.{}", hex(l.as_bytes())),
        Key::Text(None, t) => format!("{tag}~z{t:x}"),
    }
}

/// The owned form of a cursor's key.
enum CursorKey {
    Num(u64, u32),
    Text(Option<String>, u32),
}

fn decode_cursor(col: Column, desc: bool, s: &str) -> Result<CursorKey, TableError> {
    let bad = || TableError::Cursor("the cursor is not one this server made for this sort".into());
    let rest = s
        .strip_prefix(&sort_tag(col, desc))
        .and_then(|r| r.strip_prefix('~'))
        .ok_or_else(|| {
            TableError::Cursor(format!(
                "the cursor belongs to another sort than {} {}: start from the first page",
                col.name(),
                if desc { "descending" } else { "ascending" }
            ))
        })?;
    let num = |x: &str| u64::from_str_radix(x, 16).ok();
    let (kind, body) = (
        rest.get(..1).ok_or_else(bad)?,
        rest.get(1..).ok_or_else(bad)?,
    );
    let text = col.kind() == Kind::Label;
    match (kind, text) {
        ("n", false) => {
            let (k, t) = body.split_once('.').ok_or_else(bad)?;
            let t = num(t).and_then(|t| u32::try_from(t).ok()).ok_or_else(bad)?;
            Ok(CursorKey::Num(num(k).ok_or_else(bad)?, t))
        }
        ("s", true) => {
            let (t, l) = body.split_once('.').ok_or_else(bad)?;
            let t = num(t).and_then(|t| u32::try_from(t).ok()).ok_or_else(bad)?;
            let l = String::from_utf8(unhex(l).ok_or_else(bad)?).map_err(|_| bad())?;
            Ok(CursorKey::Text(Some(l), t))
        }
        ("z", true) => {
            let t = num(body)
                .and_then(|t| u32::try_from(t).ok())
                .ok_or_else(bad)?;
            Ok(CursorKey::Text(None, t))
        }
        _ => Err(bad()),
    }
}

/// A filtered list in sort order.
pub(crate) enum Sorted {
    /// (key, tie) pairs of a numeric sort; the id is the tie (reversed when descending).
    Num(Vec<(u64, u32)>),
    /// Ids of a label sort.
    Text(Vec<u32>),
}

impl Sorted {
    fn len(&self) -> usize {
        match self {
            Sorted::Num(v) => v.len(),
            Sorted::Text(v) => v.len(),
        }
    }
}

fn row<'a>(t: &'a TokenStore, slot: usize, with_label: bool) -> Row<'a> {
    let tok = &t.records[slot];
    Row {
        t: tok,
        defined: t.defined[slot],
        label: if with_label {
            t.labels.get(&tok.local_id()).map(|l| l.as_str())
        } else {
            None
        },
    }
}

/// Scan (all slots or the selection's), filter and sort.
fn build(t: &TokenStore, q: &TableQuery) -> Sorted {
    let labels = q.sort == Column::Label || q.filter.as_ref().is_some_and(Pred::uses_labels);
    let slots: Vec<usize> = match &q.ids {
        Some(ids) => {
            let mut s: Vec<usize> = ids.iter().filter_map(|id| t.slot(*id)).collect();
            s.sort_unstable();
            s.dedup();
            s
        }
        None => Vec::new(),
    };
    let keep = |slot: usize| {
        let r = row(t, slot, labels);
        q.filter.as_ref().is_none_or(|p| p.keeps(&r))
    };
    let matched: Vec<usize> = match &q.ids {
        Some(_) => slots.into_par_iter().filter(|s| keep(*s)).collect(),
        None => (0..t.records.len())
            .into_par_iter()
            .filter(|s| keep(*s))
            .collect(),
    };
    if q.sort == Column::Label {
        let mut v: Vec<(Option<&str>, u32)> = matched
            .iter()
            .map(|s| {
                let r = row(t, *s, true);
                (r.label, tie(r.t.local_id(), q.desc))
            })
            .collect();
        v.par_sort_unstable_by(|a, b| text_cmp(*a, *b, q.desc));
        Sorted::Text(v.into_iter().map(|(_, tt)| tie(tt, q.desc)).collect())
    } else {
        let mut v: Vec<(u64, u32)> = matched
            .into_par_iter()
            .map(|s| numeric_key(&row(t, s, false), q.sort, q.desc))
            .collect();
        v.par_sort_unstable();
        Sorted::Num(v)
    }
}

fn view(t: &TokenStore, id: u32) -> Option<TokenView> {
    let s = t.slot(id)?;
    Some(TokenView {
        token: t.records[s],
        defined: t.defined[s],
        label: t.labels.get(&id).map(|l| l.to_string()),
    })
}

/// The page after `cursor` of a sorted list.
fn page_of(t: &TokenStore, q: &TableQuery, sorted: &Sorted) -> Result<TablePage, TableError> {
    let cursor = q
        .cursor
        .as_deref()
        .map(|c| decode_cursor(q.sort, q.desc, c))
        .transpose()?;
    let (start, ids): (usize, Vec<u32>) = match sorted {
        Sorted::Num(v) => {
            let start = match cursor {
                Some(CursorKey::Num(k, tt)) => v.partition_point(|e| *e <= (k, tt)),
                _ if cursor.is_some() => {
                    return Err(TableError::Cursor(
                        "the cursor does not fit this sort".into(),
                    ))
                }
                _ => 0,
            };
            let ids = v[start..]
                .iter()
                .take(q.limit)
                .map(|(_, tt)| tie(*tt, q.desc))
                .collect();
            (start, ids)
        }
        Sorted::Text(v) => {
            let start = match &cursor {
                Some(CursorKey::Text(l, tt)) => v.partition_point(|id| {
                    let here = (t.labels.get(id).map(|l| l.as_str()), tie(*id, q.desc));
                    text_cmp(here, (l.as_deref(), *tt), q.desc) != Ordering::Greater
                }),
                Some(_) => {
                    return Err(TableError::Cursor(
                        "the cursor does not fit this sort".into(),
                    ))
                }
                None => 0,
            };
            (start, v[start..].iter().take(q.limit).copied().collect())
        }
    };
    let rows: Vec<TokenView> = ids.iter().filter_map(|id| view(t, *id)).collect();
    let more = start + ids.len() < sorted.len();
    let next = match (more, rows.last()) {
        (true, Some(last)) => {
            let r = Row {
                t: &last.token,
                defined: last.defined,
                label: last.label.as_deref(),
            };
            let key = if q.sort == Column::Label {
                Key::Text(r.label, tie(r.t.local_id(), q.desc))
            } else {
                let (k, tt) = numeric_key(&r, q.sort, q.desc);
                Key::Num(k, tt)
            };
            Some(encode_cursor(q.sort, q.desc, &key))
        }
        _ => None,
    };
    Ok(TablePage {
        rows,
        next,
        count: sorted.len(),
    })
}

impl RuntimeStorage {
    /// A page of the tokens table (see the module doc). Holds the read lock while it scans.
    pub fn token_table(&self, q: &TableQuery) -> Result<TablePage, TableError> {
        let st = self.read();
        let t = &st.tokens;
        if q.ids.is_none() && q.filter.is_none() && q.sort == Column::Id && !q.desc {
            // The store's own keyset page: no scan when ids are dense.
            let after = match q
                .cursor
                .as_deref()
                .map(|c| decode_cursor(Column::Id, false, c))
                .transpose()?
            {
                Some(CursorKey::Num(k, _)) => u32::try_from(k).unwrap_or(u32::MAX),
                Some(_) => {
                    return Err(TableError::Cursor(
                        "the cursor does not fit this sort".into(),
                    ))
                }
                None => 0,
            };
            drop(st);
            let (rows, more) = self.token_page(after, q.limit);
            let next = match (more, rows.last()) {
                (true, Some(v)) => {
                    let id = v.token.local_id();
                    Some(encode_cursor(Column::Id, false, &Key::Num(id as u64, id)))
                }
                _ => None,
            };
            return Ok(TablePage {
                rows,
                next,
                count: self.token_count(),
            });
        }
        if q.ids.is_some() {
            return page_of(t, q, &build(t, q));
        }
        let key = cache::key(self, t.version, q);
        let sorted = cache::get_or_build(key, || build(t, q));
        page_of(t, q, &sorted)
    }

    /// Tokens whose label starts with `prefix`, in label order (then id), at most `limit`,
    /// and how many match in all.
    pub fn label_prefix(&self, prefix: &str, limit: usize) -> (Vec<(u32, String)>, usize) {
        let st = self.read();
        let mut count = 0;
        let mut heap: std::collections::BinaryHeap<(&str, u32)> = Default::default();
        for (id, l) in &st.tokens.labels {
            if !l.starts_with(prefix) {
                continue;
            }
            count += 1;
            if heap.len() < limit {
                heap.push((l.as_str(), *id));
            } else if heap.peek().is_some_and(|top| (l.as_str(), *id) < *top) {
                heap.pop();
                heap.push((l.as_str(), *id));
            }
        }
        let out = heap
            .into_sorted_vec()
            .into_iter()
            .map(|(l, id)| (id, l.to_string()))
            .collect();
        (out, count)
    }
}

#[cfg(test)]
mod tests;
