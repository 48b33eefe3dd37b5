//! A small backtracking regex engine for the `{"Regex": ...}` patterns of
//! `tokenizer.json` (the `Replace` normalizer and the `Split` pre-tokenizer).
//!
//! HF `tokenizers` compiles these patterns with `onig` or `fancy-regex`; both have
//! Perl's leftmost-first semantics (the first alternative that leads to a match wins,
//! repeats are greedy unless marked lazy), which is what a backtracking matcher gives.
//! The syntax covered is what real tokenizer files use, and nothing more: literals,
//! escapes (`\r \n \t \f \v \s \S \w \W \d \D`, `\xHH`, `\x{H..}`, escaped
//! punctuation), `.`, classes `[...]` (negation, ranges, escapes and `\p{..}` inside),
//! the general categories `\p{L}`, `\p{Lu}`, `\p{Nd}`, `\pP`, `\p{Uppercase_Letter}`,
//! `\p{gc=Zs}`... (every `gc` name and alias, matched loosely as the `regex` crate
//! does) and their `\P` negations, alternation, groups `(...)`, `(?:...)`, `(?i:...)`,
//! quantifiers `* + ? {n} {n,} {n,m}` (greedy, or lazy with a trailing `?`), the
//! look-aheads `(?=...)` and `(?!...)`, and the text anchors `^` and `$` (no multi-line
//! mode). `\d` is Unicode's Nd, as in the `regex` crate. Anything else (`\b`,
//! look-behinds, back-references, scripts such as `\p{Han}` and the other Unicode
//! properties) is a [`RegexError`], never a panic and never a silent difference.
//!
//! Case-insensitive groups fold as the `regex` crate does for the ASCII letters they
//! contain (so `(?i:s)` also matches `ſ` U+017F and `(?i:k)` the Kelvin sign U+212A);
//! a non-ASCII literal inside `(?i:...)` is an error, and so is a general category
//! other than L, N and Nd (the case variants of `\p{Lu}`'s members are not in it).
//!
//! Matching is bounded: each attempt at one start position may take at most
//! [`STEP_BUDGET`] steps. Past that, iteration stops and the rest of the text is left
//! unmatched, which is what HF does when `fancy-regex` reports its backtrack limit
//! (its `find_iter` wrapper stops at the first error). The patterns of real files stay
//! far below the budget: their cost is linear in the text (see the tests).

use std::fmt;
use std::ops::Range;

use crate::unicode;

/// Steps one match attempt (at one start position) may take before matching gives up.
pub(crate) const STEP_BUDGET: u64 = 10_000_000;

/// Largest compiled program accepted (counted repeats are expanded).
const MAX_PROGRAM: usize = 20_000;

/// Why a pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RegexError {
    /// The whole pattern.
    pub(crate) pattern: String,
    /// Byte offset in the pattern where the problem was found.
    pub(crate) offset: usize,
    /// What was wrong.
    pub(crate) message: String,
}

impl fmt::Display for RegexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "regex `{}` at byte {}: {}",
            self.pattern, self.offset, self.message
        )
    }
}

/// A named set of characters usable inside or outside a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Set {
    Space,
    Word,
    Letter,
    Number,
    /// A union of general categories: bit `k` set for category `k` of
    /// [`unicode::general_category`] (bit 0: Cn, unassigned).
    Categories(u32),
}

