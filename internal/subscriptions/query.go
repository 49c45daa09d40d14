package subscriptions

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"frontwire/internal/story"
)

// The query language, in the style of Google Alerts:
//
//	Ukraine peace          both words (implicit AND)
//	"peace plan"           a phrase: consecutive words in one field
//	Witkoff OR Kushner     either word; OR is upper case
//	-rumour -"op-ed" -(a b) exclusions
//	(a OR b) c             parentheses group
//	negotiat*              a prefix: at least 3 letters before *
//	title:Witkoff          only in the title (also title:"peace plan", title:negotiat*)
//	source:reuters         only in the source name
//
// Precedence: OR binds tighter than the implicit AND, so "a b OR c" means
// a AND (b OR c); use parentheses for (a b) OR c. An upper-case AND between
// terms is accepted and means nothing more than the space around it. A
// lower-case "or" or "and" is an ordinary word.
//
// Words are folded exactly as story text is (story.AppendTokens), so
// matching is case- and accent-insensitive and on whole words. A query word
// that folds to several tokens ("peace-plan", "Witkoff's", "東京") becomes a
// phrase of those tokens. Unquoted words with no letters or digits ("&",
// "—") are ignored.
//
// Unknown field prefixes ("foo:bar") are an error rather than a silent
// plain word, so that a typo in "tilte:" does not quietly widen a
// subscription. A word ending in a colon with nothing after it ("Breaking:")
// is an ordinary word. Zero-width and other invisible format characters are
// removed and control characters act as spaces.

// Limits on a query.
const (
	MaxQueryChars  = 512 // characters (runes)
	MaxTerms       = 32  // words, phrases and prefixes
	MaxDepth       = 8   // nested parentheses
	MinPrefix      = 3   // characters before a *
	MaxPhraseWords = 16  // words in one phrase
)

// QueryError is a query the parser rejected. Msg says what to fix; Pos is
// the 0-based character (rune) offset in the query where the problem was
// found.
type QueryError struct {
	Msg string
	Pos int
}

func (e *QueryError) Error() string { return e.Msg }

// Field masks: where in a story a term may occur.
const (
	fTitle  uint8            = 1 << iota // the title
	fBody                                // the whole text and the categories
	fSource                              // the source name
	fAny    = fTitle | fBody             // an unrestricted term
)

// Operators of a query node.
const (
	opTerm uint8 = iota
	opAnd
	opOr
	opNot
)

// A compiled query is one string, prog, holding its nodes in preorder,
// so that checking a candidate touches one or two cache lines rather than a
// pointer tree. Each node is a header of hdrSize bytes:
//
//	op, fld, flags (1 = prefix), ntok, size (uint16 LE: bytes of the whole
//	subtree), h (uint32 LE: hashTok of the first token)
//
// followed, for a term, by its ntok folded tokens (uint16 LE length, then
// the bytes), or, for AND, OR and NOT, by its children.
const hdrSize = 10

// qnode is a decoded node header; at is its offset in prog and first the
// offset of its token data or first child.
type qnode struct {
	op    uint8
	fld   uint8
	pre   bool
	ntok  uint8
	size  int
	at    int
	first int
	h     uint32
}

// Query is a compiled query. It is immutable and safe for concurrent use.
type Query struct {
	prog string
}

// node decodes the node at offset o.
func (q *Query) node(o int) qnode {
	p := q.prog[o : o+hdrSize]
	return qnode{
		op: p[0], fld: p[1], pre: p[2]&1 != 0, ntok: p[3],
		size:  int(p[4]) | int(p[5])<<8,
		h:     uint32(p[6]) | uint32(p[7])<<8 | uint32(p[8])<<16 | uint32(p[9])<<24,
		at:    o,
		first: o + hdrSize,
	}
}

// toks decodes the tokens of term n into buf.
func (q *Query) toks(n qnode, buf []string) []string {
	o := n.first
	for range n.ntok {
		l := int(q.prog[o]) | int(q.prog[o+1])<<8
		buf = append(buf, q.prog[o+2:o+2+l])
		o += 2 + l
	}
	return buf
}

