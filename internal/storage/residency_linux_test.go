package storage

import (
	"fmt"
	"testing"

	"frontwire/internal/chat"
	"frontwire/internal/subscriptions"
)

func TestReleaseMapDropsResidentPages(t *testing.T) {
	db, _ := openTemp(t)
	const n = 20_000
	subs := make([]*subscriptions.Subscription, n)
	for i := range subs {
		subs[i] = &subscriptions.Subscription{Chat: chat.Address{Platform: "telegram", Chat: fmt.Sprint(i)},
			Query: fmt.Sprintf("Witkoff peace plan %d OR \"Ukraine talks %d\"", i, i)}
	}
	if err := db.AddSubscriptions(subs); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		c := 0
		if err := db.ForEachSubscription(func(*subscriptions.Subscription) error { c++; return nil }); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if got := count(); got != n { // reads every page of the bucket through the map
		t.Fatalf("%d subscriptions stored, want %d", got, n)
	}
	mapped := func() int64 {
		n, err := db.MapResident()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := mapped()
	if before < 1<<20 {
		t.Fatalf("only %d bytes of the database resident after reading it all: the test proves nothing", before)
	}
	if err := db.ReleaseMap(); err != nil {
		t.Fatal(err)
	}
	after := mapped()
	if after > before/4 {
		t.Fatalf("resident map %d bytes before ReleaseMap, %d after", before, after)
	}
	if got := count(); got != n {
		t.Fatalf("after ReleaseMap %d subscriptions read back, want %d", got, n)
	}
	t.Logf("resident map: %d bytes before, %d after", before, after)
}
