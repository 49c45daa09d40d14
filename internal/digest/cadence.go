// Package digest holds Frontwire's delivery cadence: whether a subscription's
// alerts go out at once or wait for an hourly or daily digest, a chat's
// quiet hours and time zone, the decision to hold an alert, the building of
// a digest from held alerts, and the scheduler that turns held alerts into
// digest messages when they fall due.
//
// The package knows no storage and no platform: storage keeps the settings
// and the held alerts in the types defined here, and each chat adapter
// renders a chat.Digest within its own limits.
package digest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Sentinel errors for a person's typing mistakes; the command layer turns
// them into replies saying what to fix.
var (
	ErrBadCadence = errors.New("cadence must be instant, hourly or daily HH:MM")
	ErrBadClock   = errors.New("time must be HH:MM on a 24-hour clock, 00:00 to 23:59")
	ErrBadQuiet   = errors.New("quiet hours must be HH:MM-HH:MM with two different times")
	ErrBadZone    = errors.New("unknown time zone")
)

// Mode is how a subscription's alerts are delivered.
type Mode string

// The delivery modes.
const (
	Instant Mode = "instant" // each alert at once (the default)
	Hourly  Mode = "hourly"  // one digest on the hour
	Daily   Mode = "daily"   // one digest a day at Cadence.At in the chat's zone
)

// Cadence is a subscription's delivery setting. The zero value is Instant.
type Cadence struct {
	Mode Mode `json:"mode"`
	// At is the minute of the day (0..1439) of a daily digest, in the
	// chat's time zone.
	At int `json:"at,omitempty"`
}

// IsInstant reports whether alerts are sent at once.
func (c Cadence) IsInstant() bool { return c.Mode == "" || c.Mode == Instant }

// String is the cadence as the /set command takes it.
func (c Cadence) String() string {
	switch c.Mode {
	case Hourly:
		return "hourly"
	case Daily:
		return "daily " + FormatClock(c.At)
	}
	return "instant"
}

// Valid reports whether the cadence is one ParseCadence could return.
func (c Cadence) Valid() bool {
	switch c.Mode {
	case "", Instant, Hourly:
		return c.At == 0
	case Daily:
		return c.At >= 0 && c.At < 24*60
	}
	return false
}

// ParseCadence reads "instant", "hourly" or "daily HH:MM" (case does not
// matter; "daily" alone means 08:00).
func ParseCadence(s string) (Cadence, error) {
	f := strings.Fields(strings.ToLower(s))
	if len(f) == 0 {
		return Cadence{}, ErrBadCadence
	}
	switch f[0] {
	case "instant", "now", "off":
		if len(f) == 1 {
			return Cadence{Mode: Instant}, nil
		}
	case "hourly":
		if len(f) == 1 {
			return Cadence{Mode: Hourly}, nil
		}
	case "daily":
		if len(f) == 1 {
			return Cadence{Mode: Daily, At: 8 * 60}, nil
		}
		if len(f) == 2 {
			at, err := ParseClock(f[1])
			if err != nil {
				return Cadence{}, err
			}
			return Cadence{Mode: Daily, At: at}, nil
		}
	}
	return Cadence{}, ErrBadCadence
}

// ParseClock reads a time of day, "HH:MM" (or "H:MM"), into minutes after
// midnight.
func ParseClock(s string) (int, error) {
	hs, ms, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(hs) < 1 || len(hs) > 2 || len(ms) != 2 {
		return 0, fmt.Errorf("%q: %w", s, ErrBadClock)
	}
	h, err1 := strconv.Atoi(hs)
	m, err2 := strconv.Atoi(ms)
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 || hs[0] == '+' || hs[0] == '-' || ms[0] == '+' || ms[0] == '-' {
		return 0, fmt.Errorf("%q: %w", s, ErrBadClock)
	}
	return h*60 + m, nil
}

// FormatClock writes minutes after midnight as HH:MM.
func FormatClock(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }

