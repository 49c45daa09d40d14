package alerts

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"frontwire/internal/chat"
)

// heldSender never finishes a send before the test ends, so every message
// it is handed stays queued.
type heldSender struct{}

func (heldSender) Send(ctx context.Context, m chat.Message) (chat.Sent, error) {
	<-ctx.Done()
	return chat.Sent{}, ctx.Err()
}

// BenchmarkDispatcherNotify hands a dispatcher that is not running (so
// nothing leaves the queues) the messages of a cycle like the pipeline
// benchmark's new-content cycle: polls of 1,050 messages to 33,000 chats,
// each chat drawn as 33,000 × r³ for a uniform r (as storage's
// BenchmarkCommitPollClustered draws them), so that a few chats get most
// messages; three in ten are edits of the chat's latest alert. Reported
// per message.
// go test ./internal/alerts -run XXX -bench DispatcherNotify -benchtime 3x
func BenchmarkDispatcherNotify(b *testing.B) {
	const nchats, polls, perPoll = 33000, 1000, 1050
	rng := rand.New(rand.NewPCG(1, 2))
	last := map[int]uint64{}
	batches := make([][]chat.Message, polls)
	seq := uint64(0)
	for p := range batches {
		batch := make([]chat.Message, 0, perPoll)
		for range perPoll {
			seq++
			c := int(float64(nchats) * math.Pow(rng.Float64(), 3))
			m := chat.Message{Seq: seq, To: chat.Address{Platform: "telegram", Chat: fmt.Sprint(c)}, Kind: chat.KindAlert, Alert: &chat.Alert{}}
			if o, ok := last[c]; ok && rng.IntN(10) < 3 {
				m.Kind, m.EditOf = chat.KindEdit, o
			} else {
				last[c] = seq
			}
			batch = append(batch, m)
		}
		batches[p] = batch
	}
	held := 0
	for b.Loop() {
		d := NewDispatcher(DispatcherConfig{Platforms: map[string]Platform{"telegram": {Sender: heldSender{}}}})
		for _, batch := range batches {
			d.Notify(batch)
		}
		held = d.Pending()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(seq), "ns/message")
	b.ReportMetric(float64(held), "held")
}
