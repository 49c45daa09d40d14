package discord

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"frontwire/internal/chat"
)

// manageChannels is the permission that changing a guild channel's
// subscriptions needs; Administrator implies it.
const manageChannels = discordgo.PermissionManageChannels

// Commands returns the slash commands the bot registers. The mutating ones
// default to members with Manage Channels; the adapter checks the
// permission again on every interaction, since server admins can override
// defaults.
func Commands() []*discordgo.ApplicationCommand {
	perm := int64(manageChannels)
	minLen := 1
	str := func(name, desc string, required, autocomplete bool) *discordgo.ApplicationCommandOption {
		o := &discordgo.ApplicationCommandOption{
			Type: discordgo.ApplicationCommandOptionString, Name: name, Description: desc,
			Required: required, Autocomplete: autocomplete,
		}
		if !autocomplete {
			o.MinLength = &minLen
			o.MaxLength = 200
		}
		return o
	}
	cmd := func(name, desc string, manage bool, opts ...*discordgo.ApplicationCommandOption) *discordgo.ApplicationCommand {
		c := &discordgo.ApplicationCommand{
			Type: discordgo.ChatApplicationCommand, Name: name, Description: desc,
			Options: opts,
		}
		if manage {
			p := perm
			c.DefaultMemberPermissions = &p
		}
		return c
	}
	return []*discordgo.ApplicationCommand{
		cmd("subscribe", "Alert this channel to stories matching a query", true,
			str("query", "Words to match, e.g. Ukraine peace", true, false)),
		cmd("unsubscribe", "Stop a subscription of this channel", true,
			str("id", "The subscription to stop", true, true)),
		cmd("list", "List this channel's subscriptions", false),
		cmd("pause", "Pause one subscription, or all of this channel's", true,
			str("id", "The subscription to pause (all if left out)", false, true)),
		cmd("resume", "Resume one subscription, or all of this channel's", true,
			str("id", "The subscription to resume (all if left out)", false, true)),
		cmd("preview", "Show recent stories a query would have matched", false,
			str("query", "Words to match", true, false)),
		cmd("sources", "List the news sources Frontwire reads", false),
		cmd("help", "How to use Frontwire", false),
		cmd("why", "Explain an alert: the query, the matched terms, the outlets", false,
			str("number", "The number shown at the end of the alert", true, false)),
		cmd("mute", "Stop updates to an alert's story in this channel", true,
			str("number", "The number shown at the end of the alert", true, false)),
		cmd("set", "Deliver a subscription instantly or as an hourly or daily digest", true,
			str("id", "The subscription", true, true),
			str("cadence", "instant, hourly, or daily HH:MM (e.g. daily 08:00)", true, false)),
		cmd("quiet", "Hold alerts during quiet hours, e.g. 23:00-07:00, or off", true,
			str("hours", "HH:MM-HH:MM, or off (leave out to show them)", false, false)),
		cmd("timezone", "This channel's time zone for digests and quiet hours", true,
			str("zone", "An IANA zone such as Europe/Kyiv, or default", false, false)),
		cmd("addsource", "Add a news feed (Frontwire admins only)", false,
			str("url", "The feed's http(s) address", true, false),
			str("name", "A name for the source", false, false)),
		cmd("removesource", "Remove a feed added from chat (Frontwire admins only)", false,
			str("name", "The source's name", true, false)),
	}
}

// optionsOf names, in order, the options whose values make up each
// command's arguments; for /set the words "digest" go between them, as the
// text command reads "/set ID digest CADENCE".
func optionsOf(name string) []string {
	switch name {
	case "subscribe", "preview":
		return []string{"query"}
	case "unsubscribe", "pause", "resume":
		return []string{"id"}
	case "why", "mute":
		return []string{"number"}
	case "set":
		return []string{"id", "cadence"}
	case "quiet":
		return []string{"hours"}
	case "timezone":
		return []string{"zone"}
	case "addsource":
		return []string{"url", "name"}
	case "removesource":
		return []string{"name"}
	}
	return nil
}

// argsOf joins a command's option values into the arguments of the
// equivalent text command.
func argsOf(name string, opts []*discordgo.ApplicationCommandInteractionDataOption) string {
	var parts []string
	for _, want := range optionsOf(name) {
		for _, o := range opts {
			if o != nil && o.Name == want {
				if v := strings.TrimSpace(optionString(o)); v != "" {
					parts = append(parts, v)
				}
			}
		}
		if name == "set" && want == "id" {
			parts = append(parts, "digest")
		}
	}
	return strings.Join(parts, " ")
}

