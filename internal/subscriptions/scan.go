package subscriptions

import "strings"

// ContainsScan is the baseline issue 5 measures the index against: "a loop
// with strings.Contains or a regexp per subscription" over every
// subscription for every story. Each query is turned once into
// strings.Contains needles over the story's normalised text, which is
// joined with spaces so that a needle " word " matches whole words only, "
// word1 word2 " a phrase and " prefix" a prefix; segments (the title, the
// text, each category, the source) are divided by a line break, which no
// token holds, so a phrase never spans two of them. It returns exactly the
// subscriptions NaiveMatch and the Index return (the differential tests
// check that), only by the slow road: the cost of this loop is what a
// keyword bot without an index pays.
//
// NaiveMatch, the stronger full scan, evaluates the compiled queries
// against the Doc's token hash table instead; benchmarks report both.
type ContainsScan struct {
	subs []scanSub
}

type scanSub struct {
	id   uint64
	root scanNode
}

// scanNode is a query node with its needle: a term's tokens joined as they
// appear in the joined text.
type scanNode struct {
	op     uint8
	fld    uint8
	needle string
	kids   []scanNode
}

// NewContainsScan prepares the needles of subs.
func NewContainsScan(subs []CompiledSub) *ContainsScan {
	s := &ContainsScan{subs: make([]scanSub, len(subs))}
	for i, c := range subs {
		s.subs[i] = scanSub{id: c.ID, root: scanTree(c.Q, 0)}
	}
	return s
}

func scanTree(q *Query, o int) scanNode {
	n := q.node(o)
	sn := scanNode{op: n.op, fld: n.fld}
	if n.op == opTerm {
		toks := q.toks(n, nil)
		sn.needle = " " + strings.Join(toks, " ")
		if !n.pre {
			sn.needle += " "
		}
		return sn
	}
	for j := n.first; j < q.end(n); j += q.node(j).size {
		sn.kids = append(sn.kids, scanTree(q, j))
	}
	return sn
}

// scanText is a story's normalised tokens joined into the three strings a
// needle is looked for in.
type scanText struct {
	title, titleBody, source string
}

func newScanText(d *Doc) scanText {
	var b strings.Builder
	b.Grow(len(d.folded) + 2*len(d.tid) + 8)
	b.WriteByte(' ')
	titleEnd := 0
	for i, id := range d.tid[:d.srcStart] {
		if i == d.titleEnd {
			titleEnd = b.Len()
		}
		if id == 0 {
			b.WriteString("\n ")
			continue
		}
		b.WriteString(d.uniq[id-1].tok)
		b.WriteByte(' ')
	}
	if d.titleEnd >= d.srcStart {
		titleEnd = b.Len()
	}
	all := b.String()
	src := []byte{' '}
	for _, id := range d.tid[d.srcStart:] {
		if id != 0 {
			src = append(append(src, d.uniq[id-1].tok...), ' ')
		}
	}
	return scanText{title: all[:titleEnd], titleBody: all, source: string(src)}
}

// Match returns the IDs of the subscriptions d matches, in subscription
// order.
func (s *ContainsScan) Match(d *Doc) []uint64 {
	t := newScanText(d)
	var ids []uint64
	for i := range s.subs {
		if t.eval(&s.subs[i].root) {
			ids = append(ids, s.subs[i].id)
		}
	}
	return ids
}

// containsAtWord is strings.Contains(s, needle) for a needle that starts
// with a space. It looks for the rest of the needle and checks the space
// before it, because strings.Index finds candidates by the needle's first
// byte, and a space is the most common byte of the text.
func containsAtWord(s, needle string) bool {
	rest := needle[1:]
	for i := 1; i <= len(s)-len(rest); {
		j := strings.Index(s[i:], rest)
		if j < 0 {
			return false
		}
		if s[i+j-1] == ' ' {
			return true
		}
		i += j + 1
	}
	return false
}

func (t *scanText) eval(n *scanNode) bool {
	switch n.op {
	case opTerm:
		switch n.fld {
		case fTitle:
			return containsAtWord(t.title, n.needle)
		case fSource:
			return containsAtWord(t.source, n.needle)
		}
		return containsAtWord(t.titleBody, n.needle)
	case opNot:
		return !t.eval(&n.kids[0])
	case opAnd:
		for i := range n.kids {
			if !t.eval(&n.kids[i]) {
				return false
			}
		}
		return true
	case opOr:
		for i := range n.kids {
			if t.eval(&n.kids[i]) {
				return true
			}
		}
	}
	return false
}
