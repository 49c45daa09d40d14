package discord

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/bwmarrin/discordgo"

	"frontwire/internal/chat"
)

// Discord's documented message and embed limits, in characters. They are
// measured here in UTF-16 code units, which is never fewer than code
// points, so a message that passes here passes on Discord whichever way it
// counts.
const (
	maxContent     = 2000
	maxEmbeds      = 10
	maxTitle       = 256
	maxDescription = 4096
	maxFields      = 25
	maxFieldName   = 256
	maxFieldValue  = 1024
	maxFooter      = 2048
	maxAuthor      = 256
	maxEmbedTotal  = 6000
	maxButtonLabel = 80
	maxCustomID    = 100
	maxActionRows  = 5
	maxChoices     = 25
	maxChoiceName  = 100
	maxChoiceValue = 100
	maxURL         = 2048
)

// ErrInvalidMessage is wrapped by ValidateMessage's errors.
var ErrInvalidMessage = errors.New("discord message breaks a platform limit")

// length is a string's length as the limits above count it.
func length(s string) int {
	n := 0
	for _, r := range s {
		l := utf16.RuneLen(r)
		if l < 0 { // not a valid rune: JSON turns it into U+FFFD
			l = 1
		}
		n += l
	}
	return n
}

// ellipsis marks text that was cut.
const ellipsis = "…"

// escapeUnits splits feed text into the units the escaped form is made of,
// so that a cut never separates a backslash from the character it escapes.
//
// The escaping policy, for text shown where Discord renders markdown
// (content, embed titles, descriptions and field values):
//   - \ * _ ~ ` | > < [ ] ( ) get a backslash, so no emphasis, spoiler,
//     code, quote, masked link or mention syntax forms. Discord drops a
//     backslash before any punctuation, so the reader sees the original.
//   - # and - at the start of a line get a backslash (headings, lists).
//   - every @ is followed by a zero-width space, so @everyone, @here and
//     <@id> never form a mention even where allowed_mentions would not
//     apply (an embed shows mentions without pinging; content pings only if
//     allowed_mentions permits, and every message here forbids it).
func escapeUnits(s string) []string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	units := make([]string, 0, len(s))
	lineStart := true
	for _, r := range s {
		switch {
		case strings.ContainsRune("\\*_~`|><[]()", r):
			units = append(units, "\\"+string(r))
		case lineStart && (r == '#' || r == '-'):
			units = append(units, "\\"+string(r))
		case r == '@':
			units = append(units, "@\u200b")
		default:
			units = append(units, string(r))
		}
		switch {
		case r == '\n':
			lineStart = true
		case r == ' ' || r == '\t':
			// leading blanks keep a line "at its start" for markdown
		default:
			lineStart = false
		}
	}
	return units
}

// escape returns s escaped for Discord markdown, at most max long; when it
// had to cut, the result ends with an ellipsis.
func escape(s string, max int) string {
	return join(escapeUnits(s), max)
}

// plain cuts text that Discord shows without markdown (footers, author
// names, choice names) to max.
func plain(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	units := make([]string, 0, len(s))
	for _, r := range s {
		units = append(units, string(r))
	}
	return join(units, max)
}

func join(units []string, max int) string {
	if max <= 0 {
		return ""
	}
	total := 0
	for _, u := range units {
		total += length(u)
	}
	if total <= max {
		return strings.Join(units, "")
	}
	var b strings.Builder
	budget := max - length(ellipsis)
	n := 0
	for _, u := range units {
		l := length(u)
		if n+l > budget {
			break
		}
		b.WriteString(u)
		n += l
	}
	// Cutting inside a word leaves a stray half; trailing blanks look odd
	// before the ellipsis.
	out := strings.TrimRight(b.String(), " \t\n")
	return out + ellipsis
}

// noMentions is the allowed-mentions value every message carries: an empty,
// non-nil parse list. A nil slice serialises as null, which Discord reads as
// "use the defaults" and pings.
func noMentions() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}

// httpURL returns link if it is an absolute http(s) URL that Discord will
// accept as an embed URL, else "".
func httpURL(link string) string {
	if link == "" || length(link) > maxURL {
		return ""
	}
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.String()
}