// firstTok returns the first token of term n.
func (q *Query) firstTok(n qnode) string {
	l := int(q.prog[n.first]) | int(q.prog[n.first+1])<<8
	return q.prog[n.first+2 : n.first+2+l]
}

// end is the offset just past node n's subtree.
func (q *Query) end(n qnode) int { return n.at + n.size }

// Parse compiles a query. Errors are *QueryError.
func Parse(q string) (*Query, error) {
	var p parser
	return p.parse(q)
}

// parse compiles q. A parser may parse many queries one after another
// (bulk loading does, to reuse its buffers); each parse starts afresh.
func (p *parser) parse(q string) (*Query, error) {
	if n := utf8.RuneCountInString(q); n > MaxQueryChars {
		return nil, &QueryError{Msg: fmt.Sprintf("the query is too long (%d characters): keep it to %d", n, MaxQueryChars), Pos: MaxQueryChars}
	}
	p.reset(q)
	if err := p.lex(); err != nil {
		return nil, err
	}
	if len(p.items) == 0 {
		return nil, &QueryError{Msg: "the query is empty: type the words to look for, e.g. Ukraine peace"}
	}
	// Each item makes at most two nodes (a term or group, and its
	// exclusion), and each OR chain and the whole query one more.
	if need := 2*len(p.items) + 2; cap(p.nodes) < need {
		p.nodes = make([]pnode, 0, need)
	}
	if need := len(p.items) + 4; cap(p.toks) < need {
		p.toks = make([]string, 0, need)
	}
	root, err := p.parseAnd(0)
	if err != nil {
		return nil, err
	}
	if p.i < len(p.items) {
		// parseAnd stops only at ")" or the end.
		return nil, p.errAt(p.items[p.i].pos, "unexpected ): remove it or add a matching (")
	}
	if root == nil {
		return nil, &QueryError{Msg: "the query has no words: type the words to look for, e.g. Ukraine peace"}
	}
	if !root.positive() {
		return nil, &QueryError{Msg: "add at least one word to look for: a query cannot be only exclusions", Pos: 0}
	}
	c := flatten(root)
	// Folding can lengthen words (ligatures, compatibility forms) and
	// String adds quotes, so check the normalised length too: String must
	// always re-parse. The bound below avoids building String for the
	// queries that are clearly short enough.
	// Each header and length prefix stands for at most a few printed
	// characters (quotes, "source:", "*", " OR ", parentheses).
	if len(c.prog) > MaxQueryChars {
		if n := utf8.RuneCountInString(c.String()); n > MaxQueryChars {
			return nil, &QueryError{Msg: fmt.Sprintf("the query is too long once normalised (%d characters): keep it to %d", n, MaxQueryChars), Pos: 0}
		}
	}
	return c, nil
}

// MustParse is Parse for queries known to be valid, such as constants in
// tests; it panics on an error.
func MustParse(q string) *Query {
	c, err := Parse(q)
	if err != nil {
		panic(fmt.Sprintf("subscriptions.MustParse(%q): %v", q, err))
	}
	return c
}

// item kinds produced by the lexer.
const (
	itTerm = iota
	itLParen
	itRParen
	itOr
)

type item struct {
	kind int
	pos  int // byte offset in the query
	neg  bool
	// terms
	text   string // raw text (a word, or a phrase's inside)
	phrase bool
	fld    uint8
	pre    bool
}

type parser struct {
	src   string
	items []item
	i     int
	terms int
	// tok folds every term of the query into one growing buffer; terms'
	// tokens are views of it (see fold).
	tok story.Tokenizer
	// toks holds the tokens of every term and nodes the parse tree, so
	// that a parse allocates each once rather than per term.
	toks  []string
	nodes []pnode
}

