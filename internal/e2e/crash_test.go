package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"frontwire/internal/chat/telegram/telegramtest"
	"frontwire/internal/feedtest"
)

var storyNumber = regexp.MustCompile(`Witkoff story (\d+)`)

// delivery tallies what the fake Telegram server accepted, per chat.
type delivery struct {
	perChat   map[string][]int // story numbers in arrival order
	chatDupes map[string]int   // duplicates per chat
	unique    int
	dupes     int
	dupesLate int // duplicates that did not directly follow their original
}

func tally(sent []telegramtest.SentMessage) delivery {
	d := delivery{perChat: map[string][]int{}, chatDupes: map[string]int{}}
	seen := map[string]map[int]bool{}
	for _, m := range sent {
		sub := storyNumber.FindStringSubmatch(m.Text)
		if sub == nil {
			continue // a command reply
		}
		n, _ := strconv.Atoi(sub[1])
		if seen[m.ChatID] == nil {
			seen[m.ChatID] = map[int]bool{}
		}
		list := d.perChat[m.ChatID]
		if seen[m.ChatID][n] {
			d.dupes++
			d.chatDupes[m.ChatID]++
			// The message in flight at a kill is sent again first after
			// the restart, so a duplicate directly repeats its original.
			if len(list) == 0 || list[len(list)-1] != n {
				d.dupesLate++
			}
		} else {
			d.unique++
		}
		seen[m.ChatID][n] = true
		d.perChat[m.ChatID] = append(list, n)
	}
	return d
}

// TestCrashKillRestart queues 1,000 alerts (10 stories × 100 chats), then
// kills the bot with SIGKILL at seeded random moments, checks after each
// kill that the bbolt file opens cleanly, restarts it, and finally lets it
// deliver everything. Nothing may be lost; a kill may cost only the repeat
// of what was in flight; each chat gets its stories in one order.
func TestCrashKillRestart(t *testing.T) {
	const (
		chats   = 100
		stories = 10
		seed    = 20260601
	)
	kills := 20
	if *long {
		kills = 100
	}
	tg := telegramtest.NewServer(t, telegramtest.Options{})
	site := &feedtest.Site{}
	feed := httptest.NewServer(site)
	defer feed.Close()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "data", "frontwire.db")
	cfgPath := botConfig{
		DataDir:     filepath.Join(dir, "data"),
		Telegram:    true,
		TelegramURL: tg.URL(),
		Token:       tg.Token(),
		// Slow enough that delivering 1,000 alerts spans many kills.
		MessagesPerSecond: 50,
		AllowPrivate:      true,
		Sources:           []source{{Name: "Test Wire", URL: feed.URL}},
	}.write(t, dir)
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))

	// First run: 100 people subscribe in private chats, the feed is polled
	// once empty (the first poll only marks what is there as seen), then
	// the ten stories are published.
	p := startBot(t, nil, "run", "-config", cfgPath)
	for u := int64(1); u <= chats; u++ {
		tg.PushUpdate(command(u, u, "private", "/subscribe Witkoff"))
	}
	if _, err := tg.WaitSent(chats, 60*time.Second); err != nil {
		t.Fatalf("subscribing: %v\n%s", err, p.out.String())
	}
	for _, m := range tg.Sent() {
		if !regexp.MustCompile(`(?i)subscribed`).MatchString(m.Text) {
			t.Fatalf("reply to /subscribe in chat %s: %q", m.ChatID, m.Text)
		}
	}
	site.WaitRequests(t, 1, 30*time.Second)
	base := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	var items []string
	for i := 1; i <= stories; i++ {
		items = append(items, feedtest.Item(fmt.Sprintf("s%02d", i), fmt.Sprintf("Witkoff story %02d", i), "Envoy talks.", base.Add(time.Duration(i)*time.Minute)))
	}
	site.Set(items...)

	clean := 0
	// Duplicates showing up after restart k are the sends kill k cut off.
	// Each chat has its own sender, so several chats can have a message
	// in flight at a kill; within one chat, one at most.
	dupesBefore, maxPerKill, maxPerChatKill := 0, 0, 0
	chatBefore := map[string]int{}
	countKill := func() {
		d := tally(tg.Sent())
		maxPerKill = max(maxPerKill, d.dupes-dupesBefore)
		dupesBefore = d.dupes
		for c, n := range d.chatDupes {
			maxPerChatKill = max(maxPerChatKill, n-chatBefore[c])
			chatBefore[c] = n
		}
	}
	for k := 1; k <= kills; k++ {
		// The run length is the experiment, not synchronisation: a seeded
		// random moment anywhere from start-up to mid-delivery.
		run := time.Duration(100+rng.IntN(1400)) * time.Millisecond
		select {
		case <-time.After(run):
		case <-p.done:
			t.Fatalf("bot exited on its own before kill %d: %v\n%s", k, p.err, p.out.String())
		}
		p.kill(t)
		if k > 1 {
			countKill()
		}
		if err := openCleanly(dbPath); err != nil {
			t.Errorf("after kill %d (run %s) the database did not open: %v", k, run, err)
		} else {
			clean++
		}
		d := tally(tg.Sent())
		t.Logf("kill %2d after %4dms: %4d alerts delivered, %d duplicates so far", k, run.Milliseconds(), d.unique, d.dupes)
		p = startBot(t, nil, "run", "-config", cfgPath)
	}

	// Final run: wait, on the fake's own signal, until every chat has every
	// story.
	want := chats * stories
	for {
		sent := tg.Sent()
		if tally(sent).unique >= want {
			break
		}
		if _, err := tg.WaitSent(len(sent)+1, 60*time.Second); err != nil {
			d := tally(tg.Sent())
			t.Fatalf("final run: %d of %d alerts delivered: %v\n%s", d.unique, want, err, p.out.String())
		}
	}
	p.kill(t)
	countKill()
	d := tally(tg.Sent())

	lost := want - d.unique
	var reference []int
	orderKept := 0
	for c := int64(1); c <= chats; c++ {
		list := slices.Compact(slices.Clone(d.perChat[strconv.FormatInt(c, 10)]))
		if reference == nil {
			reference = list
		}
		if slices.Equal(list, reference) && len(slices.Compact(slices.Sorted(slices.Values(list)))) == len(list) {
			orderKept++
		} else {
			t.Errorf("chat %d got stories in order %v, chat 1 in %v", c, list, reference)
		}
	}
	t.Logf("FIGURE crash: seed=%d kills=%d alerts=%d lost=%d duplicates=%d (max per kill=%d, max per chat per kill=%d, not directly repeating=%d) bbolt_clean_opens=%d/%d chats_in_order=%d/%d order=%v",
		seed, kills, want, lost, d.dupes, maxPerKill, maxPerChatKill, d.dupesLate, clean, kills, orderKept, chats, reference)
	if lost != 0 {
		t.Errorf("%d alerts lost", lost)
	}
	if maxPerChatKill > 1 {
		t.Errorf("one kill cost a chat %d duplicates: more than the one message in flight", maxPerChatKill)
	}
	if d.dupesLate != 0 {
		t.Errorf("%d duplicates did not directly repeat their original", d.dupesLate)
	}
	if clean != kills {
		t.Errorf("database opened cleanly after %d of %d kills", clean, kills)
	}
}