// Colour derives a stable, distinguishable embed colour from a subscription
// id: hues step by the golden angle, so consecutive ids differ visibly.
func Colour(subscriptionID uint64) int {
	h := math.Mod(float64(subscriptionID)*0.6180339887498949, 1)
	const s, v = 0.65, 0.85
	i := int(h * 6)
	f := h*6 - float64(i)
	p, q, t := v*(1-s), v*(1-f*s), v*(1-(1-f)*s)
	var r, g, b float64
	switch i % 6 {
	case 0:
		r, g, b = v, t, p
	case 1:
		r, g, b = q, v, p
	case 2:
		r, g, b = p, v, t
	case 3:
		r, g, b = p, q, v
	case 4:
		r, g, b = t, p, v
	default:
		r, g, b = v, p, q
	}
	return int(r*255)<<16 | int(g*255)<<8 | int(b*255)
}

// RenderAlert turns an alert into one Discord message with one embed: the
// title linked to the story (only http and https links), the summary as the
// description, the source in the footer, the publication time as the
// timestamp, the matched terms as a field and a colour per subscription.
// Every limit holds; when something must give, the summary is cut, never
// the link.
func RenderAlert(a chat.Alert) *discordgo.MessageSend {
	title := strings.TrimSpace(a.Title)
	if title == "" {
		title = "Untitled story"
	}
	e := &discordgo.MessageEmbed{
		Type:  discordgo.EmbedTypeRich,
		Title: escape(title, maxTitle),
		URL:   httpURL(a.Link),
		Color: Colour(a.SubscriptionID),
	}
	footer := strings.TrimSpace(a.Source)
	if a.Number != 0 {
		// The alert's handle, so that /why and /mute can name it.
		cmds := fmt.Sprintf("/why %d · /mute %d", a.Number, a.Number)
		if footer != "" {
			footer = plain(footer, maxFooter-length(cmds)-3) + " · " + cmds
		} else {
			footer = cmds
		}
	}
	if footer != "" {
		e.Footer = &discordgo.MessageEmbedFooter{Text: plain(footer, maxFooter)}
	}
	if !a.Published.IsZero() {
		e.Timestamp = a.Published.UTC().Format(time.RFC3339)
	}
	matched := strings.Join(a.Matched, ", ")
	if strings.TrimSpace(matched) == "" {
		matched = a.Query
	}
	if strings.TrimSpace(matched) != "" {
		e.Fields = []*discordgo.MessageEmbedField{{
			Name:  "Matched",
			Value: escape(matched, maxFieldValue),
		}}
	}
	if also := renderAlso(a.Also); also != "" {
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: "Also reported by", Value: also})
	}
	// The description gets whatever the rest of the embed leaves of the
	// total allowance.
	budget := maxEmbedTotal - embedLength(e)
	if budget > maxDescription {
		budget = maxDescription
	}
	if sum := strings.TrimSpace(a.Summary); sum != "" {
		e.Description = escape(sum, budget)
	}
	return &discordgo.MessageSend{
		Embeds:          []*discordgo.MessageEmbed{e},
		AllowedMentions: noMentions(),
	}
}

// renderText is a plain-text message: escaped and cut to the content limit.
func renderText(text string) *discordgo.MessageSend {
	return &discordgo.MessageSend{Content: escape(text, maxContent), AllowedMentions: noMentions()}
}

// embedLength counts an embed's characters the way Discord's 6000 total
// does: title, description, field names and values, footer and author.
func embedLength(e *discordgo.MessageEmbed) int {
	n := length(e.Title) + length(e.Description)
	for _, f := range e.Fields {
		if f != nil {
			n += length(f.Name) + length(f.Value)
		}
	}
	if e.Footer != nil {
		n += length(e.Footer.Text)
	}
	if e.Author != nil {
		n += length(e.Author.Name)
	}
	return n
}

