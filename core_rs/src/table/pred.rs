//! Type-check a filter's syntax tree against the token columns and evaluate it per token,
//! with pandas' semantics: float columns compare in float32 (pandas casts the constant to
//! the column's dtype), `in [...]` compares like `Series.isin` (in float64), a missing label
//! compares like NaN (false; `!=` true) while a string method on it is *unknown* (pandas'
//! `NA`), `and`/`or`/`not` follow three-valued (Kleene) logic, and a row whose condition ends
//! unknown is left out (checked against pandas 3.1 in tests/test_table_filter.py).

use super::expr::{err, CmpOp, ExprError, Lit, Node, StrMethod};
use super::{Column, Kind, Row};
use crate::token::ENTITY_TYPES;
use std::collections::HashSet;

/// A three-valued truth: false, true, unknown (pandas `NA`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tri {
    F,
    T,
    Na,
}

impl Tri {
    fn of(b: bool) -> Tri {
        if b {
            Tri::T
        } else {
            Tri::F
        }
    }
}

/// A checked condition, ready to evaluate per token.
#[derive(Clone, Debug)]
pub enum Pred {
    /// A float32 column against a constant cast to float32; NaN compares false (`!=` true).
    Float {
        col: Column,
        op: CmpOp,
        v: f32,
    },
    /// id or timestamp (seconds) against a number.
    Int {
        col: Column,
        op: CmpOp,
        v: f64,
    },
    /// A numeric column's value (as float64) in a set.
    NumIn {
        col: Column,
        set: Vec<f64>,
        negate: bool,
    },
    /// Entity type in a set of codes (bit per code); a name that is no entity matches nothing.
    EntityIn {
        mask: u32,
        negate: bool,
    },
    /// The label against a string (a token without a label: false, `!=` true).
    Label {
        op: CmpOp,
        v: String,
    },
    /// The label in a set (a token without a label is not in it).
    LabelIn {
        set: HashSet<String>,
        negate: bool,
    },
    /// `label.str.<method>(pattern)`; unknown without a label.
    Str {
        method: StrMethod,
        pattern: String,
        fold_case: bool,
    },
    /// `col.isna()` / `col.notna()`.
    IsNa {
        col: Column,
        negate: bool,
    },
    And(Vec<Pred>),
    Or(Vec<Pred>),
    Not(Box<Pred>),
}

fn cmp<T: PartialOrd>(a: T, op: CmpOp, b: T) -> bool {
    match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        CmpOp::Lt => a < b,
        CmpOp::Le => a <= b,
        CmpOp::Gt => a > b,
        CmpOp::Ge => a >= b,
        CmpOp::In | CmpOp::NotIn => false,
    }
}

impl Pred {
    /// Whether the condition reads labels (a scan then looks each token's label up).
    pub fn uses_labels(&self) -> bool {
        match self {
            Pred::Label { .. } | Pred::LabelIn { .. } | Pred::Str { .. } => true,
            Pred::IsNa { col, .. } => *col == Column::Label,
            Pred::And(v) | Pred::Or(v) => v.iter().any(Pred::uses_labels),
            Pred::Not(p) => p.uses_labels(),
            _ => false,
        }
    }