impl Set {
    #[inline]
    fn contains(self, c: char) -> bool {
        match self {
            Set::Space => unicode::is_regex_space(c),
            Set::Word => unicode::is_regex_word(c),
            Set::Letter => unicode::is_letter(c),
            Set::Number => unicode::is_number(c),
            Set::Categories(mask) => mask & (1 << unicode::general_category(c)) != 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Range(char, char),
    Set(Set, bool),
}

/// A character class: items, negation, case folding, and an ASCII bitmap.
#[derive(Debug, Clone)]
struct Class {
    items: Vec<Item>,
    negated: bool,
    fold: bool,
    ascii: u128,
}

impl Class {
    fn new(items: Vec<Item>, negated: bool, fold: bool) -> Class {
        let mut c = Class {
            items,
            negated,
            fold,
            ascii: 0,
        };
        for b in 0u8..128 {
            if c.slow(char::from(b)) {
                c.ascii |= 1 << b;
            }
        }
        c
    }

    fn raw(&self, c: char) -> bool {
        self.items.iter().any(|it| match *it {
            Item::Range(a, b) => a <= c && c <= b,
            Item::Set(s, neg) => s.contains(c) != neg,
        })
    }

    fn slow(&self, c: char) -> bool {
        let hit = if self.fold {
            fold_variants(c).iter().any(|&v| self.raw(v))
        } else {
            self.raw(c)
        };
        hit != self.negated
    }

    #[inline]
    fn matches(&self, c: char) -> bool {
        if c.is_ascii() {
            self.ascii & (1 << c as u32) != 0
        } else {
            self.slow(c)
        }
    }
}

/// The characters equal to `c` under the simple case folding the `regex` crate uses,
/// restricted to what an ASCII letter can fold with.
fn fold_variants(c: char) -> Vec<char> {
    let mut v = vec![c];
    let base = match c {
        '\u{17f}' => 's',
        '\u{212a}' => 'k',
        _ => c,
    };
    if base.is_ascii_alphabetic() {
        for x in [base.to_ascii_lowercase(), base.to_ascii_uppercase()] {
            if !v.contains(&x) {
                v.push(x);
            }
        }
        match base.to_ascii_lowercase() {
            's' if !v.contains(&'\u{17f}') => v.push('\u{17f}'),
            'k' if !v.contains(&'\u{212a}') => v.push('\u{212a}'),
            _ => {}
        }
    }
    v
}

#[derive(Debug, Clone)]
enum Node {
    Empty,
    Char(char),
    /// A literal under `(?i)`: any of these chars.
    Fold(Vec<char>),
    Any,
    Class(Class),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
        greedy: bool,
    },
    Look {
        node: Box<Node>,
        negate: bool,
    },
    /// `^`: the start of the text (no multi-line mode).
    Start,
    /// `$`: the end of the text.
    End,
}

fn nullable(n: &Node) -> bool {
    match n {
        Node::Empty | Node::Look { .. } | Node::Start | Node::End => true,
        Node::Char(_) | Node::Fold(_) | Node::Any | Node::Class(_) => false,
        Node::Concat(v) => v.iter().all(nullable),
        Node::Alt(v) => v.iter().any(nullable),
        Node::Repeat { node, min, .. } => *min == 0 || nullable(node),
    }
}

/// Deepest nesting of groups accepted (the parser and compiler recurse on it).
const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    pat: &'a str,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn err<T>(&self, at: usize, message: impl Into<String>) -> Result<T, RegexError> {
        Err(RegexError {
            pattern: self.pat.to_string(),
            offset: at,
            message: message.into(),
        })
    }

    fn peek(&self) -> Option<char> {
        self.pat[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn alt(&mut self, fold: bool) -> Result<Node, RegexError> {
        let mut branches = vec![self.concat(fold)?];
        while self.eat('|') {
            branches.push(self.concat(fold)?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Empty)
        } else {
            Node::Alt(branches)
        })
    }

    fn concat(&mut self, fold: bool) -> Result<Node, RegexError> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom(fold)?;
            let atom = self.quantifiers(atom)?;
            items.push(atom);
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.pop().unwrap_or(Node::Empty),
            _ => Node::Concat(items),
        })
    }

    fn quantifiers(&mut self, atom: Node) -> Result<Node, RegexError> {
        let at = self.pos;
        let (min, max) = match self.peek() {
            Some('*') => {
                self.pos += 1;
                (0, None)
            }
            Some('+') => {
                self.pos += 1;
                (1, None)
            }
            Some('?') => {
                self.pos += 1;
                (0, Some(1))
            }
            Some('{') if self.counted_ahead() => {
                self.pos += 1;
                let min = self.number()?;
                let max = if self.eat(',') {
                    if self.peek() == Some('}') {
                        None
                    } else {
                        Some(self.number()?)
                    }
                } else {
                    Some(min)
                };
                if !self.eat('}') {
                    return self.err(self.pos, "expected `}` closing a counted repetition");
                }
                if max.is_some_and(|m| m < min) {
                    return self.err(at, "repetition with max < min");
                }
                (min, max)
            }
            _ => return Ok(atom),
        };
        let greedy = !self.eat('?');
        if matches!(self.peek(), Some('*' | '+' | '?')) || self.counted_ahead() {
            return self.err(self.pos, "stacked repetition operators are not supported");
        }
        if matches!(
            atom,
            Node::Look { .. } | Node::Empty | Node::Start | Node::End
        ) {
            return self.err(at, "repetition of an empty expression or a look-around");
        }
        if max.is_none() && nullable(&atom) {
            return self.err(
                at,
                "unbounded repetition of an expression that can match the empty string",
            );
        }
        Ok(Node::Repeat {
            node: Box::new(atom),
            min,
            max,
            greedy,
        })
    }

    /// Does a counted repetition `{n}`, `{n,}` or `{n,m}` start here? A `{` that starts
    /// none is a literal, as in `fancy-regex`.
    fn counted_ahead(&self) -> bool {
        let rest = &self.pat.as_bytes()[self.pos..];
        if rest.first() != Some(&b'{') {
            return false;
        }
        let digits = |from: usize| {
            rest[from..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
        };
        let n = digits(1);
        if n == 0 {
            return false;
        }
        let mut i = 1 + n;
        if rest.get(i) == Some(&b',') {
            i += 1;
            i += digits(i);
        }
        rest.get(i) == Some(&b'}')
    }

    fn number(&mut self) -> Result<u32, RegexError> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        match self.pat[start..self.pos].parse::<u32>() {
            Ok(n) if n <= 1000 => Ok(n),
            Ok(_) => self.err(start, "repetition count above 1000"),
            Err(_) => self.err(start, "expected a repetition count"),
        }
    }

    fn atom(&mut self, fold: bool) -> Result<Node, RegexError> {
        let at = self.pos;
        let Some(c) = self.bump() else {
            return self.err(at, "unexpected end");
        };
        match c {
            '(' => {
                if self.depth >= MAX_DEPTH {
                    return self.err(at, format!("groups nested deeper than {MAX_DEPTH}"));
                }
                let mut look = None;
                let mut inner_fold = fold;
                if self.eat('?') {
                    if self.eat(':') {
                    } else if self.eat('=') {
                        look = Some(false);
                    } else if self.eat('!') {
                        look = Some(true);
                    } else if self.pat[self.pos..].starts_with("i:") {
                        self.pos += 2;
                        inner_fold = true;
                    } else {
                        return self.err(
                            at,
                            "unsupported group kind (only `(?:`, `(?i:`, `(?=`, `(?!`)",
                        );
                    }
                }
                self.depth += 1;
                let node = self.alt(inner_fold)?;
                self.depth -= 1;
                if !self.eat(')') {
                    return self.err(at, "unclosed group");
                }
                Ok(match look {
                    Some(negate) => Node::Look {
                        node: Box::new(node),
                        negate,
                    },
                    None => node,
                })
            }
            '[' => self.class(at, fold),
            '.' => Ok(Node::Any),
            '\\' => match self.escape(at, fold)? {
                Esc::Char(c) => Ok(literal(c, fold, self, at)?),
                Esc::Set(s, neg) => Ok(Node::Class(Class::new(
                    vec![Item::Set(s, false)],
                    neg,
                    fold,
                ))),
            },
            '*' | '+' | '?' => self.err(at, "repetition operator without an expression"),
            '^' => Ok(Node::Start),
            '$' => Ok(Node::End),
            c => literal(c, fold, self, at),
        }
    }

    fn escape(&mut self, at: usize, fold: bool) -> Result<Esc, RegexError> {
        let Some(c) = self.bump() else {
            return self.err(at, "dangling backslash");
        };
        Ok(match c {
            'r' => Esc::Char('\r'),
            'n' => Esc::Char('\n'),
            't' => Esc::Char('\t'),
            'f' => Esc::Char('\u{c}'),
            'v' => Esc::Char('\u{b}'),
            's' => Esc::Set(Set::Space, false),
            'S' => Esc::Set(Set::Space, true),
            'w' => Esc::Set(Set::Word, false),
            'W' => Esc::Set(Set::Word, true),
            // Unicode decimal digits (Nd), as in the `regex` crate.
            'd' => Esc::Set(Set::Categories(1 << unicode::GC_ND), false),
            'D' => Esc::Set(Set::Categories(1 << unicode::GC_ND), true),
            'p' | 'P' => {
                let name = if self.eat('{') {
                    let start = self.pos;
                    while self.peek().is_some_and(|c| c != '}') {
                        self.bump();
                    }
                    let name = &self.pat[start..self.pos];
                    if !self.eat('}') {
                        return self.err(at, "unclosed `\\p{`");
                    }
                    name
                } else {
                    let start = self.pos;
                    self.bump();
                    &self.pat[start..self.pos]
                };
                let set = match property(name) {
                    Some(s) => s,
                    None => {
                        return self.err(
                            at,
                            format!(
                                "Unicode class `{name}` is not supported (only general \
                                 categories such as L, Lu, Nd, P)"
                            ),
                        );
                    }
                };
                // Under `(?i)` the `regex` crate adds every case variant of the class's
                // members; `fold_variants` only knows ASCII letters, which is exact for
                // the sets closed under case folding (letters, numbers) and no others.
                if fold && !matches!(set, Set::Letter | Set::Number) && set != ND {
                    return self.err(
                        at,
                        format!("Unicode class `{name}` under `(?i)` is not supported"),
                    );
                }
                Esc::Set(set, c == 'P')
            }
            'x' => {
                let (start, end) = if self.eat('{') {
                    let s = self.pos;
                    while self.peek().is_some_and(|c| c != '}') {
                        self.bump();
                    }
                    let e = self.pos;
                    if !self.eat('}') {
                        return self.err(at, "unclosed `\\x{`");
                    }
                    (s, e)
                } else {
                    let s = self.pos;
                    self.bump();
                    self.bump();
                    (s, self.pos.min(self.pat.len()))
                };
                match u32::from_str_radix(&self.pat[start..end], 16)
                    .ok()
                    .and_then(char::from_u32)
                {
                    Some(c) => Esc::Char(c),
                    None => return self.err(at, "invalid `\\x` escape"),
                }
            }
            c if c.is_ascii() && !c.is_ascii_alphanumeric() => Esc::Char(c),
            c => return self.err(at, format!("unsupported escape `\\{c}`")),
        })
    }

    fn class(&mut self, at: usize, fold: bool) -> Result<Node, RegexError> {
        let negated = self.eat('^');
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let here = self.pos;
            let Some(c) = self.bump() else {
                return self.err(at, "unclosed character class");
            };
            let lo = match c {
                ']' if !first => break,
                '[' => return self.err(here, "nested classes are not supported"),
                '&' | '~' | '-' if self.peek() == Some(c) => {
                    return self.err(here, "class set operations are not supported");
                }
                '\\' => match self.escape(here, fold)? {
                    Esc::Char(c) => c,
                    Esc::Set(s, neg) => {
                        items.push(Item::Set(s, neg));
                        first = false;
                        continue;
                    }
                },
                c => c,
            };
            first = false;
            // A range `lo-hi`, unless `-` is the last char before `]`.
            if self.peek() == Some('-') && !self.pat[self.pos + 1..].starts_with(']') {
                self.pos += 1;
                let h = self.pos;
                let hi = match self.bump() {
                    Some('\\') => match self.escape(h, fold)? {
                        Esc::Char(c) => c,
                        Esc::Set(..) => return self.err(h, "a class cannot end a range"),
                    },
                    Some('[') => return self.err(h, "nested classes are not supported"),
                    Some(c) => c,
                    None => return self.err(at, "unclosed character class"),
                };
                if hi < lo {
                    return self.err(here, "invalid range (end before start)");
                }
                items.push(Item::Range(lo, hi));
            } else {
                items.push(Item::Range(lo, lo));
            }
        }
        if fold
            && items
                .iter()
                .any(|it| matches!(*it, Item::Range(a, b) if !a.is_ascii() || !b.is_ascii()))
        {
            return self.err(at, "non-ASCII class members under `(?i)` are not supported");
        }
        Ok(Node::Class(Class::new(items, negated, fold)))
    }
}

