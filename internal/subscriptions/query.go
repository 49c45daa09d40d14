package subscriptions

import (
	"fmt"
	"strings"

	"frontwire/internal/story"
)

// QueryError is a query the parser rejected. Msg says what to fix; Pos is
// the character (rune) offset in the query where the problem was found.
type QueryError struct {
	Msg string
	Pos int
}

func (e *QueryError) Error() string { return fmt.Sprintf("%s (at character %d)", e.Msg, e.Pos+1) }

// Query is a compiled query.
type Query struct {
	words []string
}

// Parse compiles a query.
func Parse(q string) (*Query, error) {
	words := story.AppendTokens(nil, q)
	if len(words) == 0 {
		return nil, &QueryError{Msg: "the query is empty: type the words to look for, e.g. Ukraine peace"}
	}
	return &Query{words: words}, nil
}

// String returns the normalised text of the query.
func (q *Query) String() string { return strings.Join(q.words, " ") }

// Match reports whether d matches q and which positive terms matched.
func (q *Query) Match(d *Doc) (ok bool, terms []string) {
	for _, w := range q.words {
		if !d.has(w) {
			return false, nil
		}
	}
	return true, append([]string(nil), q.words...)
}
