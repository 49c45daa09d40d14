// Package story holds Frontwire's normalised news story: the one form every
// later step (dedupe, matching, summaries, alerts) reads. A feed item is
// turned into a Story once, by FromItem.
package story

import "time"

// Story is a normalised news item. All text fields are plain text (HTML
// parsed and dropped, entities decoded, whitespace collapsed, valid UTF-8).
type Story struct {
	ID         string    `json:"id"`     // identity: GUID, else canonical link, else hash of title and date
	Source     string    `json:"source"` // configured source name
	Title      string    `json:"title"`
	Link       string    `json:"link,omitempty"` // canonical link (http or https only)
	Text       string    `json:"text,omitempty"` // whole plain text of description and content
	Summary    string    `json:"summary,omitempty"`
	Categories []string  `json:"categories,omitempty"`
	Published  time.Time `json:"published"`
	FirstSeen  time.Time `json:"first_seen"`
}

// Item is a feed item as a parser hands it over: raw, possibly HTML, possibly
// hostile text.
type Item struct {
	GUID        string
	Link        string
	Title       string // may contain HTML or entities
	Description string // HTML
	Content     string // HTML
	Categories  []string
	Published   time.Time // zero when the feed gave none
	Updated     time.Time
}
