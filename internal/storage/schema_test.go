package storage

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var ran []string
	step := func(name string, fail bool) migration {
		return func(tx *bolt.Tx) error {
			ran = append(ran, name)
			if fail {
				return errors.New("boom")
			}
			_, err := tx.CreateBucketIfNotExists([]byte(name))
			return err
		}
	}
	cases := []struct {
		name      string
		from, to  uint64
		steps     []migration
		wantRan   string
		wantV     uint64
		wantError string
	}{
		{"nothing to do", 3, 3, nil, "", 3, ""},
		{"two steps", 1, 3, []migration{step("v1to2", false), step("v2to3", false)}, "v1to2,v2to3", 3, ""},
		{"from the middle", 2, 3, []migration{step("v1to2", false), step("v2to3", false)}, "v2to3", 3, ""},
		{"missing step", 1, 3, []migration{step("v1to2", false)}, "v1to2", 2, "no migration from schema v2"},
		{"failing step", 1, 3, []migration{step("v1to2", true), step("v2to3", false)}, "v1to2", 1, "migrate schema v1 to v2: boom"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ran = nil
			var v uint64
			err := b.Update(func(tx *bolt.Tx) error {
				var err error
				v, err = migrate(tx, tc.from, tc.to, tc.steps)
				return err
			})
			if got := strings.Join(ran, ","); got != tc.wantRan {
				t.Errorf("ran %q, want %q", got, tc.wantRan)
			}
			if v != tc.wantV {
				t.Errorf("reached v%d, want v%d", v, tc.wantV)
			}
			if tc.wantError == "" && err != nil || tc.wantError != "" && (err == nil || !strings.Contains(err.Error(), tc.wantError)) {
				t.Errorf("error %v, want %q", err, tc.wantError)
			}
		})
	}
	if got := len(migrations()) + 1; got != SchemaVersion {
		t.Errorf("%d migrations lead to v%d, but SchemaVersion is %d", len(migrations()), got, SchemaVersion)
	}
}

func TestOpenStampsCurrentVersion(t *testing.T) {
	db, _ := openTemp(t)
	var v uint64
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		v, err = readVersion(tx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if v != SchemaVersion {
		t.Errorf("new file at v%d, want v%d", v, SchemaVersion)
	}
}

func TestExplainOSErrors(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{syscall.ENOSPC, "disk full"},
		{syscall.EACCES, "no permission"},
		{syscall.EROFS, "no permission"},
		{syscall.ENOTDIR, "not a directory"},
	}
	for _, tc := range cases {
		t.Run(tc.err.Error(), func(t *testing.T) {
			got := explain(fmt.Errorf("write x: %w", tc.err))
			if !strings.Contains(got.Error(), tc.want) || !errors.Is(got, tc.err) {
				t.Errorf("explain(%v) = %q, want it to say %q and still wrap the cause", tc.err, got, tc.want)
			}
		})
	}
}
