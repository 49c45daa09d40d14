package subscriptions_test

import (
	"fmt"
	"strings"
	"testing"

	"frontwire/internal/chat"
	"frontwire/internal/storage"
	"frontwire/internal/story"
)

// queueClustered commits one story per outlet, all of cluster "c1", as
// alerts of subscription 1 to groupA, and returns the first alert's number.
func queueClustered(t *testing.T, f *fixture, outlets ...string) uint64 {
	t.Helper()
	var number uint64
	for i, o := range outlets {
		s := story.Story{ID: fmt.Sprint("s", i), Source: o, Title: "Witkoff talks end (" + o + ")", Link: "https://" + o + ".example/a"}
		m := chat.Message{To: groupA, Kind: chat.KindAlert, Alert: &chat.Alert{
			StoryID: s.ID, Source: o, Title: s.Title, Link: s.Link, SubscriptionID: 1, Query: "Witkoff",
			Matched: []string{"witkoff"}, ClusterID: "c1"}}
		q, err := f.db.CommitPoll(storage.SourceState{}, []storage.NewStory{{Story: s, Messages: []chat.Message{m}}})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			number = q[0].Alert.Number
		}
	}
	return number
}

func TestWhyAndMute(t *testing.T) {
	f := newFixture(t, 3)
	n := queueClustered(t, f, "Reuters", "AP", "BBC")
	num := fmt.Sprint(n)

	steps := []struct {
		from  chat.Address
		admin bool
		line  string
		want  string
	}{
		{groupA, false, "/why " + num, "Subscription #1: Witkoff"},
		{groupA, false, "/why #" + num, "Matched terms: witkoff"},
		{groupA, false, "/why " + num, "Reported by 3 outlets: Reuters (first), AP, BBC"},
		{groupA, false, "/why", "Usage: /why NUMBER"},
		{groupA, false, "/why abc", "Usage: /why NUMBER"},
		{groupA, false, "/why 999", "There is no alert 999 in this chat"},
		{groupB, true, "/why " + num, "There is no alert " + num + " in this chat"}, // another chat's alert stays private
		{groupA, false, "/mute " + num, "Only this chat's administrators"},
		{groupB, true, "/mute " + num, "There is no alert"},
		{groupA, true, "/mute " + num, "Muted: alert " + num},
	}
	for _, st := range steps {
		t.Run(st.line, func(t *testing.T) {
			r := f.do(st.from, "u", st.admin, st.line)
			if !strings.Contains(r.Text, st.want) {
				t.Errorf("%s → %q, want it to contain %q", st.line, r.Text, st.want)
			}
		})
	}

	// Muted: a fourth outlet of the event queues nothing for the chat.
	before, err := f.db.OutboxLen()
	if err != nil {
		t.Fatal(err)
	}
	s := story.Story{ID: "s9", Source: "DW", Title: "Witkoff talks end (DW)"}
	m := chat.Message{To: groupA, Kind: chat.KindAlert, Alert: &chat.Alert{StoryID: "s9", Source: "DW", ClusterID: "c1", SubscriptionID: 1}}
	q, err := f.db.CommitPoll(storage.SourceState{}, []storage.NewStory{{Story: s, Messages: []chat.Message{m}}})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := f.db.OutboxLen()
	if len(q) != 0 || after > before {
		t.Errorf("after /mute a new outlet queued %d messages (outbox %d → %d)", len(q), before, after)
	}
}