// ValidateMessage checks m against every Discord limit this adapter relies
// on and against the rule that every message forbids all mentions (an
// empty, non-nil parse list and no allowed users or roles). The error wraps
// ErrInvalidMessage and lists every problem found.
func ValidateMessage(m *discordgo.MessageSend) error {
	if m == nil {
		return fmt.Errorf("%w: no message", ErrInvalidMessage)
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidMessage}, args...)...))
	}
	if n := length(m.Content); n > maxContent {
		bad("content is %d characters, limit %d", n, maxContent)
	}
	if m.Content == "" && len(m.Embeds) == 0 {
		bad("message has neither content nor embeds")
	}
	if am := m.AllowedMentions; am == nil || am.Parse == nil || len(am.Parse) > 0 || len(am.Roles) > 0 || len(am.Users) > 0 || am.RepliedUser {
		bad("allowed_mentions must be present with an empty parse list and no users or roles")
	}
	if len(m.Embeds) > maxEmbeds {
		bad("%d embeds, limit %d", len(m.Embeds), maxEmbeds)
	}
	total := 0
	for i, e := range m.Embeds {
		if e == nil {
			bad("embed %d is null", i)
			continue
		}
		total += embedLength(e)
		if n := length(e.Title); n > maxTitle {
			bad("embed %d title is %d characters, limit %d", i, n, maxTitle)
		}
		if n := length(e.Description); n > maxDescription {
			bad("embed %d description is %d characters, limit %d", i, n, maxDescription)
		}
		if e.URL != "" && httpURL(e.URL) == "" {
			bad("embed %d url is not an http(s) URL", i)
		}
		if len(e.Fields) > maxFields {
			bad("embed %d has %d fields, limit %d", i, len(e.Fields), maxFields)
		}
		for j, f := range e.Fields {
			if f == nil {
				bad("embed %d field %d is null", i, j)
				continue
			}
			if n := length(f.Name); n == 0 || n > maxFieldName {
				bad("embed %d field %d name is %d characters, want 1..%d", i, j, n, maxFieldName)
			}
			if n := length(f.Value); n == 0 || n > maxFieldValue {
				bad("embed %d field %d value is %d characters, want 1..%d", i, j, n, maxFieldValue)
			}
		}
		if e.Footer != nil {
			if n := length(e.Footer.Text); n > maxFooter {
				bad("embed %d footer is %d characters, limit %d", i, n, maxFooter)
			}
		}
		if e.Author != nil {
			if n := length(e.Author.Name); n > maxAuthor {
				bad("embed %d author is %d characters, limit %d", i, n, maxAuthor)
			}
		}
		if e.Timestamp != "" {
			if _, err := time.Parse(time.RFC3339, e.Timestamp); err != nil {
				bad("embed %d timestamp %q is not ISO 8601", i, e.Timestamp)
			}
		}
		if e.Color < 0 || e.Color > 0xFFFFFF {
			bad("embed %d colour %d out of range", i, e.Color)
		}
	}
	if total > maxEmbedTotal {
		bad("embeds total %d characters, limit %d", total, maxEmbedTotal)
	}
	return errors.Join(errs...)
}

// Caps on the "Also reported by" field: outlets named, and characters per
// name. Five names of 64 with their links stay far below the field's 1024.
const (
	maxAlsoShown = 5
	maxAlsoName  = 64
)

// renderAlso lists the other outlets of the alert's cluster, "AP, BBC (3
// more)", each name escaped and linked to its story when the link is
// http(s). The result fits a field value.
func renderAlso(also []chat.Outlet) string {
	var parts []string
	more := 0
	for _, o := range also {
		name := strings.TrimSpace(o.Source)
		if name == "" {
			name = strings.TrimSpace(o.Title)
		}
		if name == "" {
			continue
		}
		if len(parts) == maxAlsoShown {
			more++
			continue
		}
		name = escape(name, maxAlsoName)
		// A masked link's URL ends at the first ")"; percent-encoded
		// brackets and spaces mean the same to the browser.
		if u := httpURL(o.Link); u != "" && length(u) <= 200 {
			u = strings.NewReplacer("(", "%28", ")", "%29", " ", "%20", "<", "%3C", ">", "%3E").Replace(u)
			name = "[" + name + "](" + u + ")"
		}
		parts = append(parts, name)
	}
	out := strings.Join(parts, ", ")
	if more > 0 {
		out += fmt.Sprintf(" (%d more)", more)
	}
	if length(out) > maxFieldValue {
		// Not reachable with the caps above; kept so a change to them
		// cannot produce an invalid message.
		out = plain(out, maxFieldValue)
	}
	return out
}
