package discord

import (
	"testing"

	"github.com/bwmarrin/discordgo"
)

func TestSlashOptionsBecomeTextArguments(t *testing.T) {
	opt := func(name, v string) *discordgo.ApplicationCommandInteractionDataOption {
		return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: discordgo.ApplicationCommandOptionString, Value: v}
	}
	cases := []struct {
		name string
		opts []*discordgo.ApplicationCommandInteractionDataOption
		want string
	}{
		{"subscribe", []*discordgo.ApplicationCommandInteractionDataOption{opt("query", "  Ukraine peace ")}, "Ukraine peace"},
		{"set", []*discordgo.ApplicationCommandInteractionDataOption{opt("cadence", "daily 08:00"), opt("id", "12")}, "12 digest daily 08:00"},
		{"addsource", []*discordgo.ApplicationCommandInteractionDataOption{opt("url", "https://example.org/feed"), opt("name", "Example")}, "https://example.org/feed Example"},
		{"addsource", []*discordgo.ApplicationCommandInteractionDataOption{opt("url", "https://example.org/feed")}, "https://example.org/feed"},
		{"quiet", nil, ""},
		{"list", []*discordgo.ApplicationCommandInteractionDataOption{opt("query", "ignored")}, ""},
	}
	for _, c := range cases {
		if got := argsOf(c.name, c.opts); got != c.want {
			t.Errorf("%s: args %q, want %q", c.name, got, c.want)
		}
	}
	// Every command that takes arguments declares the options argsOf reads.
	for _, cmd := range Commands() {
		declared := map[string]bool{}
		for _, o := range cmd.Options {
			declared[o.Name] = true
		}
		for _, want := range optionsOf(cmd.Name) {
			if !declared[want] {
				t.Errorf("/%s reads option %q it does not declare", cmd.Name, want)
			}
		}
	}
}
