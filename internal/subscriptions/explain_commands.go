package subscriptions

import (
	"fmt"
	"strconv"
	"strings"

	"frontwire/internal/chat"
)

// AlertStore is what /why and /mute read and change: a chat's alerts by
// the number shown on them (chat.Alert.Number). storage.DB satisfies it.
// Both return an error that NotFound recognises when the number is not an
// alert of that chat.
type AlertStore interface {
	// AlertInfo returns the current version of the alert: query, matched
	// terms and the other outlets of its story cluster.
	AlertInfo(chatKey string, number uint64) (chat.Alert, error)
	// MuteAlert stops further edits of the alert and of its cluster in
	// the chat, and returns it.
	MuteAlert(chatKey string, number uint64) (chat.Alert, error)
}

// maxWhyOutlets bounds the outlets /why names, so the answer stays short
// however big the cluster grew.
const maxWhyOutlets = 20

// alertNumber parses the argument of /why and /mute: the number printed
// on an alert, with or without a leading "#".
func alertNumber(args string) (uint64, bool) {
	f := strings.Fields(args)
	if len(f) != 1 {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(f[0], "#"), 10, 64)
	return n, err == nil && n > 0
}

func (s *Service) alertStore() (AlertStore, bool) {
	st, ok := s.cfg.Store.(AlertStore)
	return st, ok
}

// why explains an alert: which subscription and terms matched it, and
// which outlets reported the same event.
func (s *Service) why(cmd chat.Command) chat.Reply {
	n, ok := alertNumber(cmd.Args)
	if !ok {
		return chat.Reply{Text: "Usage: /why NUMBER, with the number shown at the end of an alert (for example /why 123)."}
	}
	st, ok := s.alertStore()
	if !ok {
		return chat.Reply{Text: "Alert details are not kept by this Frontwire."}
	}
	a, err := st.AlertInfo(cmd.From.Key(), n)
	if err != nil {
		return s.alertError(n, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Alert %d: %s", n, feedLine(a.Title))
	if a.Source != "" {
		fmt.Fprintf(&b, " (%s)", feedLine(a.Source))
	}
	fmt.Fprintf(&b, "\nSubscription #%d: %s", a.SubscriptionID, feedLine(a.Query))
	if len(a.Matched) > 0 {
		fmt.Fprintf(&b, "\nMatched terms: %s", feedLine(strings.Join(a.Matched, ", ")))
	}
	fmt.Fprintf(&b, "\nReported by %d outlet%s: %s (first)", 1+len(a.Also), plural(1+len(a.Also)), feedLine(a.Source))
	for i, o := range a.Also {
		if i == maxWhyOutlets {
			fmt.Fprintf(&b, " and %d more", len(a.Also)-maxWhyOutlets)
			break
		}
		b.WriteString(", " + feedLine(o.Source))
	}
	fmt.Fprintf(&b, "\nLater reports of this event edit the alert for 6 hours; /mute %d stops that.", n)
	return chat.Reply{Text: b.String()}
}

// mute stops further edits of an alert's cluster in this chat. It changes
// the chat's state, so in groups only administrators may.
func (s *Service) mute(cmd chat.Command) chat.Reply {
	if !cmd.CanManage {
		return chat.Reply{Text: "Only this chat's administrators can mute alerts here."}
	}
	n, ok := alertNumber(cmd.Args)
	if !ok {
		return chat.Reply{Text: "Usage: /mute NUMBER, with the number shown at the end of an alert (for example /mute 123)."}
	}
	st, ok := s.alertStore()
	if !ok {
		return chat.Reply{Text: "Muting is not available in this Frontwire."}
	}
	a, err := st.MuteAlert(cmd.From.Key(), n)
	if err != nil {
		return s.alertError(n, err)
	}
	s.log.Info("alert muted", "chat", cmd.From.Key(), "alert", n, "cluster", a.ClusterID, "user", cmd.User)
	return chat.Reply{Text: fmt.Sprintf("Muted: alert %d (%s) will not be updated again, and later reports of the same event will not be sent here.", n, feedLine(a.Title)), Public: true}
}

func (s *Service) alertError(n uint64, err error) chat.Reply {
	if s.cfg.NotFound != nil && s.cfg.NotFound(err) {
		return chat.Reply{Text: fmt.Sprintf("There is no alert %d in this chat (alerts are kept for about a day).", n)}
	}
	s.log.Error("alert lookup failed", "alert", n, "err", err)
	return chat.Reply{Text: "Something went wrong reading that alert; try again later."}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// feedLine puts feed text on one line and bounds it: titles and outlet
// names come from feeds.
func feedLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:199]) + "…"
	}
	return s
}
