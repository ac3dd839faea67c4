//! The filter language of the tokens table: the subset of pandas `DataFrame.query` that
//! `%ng_tokens --where` users write over `rt.tokens.to_pandas()` columns. This file reads
//! the text into a syntax tree; `pred.rs` checks the types and evaluates it.
//!
//! Grammar (lowest precedence first; `&`, `|`, `~` bind like `and`, `or`, `not`, as in
//! pandas `query`):
//!
//! ```text
//! or      := and (("or" | "|") and)*
//! and     := not (("and" | "&") not)*
//! not     := ("not" | "~") not | compare
//! compare := operand (op operand)*          op: == != < <= > >= in, not in
//! operand := "(" or ")" | number | string | "[" literals "]" | "-" number
//!          | column [".str." ("startswith" | "endswith" | "contains") "(" string [, kw=value]* ")"]
//!          | column ("." ("isna" | "notna" | "isnull" | "notnull") "()")
//! ```
//!
//! Columns are names or backtick-quoted names. Every error names the character position
//! (0-based) where the text went wrong.

use std::fmt;

/// Longest expression accepted, in characters.
pub const MAX_EXPR_CHARS: usize = 4096;
/// Deepest nesting of parentheses and `not`.
pub const MAX_DEPTH: usize = 64;
/// Most values in one `[...]` list.
pub const MAX_LIST: usize = 10_000;

/// A bad expression: what was wrong and at which character (0-based).
#[derive(Debug, Clone, PartialEq)]
pub struct ExprError {
    pub position: usize,
    pub message: String,
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at position {}: {}", self.position, self.message)
    }
}

impl std::error::Error for ExprError {}

pub(crate) fn err<T>(position: usize, message: impl Into<String>) -> Result<T, ExprError> {
    Err(ExprError {
        position,
        message: message.into(),
    })
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
}

impl CmpOp {
    /// The operator with its operands swapped (`1 < x` is `x > 1`).
    pub fn flipped(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            o => o,
        }
    }
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Num(f64),
    Str(String),
}

/// String methods of `label.str`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrMethod {
    StartsWith,
    EndsWith,
    Contains,
}

/// The syntax tree; `at` is the character position of the node's start.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Column {
        name: String,
        at: usize,
    },
    Lit {
        value: Lit,
        at: usize,
    },
    List {
        items: Vec<Lit>,
        at: usize,
    },
    /// `a op b op c` (a chain is `a op b and b op c`).
    Compare {
        first: Box<Node>,
        rest: Vec<(CmpOp, usize, Node)>,
    },
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>, usize),
    Str {
        column: Box<Node>,
        method: StrMethod,
        pattern: String,
        case: bool,
        regex: bool,
        at: usize,
    },
    IsNa {
        column: Box<Node>,
        negate: bool,
        at: usize,
    },
}