    /// The condition's value for one token.
    pub fn eval(&self, r: &Row<'_>) -> Tri {
        match self {
            Pred::Float { col, op, v } => Tri::of(cmp(r.float(*col), *op, *v)),
            Pred::Int { col, op, v } => Tri::of(cmp(r.int(*col) as f64, *op, *v)),
            Pred::NumIn { col, set, negate } => {
                let x = match col.kind() {
                    Kind::Float => r.float(*col) as f64,
                    _ => r.int(*col) as f64,
                };
                Tri::of(set.binary_search_by(|p| p.total_cmp(&x)).is_ok() != *negate)
            }
            Pred::EntityIn { mask, negate } => {
                Tri::of((mask & (1 << r.t.entity()) != 0) != *negate)
            }
            // pandas `query` compares a missing label like NaN: false, but `!=` true.
            Pred::Label { op, v } => match r.label {
                Some(l) => Tri::of(cmp(l, *op, v.as_str())),
                None => Tri::of(*op == CmpOp::Ne),
            },
            Pred::LabelIn { set, negate } => {
                Tri::of(r.label.is_some_and(|l| set.contains(l)) != *negate)
            }
            Pred::Str {
                method,
                pattern,
                fold_case,
            } => match r.label {
                None => Tri::Na,
                Some(l) => Tri::of(match method {
                    StrMethod::StartsWith => l.starts_with(pattern.as_str()),
                    StrMethod::EndsWith => l.ends_with(pattern.as_str()),
                    StrMethod::Contains if *fold_case => {
                        l.to_lowercase().contains(pattern.as_str())
                    }
                    StrMethod::Contains => l.contains(pattern.as_str()),
                }),
            },
            Pred::IsNa { col, negate } => {
                let na = match col.kind() {
                    Kind::Label => r.label.is_none(),
                    Kind::Float => r.float(*col).is_nan(),
                    _ => false,
                };
                Tri::of(na != *negate)
            }
            Pred::And(v) => {
                let mut out = Tri::T;
                for p in v {
                    match p.eval(r) {
                        Tri::F => return Tri::F,
                        Tri::Na => out = Tri::Na,
                        Tri::T => {}
                    }
                }
                out
            }
            Pred::Or(v) => {
                let mut out = Tri::F;
                for p in v {
                    match p.eval(r) {
                        Tri::T => return Tri::T,
                        Tri::Na => out = Tri::Na,
                        Tri::F => {}
                    }
                }
                out
            }
            Pred::Not(p) => match p.eval(r) {
                Tri::T => Tri::F,
                Tri::F => Tri::T,
                Tri::Na => Tri::Na,
            },
        }
    }

    /// Whether the token is kept (an unknown condition leaves it out, like pandas).
    #[inline]
    pub fn keeps(&self, r: &Row<'_>) -> bool {
        self.eval(r) == Tri::T
    }
}

fn column(name: &str, at: usize) -> Result<Column, ExprError> {
    Column::parse(name).ok_or_else(|| ExprError {
        position: at,
        message: format!("unknown column {name:?}: {}", Column::help()),
    })
}

/// Seconds since 1970 of `YYYY-MM-DD[( |T)HH:MM[:SS]]` (UTC, like the naive timestamps of
/// `to_pandas`).
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = match s.find([' ', 'T']) {
        Some(i) => (&s[..i], Some(s[i + 1..].trim())),
        None => (s, None),
    };
    let d: Vec<&str> = date.split('-').collect();
    if d.len() != 3 || d[0].len() != 4 {
        return None;
    }
    let (y, m, day): (i64, i64, i64) = (d[0].parse().ok()?, d[1].parse().ok()?, d[2].parse().ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let mut secs = 0;
    if let Some(t) = time {
        let p: Vec<&str> = t.split(':').collect();
        if !(2..=3).contains(&p.len()) {
            return None;
        }
        let h: i64 = p[0].parse().ok()?;
        let mi: i64 = p[1].parse().ok()?;
        let se: i64 = p.get(2).map_or(Some(0), |x| x.parse().ok())?;
        if h > 23 || mi > 59 || se > 59 {
            return None;
        }
        secs = h * 3600 + mi * 60 + se;
    }
    // Days from the civil date (proleptic Gregorian), after Howard Hinnant's algorithm.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400 + secs)
}

