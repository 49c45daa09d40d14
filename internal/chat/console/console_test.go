package console

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"frontwire/internal/chat"
)

func TestEditPrintsTheNewVersionWithOutlets(t *testing.T) {
	var out bytes.Buffer
	c := New(&out, time.UTC)
	var also []chat.Outlet
	for _, n := range []string{"AP", "BBC", "DW", "NPR", "CNN", "RFE", "Meduza"} {
		also = append(also, chat.Outlet{Source: n, Link: "https://" + n + ".example/"})
	}
	a := chat.Alert{Title: "Talks end", Source: "Reuters", Also: also, Number: 5}
	if err := c.Edit(context.Background(), Local(), "3", chat.Message{Kind: chat.KindAlert, Alert: &a}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"UPDATED ALERT #5", "Also reported by: AP, BBC, DW, NPR, CNN (2 more)", "https://BBC.example/", "/why 5 · /mute 5"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if err := c.Edit(context.Background(), Local(), "3", chat.Message{Kind: chat.KindAlert}); err == nil {
		t.Error("edit without an alert accepted")
	}
}
