package discordtest

import (
	"context"
	"strconv"

	"github.com/bwmarrin/discordgo"
)

// Invocation describes an interaction a test wants Discord to deliver.
type Invocation struct {
	Type      discordgo.InteractionType // default: application command
	GuildID   string                    // empty for a DM
	ChannelID string
	UserID    string
	// Permissions are the member's permissions in the channel (guild only);
	// they are sent as a JSON string, as Discord does.
	Permissions int64
	Name        string            // command name
	Options     map[string]string // string options by name
	Focused     string            // autocomplete: the option being typed
	CustomID    string            // component interactions: the button's custom_id
}

// Interact dispatches an INTERACTION_CREATE for inv and returns the
// interaction's id and token, so the test can find the callback and edits.
func (s *Server) Interact(ctx context.Context, inv Invocation) (id, token string, err error) {
	s.mu.Lock()
	id = s.newIDLocked()
	s.mu.Unlock()
	token = "itoken-" + id
	typ := inv.Type
	if typ == 0 {
		typ = discordgo.InteractionApplicationCommand
	}
	user := map[string]any{"id": inv.UserID, "username": "user" + inv.UserID, "discriminator": "0"}
	d := map[string]any{
		"id":             id,
		"application_id": s.opts.AppID,
		"type":           int(typ),
		"channel_id":     inv.ChannelID,
		"token":          token,
		"version":        1,
		"app_permissions": strconv.FormatInt(
			discordgo.PermissionViewChannel|discordgo.PermissionSendMessages|discordgo.PermissionEmbedLinks, 10),
		"locale": "en-US",
	}
	if inv.GuildID != "" {
		d["guild_id"] = inv.GuildID
		d["member"] = map[string]any{
			"user":        user,
			"roles":       []string{},
			"permissions": strconv.FormatInt(inv.Permissions, 10),
			"joined_at":   "2024-01-01T00:00:00Z",
		}
		d["context"] = 0
	} else {
		d["user"] = user
		d["context"] = 1
	}
	switch typ {
	case discordgo.InteractionMessageComponent:
		d["data"] = map[string]any{"custom_id": inv.CustomID, "component_type": int(discordgo.ButtonComponent)}
		d["message"] = map[string]any{"id": "1", "channel_id": inv.ChannelID}
	default:
		var opts []map[string]any
		for name, v := range inv.Options {
			o := map[string]any{"name": name, "type": int(discordgo.ApplicationCommandOptionString), "value": v}
			if name == inv.Focused {
				o["focused"] = true
			}
			opts = append(opts, o)
		}
		d["data"] = map[string]any{"id": "cmd-" + inv.Name, "name": inv.Name, "type": 1, "options": opts}
	}
	return id, token, s.Dispatch(ctx, "INTERACTION_CREATE", d)
}

// Channel is a guild channel for GuildCreate.
type Channel struct {
	ID   string
	Name string
}

// GuildCreate dispatches GUILD_CREATE for a guild with the given text
// channels, as Discord does when the bot joins or a guild becomes available.
func (s *Server) GuildCreate(ctx context.Context, guildID string, channels ...Channel) error {
	chs := make([]map[string]any, 0, len(channels))
	for _, c := range channels {
		chs = append(chs, map[string]any{"id": c.ID, "name": c.Name, "type": int(discordgo.ChannelTypeGuildText), "guild_id": guildID})
	}
	return s.Dispatch(ctx, "GUILD_CREATE", map[string]any{
		"id": guildID, "name": "guild " + guildID, "channels": chs, "members": []any{}, "roles": []any{},
		"unavailable": false, "joined_at": "2024-01-01T00:00:00Z",
	})
}

// GuildDelete dispatches GUILD_DELETE: unavailable true means an outage,
// false means the bot was removed from the guild.
func (s *Server) GuildDelete(ctx context.Context, guildID string, unavailable bool) error {
	d := map[string]any{"id": guildID}
	if unavailable {
		d["unavailable"] = true
	}
	return s.Dispatch(ctx, "GUILD_DELETE", d)
}