enum Esc {
    Char(char),
    Set(Set, bool),
}

/// `\d`, `\p{Nd}`.
const ND: Set = Set::Categories(1 << unicode::GC_ND);

/// The general category names and aliases of Unicode's `PropertyValueAliases.txt`
/// (`gc`), in the loose form the `regex` crate matches them (lower case, no spaces,
/// `_` or `-`), with the bits of their categories in [`unicode::general_category`]'s
/// numbering (Lu Ll Lt Lm Lo Mn Mc Me Nd Nl No Pc Pd Ps Pe Pi Pf Po Sm Sc Sk So Zs Zl
/// Zp Cc Cf Co from 1, Cn 0; `C` includes Cn, as in the `regex` crate). Cs (surrogates)
/// is not among them: the `regex` crate refuses it.
const CATEGORIES: [(&str, u32); 74] = {
    const fn bits(first: u32, last: u32) -> u32 {
        ((1 << (last + 1)) - 1) & !((1 << first) - 1)
    }
    [
        ("lu", 1 << 1),
        ("uppercaseletter", 1 << 1),
        ("ll", 1 << 2),
        ("lowercaseletter", 1 << 2),
        ("lt", 1 << 3),
        ("titlecaseletter", 1 << 3),
        ("lc", bits(1, 3)),
        ("casedletter", bits(1, 3)),
        ("lm", 1 << 4),
        ("modifierletter", 1 << 4),
        ("lo", 1 << 5),
        ("otherletter", 1 << 5),
        ("m", bits(6, 8)),
        ("mark", bits(6, 8)),
        ("combiningmark", bits(6, 8)),
        ("mn", 1 << 6),
        ("nonspacingmark", 1 << 6),
        ("mc", 1 << 7),
        ("spacingmark", 1 << 7),
        ("me", 1 << 8),
        ("enclosingmark", 1 << 8),
        ("nd", 1 << 9),
        ("decimalnumber", 1 << 9),
        ("digit", 1 << 9),
        ("nl", 1 << 10),
        ("letternumber", 1 << 10),
        ("no", 1 << 11),
        ("othernumber", 1 << 11),
        ("p", bits(12, 18)),
        ("punctuation", bits(12, 18)),
        ("punct", bits(12, 18)),
        ("pc", 1 << 12),
        ("connectorpunctuation", 1 << 12),
        ("pd", 1 << 13),
        ("dashpunctuation", 1 << 13),
        ("ps", 1 << 14),
        ("openpunctuation", 1 << 14),
        ("pe", 1 << 15),
        ("closepunctuation", 1 << 15),
        ("pi", 1 << 16),
        ("initialpunctuation", 1 << 16),
        ("pf", 1 << 17),
        ("finalpunctuation", 1 << 17),
        ("po", 1 << 18),
        ("otherpunctuation", 1 << 18),
        ("s", bits(19, 22)),
        ("symbol", bits(19, 22)),
        ("sm", 1 << 19),
        ("mathsymbol", 1 << 19),
        ("sc", 1 << 20),
        ("currencysymbol", 1 << 20),
        ("sk", 1 << 21),
        ("modifiersymbol", 1 << 21),
        ("so", 1 << 22),
        ("othersymbol", 1 << 22),
        ("z", bits(23, 25)),
        ("separator", bits(23, 25)),
        ("zs", 1 << 23),
        ("spaceseparator", 1 << 23),
        ("zl", 1 << 24),
        ("lineseparator", 1 << 24),
        ("zp", 1 << 25),
        ("paragraphseparator", 1 << 25),
        ("c", bits(26, 28) | 1),
        ("other", bits(26, 28) | 1),
        ("cc", 1 << 26),
        ("control", 1 << 26),
        ("cntrl", 1 << 26),
        ("cf", 1 << 27),
        ("format", 1 << 27),
        ("co", 1 << 28),
        ("privateuse", 1 << 28),
        ("cn", 1),
        ("unassigned", 1),
    ]
};

