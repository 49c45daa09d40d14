package subscriptions

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"frontwire/internal/chat"
)

// SourceAdmin adds and removes news sources at run time. The daemon
// implements it over sources.Runtime; this package only needs the two
// verbs.
type SourceAdmin interface {
	// AddSource validates and adds the feed at rawURL, named name (empty:
	// the feed's own title), on behalf of by ("platform:user"). It returns
	// the name the source got. A refusal the admin can act on is a
	// *SourceError.
	AddSource(ctx context.Context, rawURL, name, by string) (string, error)
	// RemoveSource removes a source added at run time and returns its
	// name. A refusal is a *SourceError.
	RemoveSource(ctx context.Context, name string) (string, error)
}

// SourceError is a refusal of /addsource or /removesource whose Reason is
// meant for the admin who asked (a bad address, not a feed, a name in use).
type SourceError struct {
	Reason string
}

func (e *SourceError) Error() string { return e.Reason }

// isAdmin reports whether the command's user is listed in Admins as
// "platform:user". Anonymous posts (no user) never are.
func (s *Service) isAdmin(cmd chat.Command) bool {
	if cmd.User == "" {
		return false
	}
	who := cmd.From.Platform + ":" + cmd.User
	for _, a := range s.cfg.Admins {
		if strings.TrimSpace(a) == who {
			return true
		}
	}
	return false
}

// notAdmin is the same for everyone who is not an admin, and names no one:
// telling a stranger who holds the keys helps only the stranger.
var notAdmin = chat.Reply{Text: "Only the operators of this Frontwire can add or remove sources. /sources shows the current ones."}

func (s *Service) addSource(ctx context.Context, cmd chat.Command) chat.Reply {
	if !s.isAdmin(cmd) {
		s.log.Info("source command refused: not an admin", "user", cmd.From.Platform+":"+cmd.User, "command", cmd.Name)
		return notAdmin
	}
	if s.cfg.SourceAdmin == nil {
		return chat.Reply{Text: "Adding sources from chat is not available on this Frontwire."}
	}
	fields := strings.Fields(cmd.Args)
	if len(fields) == 0 {
		return chat.Reply{Text: "Which feed? /addsource URL [name], for example: /addsource https://kyivindependent.com/feed/ Kyiv Independent"}
	}
	rawURL := fields[0]
	name := strings.Join(fields[1:], " ")
	got, err := s.cfg.SourceAdmin.AddSource(ctx, rawURL, name, cmd.From.Platform+":"+cmd.User)
	if err != nil {
		var se *SourceError
		if errors.As(err, &se) {
			return chat.Reply{Text: "Not added: " + truncate(se.Reason, 400)}
		}
		return s.internal("add source", err)
	}
	return chat.Reply{Text: fmt.Sprintf("Added source %q. Its current stories are marked as seen; new ones will be matched from now on. /sources shows its health.", got)}
}

func (s *Service) removeSource(ctx context.Context, cmd chat.Command) chat.Reply {
	if !s.isAdmin(cmd) {
		s.log.Info("source command refused: not an admin", "user", cmd.From.Platform+":"+cmd.User, "command", cmd.Name)
		return notAdmin
	}
	if s.cfg.SourceAdmin == nil {
		return chat.Reply{Text: "Removing sources from chat is not available on this Frontwire."}
	}
	name := strings.Join(strings.Fields(cmd.Args), " ")
	if name == "" {
		return chat.Reply{Text: "Which one? /removesource NAME; /sources lists the names."}
	}
	got, err := s.cfg.SourceAdmin.RemoveSource(ctx, name)
	if err != nil {
		var se *SourceError
		if errors.As(err, &se) {
			return chat.Reply{Text: "Not removed: " + truncate(se.Reason, 400)}
		}
		return s.internal("remove source", err)
	}
	return chat.Reply{Text: fmt.Sprintf("Removed source %q; it is no longer polled.", got)}
}
