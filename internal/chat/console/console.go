// Package console is the chat adapter for a terminal: it reads commands as
// lines of text and prints replies and alerts as a person would read them.
// It is what `bot demo` talks through, so Frontwire runs with no tokens and
// no network.
package console

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"frontwire/internal/chat"
)

// Platform is the console's platform name in chat addresses.
const Platform = "console"

// Local is the address of the console's one chat.
func Local() chat.Address { return chat.Address{Platform: Platform, Chat: "local"} }

// Handler runs a command (subscriptions.Service satisfies it).
type Handler interface {
	Handle(ctx context.Context, cmd chat.Command) chat.Reply
}

// Console writes to Out and, in Run, reads commands from a reader.
type Console struct {
	mu   sync.Mutex
	out  io.Writer
	loc  *time.Location
	next int
}

// New returns a console writing to out; times are shown in loc (UTC when
// nil).
func New(out io.Writer, loc *time.Location) *Console {
	if loc == nil {
		loc = time.UTC
	}
	return &Console{out: out, loc: loc}
}

// ParseCommand splits "/name@Bot args" into a command name and its
// arguments. It returns ok=false for text that is not a command.
func ParseCommand(line string) (name, args string, ok bool) {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "/") || len(line) < 2 {
		return "", "", false
	}
	name, args, _ = strings.Cut(line[1:], " ")
	name, _, _ = strings.Cut(name, "@")
	return strings.ToLower(name), strings.TrimSpace(args), name != ""
}

// Command turns a typed line into a command from the console's chat.
func Command(line string) (chat.Command, bool) {
	name, args, ok := ParseCommand(line)
	if !ok {
		return chat.Command{}, false
	}
	return chat.Command{From: Local(), User: "local", UserName: "you", Kind: chat.Private, Name: name, Args: args, CanManage: true}, true
}

// Run reads commands line by line from in, prints each reply, and returns
// at the end of input or when ctx is done. Prompt is printed before each
// line when not empty.
func (c *Console) Run(ctx context.Context, in io.Reader, h Handler, prompt string) error {
	lines := make(chan string)
	errc := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64*1024), 64*1024)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		errc <- sc.Err()
		close(lines)
	}()
	for {
		if prompt != "" {
			c.print(prompt)
		}
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-lines:
			if !ok {
				return <-errc
			}
			if strings.TrimSpace(line) == "" {
				continue
			}
			cmd, ok := Command(line)
			if ok && (cmd.Name == "quit" || cmd.Name == "exit") {
				return nil
			}
			if !ok {
				c.Reply(chat.Reply{Text: "Commands start with /. Try /help."})
				continue
			}
			c.Reply(h.Handle(ctx, cmd))
		}
	}
}

// Echo prints a command as if a person had typed it.
func (c *Console) Echo(line string) {
	c.print("> " + line + "\n")
}

// Say prints a line of narration (the demo's), serialised with alerts
// printed from other goroutines.
func (c *Console) Say(line string) {
	c.print(line + "\n")
}

// Reply prints a reply to a command.
func (c *Console) Reply(r chat.Reply) {
	var b strings.Builder
	b.WriteString(indent(r.Text))
	for _, a := range r.Actions {
		fmt.Fprintf(&b, "  [%s] → /%s %s\n", a.Label, a.Command, a.Args)
	}
	c.print(b.String())
}

// Send prints a message; it is the console's chat platform for the
// dispatcher.
func (c *Console) Send(ctx context.Context, m chat.Message) (chat.Sent, error) {
	var text string
	if m.Kind == chat.KindAlert && m.Alert != nil {
		text = RenderAlert(*m.Alert, c.loc)
	} else if m.Kind == chat.KindDigest && m.Digest != nil {
		text = RenderDigest(*m.Digest)
	} else {
		text = indent(m.Text)
	}
	c.mu.Lock()
	c.next++
	id := c.next
	c.mu.Unlock()
	c.print(text)
	return chat.Sent{MessageID: strconv.Itoa(id)}, nil
}

