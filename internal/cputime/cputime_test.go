package cputime

import (
	"runtime"
	"testing"
)

// TestProcessGrows: CPU time spent in a loop shows up.
func TestProcessGrows(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no getrusage")
	}
	before := Process()
	x := 0
	for i := range 200_000_000 {
		x ^= i * i
	}
	if after := Process(); after <= before {
		t.Fatalf("CPU time %v before a busy loop, %v after (x=%d)", before, after, x)
	}
}