// fold returns the folded tokens of one term. They are views of the
// tokenizer's buffer, which is only ever appended to, so earlier views stay
// valid; flatten copies them into the compiled query.
func (p *parser) fold(text string) []string {
	from := p.tok.Len()
	p.tok.Add(text)
	n := p.tok.Len() - from
	if n == 0 {
		return nil
	}
	b := p.tok.Bytes()
	at := len(p.toks)
	for i := range n {
		s, e := p.tok.Span(from + i)
		p.toks = append(p.toks, unsafe.String(&b[s], e-s))
	}
	// Capped, so that a later append to p.toks never writes into it; if
	// p.toks grows, this view keeps the old array.
	return p.toks[at : at+n : at+n]
}

// reset readies p to parse src, keeping the buffers of earlier parses.
// Nothing of an earlier parse is referenced after it returns: flatten
// copies the tokens into the compiled query.
func (p *parser) reset(src string) {
	clear(p.nodes) // drop pointers into the last parse's tokens
	clear(p.toks)
	*p = parser{src: src, items: p.items[:0], tok: p.tok, toks: p.toks[:0], nodes: p.nodes[:0]}
	if p.items == nil {
		p.items = make([]item, 0, 8)
		p.tok.Grow(len(src)+8, 8)
	} else {
		p.tok.Reset()
	}
}

func (p *parser) errAt(bytePos int, format string, args ...any) *QueryError {
	if bytePos > len(p.src) {
		bytePos = len(p.src)
	}
	return &QueryError{Msg: fmt.Sprintf(format, args...), Pos: utf8.RuneCountInString(p.src[:bytePos])}
}

func isQuote(r rune) bool { return r == '"' || r == '“' || r == '”' || r == '„' }

// skippable reports runes that separate items: spaces and control
// characters (NUL included).
func isSpaceRune(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }

// lex splits the query into items and checks quotes, parentheses and depth
// as it goes, so that hostile input fails before any recursion.
func (p *parser) lex() error {
	s := p.src
	depth := 0
	// Depth is capped at MaxDepth, so the open positions fit in an array.
	var openArr [MaxDepth + 1]int
	opens := openArr[:0]
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case isSpaceRune(r) || unicode.Is(unicode.Cf, r):
			i += size
			continue
		case r == '(':
			depth++
			if depth > MaxDepth {
				return p.errAt(i, "too many nested parentheses: use at most %d levels", MaxDepth)
			}
			opens = append(opens, i)
			p.items = append(p.items, item{kind: itLParen, pos: i})
			i += size
			continue
		case r == ')':
			if depth == 0 {
				return p.errAt(i, "unexpected ): remove it or add a matching (")
			}
			depth--
			opens = opens[:len(opens)-1]
			p.items = append(p.items, item{kind: itRParen, pos: i})
			i += size
			continue
		}
		start := i
		neg := false
		if r == '-' {
			next, _ := utf8.DecodeRuneInString(s[i+size:])
			if i+size >= len(s) || isSpaceRune(next) || next == ')' || next == '-' {
				return p.errAt(i, "a - must be followed by a word, phrase or group to exclude, e.g. -rumour")
			}
			neg = true
			i += size
			if next == '(' {
				// The group itself is lexed next; mark its "(" as negated.
				depth++
				if depth > MaxDepth {
					return p.errAt(i, "too many nested parentheses: use at most %d levels", MaxDepth)
				}
				opens = append(opens, i)
				p.items = append(p.items, item{kind: itLParen, pos: i, neg: true})
				i++
				continue
			}
		}
		next, err := p.lexTerm(i, start, neg)
		if err != nil {
			return err
		}
		i = next
	}
	if depth > 0 {
		return p.errAt(opens[len(opens)-1], "missing ): close the group opened here, or remove the (")
	}
	return nil
}

