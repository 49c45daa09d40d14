package subscriptions

import (
	"slices"

	"frontwire/internal/story"
)

// Doc is a story's normalised tokens, computed once per story by NewDoc and
// then read by every query.
type Doc struct {
	toks []string
}

// NewDoc normalises a story's title, text, categories and source name.
func NewDoc(st *story.Story) *Doc {
	var toks []string
	toks = story.AppendTokens(toks, st.Title)
	toks = story.AppendTokens(toks, st.Text)
	for _, c := range st.Categories {
		toks = story.AppendTokens(toks, c)
	}
	toks = story.AppendTokens(toks, st.Source)
	return &Doc{toks: toks}
}

func (d *Doc) has(w string) bool { return slices.Contains(d.toks, w) }
