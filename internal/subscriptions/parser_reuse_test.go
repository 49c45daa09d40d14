package subscriptions

import (
	"fmt"
	"testing"
)

// TestParserReuse checks that a parser reused from query to query, as bulk
// loading does, compiles each exactly as a fresh Parse does, with invalid
// queries in between, and that queries compiled earlier are not changed by
// later parses on the same buffers.
func TestParserReuse(t *testing.T) {
	// Long and short queries alternate, so later parses both outgrow and
	// underuse the buffers of earlier ones.
	shapes := []string{
		"%s", "%s peace", `"%s talks" -rumour`, "title:%s OR Witkoff*", "(%s OR Zelensky) ceasefire -\"peace plan\"",
		"source:Reuters %s", "%s* Київ 北京 ﬁnance", "Émigré %s “quoted words here” OR (a b c d e f) -x",
	}
	words := []string{"Ukraine", "Witkoff", "négociations", "Москва", "gaza", "ﬂotilla", "sanctions", "drone"}
	var queries []string
	for i := range 2000 {
		queries = append(queries, fmt.Sprintf(shapes[i%len(shapes)], words[i%len(words)]))
		if i%50 == 0 {
			queries = append(queries, `"unclosed phrase`, "-only -exclusions", "a OR", "Пётр Ø “curly” (nested OR title:Киев)")
		}
	}
	var p parser
	type kept struct {
		q    *Query
		want string
	}
	var compiled []kept
	for _, text := range queries {
		fresh, ferr := Parse(text)
		got, gerr := p.parse(text)
		if (ferr == nil) != (gerr == nil) {
			t.Fatalf("%q: fresh error %v, reused parser error %v", text, ferr, gerr)
		}
		if ferr != nil {
			if ferr.Error() != gerr.Error() {
				t.Fatalf("%q: fresh error %q, reused parser error %q", text, ferr, gerr)
			}
			continue
		}
		if got.prog != fresh.prog {
			t.Fatalf("%q: reused parser compiled %q, fresh Parse %q", text, got.String(), fresh.String())
		}
		compiled = append(compiled, kept{got, fresh.prog})
	}
	for _, k := range compiled {
		if k.q.prog != k.want {
			t.Fatalf("a compiled query changed after later parses: %q, want %q", k.q.String(), (&Query{prog: k.want}).String())
		}
	}
	if len(compiled) < 2000 {
		t.Fatalf("only %d of the generated queries compiled", len(compiled))
	}
}
