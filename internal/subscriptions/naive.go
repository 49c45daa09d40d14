package subscriptions

import (
	"fmt"

	"frontwire/internal/chat"
)

// CompiledSub is a subscription with its query compiled, as the full-scan
// baseline NaiveMatch reads it.
type CompiledSub struct {
	ID   uint64
	Chat chat.Address
	Text string // the query as the subscriber wrote it
	Q    *Query
}

// Compile parses s.Query.
func Compile(s Subscription) (CompiledSub, error) {
	var p parser
	return p.compile(s)
}

// compile is Compile with a parser whose buffers are reused.
func (p *parser) compile(s Subscription) (CompiledSub, error) {
	q, err := p.parse(s.Query)
	if err != nil {
		return CompiledSub{}, fmt.Errorf("subscription %d: %w", s.ID, err)
	}
	return CompiledSub{ID: s.ID, Chat: s.Chat, Text: s.Query, Q: q}, nil
}

// NaiveMatch evaluates every subscription against d: the full scan the
// index must agree with.
func NaiveMatch(subs []CompiledSub, d *Doc) []Hit {
	var hits []Hit
	for i := range subs {
		c := &subs[i]
		if ok, terms := c.Q.Match(d); ok {
			hits = append(hits, Hit{ID: c.ID, Chat: c.Chat, Query: c.Text, Terms: terms})
		}
	}
	return hits
}
