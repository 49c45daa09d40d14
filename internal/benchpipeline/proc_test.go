package benchpipeline

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"frontwire/internal/cputime"
)

// TestMappedRSS maps a file, touches every page and checks that its
// resident pages are found under its path in /proc/self/smaps, and that
// another path counts nothing.
func TestMappedRSS(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mapped.db")
	const size = 1 << 20
	if err := os.WriteFile(path, make([]byte, size), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(m)
	sum := 0
	for i := 0; i < size; i += 4096 {
		sum += int(m[i])
	}
	if sum != 0 {
		t.Fatalf("read %d from a file of zeros", sum)
	}
	for _, tc := range []struct {
		path   string
		lo, hi float64
	}{
		{path, 0.99, 1.01},
		{path + ".other", 0, 0},
	} {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			mb, err := mappedRSS(os.Getpid(), tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if mb < tc.lo || mb > tc.hi {
				t.Errorf("mappedRSS = %.3f MB, want %.2f–%.2f", mb, tc.lo, tc.hi)
			}
		})
	}
}

// TestProcCPU checks /proc/self/stat's times against getrusage after some
// work.
func TestProcCPU(t *testing.T) {
	start := cputime.Process()
	x := 0
	for cputime.Process()-start < 50*time.Millisecond {
		for i := range 100_000 {
			x += i
		}
	}
	got, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	want := cputime.Process().Seconds()
	// /proc counts in ticks of 10 ms.
	if got <= 0 || got > want+0.02 || got < want-0.05 {
		t.Errorf("procCPU = %.3f s, getrusage %.3f s (x %d)", got, want, x)
	}
}
