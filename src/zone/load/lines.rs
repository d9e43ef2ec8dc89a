//! Line numbers for master-file entries.
//!
//! The `domain` scanner reports no position for the entries it returns, and the position it
//! reports for an error is where it stopped, often the start of the next token or line. This
//! small lexer follows the scanner's tokenization (whitespace, parentheses, `;` comments,
//! quoted strings, backslash escapes, `$` directives) to find the line where each entry starts,
//! and the token an error position refers to.

/// What a logical line of a master file holds, as the scanner sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum EntryKind {
    /// A resource record.
    Record,
    /// An `$INCLUDE` directive, which the scanner returns as an entry.
    Include,
    /// `$ORIGIN`, `$TTL` or another directive, which the scanner handles itself.
    Control,
}

/// Where one entry that the scanner returns starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct EntryStart {
    /// 1-based line of the entry's first token.
    pub line: usize,
    pub kind: EntryKind,
    /// Whether a token after the first is a bare `@` (which stands for the origin in a name).
    pub at_in_data: bool,
}

/// The token nearest to a scanner error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ErrorSite {
    /// 1-based line of the token.
    pub line: usize,
    /// The token's text as written (a parenthesis counts as a token here).
    pub token: String,
    /// The line of the outermost parenthesis still open at that token, if any.
    pub open_paren_line: Option<usize>,
    /// Whether the scanner stopped at the end of the text.
    pub at_end: bool,
    /// Whether the token is a quoted string that the text does not close.
    pub unclosed_quote: bool,
}

/// A position in the text.
#[derive(Clone, Copy, Debug)]
struct Pos {
    offset: usize,
    line: usize,
}

/// What the lexer found next, mirroring the scanner's items.
enum Item {
    Eof,
    LineFeed,
    Token { pos: Pos, has_space: bool },
}

struct Lexer<'a> {
    text: &'a [u8],
    offset: usize,
    line: usize,
    parens: usize,
    /// Line of the outermost open parenthesis.
    open_paren_line: usize,
    /// Whether the last quoted token skipped had its closing quote.
    quote_closed: bool,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a [u8]) -> Self {
        Lexer {
            text,
            offset: 0,
            line: 1,
            parens: 0,
            open_paren_line: 0,
            quote_closed: true,
        }
    }

    fn pos(&self) -> Pos {
        Pos {
            offset: self.offset,
            line: self.line,
        }
    }

    /// Moves over `count` bytes, counting line feeds.
    fn advance(&mut self, count: usize) {
        let end = (self.offset + count).min(self.text.len());
        self.line += self.text[self.offset..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.offset = end;
    }

    /// Skips whitespace, parentheses and comments up to the next token or the end of a
    /// logical line; `on_paren` sees each parenthesis.
    fn next_item(&mut self, on_paren: &mut dyn FnMut(Pos)) -> Item {
        let mut has_space = false;
        loop {
            let Some(&byte) = self.text.get(self.offset) else {
                return Item::Eof;
            };
            match byte {
                b' ' | b'\t' | b'\r' => {
                    has_space = true;
                    self.offset += 1;
                }
                b'(' | b')' => {
                    on_paren(self.pos());
                    if byte == b'(' && self.parens == 0 {
                        self.open_paren_line = self.line;
                    }
                    self.parens = if byte == b'(' {
                        self.parens + 1
                    } else {
                        self.parens.saturating_sub(1)
                    };
                    self.offset += 1;
                }
                b';' => {
                    while self.text.get(self.offset).is_some_and(|&b| b != b'\n') {
                        self.offset += 1;
                    }
                }
                b'\n' => {
                    self.advance(1);
                    if self.parens == 0 {
                        return Item::LineFeed;
                    }
                }
                _ => {
                    return Item::Token {
                        pos: self.pos(),
                        has_space,
                    }
                }
            }
        }
    }

    /// Skips the token starting at the current offset; returns its content (without quotes).
    fn skip_token(&mut self) -> &'a [u8] {
        let text = self.text;
        if text[self.offset] == b'"' {
            self.offset += 1;
            let start = self.offset;
            loop {
                match text.get(self.offset) {
                    None => {
                        self.quote_closed = false;
                        return &text[start..];
                    }
                    Some(b'"') => {
                        self.quote_closed = true;
                        self.offset += 1;
                        return &text[start..self.offset - 1];
                    }
                    Some(b'\\') => self.advance(2),
                    Some(_) => self.advance(1),
                }
            }
        }
        let start = self.offset;
        loop {
            match text.get(self.offset) {
                None | Some(b' ' | b'\t' | b'\r' | b'\n' | b'(' | b')' | b';' | b'"') => {
                    return &text[start..self.offset];
                }
                Some(b'\\') => self.advance(2),
                Some(_) => self.offset += 1,
            }
        }
    }

    /// Skips tokens up to the end of the logical line; returns whether one of them is a
    /// bare `@`.
    fn skip_rest_of_entry(&mut self) -> bool {
        let mut at_token = false;
        loop {
            match self.next_item(&mut |_| {}) {
                Item::Eof | Item::LineFeed => return at_token,
                Item::Token { pos, .. } => {
                    let quoted = self.text[pos.offset] == b'"';
                    at_token |= self.skip_token() == b"@" && !quoted;
                }
            }
        }
    }
}