// alertHeader names the alert by the number /why and /mute take, and the
// subscription it answers.
func alertHeader(a chat.Alert) string {
	h := "ALERT"
	if a.Number > 0 {
		h += " #" + strconv.FormatUint(a.Number, 10)
	}
	return h + " · subscription #" + strconv.FormatUint(a.SubscriptionID, 10) + ": " + oneLine(a.Query)
}

// RenderAlert lays an alert out as plain text.
func RenderAlert(a chat.Alert, loc *time.Location) string {
	var b strings.Builder
	b.WriteString("┌─ " + alertHeader(a) + "\n")
	b.WriteString("│ " + oneLine(a.Title) + "\n")
	meta := oneLine(a.Source)
	if !a.Published.IsZero() {
		meta += " · " + a.Published.In(loc).Format("2 Jan 15:04 MST")
	}
	b.WriteString("│ " + meta + "\n")
	if a.Summary != "" {
		b.WriteString("│ " + oneLine(a.Summary) + "\n")
	}
	if a.Link != "" {
		b.WriteString("│ " + oneLine(a.Link) + "\n")
	}
	if len(a.Matched) > 0 {
		b.WriteString("│ matched: " + oneLine(strings.Join(a.Matched, ", ")) + "\n")
	}
	if also := renderAlso(a.Also); also != "" {
		b.WriteString("│ Also reported by: " + also + "\n")
		for i, o := range a.Also {
			if i == maxAlsoShown {
				break
			}
			if o.Link != "" {
				b.WriteString("│    " + oneLine(o.Source) + ": " + oneLine(o.Link) + "\n")
			}
		}
	}
	if a.Number != 0 {
		n := strconv.FormatUint(a.Number, 10)
		b.WriteString("│ /why " + n + " · /mute " + n + "\n")
	}
	b.WriteString("└─\n")
	return b.String()
}

// maxAlsoShown is how many other outlets an alert names; the rest are
// counted.
const maxAlsoShown = 5

// renderAlso is "AP, BBC (3 more)".
func renderAlso(also []chat.Outlet) string {
	var names []string
	for i, o := range also {
		if i == maxAlsoShown {
			break
		}
		names = append(names, oneLine(o.Source))
	}
	out := strings.Join(names, ", ")
	if len(also) > maxAlsoShown {
		out += " (" + strconv.Itoa(len(also)-maxAlsoShown) + " more)"
	}
	return out
}

// Edit prints the new version of an alert sent earlier as an "edited"
// block: a terminal cannot change what it already printed.
func (c *Console) Edit(ctx context.Context, to chat.Address, messageID string, m chat.Message) error {
	if m.Alert == nil {
		return fmt.Errorf("console: %w: edit without an alert", chat.ErrRejected)
	}
	text := RenderAlert(*m.Alert, c.loc)
	c.print(strings.Replace(text, "┌─ ALERT", "┌─ UPDATED ALERT", 1))
	return nil
}

// RenderDigest lays a digest out as plain text, one numbered event a line.
func RenderDigest(d chat.Digest) string {
	var b strings.Builder
	b.WriteString("┌─ " + oneLine(d.Title) + "\n")
	for i, it := range d.Items {
		line := strconv.Itoa(i+1) + ". " + oneLine(it.Title) + " — " + oneLine(it.Source)
		if it.Outlets > 1 {
			line += " · " + strconv.Itoa(it.Outlets) + " outlets"
		}
		b.WriteString("│ " + line + "\n")
		if it.Link != "" {
			b.WriteString("│    " + oneLine(it.Link) + "\n")
		}
	}
	b.WriteString("└─\n")
	return b.String()
}

func (c *Console) print(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	io.WriteString(c.out, s)
}

// oneLine keeps feed text from breaking the layout: no newlines, no
// terminal control characters.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return -1
		}
		return r
	}, s)
}

func indent(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("  " + line + "\n")
	}
	return b.String()
}