/// The set a `\p{name}` names: a general category or a union of them (optionally
/// written `gc=..` or `General_Category=..`), or `None`.
fn property(name: &str) -> Option<Set> {
    let mut loose: String = name
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    for prefix in ["gc=", "generalcategory="] {
        if let Some(rest) = loose.strip_prefix(prefix) {
            loose = rest.to_string();
            break;
        }
    }
    match loose.as_str() {
        "l" | "letter" => return Some(Set::Letter),
        "n" | "number" => return Some(Set::Number),
        _ => {}
    }
    CATEGORIES
        .iter()
        .find(|(n, _)| *n == loose)
        .map(|&(_, m)| Set::Categories(m))
}

fn literal(c: char, fold: bool, p: &Parser<'_>, at: usize) -> Result<Node, RegexError> {
    if !fold {
        return Ok(Node::Char(c));
    }
    if !c.is_ascii() {
        return p.err(at, "non-ASCII literals under `(?i)` are not supported");
    }
    let v = fold_variants(c);
    Ok(if v.len() == 1 {
        Node::Char(c)
    } else {
        Node::Fold(v)
    })
}

#[derive(Debug, Clone)]
enum Inst {
    Char(char),
    Fold(Vec<char>),
    Any,
    Class(u32),
    /// Try `.0` first, then `.1`.
    Split(u32, u32),
    Jmp(u32),
    /// A look-ahead whose body follows (ending in `Match`); continue at `end`.
    Look {
        negate: bool,
        end: u32,
    },
    Start,
    End,
    Match,
}

struct Compiler<'a> {
    prog: Vec<Inst>,
    classes: Vec<Class>,
    pattern: &'a str,
}

impl Compiler<'_> {
    fn pc(&self) -> u32 {
        self.prog.len() as u32
    }

    fn push(&mut self, i: Inst) -> Result<u32, RegexError> {
        if self.prog.len() >= MAX_PROGRAM {
            return Err(RegexError {
                pattern: self.pattern.to_string(),
                offset: 0,
                message: format!("compiled program larger than {MAX_PROGRAM} instructions"),
            });
        }
        self.prog.push(i);
        Ok(self.pc() - 1)
    }

    fn patch(&mut self, at: u32, target: u32, second: bool) {
        match &mut self.prog[at as usize] {
            Inst::Split(a, b) => {
                if second {
                    *b = target;
                } else {
                    *a = target;
                }
            }
            Inst::Jmp(a) => *a = target,
            Inst::Look { end, .. } => *end = target,
            _ => {}
        }
    }

    fn node(&mut self, n: &Node) -> Result<(), RegexError> {
        match n {
            Node::Empty => {}
            Node::Char(c) => {
                self.push(Inst::Char(*c))?;
            }
            Node::Fold(v) => {
                self.push(Inst::Fold(v.clone()))?;
            }
            Node::Any => {
                self.push(Inst::Any)?;
            }
            Node::Start => {
                self.push(Inst::Start)?;
            }
            Node::End => {
                self.push(Inst::End)?;
            }
            Node::Class(c) => {
                self.classes.push(c.clone());
                self.push(Inst::Class(self.classes.len() as u32 - 1))?;
            }
            Node::Concat(v) => {
                for x in v {
                    self.node(x)?;
                }
            }
            Node::Alt(v) => {
                let mut jumps = Vec::new();
                for (i, x) in v.iter().enumerate() {
                    if i + 1 < v.len() {
                        let split = self.push(Inst::Split(0, 0))?;
                        self.patch(split, split + 1, false);
                        self.node(x)?;
                        jumps.push(self.push(Inst::Jmp(0))?);
                        let next = self.pc();
                        self.patch(split, next, true);
                    } else {
                        self.node(x)?;
                    }
                }
                let end = self.pc();
                for j in jumps {
                    self.patch(j, end, false);
                }
            }
            Node::Repeat {
                node,
                min,
                max,
                greedy,
            } => {
                for _ in 0..*min {
                    self.node(node)?;
                }
                match max {
                    None => {
                        let split = self.push(Inst::Split(0, 0))?;
                        self.node(node)?;
                        self.push(Inst::Jmp(split))?;
                        let end = self.pc();
                        self.patch(split, split + 1, !*greedy);
                        self.patch(split, end, *greedy);
                    }
                    Some(max) => {
                        let mut splits = Vec::new();
                        for _ in *min..*max {
                            let split = self.push(Inst::Split(0, 0))?;
                            self.patch(split, split + 1, !*greedy);
                            splits.push(split);
                            self.node(node)?;
                        }
                        let end = self.pc();
                        for s in splits {
                            self.patch(s, end, *greedy);
                        }
                    }
                }
            }
            Node::Look { node, negate } => {
                let look = self.push(Inst::Look {
                    negate: *negate,
                    end: 0,
                })?;
                self.node(node)?;
                self.push(Inst::Match)?;
                let end = self.pc();
                self.patch(look, end, false);
            }
        }
        Ok(())
    }
}