// slowCommands defer their answer at once (response type 5) and edit it
// when done: they may take longer than Discord's 3-second deadline.
func slowCommand(name string) bool { return name == "preview" }

// deferAfter is how long an ordinary command may run before the adapter
// defers its answer anyway, leaving margin under the 3-second deadline.
const deferAfter = 2 * time.Second

// customIDPrefix marks buttons made by this adapter: "fw|command|args".
const customIDPrefix = "fw|"

func encodeCustomID(a chat.Action) (string, bool) {
	id := customIDPrefix + a.Command + "|" + a.Args
	if strings.ContainsRune(a.Command, '|') || len(id) > maxCustomID || a.Command == "" {
		return "", false
	}
	return id, true
}

func decodeCustomID(id string) (cmd, args string, ok bool) {
	rest, ok := strings.CutPrefix(id, customIDPrefix)
	if !ok {
		return "", "", false
	}
	cmd, args, ok = strings.Cut(rest, "|")
	if !ok || cmd == "" {
		return "", "", false
	}
	return strings.ToLower(cmd), args, true
}

// command translates an interaction into the core's Command; ok is false for
// interactions that carry no command.
func command(i *discordgo.Interaction) (chat.Command, bool) {
	cmd := chat.Command{From: chat.Address{Platform: Platform, Chat: i.ChannelID}}
	if i.ChannelID == "" {
		return cmd, false
	}
	var user *discordgo.User
	if i.GuildID == "" {
		// A DM: the channel is the person's own.
		cmd.Kind = chat.Private
		cmd.CanManage = true
		user = i.User
	} else {
		cmd.Kind = chat.Group
		if i.Member != nil {
			user = i.Member.User
			p := i.Member.Permissions
			cmd.CanManage = p&manageChannels != 0 || p&discordgo.PermissionAdministrator != 0
		}
	}
	if user != nil {
		cmd.User = user.ID
		cmd.UserName = user.Username
		if user.GlobalName != "" {
			cmd.UserName = user.GlobalName
		}
	}
	switch d := i.Data.(type) {
	case discordgo.ApplicationCommandInteractionData:
		cmd.Name = strings.ToLower(d.Name)
		cmd.Args = argsOf(cmd.Name, d.Options)
	case discordgo.MessageComponentInteractionData:
		name, args, ok := decodeCustomID(d.CustomID)
		if !ok {
			return cmd, false
		}
		cmd.Name, cmd.Args = name, args
	default:
		return cmd, false
	}
	return cmd, cmd.Name != ""
}

func optionString(o *discordgo.ApplicationCommandInteractionDataOption) string {
	switch v := o.Value.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// focused returns the option being typed in an autocomplete interaction.
func focused(i *discordgo.Interaction) (string, bool) {
	d, ok := i.Data.(discordgo.ApplicationCommandInteractionData)
	if !ok {
		return "", false
	}
	for _, o := range d.Options {
		if o != nil && o.Focused {
			return optionString(o), true
		}
	}
	return "", false
}

// replyData renders a Reply: escaped content, one button row per action,
// ephemeral unless the reply is public, and never a mention.
func replyData(r chat.Reply) *discordgo.InteractionResponseData {
	text := r.Text
	if strings.TrimSpace(text) == "" {
		text = "Done."
	}
	d := &discordgo.InteractionResponseData{
		Content:         escape(text, maxContent),
		AllowedMentions: noMentions(),
		Components:      buttons(r.Actions),
	}
	if !r.Public {
		d.Flags = discordgo.MessageFlagsEphemeral
	}
	return d
}

func buttons(actions []chat.Action) []discordgo.MessageComponent {
	var rows []discordgo.MessageComponent
	for _, a := range actions {
		if len(rows) == maxActionRows {
			break
		}
		id, ok := encodeCustomID(a)
		if !ok {
			continue
		}
		label := plain(a.Label, maxButtonLabel)
		if label == "" {
			label = a.Command
		}
		rows = append(rows, discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: label, Style: discordgo.SecondaryButton, CustomID: id},
		}})
	}
	return rows
}

