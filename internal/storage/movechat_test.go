package storage

import (
	"errors"
	"testing"
	"time"

	"frontwire/internal/chat"
	"frontwire/internal/digest"
	"frontwire/internal/subscriptions"
)

// TestMoveChatCarriesDigestStateAndClusters: a group upgraded to a
// supergroup keeps its held alerts, its settings and its story-cluster
// records, so its next digest, its quiet hours and the edits of its
// alerts all follow it to the new chat id.
func TestMoveChatCarriesDigestStateAndClusters(t *testing.T) {
	db, _ := openTemp(t)
	from := chat.Address{Platform: "telegram", Chat: "-42"}
	to := chat.Address{Platform: "telegram", Chat: "-10042"}
	bystander := addr("telegram", "-43")
	s := sub(from, "talks")
	if err := db.AddSubscriptions([]*subscriptions.Subscription{s}); err != nil {
		t.Fatal(err)
	}
	settings := digest.ChatSettings{Timezone: "Europe/Kyiv"}
	if err := db.SetChatSettings(from.Key(), settings); err != nil {
		t.Fatal(err)
	}

	held := outletStory("h1", "dw")
	if _, err := db.CommitPoll(SourceState{}, []NewStory{{Story: held, Held: []chat.Message{alertMsg(from, held, s.ID)}}}); err != nil {
		t.Fatal(err)
	}
	s1 := outletStory("s1", "reuters")
	q := commitOne(t, db, s1, clusteredAlert(from, s1, "c1", t0), clusteredAlert(bystander, s1, "c1", t0))
	if len(q) != 2 {
		t.Fatalf("first story queued %+v", q)
	}
	mine, theirs := q[0], q[1]

	if _, err := db.MoveChat(from, to); err != nil {
		t.Fatal(err)
	}

	t.Run("settings", func(t *testing.T) {
		if got, _ := db.ChatSettings(to.Key()); got != settings {
			t.Errorf("new chat settings %+v, want %+v", got, settings)
		}
		if got, _ := db.ChatSettings(from.Key()); got != (digest.ChatSettings{}) {
			t.Errorf("old chat keeps settings %+v", got)
		}
	})
	t.Run("held alerts", func(t *testing.T) {
		if got, _ := db.Held(from.Key()); len(got) != 0 {
			t.Errorf("old chat still holds %d alerts", len(got))
		}
		got, err := db.Held(to.Key())
		if err != nil || len(got) != 1 || got[0].To.Key() != to.Key() || got[0].Alert.StoryID != "h1" {
			t.Fatalf("new chat holds %+v, %v; want the one alert of h1 addressed to %s", got, err, to.Key())
		}
		groups, err := db.HeldGroups()
		if err != nil || len(groups) != 1 {
			t.Fatalf("HeldGroups = %+v, %v", groups, err)
		}
	})
	t.Run("cluster records", func(t *testing.T) {
		if _, err := db.ClusterAlert(from.Key(), mine.Alert.Number); !errors.Is(err, ErrNotFound) {
			t.Errorf("old chat still reads its alert: %v", err)
		}
		rec, err := db.ClusterAlert(to.Key(), mine.Alert.Number)
		if err != nil || rec.To.Key() != to.Key() {
			t.Fatalf("new chat's alert %d: %+v, %v", mine.Alert.Number, rec, err)
		}
		if _, err := db.ClusterAlert(bystander.Key(), theirs.Alert.Number); err != nil {
			t.Errorf("bystander lost its record: %v", err)
		}
		// The next outlet edits the alert sent before the move.
		s2 := outletStory("s2", "ap")
		q := commitOne(t, db, s2, clusteredAlert(to, s2, "c1", t0.Add(time.Minute)))
		if len(q) != 1 || q[0].Kind != chat.KindEdit || q[0].EditOf != mine.Seq || q[0].To.Key() != to.Key() {
			t.Fatalf("after the move a new outlet queued %+v, want an edit of %d to %s", q, mine.Seq, to.Key())
		}
		if _, err := db.MuteAlert(to.Key(), mine.Alert.Number); err != nil {
			t.Errorf("mute in the new chat: %v", err)
		}
	})
}
