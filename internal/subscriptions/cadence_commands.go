package subscriptions

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"frontwire/internal/chat"
	"frontwire/internal/digest"
)

// CadenceStore keeps delivery settings: each subscription's cadence and
// each chat's time zone and quiet hours. storage.DB satisfies it.
type CadenceStore interface {
	SubscriptionCadence(id uint64) (digest.Cadence, error)
	SetSubscriptionCadence(id uint64, c digest.Cadence) error
	ChatSettings(chatKey string) (digest.ChatSettings, error)
	SetChatSettings(chatKey string, s digest.ChatSettings) error
}

const settingsRefusal = "Only this chat's administrators can change its delivery settings."

// setCommand runs /set ID digest instant|hourly|daily HH:MM.
func (s *Service) setCommand(cmd chat.Command) chat.Reply {
	const usage = "Usage: /set ID digest instant|hourly|daily HH:MM, for example /set 3 digest daily 08:00. /list shows the IDs."
	if s.cfg.Cadence == nil {
		return chat.Reply{Text: "Digests are not available on this Frontwire."}
	}
	f := strings.Fields(cmd.Args)
	if len(f) < 3 || !strings.EqualFold(f[1], "digest") {
		return chat.Reply{Text: usage}
	}
	sub, refusal := s.owned(cmd, f[0])
	if refusal != nil {
		return *refusal
	}
	c, err := digest.ParseCadence(strings.Join(f[2:], " "))
	if err != nil {
		return chat.Reply{Text: "That cadence does not work: " + cadenceProblem(err) + "\n" + usage}
	}
	if err := s.cfg.Cadence.SetSubscriptionCadence(sub.ID, c); err != nil {
		if s.cfg.NotFound(err) {
			return chat.Reply{Text: fmt.Sprintf("This chat has no subscription #%d. /list shows the IDs.", sub.ID)}
		}
		return s.internal("set cadence", err)
	}
	s.log.Info("cadence set", "chat", cmd.From.Key(), "id", sub.ID, "cadence", c.String())
	switch c.Mode {
	case digest.Hourly:
		return chat.Reply{Public: true, Text: fmt.Sprintf("#%d %s: one digest an hour, on the hour, instead of an alert per story.", sub.ID, sub.Query)}
	case digest.Daily:
		zone := s.zoneName(cmd.From.Key())
		return chat.Reply{Public: true, Text: fmt.Sprintf("#%d %s: one digest a day at %s (%s) instead of an alert per story.", sub.ID, sub.Query, digest.FormatClock(c.At), zone)}
	}
	return chat.Reply{Public: true, Text: fmt.Sprintf("#%d %s: every matching story is posted at once.", sub.ID, sub.Query)}
}

// quiet runs /quiet (show), /quiet off and /quiet HH:MM-HH:MM.
func (s *Service) quiet(cmd chat.Command) chat.Reply {
	const usage = "Usage: /quiet 23:00-07:00 holds alerts during those hours and sends them as one digest when they end; /quiet off ends quiet hours."
	if s.cfg.Cadence == nil {
		return chat.Reply{Text: "Quiet hours are not available on this Frontwire."}
	}
	arg := strings.TrimSpace(cmd.Args)
	key := cmd.From.Key()
	cs, err := s.cfg.Cadence.ChatSettings(key)
	if err != nil {
		return s.internal("load chat settings", err)
	}
	if arg == "" {
		if cs.Quiet == nil {
			return chat.Reply{Text: "This chat has no quiet hours.\n" + usage}
		}
		return chat.Reply{Text: fmt.Sprintf("Quiet hours: %s (%s).\n%s", cs.Quiet, s.zoneName(key), usage)}
	}
	if !cmd.CanManage {
		return chat.Reply{Text: settingsRefusal}
	}
	if strings.EqualFold(arg, "off") {
		cs.Quiet = nil
		if err := s.cfg.Cadence.SetChatSettings(key, cs); err != nil {
			return s.internal("save chat settings", err)
		}
		return chat.Reply{Public: true, Text: "Quiet hours are off: alerts are posted as they come. Anything held so far is posted as one digest."}
	}
	q, err := digest.ParseQuiet(arg)
	if err != nil {
		return chat.Reply{Text: "Those quiet hours do not work: " + cadenceProblem(err) + "\n" + usage}
	}
	cs.Quiet = &q
	if err := s.cfg.Cadence.SetChatSettings(key, cs); err != nil {
		return s.internal("save chat settings", err)
	}
	s.log.Info("quiet hours set", "chat", key, "quiet", q.String())
	return chat.Reply{Public: true, Text: fmt.Sprintf("Quiet hours %s (%s): alerts that come in then are held and posted as one digest at %s.", q, s.zoneName(key), digest.FormatClock(q.End))}
}

// timezone runs /timezone (show), /timezone default and /timezone NAME.
func (s *Service) timezone(cmd chat.Command) chat.Reply {
	const usage = "Usage: /timezone Europe/Kyiv (an IANA zone name), or /timezone default for the bot's zone."
	if s.cfg.Cadence == nil {
		return chat.Reply{Text: "Time zones are not available on this Frontwire."}
	}
	arg := strings.TrimSpace(cmd.Args)
	key := cmd.From.Key()
	if arg == "" {
		return chat.Reply{Text: fmt.Sprintf("This chat's time zone: %s.\n%s", s.zoneName(key), usage)}
	}
	if !cmd.CanManage {
		return chat.Reply{Text: settingsRefusal}
	}
	cs, err := s.cfg.Cadence.ChatSettings(key)
	if err != nil {
		return s.internal("load chat settings", err)
	}
	if strings.EqualFold(arg, "default") {
		cs.Timezone = ""
	} else {
		loc, err := digest.LoadZone(arg)
		if err != nil {
			return chat.Reply{Text: fmt.Sprintf("%q is not a time zone I know. %s", truncate(arg, 64), usage)}
		}
		cs.Timezone = loc.String()
	}
	if err := s.cfg.Cadence.SetChatSettings(key, cs); err != nil {
		return s.internal("save chat settings", err)
	}
	s.log.Info("time zone set", "chat", key, "zone", cs.Timezone)
	return chat.Reply{Public: true, Text: fmt.Sprintf("This chat's time zone is now %s: daily digests and quiet hours follow it.", s.zoneName(key))}
}

// zoneName names the chat's zone for replies, saying when it is the bot's.
func (s *Service) zoneName(chatKey string) string {
	def := s.cfg.Location
	if def == nil {
		def = time.UTC
	}
	cs, err := s.cfg.Cadence.ChatSettings(chatKey)
	if err != nil || cs.Timezone == "" {
		return def.String() + ", the bot's time zone"
	}
	return cs.Location(def).String()
}

// cadenceProblem says what to fix, in words a person can act on.
func cadenceProblem(err error) string {
	switch {
	case errors.Is(err, digest.ErrBadClock):
		return "times are HH:MM on a 24-hour clock, from 00:00 to 23:59."
	case errors.Is(err, digest.ErrBadQuiet):
		return "give a start and an end, HH:MM-HH:MM, and make them different."
	case errors.Is(err, digest.ErrBadCadence):
		return "say instant, hourly, or daily HH:MM."
	}
	return err.Error()
}