// lexTerm reads a word, phrase, field-restricted term or operator at i,
// appends it to p.items (an AND appends nothing) and returns the offset
// after it. start is where the item began (before any "-").
func (p *parser) lexTerm(i, start int, neg bool) (int, error) {
	s := p.src
	it := item{kind: itTerm, pos: start, neg: neg, fld: fAny}
	r, size := utf8.DecodeRuneInString(s[i:])
	if isQuote(r) {
		return p.lexPhrase(it, i, size)
	}
	// A word runs to a space, a parenthesis or a quote.
	end := i
	for end < len(s) {
		r, size := utf8.DecodeRuneInString(s[end:])
		if isSpaceRune(r) || r == '(' || r == ')' || isQuote(r) {
			break
		}
		end += size
	}
	word := s[i:end]
	if !neg {
		switch word {
		case "OR":
			p.items = append(p.items, item{kind: itOr, pos: start})
			return end, nil
		case "AND":
			return end, nil
		}
	}
	// A field prefix: ASCII letters and a colon.
	if c := strings.IndexByte(word, ':'); c > 0 && isASCIILetters(word[:c]) {
		name := strings.ToLower(word[:c])
		known := name == "title" || name == "source"
		rest := word[c+1:]
		switch {
		case rest != "" && !known:
			return 0, p.errAt(start, "unknown field %q: use title: or source:, or put the text in quotes", word[:c+1])
		case rest != "":
			it.fld = fieldMask(name)
			word = rest
		case known && end < len(s):
			r, size := utf8.DecodeRuneInString(s[end:])
			if isQuote(r) {
				it.fld = fieldMask(name)
				return p.lexPhrase(it, end, size)
			}
			if r == '(' {
				return 0, p.errAt(start, "%s: applies to one word or a quoted phrase, not a group: write %s:a OR %s:b", name, name, name)
			}
			return 0, p.errAt(start, "%s: needs a word or a quoted phrase right after it, e.g. %s:Witkoff", name, name)
		case known:
			return 0, p.errAt(start, "%s: needs a word or a quoted phrase right after it, e.g. %s:Witkoff", name, name)
		}
		// Otherwise a word ending in a colon ("Breaking:") is just a word.
	}
	if strings.HasSuffix(word, "*") {
		w := strings.TrimRight(word, "*")
		toks := story.AppendTokens(nil, w)
		if len(toks) > 1 {
			return 0, p.errAt(start, "a prefix must be one word: %q has several; quote the words before it instead", word)
		}
		if len(toks) == 0 || utf8.RuneCountInString(toks[0]) < MinPrefix {
			return 0, p.errAt(start, "a prefix needs at least %d letters before the *, e.g. negotiat*", MinPrefix)
		}
		it.pre = true
		word = w
	}
	it.text = word
	p.items = append(p.items, it)
	return end, nil
}

// lexPhrase reads a quoted phrase whose opening quote is at i.
func (p *parser) lexPhrase(it item, i, qsize int) (int, error) {
	s := p.src
	for j := i + qsize; j < len(s); {
		r, size := utf8.DecodeRuneInString(s[j:])
		if isQuote(r) {
			it.text = s[i+qsize : j]
			it.phrase = true
			p.items = append(p.items, it)
			return j + size, nil
		}
		j += size
	}
	return 0, p.errAt(i, "unbalanced quote: add the closing \" after the phrase, or remove the opening one")
}

func fieldMask(name string) uint8 {
	if name == "title" {
		return fTitle
	}
	return fSource
}

