package storage

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// ReleaseMap tells the kernel that this process no longer needs the
// database file's pages in its memory map. bbolt reads through a shared,
// read-only map of the whole file and writes with pwrite; every page a
// poll reads or writes stays mapped, so after a busy cycle the whole file
// counts in the process's resident set (75 of 162 MB in the pipeline
// benchmark's `bot run`). The pages stay in the kernel's page cache, where
// they are shared and reclaimable, and the next read of one maps it back
// with a minor fault; nothing is lost or reread from disk while memory is
// plentiful.
//
// It runs inside a read transaction, which holds bbolt's map lock, so the
// map cannot be replaced meanwhile; the address and length come from
// bbolt's Info and the transaction's view of the file size, so only the
// file's own pages are advised.
func (db *DB) ReleaseMap() error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		info := db.bolt.Info()
		if info.Data == 0 || tx.Size() == 0 {
			return nil
		}
		_, _, errno := syscall.Syscall(syscall.SYS_MADVISE, info.Data, uintptr(tx.Size()), syscall.MADV_DONTNEED)
		if errno != 0 {
			return fmt.Errorf("storage: release the database map: %w", errno)
		}
		return nil
	})
}

// MapResident is how many bytes of the database file are resident in this
// process's memory map (/proc/self/smaps).
func (db *DB) MapResident() (int64, error) {
	return MappedResident("/proc/self/smaps", db.path)
}

// MappedResident sums the resident size of the maps of file listed in the
// smaps file at smapsPath (/proc/PID/smaps), in bytes.
func MappedResident(smapsPath, file string) (int64, error) {
	f, err := os.Open(smapsPath)
	if err != nil {
		return 0, fmt.Errorf("storage: resident map: %w", err)
	}
	defer f.Close()
	var kb int64
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if !strings.HasSuffix(fields[0], ":") {
			// A map's header: address range, permissions, offset,
			// device, inode and, for a file, its path.
			in = len(fields) >= 6 && fields[len(fields)-1] == file
			continue
		}
		if in && fields[0] == "Rss:" && len(fields) >= 2 {
			n, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("storage: resident map: %s: %w", smapsPath, err)
			}
			kb += n
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("storage: resident map: %w", err)
	}
	return kb << 10, nil
}