// Quiet is a chat's quiet hours: from Start to End (minutes after midnight
// in the chat's zone), wrapping past midnight when End is earlier than
// Start. During them instant alerts are held and delivered as one digest
// when they end.
type Quiet struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// String is the quiet hours as /quiet takes them.
func (q Quiet) String() string { return FormatClock(q.Start) + "-" + FormatClock(q.End) }

// ParseQuiet reads "HH:MM-HH:MM".
func ParseQuiet(s string) (Quiet, error) {
	a, b, ok := strings.Cut(strings.ReplaceAll(s, " ", ""), "-")
	if !ok {
		return Quiet{}, ErrBadQuiet
	}
	start, err := ParseClock(a)
	if err != nil {
		return Quiet{}, err
	}
	end, err := ParseClock(b)
	if err != nil {
		return Quiet{}, err
	}
	if start == end {
		return Quiet{}, ErrBadQuiet
	}
	return Quiet{Start: start, End: end}, nil
}

// Contains reports whether t falls inside the quiet hours in loc. The start
// minute is inside, the end minute is not.
func (q Quiet) Contains(t time.Time, loc *time.Location) bool {
	lt := t.In(loc)
	m := lt.Hour()*60 + lt.Minute()
	if q.Start < q.End {
		return m >= q.Start && m < q.End
	}
	return m >= q.Start || m < q.End
}

// EndAfter is the first end of quiet hours strictly after t.
func (q Quiet) EndAfter(t time.Time, loc *time.Location) time.Time {
	return dailyAt(q.End, loc).Next(t)
}

// Next is the first digest time strictly after t for a digest cadence, in
// loc; for Instant it is t itself.
func (c Cadence) Next(t time.Time, loc *time.Location) time.Time {
	switch c.Mode {
	case Hourly:
		return hourly(loc).Next(t)
	case Daily:
		return dailyAt(c.At, loc).Next(t)
	}
	return t
}

// schedule builds a robfig/cron schedule from a five-field spec in loc.
// Schedules come from robfig/cron so that daylight-saving jumps are handled
// as cron handles them; the scheduler asks them for the next time instead
// of running a cron.Cron, so that tests can drive time with an injected
// clock.
func schedule(spec string, loc *time.Location) cron.Schedule {
	p := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)
	s, err := p.Parse(spec)
	if err != nil {
		// The specs are built from validated numbers, so this cannot
		// happen; an hourly fallback keeps held alerts moving regardless.
		return cron.Every(time.Hour)
	}
	if ss, ok := s.(*cron.SpecSchedule); ok && loc != nil {
		ss.Location = loc
	}
	return s
}

func hourly(loc *time.Location) cron.Schedule { return schedule("0 * * * *", loc) }

func dailyAt(min int, loc *time.Location) cron.Schedule {
	min = ((min % 1440) + 1440) % 1440
	return schedule(fmt.Sprintf("%d %d * * *", min%60, min/60), loc)
}

// LoadZone returns the IANA time zone name (Europe/Kyiv), refusing empty,
// "Local" and unknown names with ErrBadZone.
func LoadZone(name string) (*time.Location, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 64 || strings.EqualFold(name, "local") {
		return nil, fmt.Errorf("%q: %w", name, ErrBadZone)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", name, ErrBadZone)
	}
	return loc, nil
}

// ChatSettings are a chat's delivery settings. The zero value means the
// bot's time zone and no quiet hours.
type ChatSettings struct {
	Timezone string `json:"timezone,omitempty"` // IANA name; "" is the bot's zone
	Quiet    *Quiet `json:"quiet,omitempty"`
}

// Location returns the chat's zone, or def when it has none or its name no
// longer loads.
func (s ChatSettings) Location(def *time.Location) *time.Location {
	if s.Timezone != "" {
		if loc, err := LoadZone(s.Timezone); err == nil {
			return loc
		}
	}
	if def == nil {
		return time.UTC
	}
	return def
}
