//go:build unix

// Package cputime reads the CPU time this process has used, which the
// benchmarks report beside wall time: on a shared machine other work
// stretches wall time, while CPU time counts only what this process did.
package cputime

import (
	"syscall"
	"time"
)

// Process is the user plus system CPU time this process has used so far,
// or 0 if it cannot be read.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