/// A compiled pattern.
#[derive(Clone)]
pub(crate) struct Regex {
    pattern: String,
    prog: Vec<Inst>,
    classes: Vec<Class>,
}

impl fmt::Debug for Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Regex").field(&self.pattern).finish()
    }
}

/// The step budget was exhausted.
struct Exhausted;

impl Regex {
    /// Compiles `pattern`.
    pub(crate) fn new(pattern: &str) -> Result<Regex, RegexError> {
        let mut p = Parser {
            pat: pattern,
            pos: 0,
            depth: 0,
        };
        let ast = p.alt(false)?;
        if p.pos < pattern.len() {
            return p.err(p.pos, "unmatched `)`");
        }
        let mut c = Compiler {
            prog: Vec::new(),
            classes: Vec::new(),
            pattern,
        };
        c.node(&ast)?;
        c.push(Inst::Match)?;
        Ok(Regex {
            pattern: pattern.to_string(),
            prog: c.prog,
            classes: c.classes,
        })
    }

    /// The source pattern.
    #[cfg(test)]
    pub(crate) fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Non-overlapping leftmost-first matches of `s`, as byte ranges. An empty match
    /// right after the previous match is skipped, as in the `regex` crate and
    /// `fancy-regex`.
    pub(crate) fn find_iter<'r, 's>(&'r self, s: &'s str) -> Matches<'r, 's> {
        Matches {
            re: self,
            s,
            pos: 0,
            last_match: None,
            steps: 0,
            stack: Vec::new(),
        }
    }

    /// The leftmost-first match starting at or after `start`.
    fn find_at(
        &self,
        s: &str,
        start: usize,
        stack: &mut Vec<(u32, usize)>,
        total: &mut u64,
    ) -> Result<Option<(usize, usize)>, Exhausted> {
        let mut p = start;
        loop {
            let mut steps = 0u64;
            let r = self.run(s, 0, p, stack, &mut steps);
            *total += steps;
            if let Some(end) = r? {
                return Ok(Some((p, end)));
            }
            match s[p..].chars().next() {
                Some(c) => p += c.len_utf8(),
                None => return Ok(None),
            }
        }
    }

    /// Runs the program from `pc` at `pos`; the end of the first match found.
    fn run(
        &self,
        s: &str,
        pc: u32,
        pos: usize,
        stack: &mut Vec<(u32, usize)>,
        steps: &mut u64,
    ) -> Result<Option<usize>, Exhausted> {
        let bytes = s.as_bytes();
        let base = stack.len();
        stack.push((pc, pos));
        while stack.len() > base {
            let Some((mut pc, mut pos)) = stack.pop() else {
                break;
            };
            loop {
                *steps += 1;
                if *steps > STEP_BUDGET {
                    stack.truncate(base);
                    return Err(Exhausted);
                }
                match &self.prog[pc as usize] {
                    Inst::Char(c) => {
                        if c.is_ascii() {
                            if bytes.get(pos) == Some(&(*c as u8)) {
                                pos += 1;
                                pc += 1;
                                continue;
                            }
                            break;
                        }
                        match s[pos..].chars().next() {
                            Some(d) if d == *c => {
                                pos += d.len_utf8();
                                pc += 1;
                            }
                            _ => break,
                        }
                    }
                    Inst::Fold(v) => match s[pos..].chars().next() {
                        Some(d) if v.contains(&d) => {
                            pos += d.len_utf8();
                            pc += 1;
                        }
                        _ => break,
                    },
                    Inst::Any => match s[pos..].chars().next() {
                        Some(d) if d != '\n' => {
                            pos += d.len_utf8();
                            pc += 1;
                        }
                        _ => break,
                    },
                    Inst::Class(i) => {
                        let class = &self.classes[*i as usize];
                        match bytes.get(pos) {
                            Some(&b) if b < 0x80 => {
                                if class.ascii & (1 << b) != 0 {
                                    pos += 1;
                                    pc += 1;
                                    continue;
                                }
                                break;
                            }
                            Some(_) => {}
                            None => break,
                        }
                        match s[pos..].chars().next() {
                            Some(d) if class.matches(d) => {
                                pos += d.len_utf8();
                                pc += 1;
                            }
                            _ => break,
                        }
                    }
                    Inst::Split(a, b) => {
                        stack.push((*b, pos));
                        pc = *a;
                    }
                    Inst::Jmp(a) => pc = *a,
                    Inst::Start => {
                        if pos != 0 {
                            break;
                        }
                        pc += 1;
                    }
                    Inst::End => {
                        if pos != bytes.len() {
                            break;
                        }
                        pc += 1;
                    }
                    Inst::Look { negate, end } => {
                        let found = self.run(s, pc + 1, pos, stack, steps)?.is_some();
                        if found == *negate {
                            break;
                        }
                        pc = *end;
                    }
                    Inst::Match => {
                        stack.truncate(base);
                        return Ok(Some(pos));
                    }
                }
            }
        }
        Ok(None)
    }
}

