package subscriptions_test

import (
	"testing"

	"frontwire/internal/subscriptions"
	"frontwire/internal/subscriptions/workload"
)

func BenchmarkParse(b *testing.B) {
	qs := workload.New(1).Subscriptions(1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := subscriptions.Parse(qs[i%len(qs)].Query); err != nil {
			b.Fatal(err)
		}
	}
}