/// One `column op value` comparison, typed.
fn compare(col: Column, cat: usize, op: CmpOp, rhs: &Node) -> Result<Pred, ExprError> {
    let (op, items, vat) = match (op, rhs) {
        (CmpOp::Eq | CmpOp::In, Node::List { items, at }) => (CmpOp::In, items.clone(), *at),
        (CmpOp::Ne | CmpOp::NotIn, Node::List { items, at }) => (CmpOp::NotIn, items.clone(), *at),
        (CmpOp::In | CmpOp::NotIn, n) => return err(n.at(), "'in' takes a list like [1, 2]"),
        (_, Node::List { at, .. }) => return err(*at, "only ==, !=, in and not in take a list"),
        (op, Node::Lit { value, at }) => (op, vec![value.clone()], *at),
        (_, n) => return err(n.at(), "compare a column with a number or a quoted string"),
    };
    let name = col.name();
    let negate = op == CmpOp::NotIn;
    let is_set = matches!(op, CmpOp::In | CmpOp::NotIn);
    match col.kind() {
        Kind::Float | Kind::Int => {
            let mut nums = Vec::with_capacity(items.len());
            for it in &items {
                match it {
                    Lit::Num(v) => nums.push(*v),
                    Lit::Str(_) => {
                        return err(vat, format!("{name} is a number: compare it with a number"))
                    }
                }
            }
            if is_set {
                nums.sort_by(f64::total_cmp);
                Ok(Pred::NumIn {
                    col,
                    set: nums,
                    negate,
                })
            } else if col.kind() == Kind::Float {
                Ok(Pred::Float {
                    col,
                    op,
                    v: nums[0] as f32,
                })
            } else {
                Ok(Pred::Int {
                    col,
                    op,
                    v: nums[0],
                })
            }
        }
        Kind::Time => {
            let mut secs = Vec::with_capacity(items.len());
            for it in &items {
                match it {
                    Lit::Str(s) => match parse_date(s) {
                        Some(v) => secs.push(v as f64),
                        None => {
                            return err(
                                vat,
                                format!(
                                "{s:?} is not a date like '2024-01-31' or '2024-01-31 12:00:00'"
                            ),
                            )
                        }
                    },
                    Lit::Num(_) => {
                        return err(
                            vat,
                            "timestamp is a date: compare it with a string like '2024-01-31'",
                        )
                    }
                }
            }
            if is_set {
                secs.sort_by(f64::total_cmp);
                Ok(Pred::NumIn {
                    col,
                    set: secs,
                    negate,
                })
            } else {
                Ok(Pred::Int {
                    col,
                    op,
                    v: secs[0],
                })
            }
        }
        Kind::Entity => {
            if !matches!(op, CmpOp::Eq | CmpOp::Ne | CmpOp::In | CmpOp::NotIn) {
                return err(cat, "entity types are not ordered: use ==, != or in");
            }
            let mut mask = 0u32;
            for it in &items {
                match it {
                    Lit::Str(s) => {
                        if let Some(code) = ENTITY_TYPES.iter().position(|e| e == s) {
                            mask |= 1 << code;
                        }
                    }
                    Lit::Num(_) => {
                        return err(vat, "entity is a name: compare it with a quoted string")
                    }
                }
            }
            Ok(Pred::EntityIn {
                mask,
                negate: negate || op == CmpOp::Ne,
            })
        }
        Kind::Label => {
            let mut strs = Vec::with_capacity(items.len());
            for it in items {
                match it {
                    Lit::Str(s) => strs.push(s),
                    Lit::Num(_) => {
                        return err(vat, "label is text: compare it with a quoted string")
                    }
                }
            }
            if is_set {
                Ok(Pred::LabelIn {
                    set: strs.into_iter().collect(),
                    negate,
                })
            } else {
                Ok(Pred::Label {
                    op,
                    v: strs.swap_remove(0),
                })
            }
        }
    }
}

const REGEX_META: &[char] = &[
    '.', '^', '$', '*', '+', '?', '{', '}', '[', ']', '\\', '|', '(', ')',
];