func isASCIILetters(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// pnode is the parse tree before it is flattened into a Query. Children
// are a linked list (kid, then each one's next), so that lists are joined
// without allocating, and nodes come from the parser's arena.
type pnode struct {
	op        uint8
	fld       uint8
	pre       bool
	toks      []string
	kid, last *pnode // first and last child
	next      *pnode // next sibling
}

// add appends k to n's children.
func (n *pnode) add(k *pnode) {
	k.next = nil
	if n.kid == nil {
		n.kid = k
	} else {
		n.last.next = k
	}
	n.last = k
}

// adopt appends the children of m to n's.
func (n *pnode) adopt(m *pnode) {
	if m.kid == nil {
		return
	}
	if n.kid == nil {
		n.kid = m.kid
	} else {
		n.last.next = m.kid
	}
	n.last = m.last
}

// node returns a zeroed node from the arena. The arena is sized from the
// number of lexed items, which bounds the nodes a parse makes; should it
// run out, a node is allocated on its own, since earlier nodes must not
// move.
func (p *parser) node(op uint8) *pnode {
	if len(p.nodes) == cap(p.nodes) {
		return &pnode{op: op}
	}
	p.nodes = append(p.nodes, pnode{op: op})
	return &p.nodes[len(p.nodes)-1]
}

// positive reports whether n cannot match a story that lacks all of its
// words: it needs at least one term to be present. Only such queries can be
// indexed, and only such queries are accepted.
func (n *pnode) positive() bool {
	switch n.op {
	case opTerm:
		return true
	case opAnd:
		for k := n.kid; k != nil; k = k.next {
			if k.positive() {
				return true
			}
		}
		return false
	case opOr:
		for k := n.kid; k != nil; k = k.next {
			if !k.positive() {
				return false
			}
		}
		return true
	}
	return false
}

// parseAnd parses a sequence of OR-chains up to ")" or the end. It returns
// nil for a sequence that holds no terms at all.
func (p *parser) parseAnd(depth int) (*pnode, error) {
	and := p.node(opAnd)
	for p.i < len(p.items) {
		it := p.items[p.i]
		if it.kind == itRParen {
			break
		}
		if it.kind == itOr {
			return nil, p.errAt(it.pos, "OR needs a word, phrase or group on both sides")
		}
		n, err := p.parseOr(depth)
		if err != nil {
			return nil, err
		}
		if n == nil {
			continue
		}
		if n.op == opAnd {
			and.adopt(n)
		} else {
			and.add(n)
		}
	}
	switch {
	case and.kid == nil:
		return nil, nil
	case and.kid == and.last:
		return and.kid, nil
	}
	return and, nil
}

func (p *parser) parseOr(depth int) (*pnode, error) {
	startPos := p.items[p.i].pos
	first, err := p.parseUnary(depth)
	if err != nil {
		return nil, err
	}
	if p.i >= len(p.items) || p.items[p.i].kind != itOr {
		return first, nil
	}
	or := p.node(opOr)
	add := func(n *pnode, pos int) error {
		if n == nil || !n.positive() {
			return p.errAt(pos, "each side of OR needs a word to look for: move exclusions such as -word outside the OR")
		}
		if n.op == opOr {
			or.adopt(n)
		} else {
			or.add(n)
		}
		return nil
	}
	if err := add(first, startPos); err != nil {
		return nil, err
	}
	for p.i < len(p.items) && p.items[p.i].kind == itOr {
		orPos := p.items[p.i].pos
		p.i++
		if p.i >= len(p.items) || p.items[p.i].kind == itOr || p.items[p.i].kind == itRParen {
			return nil, p.errAt(orPos, "OR needs a word, phrase or group on both sides")
		}
		pos := p.items[p.i].pos
		n, err := p.parseUnary(depth)
		if err != nil {
			return nil, err
		}
		if err := add(n, pos); err != nil {
			return nil, err
		}
	}
	return or, nil
}

// parseUnary parses a term or a group, either possibly negated. It returns
// nil for a word with no letters or digits.
func (p *parser) parseUnary(depth int) (*pnode, error) {
	it := p.items[p.i]
	p.i++
	var n *pnode
	switch it.kind {
	case itLParen:
		inner, err := p.parseAnd(depth + 1)
		if err != nil {
			return nil, err
		}
		// lex checked the balance, so this is the matching ")".
		p.i++
		if inner == nil {
			return nil, p.errAt(it.pos, "empty parentheses: put words inside or remove them")
		}
		n = inner
	case itTerm:
		toks := p.fold(it.text)
		if len(toks) == 0 {
			if it.phrase {
				return nil, p.errAt(it.pos, "empty phrase: put words between the quotes or remove them")
			}
			if it.neg {
				return nil, p.errAt(it.pos, "a - must be followed by a word, phrase or group to exclude, e.g. -rumour")
			}
			return nil, nil
		}
		if len(toks) > MaxPhraseWords {
			return nil, p.errAt(it.pos, "a phrase may have at most %d words: shorten it or split it into several terms", MaxPhraseWords)
		}
		p.terms++
		if p.terms > MaxTerms {
			return nil, &QueryError{Msg: fmt.Sprintf("too many terms: a query may have at most %d words, phrases and prefixes", MaxTerms), Pos: utf8.RuneCountInString(p.src[:it.pos])}
		}
		n = p.node(opTerm)
		n.fld, n.pre, n.toks = it.fld, it.pre, toks
	default:
		// itRParen and itOr are handled by the callers.
		return nil, p.errAt(it.pos, "OR needs a word, phrase or group on both sides")
	}
	if it.neg {
		not := p.node(opNot)
		not.add(n)
		n = not
	}
	return n, nil
}

// flatten encodes the parse tree into prog.
func flatten(root *pnode) *Query {
	b := encode(make([]byte, 0, encodedSize(root)), root)
	// b is never written again, so the string can share its memory.
	return &Query{prog: unsafe.String(&b[0], len(b))}
}

// encodedSize is the length of n's encoding, so that prog is allocated at
// its exact size once.
func encodedSize(n *pnode) int {
	size := hdrSize
	for _, t := range n.toks {
		size += 2 + len(t)
	}
	for k := n.kid; k != nil; k = k.next {
		size += encodedSize(k)
	}
	return size
}

func encode(b []byte, n *pnode) []byte {
	at := len(b)
	var h uint32
	if len(n.toks) > 0 {
		h = hashTok(n.toks[0])
	}
	var flags byte
	if n.pre {
		flags = 1
	}
	b = append(b, n.op, n.fld, flags, byte(len(n.toks)), 0, 0, byte(h), byte(h>>8), byte(h>>16), byte(h>>24))
	for _, t := range n.toks {
		b = append(b, byte(len(t)), byte(len(t)>>8))
		b = append(b, t...)
	}
	for k := n.kid; k != nil; k = k.next {
		b = encode(b, k)
	}
	size := len(b) - at
	b[at+4], b[at+5] = byte(size), byte(size>>8)
	return b
}

// String returns the query in normalised form: folded words, phrases in
// quotes, groups only where needed. Parse(q.String()) yields the same
// query.
func (q *Query) String() string {
	var b strings.Builder
	q.write(&b, 0, false)
	return b.String()
}

// write prints node at offset o; inOr says whether it is an operand of
// OR, where an AND needs parentheses.
func (q *Query) write(b *strings.Builder, o int, inOr bool) {
	n := q.node(o)
	switch n.op {
	case opTerm:
		b.WriteString(q.termString(n))
	case opAnd, opOr:
		if n.op == opAnd && inOr {
			b.WriteByte('(')
		}
		sep := " "
		if n.op == opOr {
			sep = " OR "
		}
		for k, j := 0, n.first; j < q.end(n); k, j = k+1, j+q.node(j).size {
			if k > 0 {
				b.WriteString(sep)
			}
			q.write(b, j, n.op == opOr)
		}
		if n.op == opAnd && inOr {
			b.WriteByte(')')
		}
	case opNot:
		b.WriteByte('-')
		if q.node(n.first).op == opTerm {
			q.write(b, n.first, false)
			return
		}
		b.WriteByte('(')
		q.write(b, n.first, false)
		b.WriteByte(')')
	}
}

// plainTerm reports whether term n prints as its one word, a string the
// compiled query already holds.
func plainTerm(n qnode) bool { return n.fld == fAny && n.ntok == 1 && !n.pre }

// termString is term n as String prints it and Match reports it.
func (q *Query) termString(n qnode) string {
	if plainTerm(n) {
		return q.firstTok(n) // the common case, without allocating
	}
	return string(q.appendTermText(nil, n))
}

// appendTermText appends term n as String prints it to b.
func (q *Query) appendTermText(b []byte, n qnode) []byte {
	switch n.fld {
	case fTitle:
		b = append(b, "title:"...)
	case fSource:
		b = append(b, "source:"...)
	}
	var buf [MaxPhraseWords]string
	toks := q.toks(n, buf[:0])
	if len(toks) == 1 {
		b = append(b, toks[0]...)
		if n.pre {
			b = append(b, '*')
		}
		return b
	}
	b = append(b, '"')
	for i, t := range toks {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, t...)
	}
	return append(b, '"')
}

