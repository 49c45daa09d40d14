package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"frontwire/internal/opml"
	"frontwire/internal/storage"
)

// TestSourcesImportExport imports an OPML list offline, exports the
// sources, and checks the round trip; a second import adds nothing, and a
// malformed file or a private address is refused.
func TestSourcesImportExport(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.toml")
	cfg := "[bot]\ndata_dir = \"" + filepath.Join(dir, "data") + "\"\n\n[[sources]]\nname = \"Configured Wire\"\nurl = \"https://configured.example/feed\"\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(dir, "in.opml")
	const in = `<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>Reader export</title></head><body>
  <outline text="News">
    <outline text="Kyiv Desk" type="rss" xmlUrl="https://kyiv.example/rss"/>
    <outline title="Gulf Wire" text="x" type="rss" xmlUrl="https://gulf.example/atom.xml"/>
  </outline>
  <outline text="Same as configured" xmlUrl="https://configured.example/feed"/>
</body></opml>`
	if err := os.WriteFile(list, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	sh := func(args ...string) (string, string, error) {
		var out, errb strings.Builder
		err := run(context.Background(), args, noEnv, strings.NewReader(""), &out, &errb)
		return out.String(), errb.String(), err
	}

	out, errOut, err := sh("sources", "import", "-config", cfgPath, "-no-fetch", list)
	if err != nil {
		t.Fatalf("import: %v\n%s%s", err, out, errOut)
	}
	if !strings.Contains(out, "3 feeds in in.opml: 2 added, 1 already sources, 0 refused") {
		t.Errorf("import said:\n%s", out)
	}
	out, _, err = sh("sources", "import", "-config", cfgPath, "-no-fetch", list)
	if err != nil || !strings.Contains(out, "0 added, 3 already sources") {
		t.Errorf("second import: %v\n%s", err, out)
	}

	exported := filepath.Join(dir, "out.opml")
	if _, errOut, err := sh("sources", "export", "-config", cfgPath, "-o", exported); err != nil {
		t.Fatalf("export: %v\n%s", err, errOut)
	}
	f, err := os.Open(exported)
	if err != nil {
		t.Fatal(err)
	}
	feeds, err := opml.Parse(f)
	f.Close()
	if err != nil {
		t.Fatalf("parse the export: %v", err)
	}
	var got []string
	for _, fd := range feeds {
		got = append(got, fd.Title+"="+fd.URL)
	}
	want := "Configured Wire=https://configured.example/feed,Gulf Wire=https://gulf.example/atom.xml,Kyiv Desk=https://kyiv.example/rss"
	if strings.Join(got, ",") != want {
		t.Errorf("exported %v\nwant %s", got, want)
	}

	t.Run("malformed OPML", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.opml")
		if err := os.WriteFile(bad, []byte("<opml><body><outline"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := sh("sources", "import", "-config", cfgPath, bad)
		if err == nil || !errors.Is(err, opml.ErrNotOPML) {
			t.Errorf("import of a malformed file: %v", err)
		}
	})
	t.Run("private addresses refused", func(t *testing.T) {
		priv := filepath.Join(dir, "priv.opml")
		if err := os.WriteFile(priv, []byte(`<opml><body><outline text="meta" xmlUrl="http://169.254.169.254/latest/"/><outline text="file" xmlUrl="file:///etc/passwd"/></body></opml>`), 0o600); err != nil {
			t.Fatal(err)
		}
		out, errOut, err := sh("sources", "import", "-config", cfgPath, "-no-fetch", priv)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(out, "0 added, 0 already sources, 2 refused") || !strings.Contains(errOut, "loopback or private") {
			t.Errorf("import of private addresses: %v\n%s%s", err, out, errOut)
		}
	})
	// The database holds exactly the two imported sources.
	db, err := storage.Open(filepath.Join(dir, "data", "frontwire.db"), storage.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	added, err := db.AddedSources()
	if err != nil || len(added) != 2 || added[0].By != "cli" {
		t.Errorf("stored %+v, %v", added, err)
	}
}