/// The iterator of [`Regex::find_iter`].
pub(crate) struct Matches<'r, 's> {
    re: &'r Regex,
    s: &'s str,
    pos: usize,
    last_match: Option<usize>,
    steps: u64,
    stack: Vec<(u32, usize)>,
}

impl Matches<'_, '_> {
    /// Matching steps taken so far (for tests of the cost of matching).
    #[cfg(test)]
    pub(crate) fn steps(&self) -> u64 {
        self.steps
    }
}

impl Iterator for Matches<'_, '_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        loop {
            if self.pos > self.s.len() {
                return None;
            }
            let found = self
                .re
                .find_at(self.s, self.pos, &mut self.stack, &mut self.steps);
            let (a, b) = match found {
                Ok(Some(m)) => m,
                Ok(None) | Err(Exhausted) => {
                    self.pos = self.s.len() + 1;
                    return None;
                }
            };
            if a == b {
                self.pos = b + self.s[b..].chars().next().map_or(1, char::len_utf8);
                if self.last_match == Some(b) {
                    continue;
                }
            } else {
                self.pos = b;
            }
            self.last_match = Some(b);
            return Some(a..b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all<'a>(p: &str, s: &'a str) -> Vec<&'a str> {
        let re = Regex::new(p).unwrap_or_else(|e| panic!("{e}"));
        re.find_iter(s).map(|r| &s[r]).collect()
    }

    fn ranges(p: &str, s: &str) -> Vec<(usize, usize)> {
        let re = Regex::new(p).unwrap_or_else(|e| panic!("{e}"));
        re.find_iter(s).map(|r| (r.start, r.end)).collect()
    }

    const GPT4: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    const QWEN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    #[test]
    fn literals_and_escapes() {
        assert_eq!(all("ab", "xabyab"), ["ab", "ab"]);
        assert_eq!(all(r"\r\n\t", "a\r\n\tb"), ["\r\n\t"]);
        assert_eq!(
            all(r"\.\+\(\)\[\]\{\}\|\\\?\*\^\$", r".+()[]{}|\?*^$"),
            [r".+()[]{}|\?*^$"]
        );
        assert_eq!(
            all(r"\s+", "a \u{3000}\tb\u{a0}"),
            [" \u{3000}\t", "\u{a0}"]
        );
        assert_eq!(all(r"\S+", "ab  cd"), ["ab", "cd"]);
        assert_eq!(all(r"\w+", "héllo_1 wörld!"), ["héllo_1", "wörld"]);
        assert_eq!(all(r"\W", "a b!"), [" ", "!"]);
        assert_eq!(all(r"\x41\x{263A}", "A☺"), ["A☺"]);
        assert_eq!(all("a.c", "abc a\nc a☺c"), ["abc", "a☺c"]);
        assert_eq!(all("é+", "éé e"), ["éé"]);
    }

    #[test]
    fn classes() {
        assert_eq!(all("[a-c]+", "abcd cab"), ["abc", "cab"]);
        assert_eq!(all("[^a-c ]+", "abcd cab xyz"), ["d", "xyz"]);
        assert_eq!(all(r"[\p{L}]+", "ab1 ü"), ["ab", "ü"]);
        assert_eq!(all(r"[^\s\p{L}\p{N}]+", "a!? b,٣"), ["!?", ","]);
        assert_eq!(all(r"[\r\n]+", "a\r\n\nb"), ["\r\n\n"]);
        assert_eq!(all("[-a]+", "a-b"), ["a-"]);
        assert_eq!(all("[a-]+", "a-b"), ["a-"]);
        assert_eq!(all("[]a]+", "]a"), ["]a"]);
        assert_eq!(all(r"[\]\\]+", r"x]\y"), [r"]\"]);
        assert_eq!(all(r"\p{N}+", "x12٣४5y"), ["12٣४5"]);
        assert_eq!(all(r"\P{L}+", "ab12!c"), ["12!"]);
        assert_eq!(all(r"\pL+", "ab12"), ["ab"]);
        assert_eq!(all(r"[\P{L}]+", "ab12!c"), ["12!"]);
    }

    #[test]
    fn alternation_groups_and_repeats() {
        // Leftmost-first: the first alternative wins, not the longest.
        assert_eq!(all("a|ab", "ab"), ["a"]);
        assert_eq!(all("ab|a", "ab"), ["ab"]);
        assert_eq!(all("(?:ab)+", "ababa"), ["abab"]);
        assert_eq!(all("(a|b)c", "acbcc"), ["ac", "bc"]);
        assert_eq!(all("a{2}", "aaaaa"), ["aa", "aa"]);
        assert_eq!(all("a{2,}", "a aa aaaa"), ["aa", "aaaa"]);
        assert_eq!(all("a{1,3}", "aaaaa"), ["aaa", "aa"]);
        assert_eq!(all(" {2,}", "a b  c     d"), ["  ", "     "]);
        assert_eq!(all("a+?", "aaa"), ["a", "a", "a"]);
        assert_eq!(all("a*?b", "aab"), ["aab"]);
        assert_eq!(all("a{1,3}?", "aaa"), ["a", "a", "a"]);
        assert_eq!(all("x?y", "xy y"), ["xy", "y"]);
        assert_eq!(all("x??y", "xy"), ["xy"]);
        // A `{` that starts no counted repetition is a literal, as in fancy-regex.
        assert_eq!(all("a{,2}|{x", "a{,2} {x"), ["a{,2}", "{x"]);
    }

    #[test]
    fn empty_matches_advance_like_the_regex_crate() {
        assert_eq!(ranges("a*", "baab"), [(0, 0), (1, 3), (4, 4)]);
        assert_eq!(ranges("", "é"), [(0, 0), (2, 2)]);
        assert_eq!(ranges("a*", ""), [(0, 0)]);
        assert_eq!(ranges("x?", "ab"), [(0, 0), (1, 1), (2, 2)]);
    }

    #[test]
    fn case_insensitive_groups() {
        assert_eq!(all("(?i:'s|'ll)", "'S 'Ll 'lL 'x"), ["'S", "'Ll", "'lL"]);
        // Unicode simple case folding of ASCII letters, as the `regex` crate does.
        assert_eq!(all("(?i:'s)", "'\u{17f}"), ["'\u{17f}"]);
        assert_eq!(all("(?i:k)", "\u{212a}"), ["\u{212a}"]);
        assert_eq!(all("(?i:[a-c]+)x", "aBCx ABx"), ["aBCx", "ABx"]);
        assert_eq!(all("(?i:a)a", "AA Aa"), ["Aa"]);
    }

    #[test]
    fn look_aheads() {
        assert_eq!(all(r"\s+(?!\S)", "a   b"), ["  "]);
        assert_eq!(all(r"\s+(?!\S)", "a   "), ["   "]);
        assert_eq!(all(r"a(?=b)", "ab ac"), ["a"]);
        assert_eq!(all(r"a(?!b)", "ab ac"), ["a"]);
        assert_eq!(ranges(r"a(?!b)", "ab ac"), [(3, 4)]);
        assert_eq!(all(r"^a|b$", "aab ab"), ["a", "b"]);
        assert_eq!(ranges(r"^|$", "ab"), [(0, 0), (2, 2)]);
    }

    #[test]
    fn gpt4_pattern() {
        assert_eq!(
            all(GPT4, "Hello world's  END!!\n\n  x 12345 don'T"),
            [
                "Hello", " world", "'s", " ", " END", "!!\n\n", " ", " x", " ", "123", "45",
                " don", "'T"
            ]
        );
        assert_eq!(all(GPT4, "   "), ["   "]);
        assert_eq!(all(GPT4, "a \n\n b"), ["a", " \n\n", " b"]);
        assert_eq!(all(GPT4, "x\r\n  \ty"), ["x", "\r\n", "  ", "\ty"]);
        assert_eq!(
            all(GPT4, "\"quoted\" (par)"),
            ["\"quoted", "\"", " (", "par", ")"]
        );
        assert_eq!(all(GPT4, "中文 テスト"), ["中文", " テスト"]);
        assert_eq!(all(GPT4, "😀👍 ok"), ["😀👍", " ok"]);
        assert_eq!(all(GPT4, "e\u{301}tude"), ["e", "\u{301}tude"]);
        assert_eq!(all(QWEN, "12345"), ["1", "2", "3", "4", "5"]);
        assert_eq!(all(GPT4, "'ve 'VE 'x"), ["'ve", " '", "VE", " '", "x"]);
    }

    #[test]
    fn compile_errors_name_the_pattern() {
        for (p, at) in [
            ("(", 0),
            ("a)", 1),
            ("[a", 0),
            ("*a", 0),
            ("a**", 2),
            ("a^*", 2),
            ("(?<=a)b", 0),
            (r"\p{Han}", 0),
            (r"\p{Lu", 0),
            (r"(?i:\p{Lu})", 4),
            (r"a(?i:[\P{Ll}])", 6),
            (r"\b", 0),
            (r"\1", 0),
            ("a{3,1}", 1),
            ("a{2000}", 2),
            ("(?:a*)*", 6),
            ("[[a]]", 1),
            ("[z-a]", 1),
            ("(?i:é)", 4),
            (&"(".repeat(100), 64),
        ] {
            let e = Regex::new(p).unwrap_err();
            assert_eq!(e.pattern, p);
            assert_eq!(e.offset, at, "{p}: {e}");
            assert!(e.to_string().contains(p), "{e}");
        }
    }

    #[test]
    fn matching_cost_is_linear_on_long_runs() {
        for re in [GPT4, QWEN, " {2,}", r"\s+(?!\S)|\s+"] {
            let re = Regex::new(re).unwrap_or_else(|e| panic!("{e}"));
            for text in [
                " ".repeat(100_000),
                "a".repeat(100_000),
                format!("{}x", " ".repeat(100_000)),
                " \n".repeat(50_000),
                "é!".repeat(50_000),
                "1".repeat(100_000),
            ] {
                let mut it = re.find_iter(&text);
                let covered: usize = (&mut it).map(|r| r.len()).sum();
                if re.as_str() == GPT4 || re.as_str() == QWEN {
                    assert_eq!(covered, text.len(), "these patterns match every char");
                }
                assert!(
                    it.steps() < 40 * text.len() as u64,
                    "{}: {} steps on {} bytes",
                    re.as_str(),
                    it.steps(),
                    text.len()
                );
            }
        }
    }

    /// Texts for the comparison with the oracle: hand-made cases, pseudo-random strings
    /// over an alphabet of the characters the patterns distinguish, and the lines of a
    /// few benchmark files when the shared data is present.
    fn oracle_texts() -> Vec<String> {
        let mut v: Vec<String> = [
            "",
            " ",
            "Hello world's  END!!\n\n  x 12345 don'T",
            "I'm YOU'RE we'Ve 'ſ 'K 'x ''s",
            "a  b   c    d\t\te\r\n\r\n f \n \n g",
            "٣٤٥ ²³ ½ e\u{301}tude \u{301}x 😀👍 中文 \u{a0}x\u{3000}",
            "foo.bar(baz); // qux\n\tif (x) { return y; }",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let alphabet: Vec<char> =
            " \n\r\taZsSlLeEvVdDmMrRtTkK'ſ\u{212a}1٣!.é\u{301}中😀\u{a0}\u{3000}_-"
                .chars()
                .collect();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..3000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let n = (state >> 58) as usize;
            let mut t = String::new();
            for _ in 0..n {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                t.push(alphabet[(state >> 33) as usize % alphabet.len()]);
            }
            v.push(t);
        }
        if let Some(data) = m2v_hub::testing::shared_data() {
            for f in [
                "senteval/SST/binary/sentiment-train",
                "senteval/MR/rt-polarity.pos",
                "senteval/CR/custrev.neg",
                "senteval/TREC/train_5500.label",
                "ag_news/test.csv",
            ] {
                if let Ok(b) = std::fs::read(data.join(f)) {
                    v.extend(String::from_utf8_lossy(&b).lines().map(str::to_string));
                }
            }
        }
        v
    }

    /// The engine against `fancy-regex` (through `tokenizers`' `SysRegex`, which is what
    /// HF uses): the same match ranges on every text.
    #[test]
    fn same_matches_as_fancy_regex() {
        let texts = oracle_texts();
        for p in [
            GPT4,
            QWEN,
            " {2,}",
            r"\s+(?!\S)|\s+",
            r"\w+|[^\w\s]+",
            r"(?i:'s|'t|'re|'ve|'m|'ll|'d)",
            r"(?i:[a-e]+)",
            r"\p{N}{1,3}",
            r"\P{L}+",
            r"[^\r\n\p{L}\p{N}]?\p{L}+",
            r"\S+?\s",
            r"a*",
            r"\s*",
            r"x??",
            r".+",
            r"(?:\p{L}|')+(?=\s|$)",
            r"[\-.!]+|[\x{4e00}-\x{9fff}]",
            r"(e|é)\x{301}?",
        ] {
            let ours = Regex::new(p).unwrap_or_else(|e| panic!("{e}"));
            let oracle = tokenizers::utils::SysRegex::new(p).unwrap_or_else(|e| panic!("{p}: {e}"));
            let mut bad = 0;
            for t in &texts {
                let got: Vec<(usize, usize)> =
                    ours.find_iter(t).map(|r| (r.start, r.end)).collect();
                let want: Vec<(usize, usize)> = oracle.find_iter(t).collect();
                if got != want {
                    bad += 1;
                    if bad <= 5 {
                        eprintln!("{p} on {t:?}:\n  ours   {got:?}\n  oracle {want:?}");
                    }
                }
            }
            assert_eq!(bad, 0, "{p}: {bad} of {} texts differ", texts.len());
        }
    }

    /// Every general category name and alias, and `\d`, alone, negated and inside a
    /// negated class, against fancy-regex on every code point below U+0800 and in
    /// U+2000..U+2100 (the only Zl and Zp), and every 29th one above.
    #[test]
    fn general_categories_match_fancy_regex() {
        let text: String = (0..0x800u32)
            .chain(0x2000..0x2100)
            .chain((0x800..0x11_0000).step_by(29))
            .filter_map(char::from_u32)
            .collect();
        let mut patterns: Vec<String> = vec![
            r"\d+".into(),
            r"\D+".into(),
            r"[\d_]+".into(),
            r"(?i:\d+|[\p{Nd}a])".into(),
            r"\pL\pN".into(),
            r"\PP+".into(),
            r"\p{Uppercase_Letter}+".into(),
            r"\p{gc=Lu}\p{General_Category=Ll}".into(),
            r"\p{ Lower case-Letter }+".into(),
            r"\p{LU}+".into(),
        ];
        for (name, _) in CATEGORIES {
            patterns.push(format!(r"\p{{{name}}}+"));
            patterns.push(format!(r"\P{{{name}}}+"));
            patterns.push(format!(r"[^\p{{{name}}}\s]+"));
        }
        for p in &patterns {
            let ours = Regex::new(p).unwrap_or_else(|e| panic!("{e}"));
            let oracle = tokenizers::utils::SysRegex::new(p).unwrap_or_else(|e| panic!("{p}: {e}"));
            let got: Vec<(usize, usize)> =
                ours.find_iter(&text).map(|r| (r.start, r.end)).collect();
            let want: Vec<(usize, usize)> = oracle.find_iter(&text).collect();
            assert!(!want.is_empty(), "{p} matches nothing");
            assert!(
                got == want,
                "{p}: {} matches, oracle {}",
                got.len(),
                want.len()
            );
        }
    }

    /// Random patterns over the metacharacters: compiling and matching never panic, and
    /// every pattern both engines accept gives the same matches.
    #[test]
    fn random_patterns_never_panic_and_agree_with_fancy_regex() {
        let alphabet: Vec<&str> = vec![
            "a", "b", " ", "(", ")", "(?:", "(?i:", "(?=", "(?!", "[", "]", "^", "-", "|", "*",
            "+", "?", "{", "}", "1", ",", "2", "\\s", "\\S", "\\p{L}", "\\P{N}", "\\w", ".", "\\",
            "'", "$", "\\n",
        ];
        let texts = [
            "",
            "a",
            "ab ba",
            "aab  b'a\n",
            "A  B\tab1",
            "ba{1,2}a",
            "x(a)[b]",
            "é ab",
            " \n ",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as usize
        };
        let (mut compared, mut refused) = (0, 0);
        let mut refused_but_valid = Vec::new();
        let mut accepted_but_invalid = Vec::new();
        for _ in 0..20_000 {
            let n = 1 + next() % 8;
            let p: String = (0..n).map(|_| alphabet[next() % alphabet.len()]).collect();
            let oracle = tokenizers::utils::SysRegex::new(&p);
            let Ok(ours) = Regex::new(&p) else {
                refused += 1;
                if oracle.is_ok() && refused_but_valid.len() < 20 {
                    refused_but_valid.push(p);
                }
                continue;
            };
            let Ok(oracle) = oracle else {
                accepted_but_invalid.push(p);
                continue;
            };
            compared += 1;
            for t in texts {
                let got: Vec<(usize, usize)> =
                    ours.find_iter(t).map(|r| (r.start, r.end)).collect();
                let want: Vec<(usize, usize)> = oracle.find_iter(t).collect();
                assert_eq!(got, want, "{p:?} on {t:?}");
            }
        }
        eprintln!("{compared} compared, {refused} refused; e.g. {refused_but_valid:?}");
        assert!(compared > 1000, "{compared} compared, {refused} refused");
        assert!(
            accepted_but_invalid.is_empty(),
            "accepted, refused by fancy-regex: {accepted_but_invalid:?}"
        );
    }

    #[test]
    fn budget_stops_iteration_instead_of_hanging() {
        // Exponential for a backtracker: `(a|a)+b` on a run of `a`s with no `b`.
        let re = Regex::new("(?:a|a)+b").unwrap_or_else(|e| panic!("{e}"));
        let text = "a".repeat(40);
        let mut it = re.find_iter(&text);
        assert_eq!((&mut it).count(), 0);
        assert!(it.steps() <= STEP_BUDGET + 1);
    }
}