/// Check a syntax tree and turn it into a condition.
pub fn compile(node: &Node) -> Result<Pred, ExprError> {
    match node {
        Node::And(v) => Ok(Pred::And(v.iter().map(compile).collect::<Result<_, _>>()?)),
        Node::Or(v) => Ok(Pred::Or(v.iter().map(compile).collect::<Result<_, _>>()?)),
        Node::Not(inner, _) => Ok(Pred::Not(Box::new(compile(inner)?))),
        Node::Compare { first, rest } => {
            let mut parts = Vec::with_capacity(rest.len());
            let mut left = first.as_ref();
            for (op, at, right) in rest {
                let p = match (left, right) {
                    (Node::Column { name, at: cat }, r) if !matches!(r, Node::Column { .. }) => {
                        compare(column(name, *cat)?, *cat, *op, r)?
                    }
                    (l @ Node::Lit { .. }, Node::Column { name, at: cat }) => {
                        if matches!(op, CmpOp::In | CmpOp::NotIn) {
                            return err(
                                *at,
                                "'in' needs a column on its left and a list on its right",
                            );
                        }
                        compare(column(name, *cat)?, *cat, op.flipped(), l)?
                    }
                    (Node::Column { .. }, Node::Column { at, .. }) => {
                        return err(
                            *at,
                            "compare a column with a value, not with another column",
                        )
                    }
                    _ => return err(*at, "a comparison needs a column on one side"),
                };
                parts.push(p);
                left = right;
            }
            Ok(if parts.len() == 1 {
                parts.swap_remove(0)
            } else {
                Pred::And(parts)
            })
        }
        Node::Str {
            column: c,
            method,
            pattern,
            case,
            regex,
            at,
        } => {
            let Node::Column { name, at: cat } = c.as_ref() else {
                return err(*at, ".str methods apply to a column");
            };
            if column(name, *cat)? != Column::Label {
                return err(
                    *cat,
                    format!("{name} is not text: .str methods apply to label"),
                );
            }
            if *regex && pattern.contains(REGEX_META) {
                return err(*at, "regular expressions are not supported here: pass regex=False to match the text as is");
            }
            Ok(Pred::Str {
                method: *method,
                pattern: if *case {
                    pattern.clone()
                } else {
                    pattern.to_lowercase()
                },
                fold_case: !*case,
            })
        }
        Node::IsNa {
            column: c,
            negate,
            at,
        } => {
            let Node::Column { name, at: cat } = c.as_ref() else {
                return err(*at, ".isna() applies to a column");
            };
            Ok(Pred::IsNa {
                col: column(name, *cat)?,
                negate: *negate,
            })
        }
        Node::Column { name, at } => {
            column(name, *at)?;
            err(
                *at,
                format!("{name} alone is not a condition: compare it, e.g. {name} == ..."),
            )
        }
        Node::Lit { at, .. } | Node::List { at, .. } => {
            err(*at, "a value alone is not a condition")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_epoch_seconds() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2000-03-01 00:00:01"), Some(951_868_801));
        assert_eq!(parse_date("2024-02-29T12:30"), Some(1_709_209_800));
        assert_eq!(parse_date("2024-13-01"), None);
        assert_eq!(parse_date("yesterday"), None);
    }

    #[test]
    fn type_errors_name_the_position() {
        let pos = |s: &str| {
            compile(&super::super::expr::parse(s).unwrap())
                .unwrap_err()
                .position
        };
        assert_eq!(pos("weight > 'a'"), 9);
        assert_eq!(pos("nope > 1"), 0);
        assert_eq!(pos("weight > 1 and entity < 'a'"), 15);
        assert_eq!(pos("timestamp > 5"), 12);
        assert_eq!(pos("weight"), 0);
        assert_eq!(pos("weight > field_radius"), 9);
        assert_eq!(pos("label.str.contains('a.b')"), 10);
        assert_eq!(pos("weight.str.startswith('a')"), 0);
    }
}