// termArena holds the printed terms of one match call in one growing
// buffer, instead of a string allocation per phrase, prefix or field
// term. Bytes once appended are never written again (a full buffer is
// replaced, not reused), so the strings handed out stay valid and
// immutable.
type termArena []byte

// term returns term n as termString does, printed into the arena.
func (a *termArena) term(q *Query, n qnode) string {
	if plainTerm(n) {
		return q.firstTok(n)
	}
	if *a == nil {
		*a = make(termArena, 0, 512) // ~20 terms; it grows if need be
	}
	from := len(*a)
	*a = q.appendTermText(*a, n)
	return unsafe.String(&(*a)[from], len(*a)-from)
}

// Match reports whether d matches q, and if it does, the positive terms
// (those not under an exclusion) that occur in d, in the form String prints
// them, for a "matched: …" line.
func (q *Query) Match(d *Doc) (ok bool, terms []string) {
	if !q.eval(d, 0, -1) {
		return false, nil
	}
	return true, q.appendMatched(nil, d, nil)
}

// singleWord reports whether q is one unrestricted word, which matches
// exactly the stories whose title, text or categories hold that word.
func (q *Query) singleWord() bool {
	n := q.node(0)
	return n.op == opTerm && plainTerm(n)
}

// impliedBy reports whether the term node at offset o alone makes q match:
// it is the whole query, or a branch of the query's top-level OR.
func (q *Query) impliedBy(o int) bool {
	if o == 0 {
		return true
	}
	n := q.node(0)
	if n.op != opOr {
		return false
	}
	for j := n.first; j < q.end(n); j += q.node(j).size {
		if j == o {
			return true
		}
	}
	return false
}