impl Node {
    /// Where the node starts.
    pub fn at(&self) -> usize {
        match self {
            Node::Column { at, .. }
            | Node::Lit { at, .. }
            | Node::List { at, .. }
            | Node::Not(_, at)
            | Node::Str { at, .. }
            | Node::IsNa { at, .. } => *at,
            Node::Compare { first, .. } => first.at(),
            Node::And(v) | Node::Or(v) => v.first().map_or(0, Node::at),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Num(f64),
    Str(String),
    Op(&'static str),
}

fn lex(text: &str) -> Result<Vec<(Tok, usize)>, ExprError> {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() > MAX_EXPR_CHARS {
        return err(
            MAX_EXPR_CHARS,
            format!("the expression is longer than {MAX_EXPR_CHARS} characters"),
        );
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
        } else if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((Tok::Ident(chars[start..i].iter().collect()), start));
        } else if c == '`' {
            i += 1;
            while i < chars.len() && chars[i] != '`' {
                i += 1;
            }
            if i == chars.len() {
                return err(start, "unclosed ` quote");
            }
            out.push((Tok::Ident(chars[start + 1..i].iter().collect()), start));
            i += 1;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            while i < chars.len()
                && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == '_')
            {
                i += 1;
            }
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                let mut j = i + 1;
                if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
                    j += 1;
                }
                if j < chars.len() && chars[j].is_ascii_digit() {
                    i = j;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let s: String = chars[start..i].iter().filter(|c| **c != '_').collect();
            match s.parse::<f64>() {
                Ok(v) => out.push((Tok::Num(v), start)),
                Err(_) => return err(start, format!("{s:?} is not a number")),
            }
            if i < chars.len() && (chars[i].is_alphabetic() || chars[i] == '_') {
                return err(i, "a name cannot start right after a number");
            }
        } else if c == '\'' || c == '"' {
            i += 1;
            let mut s = String::new();
            loop {
                match chars.get(i) {
                    None => return err(start, "unclosed string"),
                    Some(q) if *q == c => break,
                    Some('\\') => {
                        let e = chars.get(i + 1).copied();
                        match e {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some(e @ ('\\' | '\'' | '"')) => s.push(e),
                            Some(e) => {
                                s.push('\\');
                                s.push(e);
                            }
                            None => return err(start, "unclosed string"),
                        }
                        i += 2;
                    }
                    Some(ch) => {
                        s.push(*ch);
                        i += 1;
                    }
                }
            }
            i += 1;
            out.push((Tok::Str(s), start));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let op = match two.as_str() {
                "==" => Some("=="),
                "!=" => Some("!="),
                "<=" => Some("<="),
                ">=" => Some(">="),
                _ => None,
            };
            if let Some(op) = op {
                out.push((Tok::Op(op), start));
                i += 2;
                continue;
            }
            let op = match c {
                '<' => "<",
                '>' => ">",
                '(' => "(",
                ')' => ")",
                '[' => "[",
                ']' => "]",
                ',' => ",",
                '.' => ".",
                '&' => "&",
                '|' => "|",
                '~' => "~",
                '-' => "-",
                '=' => "=",
                '+' | '*' | '/' | '%' => {
                    return err(
                        start,
                        format!("arithmetic ({c}) is not supported in table filters"),
                    )
                }
                '@' => return err(start, "@variables are not supported in table filters"),
                _ => return err(start, format!("unexpected character {c:?}")),
            };
            out.push((Tok::Op(op), start));
            i += 1;
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    end: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.0)
    }
    fn here(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |t| t.1)
    }
    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(o)) if *o == op)
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s == w)
    }
    fn expect_op(&mut self, op: &str, what: &str) -> Result<usize, ExprError> {
        if self.is_op(op) {
            self.pos += 1;
            Ok(self.toks[self.pos - 1].1)
        } else {
            err(self.here(), format!("expected {what}"))
        }
    }
    fn deeper(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err(
                self.here(),
                format!("nested deeper than {MAX_DEPTH} levels"),
            );
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Node, ExprError> {
        let mut parts = vec![self.and()?];
        while self.is_word("or") || self.is_op("|") {
            self.pos += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Node::Or(vec![]))
        } else {
            Node::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Node, ExprError> {
        let mut parts = vec![self.not()?];
        while self.is_word("and") || self.is_op("&") {
            self.pos += 1;
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Node::And(vec![]))
        } else {
            Node::And(parts)
        })
    }

    fn not(&mut self) -> Result<Node, ExprError> {
        if self.is_word("not") || self.is_op("~") {
            let at = self.here();
            self.pos += 1;
            self.deeper()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Node::Not(Box::new(inner), at));
        }
        self.compare()
    }

    fn cmp_op(&mut self) -> Option<(CmpOp, usize)> {
        let at = self.here();
        let op = match self.peek()? {
            Tok::Op("==") => CmpOp::Eq,
            Tok::Op("!=") => CmpOp::Ne,
            Tok::Op("<") => CmpOp::Lt,
            Tok::Op("<=") => CmpOp::Le,
            Tok::Op(">") => CmpOp::Gt,
            Tok::Op(">=") => CmpOp::Ge,
            Tok::Ident(w) if w == "in" => CmpOp::In,
            Tok::Ident(w) if w == "not" => {
                if matches!(self.toks.get(self.pos + 1), Some((Tok::Ident(w), _)) if w == "in") {
                    self.pos += 1;
                    CmpOp::NotIn
                } else {
                    return None;
                }
            }
            _ => return None,
        };
        self.pos += 1;
        Some((op, at))
    }

    fn compare(&mut self) -> Result<Node, ExprError> {
        let first = self.operand()?;
        let mut rest = Vec::new();
        while let Some((op, at)) = self.cmp_op() {
            rest.push((op, at, self.operand()?));
        }
        Ok(if rest.is_empty() {
            first
        } else {
            Node::Compare {
                first: Box::new(first),
                rest,
            }
        })
    }

    fn literal(&mut self) -> Result<(Lit, usize), ExprError> {
        let at = self.here();
        let neg = self.is_op("-");
        if neg {
            self.pos += 1;
        }
        match self.peek().cloned() {
            Some(Tok::Num(v)) => {
                self.pos += 1;
                Ok((Lit::Num(if neg { -v } else { v }), at))
            }
            Some(Tok::Str(s)) if !neg => {
                self.pos += 1;
                Ok((Lit::Str(s), at))
            }
            _ => err(self.here(), "expected a number or a quoted string"),
        }
    }

    fn operand(&mut self) -> Result<Node, ExprError> {
        let at = self.here();
        match self.peek().cloned() {
            None => err(
                at,
                "expected a column, a value or '(' but the expression ended",
            ),
            Some(Tok::Op("(")) => {
                self.pos += 1;
                self.deeper()?;
                let inner = self.or()?;
                self.depth -= 1;
                self.expect_op(")", "')'")?;
                Ok(inner)
            }
            Some(Tok::Op("[")) => {
                self.pos += 1;
                let mut items = Vec::new();
                while !self.is_op("]") {
                    if items.len() >= MAX_LIST {
                        return err(
                            self.here(),
                            format!("a list holds at most {MAX_LIST} values"),
                        );
                    }
                    items.push(self.literal()?.0);
                    if !self.is_op(",") {
                        break;
                    }
                    self.pos += 1;
                }
                self.expect_op("]", "',' or ']'")?;
                Ok(Node::List { items, at })
            }
            Some(Tok::Num(_) | Tok::Str(_) | Tok::Op("-")) => {
                let (value, at) = self.literal()?;
                Ok(Node::Lit { value, at })
            }
            Some(Tok::Ident(name)) => {
                if ["and", "or", "not", "in"].contains(&name.as_str()) {
                    return err(at, format!("expected a column or a value, found {name:?}"));
                }
                self.pos += 1;
                let column = Node::Column { name, at };
                if self.is_op(".") {
                    return self.method(column);
                }
                Ok(column)
            }
            Some(Tok::Op(o)) => err(
                at,
                format!("expected a column, a value or '(', found {o:?}"),
            ),
        }
    }

    fn ident(&mut self, what: &str) -> Result<(String, usize), ExprError> {
        match self.peek().cloned() {
            Some(Tok::Ident(s)) => {
                self.pos += 1;
                Ok((s, self.toks[self.pos - 1].1))
            }
            _ => err(self.here(), format!("expected {what}")),
        }
    }

    fn method(&mut self, column: Node) -> Result<Node, ExprError> {
        self.pos += 1; // the '.'
        let (name, at) = self.ident("a method name after '.'")?;
        match name.as_str() {
            "isna" | "isnull" | "notna" | "notnull" => {
                self.expect_op("(", "'('")?;
                self.expect_op(")", "')' (this method takes no arguments)")?;
                Ok(Node::IsNa {
                    column: Box::new(column),
                    negate: name.starts_with("not"),
                    at,
                })
            }
            "str" => {
                self.expect_op(".", "'.' after .str")?;
                let (m, mat) = self.ident("startswith, endswith or contains")?;
                let method = match m.as_str() {
                    "startswith" => StrMethod::StartsWith,
                    "endswith" => StrMethod::EndsWith,
                    "contains" => StrMethod::Contains,
                    _ => {
                        return err(
                            mat,
                            format!("unknown string method {m:?}: use startswith, endswith or contains"),
                        )
                    }
                };
                self.expect_op("(", "'('")?;
                let pat_at = self.here();
                let pattern = match self.literal()? {
                    (Lit::Str(s), _) => s,
                    _ => return err(pat_at, format!("{m} takes a quoted string")),
                };
                let (mut case, mut regex) = (true, method == StrMethod::Contains);
                while self.is_op(",") {
                    self.pos += 1;
                    let (kw, kat) = self.ident("a keyword argument (case=, regex=)")?;
                    self.expect_op("=", "'=' after the keyword")?;
                    let (v, vat) = self.ident("True or False")?;
                    let b = match v.as_str() {
                        "True" => true,
                        "False" => false,
                        _ => return err(vat, "expected True or False"),
                    };
                    match (kw.as_str(), method) {
                        ("case", StrMethod::Contains) => case = b,
                        ("regex", StrMethod::Contains) => regex = b,
                        _ => return err(kat, format!("{m} does not take {kw}= here")),
                    }
                }
                self.expect_op(")", "')'")?;
                Ok(Node::Str {
                    column: Box::new(column),
                    method,
                    pattern,
                    case,
                    regex,
                    at: mat,
                })
            }
            _ => err(
                at,
                format!("unknown method {name:?}: use .str.startswith/endswith/contains, .isna() or .notna()"),
            ),
        }
    }
}

/// Read an expression into its syntax tree.
pub fn parse(text: &str) -> Result<Node, ExprError> {
    let toks = lex(text)?;
    let end = text.chars().count();
    if toks.is_empty() {
        return err(0, "the expression is empty");
    }
    let mut p = Parser {
        toks,
        pos: 0,
        end,
        depth: 0,
    };
    let node = p.or()?;
    if p.pos < p.toks.len() {
        let what = match &p.toks[p.pos].0 {
            Tok::Op(")") => "unbalanced ')'".to_string(),
            Tok::Op("=") => "'=' is assignment: compare with '=='".to_string(),
            _ => "expected 'and', 'or' or a comparison here".to_string(),
        };
        return err(p.here(), what);
    }
    Ok(node)
}
