package benchpipeline

import (
	"bytes"
	"context"
	"os"
	"testing"
)

// serveFeedsEnv makes this test binary, run as a child, be the feed
// server (TestMain).
const serveFeedsEnv = "BENCHPIPELINE_SERVE_FEEDS"

func TestMain(m *testing.M) {
	if os.Getenv(serveFeedsEnv) == "1" {
		if err := ServeFeeds(context.Background(), 5, 4, 1, os.Stdin, os.Stdout); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRunServerProcess runs the small configuration of TestRunSmall with
// the feed server in a child process: the same stories go through, and
// the server's CPU time comes back apart.
func TestRunServerProcess(t *testing.T) {
	t.Setenv(serveFeedsEnv, "1")
	res, err := Run(context.Background(), Options{
		Feeds: 5, Items: 4, Subs: 3000, NotModifiedCycles: 1, NoSync: true, Dir: t.TempDir(),
		ServerCommand: []string{os.Args[0]},
	}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.ServerProcess || res.FeedBytes <= 0 {
		t.Errorf("server process %v, %d feed bytes", res.ServerProcess, res.FeedBytes)
	}
	first, fresh, notMod := res.Cycles[0], res.Cycles[1], res.Cycles[2]
	if first.NewStories != 20 || fresh.NewStories != 20 || fresh.Requests != 5 || fresh.Queued == 0 {
		t.Errorf("first %+v, new content %+v", first, fresh)
	}
	if notMod.NotModified != 5 || notMod.NewStories != 0 {
		t.Errorf("304 cycle: %+v", notMod)
	}
	var serverCPU float64
	for _, c := range res.Cycles {
		serverCPU += c.ServerCPUSeconds
	}
	if serverCPU < 0 {
		t.Errorf("server CPU %.3f s", serverCPU)
	}
}

// TestServeFeedsCommands drives ServeFeeds through its input: the first
// line is the address and size, "advance" and "requests" answer, an
// unknown command is an error line, and end of input stops it.
func TestServeFeedsCommands(t *testing.T) {
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer // written by ServeFeeds alone, read once it has returned
	done := make(chan error, 1)
	go func() { done <- ServeFeeds(context.Background(), 2, 3, 1, inR, &out) }()
	for _, cmd := range []string{"advance", "requests", "bogus"} {
		if _, err := inW.WriteString(cmd + "\n"); err != nil {
			t.Fatal(err)
		}
	}
	inW.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
	if len(lines) != 4 {
		t.Fatalf("output %q, want 4 lines", out.Bytes())
	}
	if !bytes.HasPrefix(lines[0], []byte("127.0.0.1:")) || string(lines[1]) != "ok" ||
		!bytes.HasPrefix(lines[2], []byte("0 0 ")) || !bytes.HasPrefix(lines[3], []byte("error:")) {
		t.Errorf("output %q", out.Bytes())
	}
}