// onInteraction answers an interaction. discordgo runs each event handler in
// its own goroutine, so a slow handler holds up nobody else.
func (b *Bot) onInteraction(s *discordgo.Session, ic *discordgo.InteractionCreate) {
	if ic == nil || ic.Interaction == nil {
		return
	}
	i := ic.Interaction
	if i.GuildID != "" && i.ChannelID != "" {
		b.mu.Lock()
		b.guildOf[i.ChannelID] = i.GuildID
		b.mu.Unlock()
	}
	ctx := b.ctx()
	switch i.Type {
	case discordgo.InteractionApplicationCommandAutocomplete:
		b.autocomplete(ctx, i)
	case discordgo.InteractionApplicationCommand, discordgo.InteractionMessageComponent:
		cmd, ok := command(i)
		if !ok {
			b.respond(ctx, i, &discordgo.InteractionResponse{
				Type: discordgo.InteractionResponseChannelMessageWithSource,
				Data: replyData(chat.Reply{Text: "Sorry, I don't know that command. Try /help."}),
			})
			return
		}
		b.runCommand(ctx, i, cmd)
	}
}

func (b *Bot) autocomplete(ctx context.Context, i *discordgo.Interaction) {
	choices := []*discordgo.ApplicationCommandOptionChoice{}
	prefix, _ := focused(i)
	if b.comp != nil && i.ChannelID != "" {
		from := chat.Address{Platform: Platform, Chat: i.ChannelID}
		for _, a := range b.comp.Complete(ctx, from, strings.TrimSpace(prefix)) {
			if len(choices) == maxChoices {
				break
			}
			if a.Args == "" || length(a.Args) > maxChoiceValue {
				continue
			}
			name := plain(a.Label, maxChoiceName)
			if name == "" {
				name = a.Args
			}
			choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: name, Value: a.Args})
		}
	}
	b.respond(ctx, i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionApplicationCommandAutocompleteResult,
		Data: &discordgo.InteractionResponseData{Choices: choices},
	})
}

// runCommand calls the handler and answers within the deadline: slow
// commands defer at once; others defer when the handler outlasts
// deferAfter.
func (b *Bot) runCommand(ctx context.Context, i *discordgo.Interaction, cmd chat.Command) {
	log := b.log.With("interaction_id", i.ID, "command", cmd.Name, "channel_id", cmd.From.Chat, "user_id", cmd.User)
	if slowCommand(cmd.Name) {
		b.deferAck(ctx, i)
		b.finish(ctx, i, log, b.handler.Handle(ctx, cmd))
		return
	}
	done := make(chan chat.Reply, 1)
	go func() { done <- b.handler.Handle(ctx, cmd) }()
	select {
	case r := <-done:
		b.respond(ctx, i, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: replyData(r),
		})
	case <-b.clock.After(deferAfter):
		log.Warn("discord command slow; answer deferred")
		b.deferAck(ctx, i)
		b.finish(ctx, i, log, <-done)
	case <-ctx.Done():
	}
}

// deferAck acknowledges the interaction with response type 5, ephemeral:
// Discord shows "thinking…" to the asker only until finish edits it.
func (b *Bot) deferAck(ctx context.Context, i *discordgo.Interaction) {
	b.respond(ctx, i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral},
	})
}

// finish edits a deferred answer into reply. A public reply is also posted
// as a follow-up, since editing cannot make an ephemeral answer public.
func (b *Bot) finish(ctx context.Context, i *discordgo.Interaction, log *slog.Logger, reply chat.Reply) {
	d := replyData(reply)
	edit := &discordgo.WebhookEdit{Content: &d.Content, Components: &d.Components, AllowedMentions: d.AllowedMentions}
	if _, err := b.s.InteractionResponseEdit(i, edit, discordgo.WithContext(ctx)); err != nil {
		log.Error("discord: edit deferred answer", "err", redact(err, b.token, i.Token))
	}
	if reply.Public {
		params := &discordgo.WebhookParams{Content: d.Content, AllowedMentions: d.AllowedMentions}
		if _, err := b.s.FollowupMessageCreate(i, false, params, discordgo.WithContext(ctx)); err != nil {
			log.Error("discord: post public follow-up", "err", redact(err, b.token, i.Token))
		}
	}
}

func (b *Bot) respond(ctx context.Context, i *discordgo.Interaction, r *discordgo.InteractionResponse) {
	if err := b.s.InteractionRespond(i, r, discordgo.WithContext(ctx)); err != nil {
		// The interaction token is part of the URL: keep it out of the log.
		b.log.Error("discord: answer interaction", "interaction_id", i.ID, "response_type", int(r.Type),
			"err", redact(err, b.token, i.Token))
	}
}
