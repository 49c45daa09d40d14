package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"frontwire/internal/clock"
)

// storedState reads name's state from the file itself, past the notes.
func storedState(t *testing.T, db *DB, name string) (SourceState, bool) {
	t.Helper()
	var s SourceState
	found := false
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v := bucket(tx, bucketSources).Get([]byte(name))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &s)
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, found
}

// TestNoteSourceState: a noted state is what every read returns at once,
// is written only when enough wait, the oldest has waited long enough, or
// at Close and Backup; a direct write or removal after it wins.
func TestNoteSourceState(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
	open := func(t *testing.T, path string, clk clock.Clock) *DB {
		t.Helper()
		db, err := Open(path, Options{NoSync: true, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	state := func(name string, at time.Time) SourceState {
		return SourceState{Name: name, URL: "https://example.org/" + name, ETag: `"e"`, Initialized: true, LastSuccess: at, NextPoll: at.Add(10 * time.Minute)}
	}

	t.Run("read at once, written at Close", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "f.db")
		db := open(t, path, clock.NewFake(t0))
		if err := db.PutSourceState(state("a", t0)); err != nil {
			t.Fatal(err)
		}
		if err := db.NoteSourceState(state("a", t0.Add(time.Minute))); err != nil {
			t.Fatal(err)
		}
		if err := db.NoteSourceState(state("b", t0.Add(time.Minute))); err != nil {
			t.Fatal(err)
		}
		if s, _ := storedState(t, db, "a"); !s.LastSuccess.Equal(t0) {
			t.Errorf("noted state written at once: %v", s.LastSuccess)
		}
		if _, ok := storedState(t, db, "b"); ok {
			t.Error("noted state of b written at once")
		}
		got, err := db.SourceState("a")
		if err != nil || !got.LastSuccess.Equal(t0.Add(time.Minute)) {
			t.Errorf("SourceState(a) = %v, %v; want the noted state", got.LastSuccess, err)
		}
		all, err := db.SourceStates()
		if err != nil || len(all) != 2 || all[0].Name != "a" || all[1].Name != "b" || !all[0].LastSuccess.Equal(t0.Add(time.Minute)) {
			t.Errorf("SourceStates = %+v, %v", all, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db = open(t, path, clock.NewFake(t0))
		defer db.Close()
		for _, name := range []string{"a", "b"} {
			if s, ok := storedState(t, db, name); !ok || !s.LastSuccess.Equal(t0.Add(time.Minute)) {
				t.Errorf("%s after Close and reopen: %v, %v", name, s.LastSuccess, ok)
			}
		}
	})

	t.Run("written once notesMax wait", func(t *testing.T) {
		db := open(t, filepath.Join(t.TempDir(), "f.db"), clock.NewFake(t0))
		defer db.Close()
		for i := range notesMax {
			if err := db.NoteSourceState(state(fmt.Sprintf("s%03d", i), t0)); err != nil {
				t.Fatal(err)
			}
		}
		for _, name := range []string{"s000", fmt.Sprintf("s%03d", notesMax-1)} {
			if _, ok := storedState(t, db, name); !ok {
				t.Errorf("%s not written after %d notes", name, notesMax)
			}
		}
		if n := len(db.notes.pending); n != 0 {
			t.Errorf("%d notes still pending", n)
		}
	})

	t.Run("written once the oldest has waited notesDelay", func(t *testing.T) {
		clk := clock.NewFake(t0)
		db := open(t, filepath.Join(t.TempDir(), "f.db"), clk)
		defer db.Close()
		if err := db.NoteSourceState(state("a", t0)); err != nil {
			t.Fatal(err)
		}
		clk.Advance(notesDelay - time.Millisecond)
		if err := db.NoteSourceState(state("b", t0)); err != nil {
			t.Fatal(err)
		}
		if _, ok := storedState(t, db, "a"); ok {
			t.Fatal("written before notesDelay")
		}
		clk.Advance(time.Millisecond)
		if err := db.NoteSourceState(state("c", t0)); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"a", "b", "c"} {
			if _, ok := storedState(t, db, name); !ok {
				t.Errorf("%s not written after notesDelay", name)
			}
		}
	})

	t.Run("a direct write after a note wins", func(t *testing.T) {
		db := open(t, filepath.Join(t.TempDir(), "f.db"), clock.NewFake(t0))
		defer db.Close()
		if err := db.NoteSourceState(state("a", t0)); err != nil {
			t.Fatal(err)
		}
		failed := state("a", t0.Add(time.Minute))
		failed.Failures, failed.LastError = 1, "HTTP 500"
		if err := db.PutSourceState(failed); err != nil {
			t.Fatal(err)
		}
		if err := db.FlushSourceStates(); err != nil {
			t.Fatal(err)
		}
		if s, _ := storedState(t, db, "a"); s.Failures != 1 {
			t.Errorf("stored %+v; the direct write was overwritten by an older note", s)
		}
		if err := db.NoteSourceState(state("a", t0.Add(2*time.Minute))); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CommitPoll(state("a", t0.Add(3*time.Minute)), nil); err != nil {
			t.Fatal(err)
		}
		if err := db.FlushSourceStates(); err != nil {
			t.Fatal(err)
		}
		if s, _ := db.SourceState("a"); !s.LastSuccess.Equal(t0.Add(3 * time.Minute)) {
			t.Errorf("after CommitPoll: %v", s.LastSuccess)
		}
	})

	t.Run("a removed source's note is dropped", func(t *testing.T) {
		db := open(t, filepath.Join(t.TempDir(), "f.db"), clock.NewFake(t0))
		defer db.Close()
		if err := db.AddSource(AddedSource{Name: "x", URL: "https://example.org/x", At: t0}); err != nil {
			t.Fatal(err)
		}
		if err := db.NoteSourceState(state("x", t0)); err != nil {
			t.Fatal(err)
		}
		if _, err := db.RemoveAddedSource("x"); err != nil {
			t.Fatal(err)
		}
		if err := db.FlushSourceStates(); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SourceState("x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("state of a removed source: %v", err)
		}
	})

	t.Run("Backup holds noted states", func(t *testing.T) {
		dir := t.TempDir()
		db := open(t, filepath.Join(dir, "f.db"), clock.NewFake(t0))
		defer db.Close()
		if err := db.NoteSourceState(state("a", t0)); err != nil {
			t.Fatal(err)
		}
		if _, ok := storedState(t, db, "a"); ok {
			t.Fatal("written at once")
		}
		if _, err := db.Backup(discard{}); err != nil {
			t.Fatal(err)
		}
		if _, ok := storedState(t, db, "a"); !ok {
			t.Error("noted state not written before the backup")
		}
	})

	t.Run("no name", func(t *testing.T) {
		db := open(t, filepath.Join(t.TempDir(), "f.db"), clock.NewFake(t0))
		defer db.Close()
		if err := db.NoteSourceState(SourceState{}); !errors.Is(err, errNoName) {
			t.Errorf("NoteSourceState without a name: %v", err)
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