/// The start of every entry that the scanner returns (records and `$INCLUDE`s), in order.
pub(super) struct EntryStarts<'a> {
    lexer: Lexer<'a>,
}

impl<'a> EntryStarts<'a> {
    pub(super) fn new(text: &'a [u8]) -> Self {
        EntryStarts {
            lexer: Lexer::new(text),
        }
    }
}

impl Iterator for EntryStarts<'_> {
    type Item = EntryStart;

    fn next(&mut self) -> Option<EntryStart> {
        loop {
            let (pos, has_space) = match self.lexer.next_item(&mut |_| {}) {
                Item::Eof => return None,
                Item::LineFeed => continue,
                Item::Token { pos, has_space } => (pos, has_space),
            };
            let token = self.lexer.skip_token();
            // Like the scanner: an indented line is a record of the previous owner; an
            // unindented one whose first character is `$` is a directive.
            let kind = if has_space || token.first() != Some(&b'$') {
                EntryKind::Record
            } else if token.eq_ignore_ascii_case(b"$INCLUDE") {
                EntryKind::Include
            } else {
                EntryKind::Control
            };
            let at_in_data = self.lexer.skip_rest_of_entry();
            if kind != EntryKind::Control {
                return Some(EntryStart {
                    line: pos.line,
                    kind,
                    at_in_data,
                });
            }
        }
    }
}

/// If the text ends inside parentheses, where the entry holding the parenthesis that is
/// never closed starts (byte offset of its line) and the line of that parenthesis. (The
/// scanner may panic on such text, so it must not see it.)
pub(super) fn unclosed_parenthesis(text: &[u8]) -> Option<(usize, usize)> {
    let mut lexer = Lexer::new(text);
    loop {
        let entry_offset = lexer.offset;
        match lexer.next_item(&mut |_| {}) {
            Item::Eof => {
                return (lexer.parens > 0).then_some((entry_offset, lexer.open_paren_line))
            }
            Item::LineFeed => {}
            Item::Token { .. } => {
                lexer.skip_token();
                lexer.skip_rest_of_entry();
                if lexer.parens > 0 {
                    return Some((entry_offset, lexer.open_paren_line));
                }
            }
        }
    }
}

/// Finds the token that a scanner error at `line`:`col` (1-based, in bytes) concerns: the
/// last token starting before that position, or at it when `at_position` is set (for errors
/// the scanner reports at the offending token itself rather than after it).
pub(super) fn error_site(text: &[u8], line: usize, col: usize, at_position: bool) -> ErrorSite {
    let target = offset_of(text, line, col);
    let mut lexer = Lexer::new(text);
    let mut nearest: Option<(Pos, usize)> = None;
    let mut closed = true;
    let mut open_paren_line = None;
    let before = |pos: Pos| pos.offset < target || (at_position && pos.offset == target);
    loop {
        let mut paren = None;
        let item = lexer.next_item(&mut |pos| {
            if before(pos) {
                paren = Some(pos);
            }
        });
        if let Some(pos) = paren {
            nearest = Some((pos, pos.offset + 1));
            closed = true;
            open_paren_line = (lexer.parens > 0).then_some(lexer.open_paren_line);
        }
        match item {
            Item::Eof => break,
            Item::LineFeed if lexer.offset > target => break,
            Item::LineFeed => {}
            Item::Token { pos, .. } => {
                if !before(pos) {
                    break;
                }
                lexer.skip_token();
                nearest = Some((pos, lexer.offset));
                closed = lexer.quote_closed;
                open_paren_line = (lexer.parens > 0).then_some(lexer.open_paren_line);
            }
        }
    }
    let at_end = text[target.min(text.len())..]
        .iter()
        .all(u8::is_ascii_whitespace);
    match nearest {
        Some((pos, end)) => {
            let token = &text[pos.offset..end];
            // The scanner takes a line feed in a quoted string for an error, too.
            let unclosed_quote = token[0] == b'"' && (!closed || token.contains(&b'\n'));
            ErrorSite {
                line: pos.line,
                token: shown_token(token),
                open_paren_line,
                at_end,
                unclosed_quote,
            }
        }
        None => ErrorSite {
            line: line.max(1),
            token: String::new(),
            open_paren_line,
            at_end,
            unclosed_quote: false,
        },
    }
}

/// Byte offset of a 1-based line and column.
fn offset_of(text: &[u8], line: usize, col: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        text.iter()
            .enumerate()
            .filter(|(_, &b)| b == b'\n')
            .nth(line - 2)
            .map_or(text.len(), |(i, _)| i + 1)
    };
    line_start + col.saturating_sub(1)
}

/// A token for a message: its first line, at most 40 characters, control characters escaped.
fn shown_token(token: &[u8]) -> String {
    const MAX_CHARS: usize = 40;
    let first_line = token.split(|&b| b == b'\n').next().unwrap_or_default();
    let text = String::from_utf8_lossy(first_line);
    let text = text.trim_end();
    let mut shown = String::new();
    for c in text.chars().take(MAX_CHARS) {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    if text.chars().count() > MAX_CHARS || first_line.len() < token.len() {
        shown.push_str("...");
    }
    shown
}