// appendMatched appends the positive terms of q that occur in d, printed
// into arena when it is not nil.
func (q *Query) appendMatched(dst []string, d *Doc, arena *termArena) []string {
	for o := 0; o < len(q.prog); {
		n := q.node(o)
		switch n.op {
		case opNot:
			o += n.size // nothing under an exclusion counts
			continue
		case opTerm:
			if q.termIn(d, n) {
				if arena != nil {
					dst = append(dst, arena.term(q, n))
				} else {
					dst = append(dst, q.termString(n))
				}
			}
			o += n.size
			continue
		}
		o = n.first
	}
	return dst
}

// eval reports whether node o matches d. known is the offset of a term
// already known to be in d (the index found the story through it), or -1.
func (q *Query) eval(d *Doc, o, known int) bool {
	n := q.node(o)
	switch n.op {
	case opTerm:
		return o == known || q.termIn(d, n)
	case opNot:
		return !q.eval(d, n.first, known)
	case opAnd:
		for j := n.first; j < q.end(n); j += q.node(j).size {
			if !q.eval(d, j, known) {
				return false
			}
		}
		return true
	case opOr:
		for j := n.first; j < q.end(n); j += q.node(j).size {
			if q.eval(d, j, known) {
				return true
			}
		}
		return false
	}
	return false
}

func (q *Query) termIn(d *Doc, n qnode) bool {
	switch {
	case n.pre:
		return d.hasPrefix(q.firstTok(n), n.fld)
	case n.ntok == 1:
		return d.lookup(q.firstTok(n), n.h)&n.fld != 0
	}
	// A phrase, read in place: the first word's hash was computed at
	// parse time.
	var ids [MaxPhraseWords]int32
	o := n.first
	for k := range int(n.ntok) {
		l := int(q.prog[o]) | int(q.prog[o+1])<<8
		t := q.prog[o+2 : o+2+l]
		o += 2 + l
		h := n.h
		if k > 0 {
			h = hashTok(t)
		}
		if ids[k] = d.find(t, h); ids[k] == 0 || d.uniq[ids[k]-1].mask&n.fld == 0 {
			return false
		}
	}
	return d.idsInRow(ids[:n.ntok], n.fld)
}
