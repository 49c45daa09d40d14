package discord

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"

	"frontwire/internal/chat"
)

// Caps on one digest item's parts, so that one hostile title cannot crowd
// out the rest of a digest.
const (
	maxDigestItemTitle = 256
	maxDigestSource    = 100
)

// digestLines renders each digest item as one markdown line.
func digestLines(d chat.Digest) []string {
	lines := make([]string, 0, len(d.Items))
	for i, it := range d.Items {
		title := strings.Join(strings.Fields(it.Title), " ")
		if title == "" {
			title = "Untitled story"
		}
		t := escape(title, maxDigestItemTitle)
		if u := markdownURL(httpURL(it.Link)); u != "" {
			t = "[" + t + "](" + u + ")"
		}
		line := strconv.Itoa(i+1) + ". " + t
		var meta []string
		if src := strings.Join(strings.Fields(it.Source), " "); src != "" {
			meta = append(meta, escape(src, maxDigestSource))
		}
		if it.Outlets > 1 {
			meta = append(meta, fmt.Sprintf("%d outlets", it.Outlets))
		}
		if len(meta) > 0 {
			line += " — " + strings.Join(meta, " · ")
		}
		lines = append(lines, line)
	}
	return lines
}

// markdownURL makes an http(s) URL safe inside a markdown link's
// parentheses: the characters that would end or break it are
// percent-encoded, which leaves the address the same.
func markdownURL(u string) string {
	if u == "" {
		return ""
	}
	r := strings.NewReplacer("(", "%28", ")", "%29", "<", "%3C", ">", "%3E", " ", "%20", "[", "%5B", "]", "%5D")
	u = r.Replace(u)
	if length(u) > maxURL {
		return ""
	}
	return u
}

func digestTitle(d chat.Digest) string {
	t := strings.Join(strings.Fields(d.Title), " ")
	if t == "" {
		t = "Digest"
	}
	return escape(t, maxTitle)
}

// DigestFits reports whether the whole digest fits one embed (description
// and total limits), so that the digest scheduler can split it before it
// is queued rather than have RenderDigest leave items out.
func DigestFits(d chat.Digest) bool {
	n := 0
	for i, l := range digestLines(d) {
		if i > 0 {
			n++
		}
		n += length(l)
	}
	return n <= maxDescription && n+length(digestTitle(d)) <= maxEmbedTotal
}

// RenderDigest turns a digest into one Discord message with one embed: the
// digest's title, then a numbered line per event with its title linked to
// the story, its source and the number of outlets that reported it. Every
// limit holds: items that would not fit are left out and counted in a last
// line (the scheduler splits digests with DigestFits so that this does not
// happen).
func RenderDigest(d chat.Digest) *discordgo.MessageSend {
	e := &discordgo.MessageEmbed{Type: discordgo.EmbedTypeRich, Title: digestTitle(d)}
	budget := min(maxDescription, maxEmbedTotal-length(e.Title))
	lines := digestLines(d)
	var b strings.Builder
	n := 0
	for i, l := range lines {
		sep := 0
		if i > 0 {
			sep = 1
		}
		need := sep + length(l)
		rest := len(lines) - i - 1
		if rest > 0 {
			need += 1 + length(fmt.Sprintf("… and %d more", rest))
		}
		if n+need > budget {
			more := fmt.Sprintf("… and %d more", len(lines)-i)
			if i == 0 {
				// Not even one line fits: cut it rather than send nothing.
				b.WriteString(join(strings.Split(l, ""), budget-1-length(more)))
				b.WriteString("\n")
			} else {
				b.WriteString("\n")
			}
			b.WriteString(more)
			break
		}
		if sep == 1 {
			b.WriteString("\n")
		}
		b.WriteString(l)
		n += sep + length(l)
	}
	e.Description = b.String()
	if e.Description == "" {
		e.Description = "Nothing new."
	}
	return &discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{e}, AllowedMentions: noMentions()}
}
